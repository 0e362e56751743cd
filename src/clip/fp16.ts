/**
 * fp16 versions of ONNX models, in TypeScript on the ONNX protobuf (as quantize.ts does for
 * int8): weights stored and arithmetic done in float16, inputs and outputs kept float32 (a
 * Cast after each float input and before each float output), so callers and the KServe
 * contract do not change. Numerically sensitive operators stay float32 with Casts around them:
 * LayerNormalization and Softmax by default (their reductions lose most in fp16; also ReduceMean,
 * Pow and Sqrt, which older exports use to spell out LayerNorm), plus the
 * operators whose inputs must be float32 (Resize's scales, Range, …) and every operator outside
 * the standard domain (e.g. com.microsoft's int8 kernels).
 *
 * Element types are followed through the graph with a small table of operator rules (graph
 * inputs, initializers, Constant, Cast, …), since an export rarely lists every intermediate
 * value's type; an operator the table does not know and the file does not type is refused
 * with its name, never guessed. Float constants beyond float16's range are clamped to ±1e4
 * (as onnxruntime's own float16 converter does), so masks of −1e9 stay finite, and sums of
 * two of them too.
 *
 * On a GPU (WebGPU, CUDA) fp16 halves the weight traffic and doubles arithmetic throughput;
 * on the CPU ONNX Runtime casts around its fp32 kernels, so the CPU is where parity is
 * checked (`fp16Parity`), not where fp16 is fast.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../errors.ts';
import { type ModelKind, onnxFile } from './model-dir.ts';
import { type AttributeProto, DataType, decodeModel, encodeModel, type NodeProto, onnx, type TensorProto, toNumber } from './synth/onnx.ts';

export interface Fp16Options {
  /** Operator types kept in float32 (default: LayerNormalization, Softmax). */
  keep?: readonly string[];
  /** Largest magnitude a converted constant keeps; beyond it values are clamped (default 1e4). */
  clampAbs?: number;
  what?: string;
}

export interface Fp16Stats {
  /** Nodes that now run in float16. */
  converted: number;
  /** Nodes that touch floats and stay float32, by operator type. */
  kept: Record<string, number>;
  /** Casts added at the boundaries (inputs, outputs, kept operators). */
  casts: number;
  /** Float weights now stored as float16. */
  parameters: number;
  /** Constant values clamped to ±clampAbs. */
  clamped: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * LayerNormalization and Softmax; and the reductions of a LayerNorm that older exports (opset < 17)
 * spell out as ReduceMean, Pow and Sqrt, where a squared activation of a few hundred overflows float16.
 */
export const DEFAULT_KEEP: readonly string[] = ['LayerNormalization', 'Softmax', 'ReduceMean', 'Pow', 'Sqrt'];

/** Operators that stay float32 whatever `keep` says: inputs that must be float32, or no fp16 kernel anywhere. */
const ALWAYS_FP32 = new Set([
  'Resize',
  'Upsample',
  'Range',
  'CumSum',
  'TopK',
  'NonMaxSuppression',
  'RoiAlign',
  'RandomUniformLike',
  'RandomNormalLike',
  'DynamicQuantizeLinear',
  'QuantizeLinear',
  'DequantizeLinear',
]);

const F32 = DataType.FLOAT;
const F16 = DataType.FLOAT16;
const I64 = DataType.INT64;
const BOOL = DataType.BOOL;

// Output type = type of input 0 (every output).
const SAME_AS_FIRST = new Set(
  (
    'Identity Neg Abs Relu Sigmoid Tanh Exp Log Sqrt Reciprocal Erf Floor Ceil Round Sin Cos Sign Softmax LogSoftmax Add Sub Mul Div Pow Max Min Mod ' +
    'MatMul Gemm Conv ConvTranspose Transpose Reshape Flatten Squeeze Unsqueeze Expand Slice Concat Split Tile Pad Gather GatherND GatherElements ' +
    'ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceSumSquare ReduceLogSumExp Clip LeakyRelu Gelu FastGelu HardSigmoid ' +
    'HardSwish Softplus Softsign Elu Selu Celu PRelu BatchNormalization InstanceNormalization GroupNormalization Einsum Trilu ScatterND ' +
    'ScatterElements DepthToSpace SpaceToDepth AveragePool GlobalAveragePool GlobalMaxPool Resize Upsample Range CumSum Shrink ThresholdedRelu Mish'
  ).split(' '),
);
const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);

