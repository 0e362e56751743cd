/**
 * The two graphs of CLIP's standard ONNX export, with the same inputs, outputs, types and
 * shapes: text (`input_ids`, `attention_mask` → `text_embeds`, `last_hidden_state`) and
 * vision (`pixel_values` → `image_embeds`, `last_hidden_state`).
 */
import type { ArchSpec } from './arch.ts';
import { GraphBuilder } from './graph.ts';
import { DataType } from './onnx.ts';
import { block, layerNorm, Params } from './transformer.ts';

export const OPSET = 17; // LayerNormalization

/** Large enough that exp() underflows to exactly 0, small enough that two of them stay finite. */
const MASKED = -1e9;

export interface BuiltGraph {
  bytes: Uint8Array;
  parameters: number;
}

function finish(g: GraphBuilder, arch: ArchSpec, seed: number, what: string): BuiltGraph {
  const bytes = g.encode({
    opset: OPSET,
    producer: 'adcreative-synth',
    docString: `Synthetic CLIP ${what} model (${arch.name}, seed ${seed}): seeded random weights, meaningless similarities.`,
    metadata: { adcreative_synthetic: 'true', adcreative_arch: arch.name, adcreative_seed: String(seed) },
  });
  return { bytes, parameters: g.parameterCount() };
}

export function buildTextModel(arch: ArchSpec, seed: number): BuiltGraph {
  const t = arch.text;
  const g = new GraphBuilder('clip_text_model');
  const p = new Params(g, seed);
  const ids = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', DataType.INT64, ['batch_size', 'sequence_length']);

  const tok = g.op('Gather', [p.normal('text_model.embeddings.token_embedding.weight', [t.vocab, t.width], 0.02), ids], {
    name: 'embeddings/token',
  });
  // Sequence length as a 1-D tensor [S], for slicing position embeddings and the causal mask.
  const seqLen = g.op('Slice', [g.op('Shape', [ids]), g.ints('one', [1]), g.ints('two', [2])], { name: 'embeddings/seq_len' });
  const zero = g.ints('zero', [0]);
  const pos = g.op('Slice', [p.normal('text_model.embeddings.position_embedding.weight', [t.context, t.width], 0.01), zero, seqLen, zero], {
    name: 'embeddings/position',
  });
  let x = g.op('Add', [tok, pos], { name: 'embeddings/add' });

  // Causal mask (0 on and below the diagonal) cut to [S, S], plus the padding mask as an
  // additive bias [B, 1, 1, S]: a token never sees later tokens nor padded ones.
  const causalFull = new Float32Array(t.context * t.context);
  for (let i = 0; i < t.context; i++) for (let j = i + 1; j < t.context; j++) causalFull[i * t.context + j] = MASKED;
  const ss = g.op('Concat', [seqLen, seqLen], { name: 'mask/ss', attrs: { axis: { i: 0 } } });
  const causal = g.op('Slice', [g.init('causal_mask', causalFull, [t.context, t.context]), g.ints('zeros2', [0, 0]), ss], {
    name: 'mask/causal',
  });
  const maskF = g.op('Cast', [mask], { name: 'mask/cast', attrs: { to: { i: DataType.FLOAT } } });
  const inverted = g.op('Sub', [g.scalar('one_f', 1), maskF], { name: 'mask/invert' });
  const padBias = g.op(
    'Unsqueeze',
    [g.op('Mul', [inverted, g.scalar('masked', MASKED)], { name: 'mask/scale' }), g.ints('axes12', [1, 2])],
    {
      name: 'mask/unsqueeze',
    },
  );
  const bias = g.op('Add', [padBias, causal], { name: 'mask/combine' });

  for (let l = 0; l < t.layers; l++) x = block(g, p, x, `text_model.encoder.layers.${l}`, t, arch.layerNormEps, bias);
  const last = layerNorm(g, p, x, 'text_model.final_layer_norm', t.width, arch.layerNormEps);
  g.node('Identity', [last], { outputs: ['last_hidden_state'] });

  // Pool at the end token: it has the largest id, so ArgMax over the ids finds it (first
  // occurrence, so padding with the end token is harmless), as CLIP's export does.
  const idsI32 = g.op('Cast', [ids], { name: 'pool/cast', attrs: { to: { i: DataType.INT32 } } });
  const eot = g.op('ArgMax', [idsI32], { name: 'pool/argmax', attrs: { axis: { i: -1 }, keepdims: { i: 1 } } }); // [B, 1]
  const pooled = g.op('GatherND', [last, eot], { name: 'pool/gather', attrs: { batch_dims: { i: 1 } } }); // [B, W]
  const proj = p.normal('text_projection.weight', [t.width, arch.projection], t.width ** -0.5);
  g.node('MatMul', [pooled, proj], { outputs: ['text_embeds'], name: 'text_projection' });

  g.output('text_embeds', DataType.FLOAT, ['batch_size', arch.projection]);
  g.output('last_hidden_state', DataType.FLOAT, ['batch_size', 'sequence_length', t.width]);
  return finish(g, arch, seed, 'text');
}

