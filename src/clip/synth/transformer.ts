/**
 * CLIP's transformer pieces as ONNX nodes: pre-LN residual blocks with multi-head
 * self-attention and a QuickGELU MLP, weights seeded and scaled as CLIP's own
 * initialisation (Radford et al., `initialize_parameters`), so activations keep a sane
 * range and embeddings of different inputs differ clearly.
 */
import type { TowerSpec } from './arch.ts';
import type { GraphBuilder } from './graph.ts';
import { createRng, deriveSeed } from './rng.ts';

/** Seeded parameter tensors, each from its own stream keyed by name, added to a graph. */
export class Params {
  constructor(
    private readonly g: GraphBuilder,
    private readonly seed: number,
  ) {}

  normal(name: string, dims: number[], std: number, mean = 0): string {
    const data = createRng(deriveSeed(this.seed, name)).fillNormal(new Float32Array(size(dims)), std, mean);
    return this.g.init(name, data, dims);
  }

  uniform(name: string, dims: number[], bound: number): string {
    const data = createRng(deriveSeed(this.seed, name)).fillUniform(new Float32Array(size(dims)), bound);
    return this.g.init(name, data, dims);
  }

  fill(name: string, dims: number[], value: number): string {
    return this.g.init(name, new Float32Array(size(dims)).fill(value), dims);
  }
}

function size(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function layerNorm(g: GraphBuilder, p: Params, x: string, prefix: string, width: number, eps: number): string {
  // A little spread around CLIP's (1, 0) so the quantizer and tests see non-trivial affine terms.
  const w = p.normal(`${prefix}.weight`, [width], 0.02, 1);
  const b = p.normal(`${prefix}.bias`, [width], 0.02);
  return g.op('LayerNormalization', [x, w, b], { name: prefix, attrs: { axis: { i: -1 }, epsilon: { f: eps } } });
}

/** x·W + b with W stored [in, out], as exported MatMul initializers are. */
export function linear(g: GraphBuilder, p: Params, x: string, prefix: string, inDim: number, outDim: number, std: number): string {
  const w = p.normal(`${prefix}.weight`, [inDim, outDim], std);
  const y = g.op('MatMul', [x, w], { name: `${prefix}/MatMul` });
  const b = p.normal(`${prefix}.bias`, [outDim], 0.01);
  return g.op('Add', [y, b], { name: `${prefix}/Add` });
}

/**
 * One residual block. `mask` is an additive attention bias broadcastable to
 * [batch, heads, seq, seq] (text: causal + padding), or undefined (vision).
 */
export function block(
  g: GraphBuilder,
  p: Params,
  x: string,
  prefix: string,
  spec: TowerSpec,
  eps: number,
  mask: string | undefined,
): string {
  const { width: w, heads: h, mlp, layers } = spec;
  const d = w / h;
  const attnStd = w ** -0.5;
  const projStd = w ** -0.5 * (2 * layers) ** -0.5;
  const fcStd = (2 * w) ** -0.5;

  const a = layerNorm(g, p, x, `${prefix}.layer_norm1`, w, eps);
  const q0 = linear(g, p, a, `${prefix}.self_attn.q_proj`, w, w, attnStd);
  const k0 = linear(g, p, a, `${prefix}.self_attn.k_proj`, w, w, attnStd);
  const v0 = linear(g, p, a, `${prefix}.self_attn.v_proj`, w, w, attnStd);
  const q1 = g.op('Mul', [q0, g.scalar('attn_scale', d ** -0.5)], { name: `${prefix}.self_attn/scale` });
  const heads = g.ints('heads_shape', [0, 0, h, d]);
  const split = (t: string, perm: number[], n: string) =>
    g.op('Transpose', [g.op('Reshape', [t, heads], { name: `${prefix}.self_attn/${n}_reshape` })], {
      name: `${prefix}.self_attn/${n}_transpose`,
      attrs: { perm: { ints: perm } },
    });
  const q = split(q1, [0, 2, 1, 3], 'q'); // [B, H, S, D]
  const kT = split(k0, [0, 2, 3, 1], 'k'); // [B, H, D, S]
  const v = split(v0, [0, 2, 1, 3], 'v'); // [B, H, S, D]
  let scores = g.op('MatMul', [q, kT], { name: `${prefix}.self_attn/scores` });
  if (mask) scores = g.op('Add', [scores, mask], { name: `${prefix}.self_attn/mask` });
  const probs = g.op('Softmax', [scores], { name: `${prefix}.self_attn/softmax`, attrs: { axis: { i: -1 } } });
  const ctx = g.op('MatMul', [probs, v], { name: `${prefix}.self_attn/context` });
  const merged = g.op(
    'Reshape',
    [
      g.op('Transpose', [ctx], { name: `${prefix}.self_attn/merge_transpose`, attrs: { perm: { ints: [0, 2, 1, 3] } } }),
      g.ints('merge_shape', [0, 0, w]),
    ],
    { name: `${prefix}.self_attn/merge_reshape` },
  );
  const attnOut = linear(g, p, merged, `${prefix}.self_attn.out_proj`, w, w, projStd);
  const x1 = g.op('Add', [x, attnOut], { name: `${prefix}/residual1` });

  const m = layerNorm(g, p, x1, `${prefix}.layer_norm2`, w, eps);
  const f = linear(g, p, m, `${prefix}.mlp.fc1`, w, mlp, fcStd);
  // QuickGELU: x · sigmoid(1.702 x), as CLIP trained with.
  const gate = g.op('Sigmoid', [g.op('Mul', [f, g.scalar('quick_gelu_alpha', 1.702)], { name: `${prefix}.mlp/act_scale` })], {
    name: `${prefix}.mlp/act_sigmoid`,
  });
  const act = g.op('Mul', [f, gate], { name: `${prefix}.mlp/act` });
  const f2 = linear(g, p, act, `${prefix}.mlp.fc2`, mlp, w, projStd);
  return g.op('Add', [x1, f2], { name: `${prefix}/residual2` });
}