function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/** The element types of a node's outputs, by the operator's rule; undefined where unknown. */
function outputTypes(node: NodeProto, typeOf: (v: string) => number | undefined): (number | undefined)[] {
  const op = node.opType ?? '';
  const outs = node.output ?? [];
  const ins = node.input ?? [];
  const all = (t: number | undefined) => outs.map(() => t);
  if (node.domain === 'com.microsoft') {
    if (op === 'DynamicQuantizeMatMul' || op === 'MatMulIntegerToFloat' || op === 'FusedMatMul' || op === 'BiasGelu' || op === 'FastGelu')
      return all(F32);
    return all(undefined);
  }
  if (node.domain && node.domain !== 'ai.onnx') return all(undefined);
  if (SAME_AS_FIRST.has(op)) return all(typeOf(ins[0]));
  if (INT64_OUT.has(op)) return all(I64);
  if (BOOL_OUT.has(op)) return all(BOOL);
  switch (op) {
    case 'Cast':
      return all(toNumber(attr(node, 'to')?.i));
    case 'CastLike':
      return all(typeOf(ins[1]));
    case 'Where':
      return all(typeOf(ins[1]));
    case 'LayerNormalization':
    case 'Dropout':
    case 'MaxPool':
      // Y has X's type; the optional extra outputs (mean/inv-std, mask, indices) are float32, bool, int64.
      return outs.map((_, i) => (i === 0 ? typeOf(ins[0]) : op === 'LayerNormalization' ? F32 : op === 'Dropout' ? BOOL : I64));
    case 'TopK':
      return [typeOf(ins[0]), I64];
    case 'Constant': {
      const a = node.attribute?.[0];
      if (!a) return all(undefined);
      if (a.name === 'value' || a.name === 'sparse_value') return all(a.t?.dataType ?? undefined);
      if (a.name === 'value_float' || a.name === 'value_floats') return all(F32);
      if (a.name === 'value_int' || a.name === 'value_ints') return all(I64);
      return all(undefined);
    }
    case 'ConstantOfShape':
      return all(attr(node, 'value')?.t?.dataType ?? F32);
    case 'DynamicQuantizeLinear':
      return [DataType.UINT8, F32, DataType.UINT8];
    case 'MatMulInteger':
    case 'ConvInteger':
      return all(DataType.INT32);
    case 'QuantizeLinear':
      return all(ins[2] ? typeOf(ins[2]) : DataType.UINT8);
    case 'DequantizeLinear':
      return all(typeOf(ins[1]));
    default:
      return all(undefined);
  }
}

/** float32 → float16 bits, round to nearest even (NaN and ±Inf kept). */
export function toHalf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** float16 bits → the number (for checks and tests). */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function floatValues(t: TensorProto, what: string): Float32Array {
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0)) {
    throw new ModelError(
      'MODEL_UNSUPPORTED',
      `${what}: tensor ${t.name} is stored as external data, which the fp16 converter does not read`,
    );
  }
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
    return new Float32Array(Uint8Array.from(raw).buffer);
  }
  return Float32Array.from(t.floatData ?? []);
}

/** A float32 tensor as float16, values clamped to ±clampAbs; counts the clamped ones into `stats`. */
function halfTensor(t: TensorProto, name: string | undefined, clampAbs: number, stats: Fp16Stats, what: string): TensorProto {
  const f = floatValues(t, what);
  const out = new Uint16Array(f.length);
  const bits = new Uint32Array(f.buffer, f.byteOffset, f.length);
  const lim = new Float32Array([clampAbs, -clampAbs]);
  const limBits = new Uint32Array(lim.buffer);
  for (let i = 0; i < f.length; i++) {
    const v = f[i];
    if (v > clampAbs || v < -clampAbs) {
      out[i] = toHalf(limBits[v > 0 ? 0 : 1]);
      stats.clamped++;
    } else out[i] = toHalf(bits[i]);
  }
  return {
    name: name ?? t.name,
    dims: t.dims,
    dataType: F16,
    rawData: new Uint8Array(out.buffer),
    docString: t.docString,
  };
}