export function buildVisionModel(arch: ArchSpec, seed: number): BuiltGraph {
  const v = arch.vision;
  const g = new GraphBuilder('clip_vision_model');
  const p = new Params(g, seed);
  const grid = v.image / v.patch;
  const patches = grid * grid;
  const scale = v.width ** -0.5;
  const pixels = g.input('pixel_values', DataType.FLOAT, ['batch_size', v.channels, v.image, v.image]);

  // Patch embedding: a stride-`patch` convolution without bias; PyTorch's default init bound.
  const fanIn = v.channels * v.patch * v.patch;
  const convW = p.uniform('vision_model.embeddings.patch_embedding.weight', [v.width, v.channels, v.patch, v.patch], fanIn ** -0.5);
  const conv = g.op('Conv', [pixels, convW], {
    name: 'embeddings/patch',
    attrs: { kernel_shape: { ints: [v.patch, v.patch] }, strides: { ints: [v.patch, v.patch] } },
  });
  const flat = g.op('Transpose', [g.op('Reshape', [conv, g.ints('patch_shape', [0, v.width, patches])], { name: 'embeddings/flatten' })], {
    name: 'embeddings/transpose',
    attrs: { perm: { ints: [0, 2, 1] } },
  }); // [B, patches, W]
  const batch = g.op('Slice', [g.op('Shape', [pixels]), g.ints('zero', [0]), g.ints('one', [1])], { name: 'embeddings/batch' });
  const clsShape = g.op('Concat', [batch, g.ints('cls_dims', [1, v.width])], { name: 'embeddings/cls_shape', attrs: { axis: { i: 0 } } });
  const cls = g.op('Expand', [p.normal('vision_model.embeddings.class_embedding', [1, 1, v.width], scale), clsShape], {
    name: 'embeddings/cls',
  });
  const tokens = g.op('Concat', [cls, flat], { name: 'embeddings/concat', attrs: { axis: { i: 1 } } });
  const pos = p.normal('vision_model.embeddings.position_embedding.weight', [patches + 1, v.width], scale);
  let x = g.op('Add', [tokens, pos], { name: 'embeddings/position' });
  x = layerNorm(g, p, x, 'vision_model.pre_layrnorm', v.width, arch.layerNormEps);

  for (let l = 0; l < v.layers; l++) x = block(g, p, x, `vision_model.encoder.layers.${l}`, v, arch.layerNormEps, undefined);
  g.node('Identity', [x], { outputs: ['last_hidden_state'] });

  const clsOut = g.op('Gather', [x, g.init('cls_index', BigInt64Array.of(0n), [])], { name: 'pool/cls', attrs: { axis: { i: 1 } } });
  const pooled = layerNorm(g, p, clsOut, 'vision_model.post_layernorm', v.width, arch.layerNormEps);
  const proj = p.normal('visual_projection.weight', [v.width, arch.projection], scale);
  g.node('MatMul', [pooled, proj], { outputs: ['image_embeds'], name: 'visual_projection' });

  g.output('image_embeds', DataType.FLOAT, ['batch_size', arch.projection]);
  g.output('last_hidden_state', DataType.FLOAT, ['batch_size', patches + 1, v.width]);
  return finish(g, arch, seed, 'vision');
}
