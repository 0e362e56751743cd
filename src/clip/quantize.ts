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
import { DataType, decodeModel, encodeModel, type NodeProto, onnx, type TensorProto, toNumber } from './synth/onnx.ts';

export interface QuantizeOptions {
  /** One scale per output column (default) or one per matrix. */
  perChannel?: boolean;
  /**
   * 7-bit weights ([-63, 63]): avoids the saturation of u8×s8 products that CPUs without
   * VNNI (AVX2's vpmaddubsw) suffer; unnecessary on AVX-512 VNNI / AMX. Default false.
   */
  reduceRange?: boolean;
  /**
   * Also quantize patch-embedding convolutions (kernel = stride, no padding, one group,
   * constant weight, static input channels and size), rewritten as patches × matrix.
   * Default true.
   */
  patchConv?: boolean;
  /**
   * Merge MatMuls that read the same activation (attention's q, k and v projections) into
   * one wider int8 product followed by a Split: the activation is quantized once and one
   * larger GEMM replaces three. Per-channel only. Default false: on ViT-B/32 (AMD EPYC,
   * ORT 1.30) it measured no faster, the Split's copy eating what the shared quantization saves.
   */
  fuseSiblings?: boolean;
  /** Smallest matrix (K·N elements) worth quantizing; smaller ones stay fp32. Default 1024. */
  minElements?: number;
  onProgress?: (msg: string) => void;
}

export interface QuantizeStats {
  /** MatMuls turned into DynamicQuantizeMatMul. */
  quantized: number;
  /** Of those, how many absorbed their bias Add. */
  fusedBias: number;
  /** Patch-embedding Convs rewritten as quantized matrix multiplications. */
  patchConvs: number;
  /** Groups of MatMuls sharing an input merged into one product. */
  fusedGroups: number;
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

const bytesOf = (a: Float32Array | Int8Array | BigInt64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  if (!a) return undefined;
  const T = onnx.AttributeProto.AttributeType;
  if (a.type === T.INTS) return (a.ints ?? []).map((v) => toNumber(v));
  if (a.type === T.INT) return [toNumber(a.i)];
  return [];
}

function attrString(node: NodeProto, name: string): string | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a?.s ? new TextDecoder().decode(a.s) : undefined;
}

