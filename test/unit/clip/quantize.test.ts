import { describe, expect, it } from 'vitest';
import { quantizeOnnx } from '../../../src/clip/quantize.ts';
import { GraphBuilder } from '../../../src/clip/synth/graph.ts';
import { DataType, decodeModel, toNumber } from '../../../src/clip/synth/onnx.ts';

/** y = (x·W1 + b1)·W2 ; z = x·W1 (W1 shared) ; u = x·x (no constant weight). */
function sample(): Uint8Array {
  const g = new GraphBuilder('q');
  const x = g.input('x', DataType.FLOAT, ['n', 64]);
  const w1 = g.init(
    'w1',
    Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i) * (1 + (i % 64))),
    [64, 64],
  );
  const b1 = g.init(
    'b1',
    Float32Array.from({ length: 64 }, (_, i) => i / 10),
    [64],
  );
  const w2 = g.init(
    'w2',
    Float32Array.from({ length: 64 * 32 }, (_, i) => Math.cos(i)),
    [64, 32],
  );
  const h = g.op('Add', [g.op('MatMul', [x, w1]), b1]);
  g.node('MatMul', [h, w2], { outputs: ['y'] });
  g.node('MatMul', [x, w1], { outputs: ['z'] });
  g.node('MatMul', [g.op('Transpose', [x]), x], { outputs: ['u'] });
  g.output('y', DataType.FLOAT, ['n', 32]);
  g.output('z', DataType.FLOAT, ['n', 64]);
  g.output('u', DataType.FLOAT, [64, 64]);
  return g.encode({ opset: 17, producer: 'test' });
}

describe('quantizeOnnx', () => {
  it('turns constant-weight MatMuls into DynamicQuantizeMatMul, folding the bias Add', () => {
    const { bytes, stats } = quantizeOnnx(sample(), { minElements: 1 });
    const m = decodeModel(bytes, 'q');
    const ops = (m.graph?.node ?? []).map((n) => n.opType);
    expect(ops.filter((o) => o === 'DynamicQuantizeMatMul')).toHaveLength(3);
    expect(ops).not.toContain('Add'); // b1 folded into the op
    expect(ops.filter((o) => o === 'MatMul')).toHaveLength(1); // x·x has no constant weight
    expect(stats).toMatchObject({ quantized: 3, fusedBias: 1, parameters: 64 * 64 + 64 * 32 });
    const fused = m.graph?.node?.find((n) => n.opType === 'DynamicQuantizeMatMul' && n.input?.length === 5);
    expect(fused?.input?.[4]).toBe('b1');
    expect(fused?.domain).toBe('com.microsoft');
    expect(m.opsetImport?.some((o) => o.domain === 'com.microsoft')).toBe(true);
    // The shared weight is quantized once, the float copies are gone.
    const inits = new Map((m.graph?.initializer ?? []).map((t) => [t.name, t]));
    expect(inits.has('w1')).toBe(false);
    expect(inits.has('w2')).toBe(false);
    const q = inits.get('w1_quantized');
    expect(q?.dataType).toBe(DataType.INT8);
    expect((q?.dims ?? []).map((d) => toNumber(d))).toEqual([64, 64]);
    expect((inits.get('w1_scale')?.dims ?? []).map((d) => toNumber(d))).toEqual([64]); // per output column
  });

  it('keeps weights accurate to within half a step per column', () => {
    const { bytes } = quantizeOnnx(sample(), { minElements: 1 });
    const m = decodeModel(bytes, 'q');
    const inits = new Map((m.graph?.initializer ?? []).map((t) => [t.name, t]));
    const raw = (name: string) => Uint8Array.from(inits.get(name)?.rawData ?? []).buffer;
    const q = new Int8Array(raw('w1_quantized'));
    const s = new Float32Array(raw('w1_scale'));
    let worst = 0;
    for (let i = 0; i < 64 * 64; i++) {
      const w = Math.sin(i) * (1 + (i % 64));
      worst = Math.max(worst, Math.abs(q[i] * s[i % 64] - w) / s[i % 64]);
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);
    expect(Math.max(...q.map(Math.abs))).toBe(127);
  });

  it('uses one scale per matrix when asked, and skips matrices under the size floor', () => {
    const per = quantizeOnnx(sample(), { perChannel: false, minElements: 1 });
    const m = decodeModel(per.bytes, 'q');
    const scale = m.graph?.initializer?.find((t) => t.name === 'w1_scale');
    expect(scale?.dims ?? []).toHaveLength(0);
    expect(quantizeOnnx(sample(), { minElements: 64 * 64 }).stats.quantized).toBe(2); // w2 (64×32) too small
  });

  it('rejects bytes that are not an ONNX model with a typed error', () => {
    expect(() => quantizeOnnx(new Uint8Array([1, 2, 3, 4, 5]), { what: 'junk.onnx' })).toThrow(/junk\.onnx/);
  });
});
