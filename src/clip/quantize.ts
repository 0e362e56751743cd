/**
 * Dynamic int8 quantization of an ONNX model's weight matrix multiplications, in
 * TypeScript: every `MatMul(A, B)` whose B is a constant 2-D float initializer becomes ONNX
 * Runtime's `com.microsoft.DynamicQuantizeMatMul` (A quantized to uint8 per run, B stored
 * as symmetric int8 with one scale per output column), with a following bias `Add` folded
 * in. That is the op ONNX Runtime's own fusions turn `DynamicQuantizeLinear + MatMulInteger
 * + Mul` into, so emitting it directly skips the fusion and runs MLAS's int8 GEMM (VNNI
 * where the CPU has it). Everything else (attention's activation×activation MatMuls, the
 * patch-embedding Conv, LayerNorm, Softmax) stays fp32.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../errors.ts';
import { DataType, decodeModel, encodeModel, type NodeProto, type TensorProto, toNumber } from './synth/onnx.ts';

export interface QuantizeOptions {
  /** One scale per output column (default) or one per matrix. */
  perChannel?: boolean;
  /**
   * 7-bit weights ([-63, 63]): avoids the saturation of u8×s8 products that CPUs without
   * VNNI (AVX2's vpmaddubsw) suffer; unnecessary on AVX-512 VNNI / AMX. Default false.
   */
  reduceRange?: boolean;
  /** Smallest matrix (K·N elements) worth quantizing; smaller ones stay fp32. Default 1024. */
  minElements?: number;
  onProgress?: (msg: string) => void;
}

export interface QuantizeStats {
  /** MatMuls turned into DynamicQuantizeMatMul. */
  quantized: number;
  /** Of those, how many absorbed their bias Add. */
  fusedBias: number;
  /** Float weight parameters now stored as int8. */
  parameters: number;
  bytesIn: number;
  bytesOut: number;
}

/** The model files `models quantize` converts, and the names it writes them under. */
export const QUANTIZE_TARGETS = [
  ['onnx/text_model.onnx', 'onnx/text_model_quantized.onnx'],
  ['onnx/vision_model.onnx', 'onnx/vision_model_quantized.onnx'],
] as const;

const MS_DOMAIN = 'com.microsoft';

function floatValues(t: TensorProto, what: string): Float32Array {
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0)) {
    throw new ModelError('MODEL_UNSUPPORTED', `${what}: weight ${t.name} is stored as external data, which the quantizer does not read`);
  }
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    // Decoded bytes are views into the file at any offset; Float32Array needs 4-byte alignment.
    if (raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
    return new Float32Array(Uint8Array.from(raw).buffer);
  }
  return Float32Array.from(t.floatData ?? []);
}

interface QuantizedWeight {
  weight: string;
  scale: string;
}

function quantizeWeight(w: Float32Array, k: number, n: number, perChannel: boolean, qmax: number): { q: Int8Array; scale: Float32Array } {
  const maxAbs = new Float32Array(perChannel ? n : 1);
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const a = Math.abs(w[row + c]);
      const j = perChannel ? c : 0;
      if (a > maxAbs[j]) maxAbs[j] = a;
    }
  }
  const scale = maxAbs.map((m) => (m > 0 ? m / qmax : 1));
  const inv = scale.map((s) => 1 / s);
  const q = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const v = Math.round(w[row + c] * inv[perChannel ? c : 0]);
      q[row + c] = Math.min(qmax, Math.max(-qmax, v));
    }
  }
  return { q, scale };
}

