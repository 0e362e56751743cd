/**
 * The fp16 converter on graphs built here: float16 rounding, where casts go, what stays
 * float32, clamping, and the refusals that name what the converter cannot handle.
 */
import { describe, expect, it } from 'vitest';
import { convertToFp16, fromHalf, toHalf } from '../../../src/clip/fp16.ts';
import { GraphBuilder } from '../../../src/clip/synth/graph.ts';
import { ARCHS } from '../../../src/clip/synth/index.ts';
import { buildTextModel, buildVisionModel } from '../../../src/clip/synth/models.ts';
import { DataType, decodeModel, encodeModel, type NodeProto, onnx, toNumber } from '../../../src/clip/synth/onnx.ts';
import { ModelError } from '../../../src/errors.ts';

const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
const half = (x: number) => toHalf(bitsOf(x));

describe('float16 rounding', () => {
  it('rounds to nearest even, with subnormals, overflow to infinity and NaN kept', () => {
    expect(half(1)).toBe(0x3c00);
    expect(half(-2)).toBe(0xc000);
    expect(half(65504)).toBe(0x7bff);
    expect(half(65520)).toBe(0x7c00); // halfway to the next power: rounds to infinity
    expect(half(65519)).toBe(0x7bff);
    expect(half(0.1)).toBe(0x2e66);
    expect(half(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(half(2 ** -26)).toBe(0x0000); // underflows
    expect(half(-0)).toBe(0x8000);
    expect(half(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(Number.isNaN(fromHalf(half(Number.NaN)))).toBe(true);
    // 1 + 2^-11 is exactly halfway between 1 and the next half (1 + 2^-10): ties go to even (1).
    expect(half(1 + 2 ** -11)).toBe(0x3c00);
    expect(half(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round-trips every float16 value exactly', () => {
    for (let h = 0; h < 0x7c00; h += 7) {
      expect(half(fromHalf(h))).toBe(h);
      expect(half(-fromHalf(h))).toBe(h | 0x8000);
    }
  });
});

/** y = Softmax(LayerNorm(x)·W + b) · mask(−1e9) ; shape(x) as a second, integer output. */
function sample(): Uint8Array {
  const g = new GraphBuilder('f');
  const x = g.input('x', DataType.FLOAT, ['n', 8]);
  const w = g.init(
    'w',
    Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
    [8, 8],
  );
  const b = g.init('b', new Float32Array(8).fill(0.5), [8]);
  const ln = g.op('LayerNormalization', [x, g.init('g', new Float32Array(8).fill(1), [8]), g.init('beta', new Float32Array(8), [8])], {
    attrs: { axis: { i: -1 }, epsilon: { f: 1e-5 } },
  });
  const mm = g.op('Add', [g.op('MatMul', [ln, w]), b]);
  const masked = g.op('Add', [mm, g.init('mask', Float32Array.of(0, 0, 0, -1e9, 0, 0, 0, -1e9), [8])]);
  g.node('Softmax', [masked], { outputs: ['y'], attrs: { axis: { i: -1 } } });
  g.node('Shape', [x], { outputs: ['s'] });
  g.output('y', DataType.FLOAT, ['n', 8]);
  g.output('s', DataType.INT64, [2]);
  return g.encode({ opset: 17, producer: 'test' });
}

const byOutput = (nodes: NodeProto[], out: string) => nodes.find((n) => n.output?.includes(out));

describe('convertToFp16', () => {
  it('stores weights as float16, keeps the float32 interface, and runs LayerNorm and Softmax in float32', () => {
    const { bytes, stats } = convertToFp16(sample());
    const m = decodeModel(bytes, 'f');
    const g = m.graph;
    const nodes = g?.node ?? [];
    // Interface unchanged.
    expect(g?.input?.map((i) => [i.name, i.type?.tensorType?.elemType])).toEqual([['x', DataType.FLOAT]]);
    expect(g?.output?.map((o) => [o.name, o.type?.tensorType?.elemType])).toEqual([
      ['y', DataType.FLOAT],
      ['s', DataType.INT64],
    ]);
    // The MatMul's weight and the bias are float16; LayerNorm's scale and bias stay float32 (it runs in float32).
    const inits = new Map((g?.initializer ?? []).map((t) => [t.name, t.dataType]));
    expect(inits.get('w_fp16')).toBe(DataType.FLOAT16);
    expect(inits.get('b_fp16')).toBe(DataType.FLOAT16);
    expect(inits.has('w')).toBe(false);
    expect(inits.get('g')).toBe(DataType.FLOAT);
    const matmul = nodes.find((n) => n.opType === 'MatMul');
    expect(matmul?.input?.[1]).toBe('w_fp16');
    // LayerNorm reads x as float32 directly; the MatMul reads LayerNorm's output through a Cast to float16.
    const lnNode = nodes.find((n) => n.opType === 'LayerNormalization');
    expect(lnNode?.input?.[0]).toBe('x');
    const toHalfCast = byOutput(nodes, matmul?.input?.[0] ?? '');
    expect(toHalfCast?.opType).toBe('Cast');
    expect(toNumber(toHalfCast?.attribute?.[0].i)).toBe(DataType.FLOAT16);
    // Softmax is the graph output's producer: it reads float32 (cast up) and writes y as float32 itself.
    const soft = byOutput(nodes, 'y');
    expect(soft?.opType).toBe('Softmax');
    expect(byOutput(nodes, soft?.input?.[0] ?? '')?.opType).toBe('Cast');
    expect(stats).toMatchObject({ converted: 3, kept: { LayerNormalization: 1, Softmax: 1 }, casts: 2, clamped: 2 });
    // −1e9 became −1e4, still finite in float16.
    const mask = (g?.initializer ?? []).find((t) => t.name === 'mask_fp16');
    const vals = Array.from(new Uint16Array(Uint8Array.from(mask?.rawData ?? []).buffer), fromHalf);
    expect(vals[3]).toBeCloseTo(-1e4, -1);
  });

  it('keeps the reductions of a spelled-out LayerNorm in float32, where squares of large activations would overflow', () => {
    const g = new GraphBuilder('ln');
    const x = g.input('x', DataType.FLOAT, ['n', 8]);
    const axes = g.ints('axes', [-1]);
    const d = g.op('Sub', [x, g.op('ReduceMean', [x, axes])]);
    const variance = g.op('ReduceMean', [g.op('Pow', [d, g.scalar('two', 2)]), axes]);
    const std = g.op('Sqrt', [g.op('Add', [variance, g.scalar('eps', 1e-5)])]);
    g.node('Div', [d, std], { outputs: ['y'] });
    g.output('y', DataType.FLOAT, ['n', 8]);
    const { stats } = convertToFp16(g.encode({ opset: 18, producer: 'test' }));
    expect(stats.kept).toEqual({ ReduceMean: 2, Pow: 1, Sqrt: 1 });
    expect(stats.converted).toBe(3); // Sub, Add, Div
  });

  it('with nothing kept, casts only at the float inputs and outputs', () => {
    const { bytes, stats } = convertToFp16(sample(), { keep: [] });
    const nodes = decodeModel(bytes, 'f').graph?.node ?? [];
    expect(stats.kept).toEqual({});
    expect(stats.casts).toBe(2); // x → fp16, y → fp32
    const out = byOutput(nodes, 'y');
    expect(out?.opType).toBe('Cast');
    expect(toNumber(out?.attribute?.[0].i)).toBe(DataType.FLOAT);
  });

  it('converts the synthetic CLIP towers, casting the mask to float16 and keeping the ids integer', () => {
    for (const build of [buildTextModel, buildVisionModel]) {
      const { bytes, stats } = convertToFp16(build(ARCHS.tiny, 1).bytes);
      const g = decodeModel(bytes, 'clip').graph;
      expect(stats.converted).toBeGreaterThan(50);
      expect(stats.kept.LayerNormalization).toBeGreaterThan(0);
      expect(g?.output?.every((o) => o.type?.tensorType?.elemType === DataType.FLOAT)).toBe(true);
      // No float32 weight feeds an fp16 node: only LayerNorm's parameters (and the class-token index) stay 32-bit.
      const fp32 = (g?.initializer ?? []).filter((t) => t.dataType === DataType.FLOAT).map((t) => t.name ?? '');
      expect(fp32.every((n) => /layer_norm|layrnorm|layernorm/.test(n))).toBe(true);
    }
    const text = decodeModel(convertToFp16(buildTextModel(ARCHS.tiny, 1).bytes).bytes, 't').graph?.node ?? [];
    const maskCast = text.find((n) => n.name === '/mask/cast');
    expect(toNumber(maskCast?.attribute?.[0].i)).toBe(DataType.FLOAT16);
    expect(toNumber(text.find((n) => n.name === '/pool/cast')?.attribute?.[0].i)).toBe(DataType.INT32);
  });

  it('refuses what it cannot type, an fp16 file, and control flow, naming them', () => {
    const g = new GraphBuilder('u');
    const x = g.input('x', DataType.FLOAT, [4]);
    g.node('Mystery', [x], { outputs: ['y'], domain: 'example.org' });
    g.output('y', DataType.FLOAT, [4]);
    // A graph output is typed by the file, so this one converts (and stays float32: another domain).
    expect(convertToFp16(g.encode({ opset: 17, producer: 't' })).stats.kept).toEqual({ Mystery: 1 });
    const h = new GraphBuilder('u2');
    const x2 = h.input('x', DataType.FLOAT, [4]);
    const mid = h.op('Mystery', [x2], { domain: 'example.org' });
    h.node('Relu', [mid], { outputs: ['y'] });
    h.output('y', DataType.FLOAT, [4]);
    const e = (() => {
      try {
        convertToFp16(h.encode({ opset: 17, producer: 't' }), { what: 'm.onnx' });
      } catch (err) {
        return err as ModelError;
      }
    })();
    expect(e).toBeInstanceOf(ModelError);
    expect(e?.code).toBe('MODEL_UNSUPPORTED');
    expect(e?.message).toMatch(/^m\.onnx: cannot tell the element type of .*example\.org\.Mystery/);

    const once = convertToFp16(sample()).bytes;
    expect(() => convertToFp16(once)).toThrow(/already holds float16/);

    const branch = { name: 'b', node: [], output: [{ name: 'x' }] };
    const withIf = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'if',
        input: [{ name: 'c', type: { tensorType: { elemType: DataType.BOOL, shape: { dim: [] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [] } } } }],
        node: [
          {
            opType: 'If',
            name: 'choose',
            input: ['c'],
            output: ['y'],
            attribute: [
              { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch },
              { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch },
            ],
          },
        ],
      },
    });
    expect(() => convertToFp16(withIf)).toThrow(/node choose has a subgraph \(If\)/);
  });
});
