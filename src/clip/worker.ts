/**
 * The inference worker: the one thread that owns the ONNX Runtime sessions. `session.run()`
 * holds its calling thread for a whole batch although it returns a promise, so it runs
 * here, never on the bot's event loop. Input parts arrive as transferred ArrayBuffers
 * (one per image, or one per tensor for text) and are joined here, off the main thread;
 * embeddings are L2-normalised here and their buffer is transferred back.
 *
 * Spawned by encoder.ts over the shared worker RPC (src/workers/rpc.ts); the types below
 * are the whole protocol. Image preprocessing has its own pool (prep-worker.ts), so decodes
 * never wait behind a run.
 */
import * as ort from 'onnxruntime-node';
import { type HandlerResult, serveRpc } from '../workers/rpc.ts';
import type { ModelFiles, ModelKind, Precision, VisionInput } from './model-dir.ts';
import { newProviderMemo, type OpenedSession, openSession, type Provider, type ProviderAttempt, type SessionSettings } from './session.ts';

export interface WireTensor {
  name: string;
  type: 'float32' | 'int64' | 'uint8';
  dims: number[];
  /** Concatenated in order to form the tensor's data. */
  parts: ArrayBuffer[];
}

export type WorkerRequest =
  | { type: 'load'; kind: ModelKind; files: ModelFiles; settings: SessionSettings }
  | {
      type: 'run';
      kind: ModelKind;
      inputs: WireTensor[];
      output: string;
      /** Each row L2-normalised (default); false: the raw output, e.g. token states the caller pools. */
      normalize?: boolean;
    }
  | { type: 'close' };

/** One input of a loaded graph. */
export interface InputInfo {
  name: string;
  /** ONNX Runtime's element type name ("float32", "uint8", "int64", …). */
  type: string;
  /** Static sizes, or -1 where the graph leaves a dimension open. */
  dims: number[];
}

export interface LoadResult {
  provider: Provider;
  precision: Precision;
  input: VisionInput;
  path: string;
  intraOpThreads: number;
  interOpThreads: number;
  attempts: ProviderAttempt[];
  notes: string[];
  inputs: InputInfo[];
  outputNames: string[];
  loadMs: number;
}

export interface RunResult {
  /** Row-major [rows, dims] float32, each row L2-normalised. */
  data: ArrayBuffer;
  rows: number;
  dims: number;
  /** Time inside session.run, for the benchmark's model-only figures. */
  runMs: number;
}

const sessions = new Map<ModelKind, OpenedSession>();
// Providers tried by this worker: each failure is reported once, the one that loaded is tried first.
const memo = newProviderMemo();

// Batch input buffers, kept between runs: a fresh multi-megabyte allocation per batch costs
// more in page faults than the copy itself. Runs are strictly sequential, so reuse is safe.
const scratch = new Map<string, ArrayBuffer>();

/** The parts of one input back to back: the one part itself, or a copy into the input's scratch buffer. */
function joinParts(name: string, parts: ArrayBuffer[]): { buffer: ArrayBuffer; bytes: number } {
  if (parts.length === 1) return { buffer: parts[0], bytes: parts[0].byteLength };
  let total = 0;
  for (const p of parts) total += p.byteLength;
  let buf = scratch.get(name);
  if (!buf || buf.byteLength < total) {
    buf = new ArrayBuffer(total);
    scratch.set(name, buf);
  }
  const out = new Uint8Array(buf, 0, total);
  let off = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), off);
    off += p.byteLength;
  }
  return { buffer: buf, bytes: total };
}

function toTensor(t: WireTensor): ort.Tensor {
  const { buffer, bytes } = joinParts(t.name, t.parts);
  if (t.type === 'int64') return new ort.Tensor('int64', new BigInt64Array(buffer, 0, bytes / 8), t.dims);
  if (t.type === 'uint8') return new ort.Tensor('uint8', new Uint8Array(buffer, 0, bytes), t.dims);
  return new ort.Tensor('float32', new Float32Array(buffer, 0, bytes / 4), t.dims);
}

function inputInfo(s: ort.InferenceSession): InputInfo[] {
  return s.inputNames.map((name, i) => {
    const m = s.inputMetadata?.[i] as { isTensor?: boolean; type?: string; shape?: (number | string)[] } | undefined;
    return {
      name,
      type: m?.isTensor && m.type ? m.type : 'unknown',
      dims: (m?.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    };
  });
}

async function load(req: Extract<WorkerRequest, { type: 'load' }>): Promise<LoadResult> {
  const t0 = performance.now();
  const existing = sessions.get(req.kind);
  if (existing) await existing.session.release();
  sessions.delete(req.kind);
  const s = await openSession(
    req.files,
    { ...req.settings, visionInput: req.kind === 'vision' ? req.settings.visionInput : 'float' },
    memo,
  );
  sessions.set(req.kind, s);
  return {
    provider: s.provider,
    precision: s.precision,
    input: s.input,
    path: s.path,
    intraOpThreads: s.intraOpThreads,
    interOpThreads: s.interOpThreads,
    attempts: s.attempts,
    notes: s.notes,
    inputs: inputInfo(s.session),
    outputNames: [...s.session.outputNames],
    loadMs: performance.now() - t0,
  };
}

async function run(req: Extract<WorkerRequest, { type: 'run' }>): Promise<RunResult> {
  const s = sessions.get(req.kind);
  if (!s) throw Object.assign(new Error(`the ${req.kind} model is not loaded`), { code: 'NOT_LOADED' });
  const wanted = new Set(s.session.inputNames);
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of req.inputs) if (wanted.has(t.name)) feeds[t.name] = toTensor(t);
  const output = s.session.outputNames.includes(req.output) ? req.output : s.session.outputNames[0];
  const t0 = performance.now();
  const out = await s.session.run(feeds, [output]);
  const runMs = performance.now() - t0;
  const tensor = out[output];
  const dims = tensor.dims.map(Number);
  const cols = dims[dims.length - 1];
  const rows = tensor.size / cols;
  const src = tensor.data as Float32Array;
  // A fresh, exactly-sized buffer so it can be transferred whole.
  const data = new Float32Array(src.length);
  data.set(src);
  for (let r = 0; r < rows && req.normalize !== false; r++) {
    let s2 = 0;
    const off = r * cols;
    for (let i = 0; i < cols; i++) s2 += data[off + i] * data[off + i];
    const n = Math.sqrt(s2);
    if (n > 0) for (let i = 0; i < cols; i++) data[off + i] /= n;
  }
  return { data: data.buffer, rows, dims: cols, runMs };
}

// Requests are handled strictly one after another: one model runs at a time.
let chain: Promise<unknown> = Promise.resolve();
serveRpc<WorkerRequest>((req) => {
  const next = chain.then(async (): Promise<HandlerResult> => {
    if (req.type === 'load') return { result: await load(req) };
    if (req.type === 'run') {
      const result = await run(req);
      return { result, transfer: [result.data] };
    }
    for (const s of sessions.values()) await s.session.release();
    sessions.clear();
    return { result: null };
  });
  chain = next.catch(() => undefined);
  return next;
});