const bytesOf = (a: Float32Array | Int8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Quantizes one ONNX model held in memory; returns the new model's bytes. */
export function quantizeOnnx(
  bytes: Uint8Array,
  opts: QuantizeOptions & { what?: string } = {},
): { bytes: Uint8Array; stats: QuantizeStats } {
  const what = opts.what ?? 'model';
  const perChannel = opts.perChannel ?? true;
  const qmax = opts.reduceRange ? 63 : 127;
  const minElements = opts.minElements ?? 1024;
  const model = decodeModel(bytes, what);
  const graph = model.graph;
  if (!graph) throw new ModelError('MODEL_CORRUPT', `${what}: the ONNX file has no graph`);
  const nodes = graph.node ?? [];
  const initializers = graph.initializer ?? [];

  const inits = new Map<string, TensorProto>();
  for (const t of initializers) if (t.name) inits.set(t.name, t);
  const consumers = new Map<string, NodeProto[]>();
  for (const node of nodes) {
    for (const i of node.input ?? []) {
      const list = consumers.get(i);
      if (list) list.push(node);
      else consumers.set(i, [node]);
    }
  }
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));

  const done = new Map<string, QuantizedWeight>();
  const added: TensorProto[] = [];
  const replaced = new Set<string>();
  const absorbed = new Set<NodeProto>();
  const out: NodeProto[] = [];
  const stats: QuantizeStats = { quantized: 0, fusedBias: 0, parameters: 0, bytesIn: bytes.length, bytesOut: 0 };

  for (const node of nodes) {
    if (absorbed.has(node)) continue;
    const inputs = node.input ?? [];
    const w = node.opType === 'MatMul' && !node.domain && inputs.length === 2 ? inits.get(inputs[1]) : undefined;
    const dims = (w?.dims ?? []).map((d) => toNumber(d));
    if (!w || w.dataType !== DataType.FLOAT || dims.length !== 2 || inits.has(inputs[0]) || dims[0] * dims[1] < minElements) {
      out.push(node);
      continue;
    }
    const [k, n] = dims;
    const wName = inputs[1];
    let qw = done.get(wName);
    if (!qw) {
      const { q, scale } = quantizeWeight(floatValues(w, what), k, n, perChannel, qmax);
      qw = { weight: `${wName}_quantized`, scale: `${wName}_scale` };
      added.push({ name: qw.weight, dims: [k, n], dataType: DataType.INT8, rawData: bytesOf(q) });
      added.push({ name: qw.scale, dims: perChannel ? [n] : [], dataType: DataType.FLOAT, rawData: bytesOf(scale) });
      done.set(wName, qw);
      replaced.add(wName);
      stats.parameters += k * n;
    }

    // Fold `Add(MatMul(A, B), bias)` into the op's own bias input when nothing else reads
    // the product; the fused kernel adds it in its output stage.
    let output = node.output?.[0] ?? '';
    let bias: string | undefined;
    const readers = consumers.get(output) ?? [];
    if (readers.length === 1 && !graphOutputs.has(output)) {
      const add = readers[0];
      const addIn = add.input ?? [];
      if (add.opType === 'Add' && !add.domain && addIn.length === 2) {
        const other = addIn[0] === output ? addIn[1] : addIn[0];
        const b = inits.get(other);
        const bDims = (b?.dims ?? []).map((d) => toNumber(d));
        if (b && b.dataType === DataType.FLOAT && bDims.length === 1 && bDims[0] === n && addIn[0] !== addIn[1]) {
          bias = other;
          output = add.output?.[0] ?? output;
          absorbed.add(add);
          stats.fusedBias++;
        }
      }
    }
    out.push({
      opType: 'DynamicQuantizeMatMul',
      domain: MS_DOMAIN,
      name: `${node.name || wName}_quant`,
      input: bias ? [inputs[0], qw.weight, qw.scale, '', bias] : [inputs[0], qw.weight, qw.scale],
      output: [output],
    });
    stats.quantized++;
  }

  // Drop the float weights nothing reads any more (a weight shared with another op stays).
  const read = new Set<string>();
  for (const node of out) for (const i of node.input ?? []) read.add(i);
  graph.node = out;
  graph.initializer = [...initializers.filter((t) => !(t.name && replaced.has(t.name) && !read.has(t.name))), ...added];
  graph.input = (graph.input ?? []).filter((i) => !(i.name && replaced.has(i.name) && !read.has(i.name)));
  const opsets = model.opsetImport ?? [];
  if (stats.quantized > 0 && !opsets.some((o) => o.domain === MS_DOMAIN)) opsets.push({ domain: MS_DOMAIN, version: 1 });
  model.opsetImport = opsets;
  model.producerName = `${model.producerName || 'unknown'}+adcreative-quantize`;

  const result = encodeModel(model);
  stats.bytesOut = result.length;
  return { bytes: result, stats };
}

/**
 * Writes `onnx/text_model_quantized.onnx` and `onnx/vision_model_quantized.onnx` next to a
 * model directory's fp32 files; returns the paths written.
 */
export async function quantizeModelDir(dir: string, opts: QuantizeOptions = {}): Promise<string[]> {
  const say = opts.onProgress ?? (() => {});
  const missing = QUANTIZE_TARGETS.map(([src]) => join(dir, src)).filter((p) => !existsSync(p));
  if (missing.length) {
    throw new ModelError('MODEL_MISSING', `cannot quantize ${dir}: missing ${missing.join(', ')}`, {
      hint: 'a model directory needs onnx/text_model.onnx and onnx/vision_model.onnx (adcreative models fetch, or models synth)',
    });
  }
  const written: string[] = [];
  for (const [src, dst] of QUANTIZE_TARGETS) {
    const t0 = performance.now();
    const from = join(dir, src);
    const to = join(dir, dst);
    const { bytes, stats } = quantizeOnnx(await readFile(from), { ...opts, what: from });
    if (stats.quantized === 0) {
      throw new ModelError('QUANTIZE_NOTHING', `${from}: no MatMul with a constant 2-D float weight found; nothing to quantize`);
    }
    const tmp = `${to}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, to);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    written.push(to);
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    say(
      `${dst}: ${stats.quantized} MatMuls int8 (${stats.fusedBias} with bias), ${(stats.parameters / 1e6).toFixed(1)}M weights, ` +
        `${mib(stats.bytesIn)} → ${mib(stats.bytesOut)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  return written;
}