/** Static [C, H, W] of a value from the graph's declared inputs and value_info, if known. */
function staticChw(graph: NonNullable<ReturnType<typeof decodeModel>['graph']>, name: string): number[] | undefined {
  const info = [...(graph.input ?? []), ...(graph.valueInfo ?? [])].find((v) => v.name === name);
  const dims = info?.type?.tensorType?.shape?.dim ?? [];
  if (dims.length !== 4) return undefined;
  const chw = dims.slice(1).map((d) => (d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : 0));
  return chw.every((v) => v > 0) ? chw : undefined;
}

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
  const stats: QuantizeStats = {
    quantized: 0,
    fusedBias: 0,
    patchConvs: 0,
    fusedGroups: 0,
    parameters: 0,
    bytesIn: bytes.length,
    bytesOut: 0,
  };

  const shapeConst = (name: string, values: number[]) => {
    added.push({ name, dims: [values.length], dataType: DataType.INT64, rawData: bytesOf(BigInt64Array.from(values, BigInt)) });
    return name;
  };

  /**
   * A convolution whose kernel equals its stride cuts the image into disjoint patches: it
   * is exactly Reshape/Transpose into [B, patches, C·kh·kw] times the weight matrix, which
   * then runs as int8 like any other weight MatMul.
   */
  const rewritePatchConv = (node: NodeProto): NodeProto[] | undefined => {
    const inputs = node.input ?? [];
    const w = inits.get(inputs[1]);
    const wDims = (w?.dims ?? []).map((d) => toNumber(d));
    if (!w || w.dataType !== DataType.FLOAT || wDims.length !== 4 || inits.has(inputs[0])) return undefined;
    const [cout, cin, kh, kw] = wDims;
    const strides = attrInts(node, 'strides') ?? [1, 1];
    const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    const dil = attrInts(node, 'dilations') ?? [1, 1];
    const group = attrInts(node, 'group')?.[0] ?? 1;
    const autoPad = attrString(node, 'auto_pad') ?? 'NOTSET';
    const chw = staticChw(graph, inputs[0]);
    const bias = inputs[2] ? inits.get(inputs[2]) : undefined;
    if (
      strides[0] !== kh ||
      strides[1] !== kw ||
      pads.some((p) => p !== 0) ||
      dil.some((d) => d !== 1) ||
      group !== 1 ||
      autoPad !== 'NOTSET' ||
      !chw ||
      chw[0] !== cin ||
      chw[1] % kh !== 0 ||
      chw[2] % kw !== 0 ||
      (inputs[2] && (!bias || bias.dataType !== DataType.FLOAT)) ||
      cout * cin * kh * kw < minElements
    ) {
      return undefined;
    }
    const gh = chw[1] / kh;
    const gw = chw[2] / kw;
    const k = cin * kh * kw;
    const f = floatValues(w, what);
    const mat = new Float32Array(k * cout); // [K, Cout] = W viewed as [Cout, K], transposed
    for (let o = 0; o < cout; o++) for (let i = 0; i < k; i++) mat[i * cout + o] = f[o * k + i];
    const { q, scale } = quantizeWeight(mat, k, cout, perChannel, qmax);
    const base = `${inputs[1]}_patches`;
    added.push({ name: `${base}_quantized`, dims: [k, cout], dataType: DataType.INT8, rawData: bytesOf(q) });
    added.push({ name: `${base}_scale`, dims: perChannel ? [cout] : [], dataType: DataType.FLOAT, rawData: bytesOf(scale) });
    replaced.add(inputs[1]);
    stats.parameters += k * cout;
    stats.quantized++;
    stats.patchConvs++;
    const n = node.name || base;
    const v = (suffix: string) => `${base}/${suffix}`;
    return [
      {
        opType: 'Reshape',
        name: `${n}/split`,
        input: [inputs[0], shapeConst(v('split_shape'), [-1, cin, gh, kh, gw, kw])],
        output: [v('split')],
      },
      {
        opType: 'Transpose',
        name: `${n}/gather`,
        input: [v('split')],
        output: [v('gather')],
        attribute: [{ name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 2, 4, 1, 3, 5] }],
      },
      { opType: 'Reshape', name: `${n}/rows`, input: [v('gather'), shapeConst(v('rows_shape'), [-1, gh * gw, k])], output: [v('rows')] },
      {
        opType: 'DynamicQuantizeMatMul',
        domain: MS_DOMAIN,
        name: `${n}_quant`,
        input: [v('rows'), `${base}_quantized`, `${base}_scale`, ...(inputs[2] ? ['', inputs[2]] : [])],
        output: [v('product')],
      },
      {
        opType: 'Transpose',
        name: `${n}/channels`,
        input: [v('product')],
        output: [v('channels')],
        attribute: [{ name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 2, 1] }],
      },
      {
        opType: 'Reshape',
        name: `${n}/grid`,
        input: [v('channels'), shapeConst(v('grid_shape'), [-1, cout, gh, gw])],
        output: node.output ?? [],
      },
    ];
  };

  /** The constant [K, N] weight of a MatMul that can run as int8, or undefined. */
  const weightOf = (node: NodeProto): { name: string; k: number; n: number } | undefined => {
    const inputs = node.input ?? [];
    if (node.opType !== 'MatMul' || node.domain || inputs.length !== 2) return undefined;
    const w = inits.get(inputs[1]);
    const dims = (w?.dims ?? []).map((d) => toNumber(d));
    if (!w || w.dataType !== DataType.FLOAT || dims.length !== 2 || inits.has(inputs[0]) || dims[0] * dims[1] < minElements)
      return undefined;
    return { name: inputs[1], k: dims[0], n: dims[1] };
  };

  /**
   * `Add(MatMul(A, B), bias)` where nothing else reads the product: the fused kernel adds
   * the bias in its output stage, so the Add can go.
   */
  const biasAddOf = (node: NodeProto, n: number): { add: NodeProto; bias: string; output: string } | undefined => {
    const product = node.output?.[0] ?? '';
    const readers = consumers.get(product) ?? [];
    if (readers.length !== 1 || graphOutputs.has(product)) return undefined;
    const add = readers[0];
    const addIn = add.input ?? [];
    if (add.opType !== 'Add' || add.domain || addIn.length !== 2 || addIn[0] === addIn[1]) return undefined;
    const other = addIn[0] === product ? addIn[1] : addIn[0];
    const b = inits.get(other);
    const bDims = (b?.dims ?? []).map((d) => toNumber(d));
    if (!b || b.dataType !== DataType.FLOAT || bDims.length !== 1 || bDims[0] !== n) return undefined;
    return { add, bias: other, output: add.output?.[0] ?? product };
  };

  const quantized = (wName: string, k: number, n: number): QuantizedWeight => {
    let qw = done.get(wName);
    if (!qw) {
      const w = inits.get(wName) as TensorProto;
      const { q, scale } = quantizeWeight(floatValues(w, what), k, n, perChannel, qmax);
      qw = { weight: `${wName}_quantized`, scale: `${wName}_scale` };
      added.push({ name: qw.weight, dims: [k, n], dataType: DataType.INT8, rawData: bytesOf(q) });
      added.push({ name: qw.scale, dims: perChannel ? [n] : [], dataType: DataType.FLOAT, rawData: bytesOf(scale) });
      done.set(wName, qw);
      replaced.add(wName);
      stats.parameters += k * n;
    }
    return qw;
  };

  // Sibling groups: eligible MatMuls reading the same activation, each weight used once.
  const siblings = new Map<NodeProto, NodeProto[]>(); // first member → members
  const grouped = new Set<NodeProto>();
  if (opts.fuseSiblings === true && perChannel) {
    const byInput = new Map<string, NodeProto[]>();
    const weightUses = new Map<string, number>();
    for (const node of nodes) {
      const w = weightOf(node);
      if (!w) continue;
      weightUses.set(w.name, (weightUses.get(w.name) ?? 0) + 1);
      const a = (node.input ?? [])[0];
      const list = byInput.get(a);
      if (list) list.push(node);
      else byInput.set(a, [node]);
    }
    for (const list of byInput.values()) {
      const members = list.filter((m) => weightUses.get((m.input ?? [])[1]) === 1);
      const k = members.length ? weightOf(members[0])?.k : undefined;
      if (members.length < 2 || members.some((m) => weightOf(m)?.k !== k)) continue;
      siblings.set(members[0], members);
      for (const m of members) grouped.add(m);
    }
  }

  const emitGroup = (members: NodeProto[]) => {
    const ws = members.map((m) => weightOf(m) as { name: string; k: number; n: number });
    const k = ws[0].k;
    const total = ws.reduce((a, w) => a + w.n, 0);
    const merged = new Float32Array(k * total);
    let col = 0;
    for (const w of ws) {
      const f = floatValues(inits.get(w.name) as TensorProto, what);
      for (let r = 0; r < k; r++) merged.set(f.subarray(r * w.n, (r + 1) * w.n), r * total + col);
      col += w.n;
      replaced.add(w.name);
      stats.parameters += k * w.n;
    }
    const { q, scale } = quantizeWeight(merged, k, total, true, qmax);
    const base = `${ws[0].name}_group${stats.fusedGroups}`;
    added.push({ name: `${base}_quantized`, dims: [k, total], dataType: DataType.INT8, rawData: bytesOf(q) });
    added.push({ name: `${base}_scale`, dims: [total], dataType: DataType.FLOAT, rawData: bytesOf(scale) });
    const adds = members.map((m, i) => biasAddOf(m, ws[i].n));
    let biasName: string | undefined;
    if (adds.some(Boolean)) {
      const biasCat = new Float32Array(total);
      let at = 0;
      adds.forEach((a, i) => {
        if (a) biasCat.set(floatValues(inits.get(a.bias) as TensorProto, what), at);
        at += ws[i].n;
      });
      biasName = `${base}_bias`;
      added.push({ name: biasName, dims: [total], dataType: DataType.FLOAT, rawData: bytesOf(biasCat) });
    }
    const outputs = members.map((m, i) => {
      const a = adds[i];
      if (!a) return m.output?.[0] ?? '';
      absorbed.add(a.add);
      replaced.add(a.bias);
      stats.fusedBias++;
      return a.output;
    });
    const product = `${base}/product`;
    out.push({
      opType: 'DynamicQuantizeMatMul',
      domain: MS_DOMAIN,
      name: `${base}_quant`,
      input: [(members[0].input ?? [])[0], `${base}_quantized`, `${base}_scale`, ...(biasName ? ['', biasName] : [])],
      output: [product],
    });
    out.push({
      opType: 'Split',
      name: `${base}/split`,
      input: [
        product,
        shapeConst(
          `${base}/split_sizes`,
          ws.map((w) => w.n),
        ),
      ],
      output: outputs,
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }],
    });
    stats.quantized += members.length;
    stats.fusedGroups++;
  };

  for (const node of nodes) {
    if (absorbed.has(node)) continue;
    const inputs = node.input ?? [];
    if (node.opType === 'Conv' && !node.domain && opts.patchConv !== false) {
      const rewritten = rewritePatchConv(node);
      if (rewritten) {
        out.push(...rewritten);
        continue;
      }
    }
    const group = siblings.get(node);
    if (group) {
      emitGroup(group);
      continue;
    }
    if (grouped.has(node)) continue; // emitted with its group's first member
    const w = weightOf(node);
    if (!w) {
      out.push(node);
      continue;
    }
    const qw = quantized(w.name, w.k, w.n);
    const fold = biasAddOf(node, w.n);
    if (fold) {
      absorbed.add(fold.add);
      stats.fusedBias++;
    }
    out.push({
      opType: 'DynamicQuantizeMatMul',
      domain: MS_DOMAIN,
      name: `${node.name || w.name}_quant`,
      input: fold ? [inputs[0], qw.weight, qw.scale, '', fold.bias] : [inputs[0], qw.weight, qw.scale],
      output: [fold ? fold.output : (node.output?.[0] ?? '')],
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
      `${dst}: ${stats.quantized} weight products int8 (${stats.fusedBias} with bias folded, ${stats.patchConvs} patch Conv), ${(stats.parameters / 1e6).toFixed(1)}M weights, ` +
        `${mib(stats.bytesIn)} → ${mib(stats.bytesOut)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  return written;
}