/** Converts one ONNX model held in memory; returns the new model's bytes. */
export function convertToFp16(bytes: Uint8Array, opts: Fp16Options = {}): { bytes: Uint8Array; stats: Fp16Stats } {
  const what = opts.what ?? 'model';
  const keep = new Set(opts.keep ?? DEFAULT_KEEP);
  const clampAbs = opts.clampAbs ?? 1e4;
  const model = decodeModel(bytes, what);
  const graph = model.graph;
  if (!graph) throw new ModelError('MODEL_CORRUPT', `${what}: the ONNX file has no graph`);
  const nodes = graph.node ?? [];
  const stats: Fp16Stats = { converted: 0, kept: {}, casts: 0, parameters: 0, clamped: 0, bytesIn: bytes.length, bytesOut: 0 };
  const T = onnx.AttributeProto.AttributeType;
  for (const n of nodes) {
    if ((n.attribute ?? []).some((a) => a.type === T.GRAPH || a.type === T.GRAPHS))
      throw new ModelError(
        'MODEL_UNSUPPORTED',
        `${what}: node ${n.name || n.opType} has a subgraph (${n.opType}); the fp16 converter handles flat graphs only`,
      );
  }
  if (
    (graph.initializer ?? []).some((t) => t.dataType === F16) ||
    nodes.some((n) => n.opType === 'Cast' && toNumber(attr(n, 'to')?.i) === F16)
  ) {
    throw new ModelError('MODEL_UNSUPPORTED', `${what}: the model already holds float16 tensors; convert the float32 file instead`);
  }

  // Graph outputs computed in fp16 get a Cast back to float32 under their own name; the
  // producer's value is renamed first so types and consumers follow one name per value.
  const inits = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) if (t.name) inits.set(t.name, t);
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));

  // --- element types ---
  const types = new Map<string, number>();
  const declared = new Map<string, number>();
  for (const vi of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const t = vi.type?.tensorType?.elemType;
    if (vi.name && t) declared.set(vi.name, t);
  }
  for (const i of graph.input ?? []) if (i.name && i.type?.tensorType?.elemType) types.set(i.name, i.type.tensorType.elemType);
  for (const t of graph.initializer ?? []) if (t.name && t.dataType) types.set(t.name, t.dataType);
  const typeOf = (v: string) => types.get(v);
  for (const n of nodes) {
    const ts = outputTypes(n, typeOf);
    (n.output ?? []).forEach((o, i) => {
      if (!o) return;
      const t = ts[i] ?? declared.get(o);
      if (t === undefined) {
        throw new ModelError(
          'MODEL_UNSUPPORTED',
          `${what}: cannot tell the element type of ${o}, output of ${n.domain ? `${n.domain}.` : ''}${n.opType} node ${n.name || '(unnamed)'}; the fp16 converter knows the standard operators, and reads value_info for the rest`,
        );
      }
      types.set(o, t);
    });
  }
  const isFloat = (v: string) => v !== '' && types.get(v) === F32;
  const touchesFloat = (n: NodeProto) =>
    [...(n.input ?? []), ...(n.output ?? [])].some(isFloat) || (n.opType === 'Cast' && toNumber(attr(n, 'to')?.i) === F32);
  const runsHalf = (n: NodeProto) => !n.domain && !keep.has(n.opType ?? '') && !ALWAYS_FP32.has(n.opType ?? '');

  // Where each float value lives: produced by an fp16 node → 16, otherwise 32.
  const half = new Set<string>();
  for (const n of nodes) if (runsHalf(n)) for (const o of n.output ?? []) if (isFloat(o)) half.add(o);

  // Graph outputs produced in fp16: rename the value, Cast back under the output's name.
  const renames = new Map<string, string>();
  for (const o of graph.output ?? []) if (o.name && half.has(o.name)) renames.set(o.name, `${o.name}/fp16`);
  const rn = (v: string) => renames.get(v) ?? v;
  for (const [from, to] of renames) {
    half.add(to);
    types.set(to, F32);
    half.delete(from);
  }

  const out: NodeProto[] = [];
  const casts = new Map<string, string>();
  const cast = (v: string, to: 16 | 32): string => {
    const key = `${v}->${to}`;
    const known = casts.get(key);
    if (known) return known;
    const name = `${v}/to_fp${to}`;
    out.push({
      opType: 'Cast',
      name: `${name}_cast`,
      input: [v],
      output: [name],
      attribute: [{ name: 'to', type: T.INT, i: to === 16 ? F16 : F32 }],
    });
    casts.set(key, name);
    stats.casts++;
    return name;
  };
  const halfInits = new Map<string, string>();
  const added: TensorProto[] = [];
  const halfInit = (name: string): string => {
    let h = halfInits.get(name);
    if (!h) {
      const t = inits.get(name) as TensorProto;
      h = `${name}_fp16`;
      added.push(halfTensor(t, h, clampAbs, stats, what));
      stats.parameters += (t.dims ?? []).reduce<number>((a, d) => a * toNumber(d), 1);
      halfInits.set(name, h);
    }
    return h;
  };
  const readAs = (v: string, want: 16 | 32): string => {
    if (!isFloat(v)) return v;
    if (inits.has(v) && !graphInputs.has(v)) return want === 16 ? halfInit(v) : v;
    const have = half.has(rn(v)) ? 16 : 32;
    return have === want ? rn(v) : cast(rn(v), want);
  };

  for (const n of nodes) {
    // Shape and Size read only a tensor's dimensions: whatever precision it is in will do.
    if (!touchesFloat(n) || ((n.opType === 'Shape' || n.opType === 'Size') && !n.domain)) {
      out.push({ ...n, input: (n.input ?? []).map(rn), output: (n.output ?? []).map(rn) });
      continue;
    }
    const h = runsHalf(n);
    const inputs = (n.input ?? []).map((v) => readAs(v, h ? 16 : 32));
    const outputs = (n.output ?? []).map(rn);
    if (!h) {
      stats.kept[n.opType ?? '?'] = (stats.kept[n.opType ?? '?'] ?? 0) + 1;
      out.push({ ...n, input: inputs, output: outputs });
      continue;
    }
    stats.converted++;
    const attribute = (n.attribute ?? []).map((a) => {
      if (n.opType === 'Cast' && a.name === 'to' && toNumber(a.i) === F32) return { ...a, i: F16 };
      if ((n.opType === 'Constant' || n.opType === 'ConstantOfShape') && a.name === 'value' && a.t?.dataType === F32)
        return { ...a, t: halfTensor(a.t, undefined, clampAbs, stats, what) };
      if (n.opType === 'Constant' && (a.name === 'value_float' || a.name === 'value_floats')) {
        const vals = a.name === 'value_float' ? [a.f ?? 0] : (a.floats ?? []);
        const t = halfTensor(
          { dims: a.name === 'value_float' ? [] : [vals.length], dataType: F32, floatData: vals },
          undefined,
          clampAbs,
          stats,
          what,
        );
        return { name: 'value', type: T.TENSOR, t };
      }
      return a;
    });
    out.push({ ...n, input: inputs, output: outputs, attribute });
  }
  for (const [name, internal] of renames) {
    out.push({
      opType: 'Cast',
      name: `${name}/to_fp32_cast`,
      input: [internal],
      output: [name],
      attribute: [{ name: 'to', type: T.INT, i: F32 }],
    });
    stats.casts++;
  }

  // Float weights nothing reads as float32 any more go; graph inputs keep theirs.
  const read = new Set<string>();
  for (const n of out) for (const i of n.input ?? []) read.add(i);
  for (const o of graph.output ?? []) if (o.name) read.add(o.name);
  graph.node = out;
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !t.name || read.has(t.name) || graphInputs.has(t.name)), ...added];
  // Intermediate value types the file declared: float values computed in fp16 are float16 now.
  graph.valueInfo = (graph.valueInfo ?? []).flatMap((vi) => {
    const tt = vi.type?.tensorType;
    if (!vi.name || !tt || tt.elemType !== F32 || !half.has(vi.name)) return [vi];
    return [{ ...vi, type: { ...vi.type, tensorType: { ...tt, elemType: F16 } } }];
  });
  model.producerName = `${model.producerName || 'unknown'}+adcreative-fp16`;
  const result = encodeModel(model);
  stats.bytesOut = result.length;
  return { bytes: result, stats };
}

/** The files `models fp16` converts: each half's float32 file (8-bit-pixel variants are made from the fp16 file by `models rgb8`). */
export function fp16Targets(dir: string): { kind: ModelKind; from: string; to: string }[] {
  return (['text', 'vision'] as const).map((kind) => ({
    kind,
    from: join(dir, onnxFile(kind, 'fp32')),
    to: join(dir, onnxFile(kind, 'fp16')),
  }));
}

/** Writes `onnx/*_fp16.onnx` next to a model directory's float32 files; returns the paths written. */
export async function fp16ModelDir(dir: string, opts: Fp16Options & { onProgress?: (msg: string) => void } = {}): Promise<string[]> {
  const say = opts.onProgress ?? (() => {});
  const targets = fp16Targets(dir);
  const missing = targets.filter((t) => !existsSync(t.from)).map((t) => t.from);
  if (missing.length) {
    throw new ModelError('MODEL_MISSING', `cannot convert ${dir} to fp16: missing ${missing.join(', ')}`, {
      hint: 'a model directory needs onnx/text_model.onnx and onnx/vision_model.onnx (adcreative models fetch, or models synth)',
    });
  }
  const written: string[] = [];
  for (const t of targets) {
    const t0 = performance.now();
    const { bytes, stats } = convertToFp16(await readFile(t.from), { ...opts, what: t.from });
    const tmp = `${t.to}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, t.to);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    written.push(t.to);
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    const kept = Object.entries(stats.kept)
      .map(([op, n]) => `${n} ${op}`)
      .join(', ');
    say(
      `${t.to.slice(dir.length + 1)}: ${stats.converted} nodes fp16, kept fp32: ${kept || 'none'}; ${stats.casts} casts; ${(stats.parameters / 1e6).toFixed(1)}M weights; ` +
        `${mib(stats.bytesIn)} → ${mib(stats.bytesOut)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s${stats.clamped ? `; ${stats.clamped} values clamped to ±${opts.clampAbs ?? 1e4}` : ''}`,
    );
  }
  return written;
}
