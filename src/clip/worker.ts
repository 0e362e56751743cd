/**
 * The inference worker: the one thread that owns the ONNX Runtime sessions. `session.run()`
 * holds its calling thread for a whole batch although it returns a promise, so it runs
 * here, never on the bot's event loop. Input parts arrive as transferred ArrayBuffers
 * (one per image, or one per tensor for text) and are joined here, off the main thread;
 * embeddings are L2-normalised here and their buffer is transferred back.
 *
 * Spawned by encoder.ts (see `spawnInferenceWorker`); the message types below are the
 * whole protocol.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { isMainThread, parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { isAdError } from '../errors.ts';
import type { ModelKind } from './model-dir.ts';
import { type ImageLimits, type PreprocessConfig, preprocessImage } from './preprocess.ts';
import { type OpenedSession, openSession, type Provider, type SessionSettings } from './session.ts';

export interface WireTensor {
  name: string;
  type: 'float32' | 'int64';
  dims: number[];
  /** Concatenated in order to form the tensor's data. */
  parts: ArrayBuffer[];
}

export type WorkerRequest =
  | { type: 'load'; id: number; kind: ModelKind; path: string; settings: SessionSettings }
  | { type: 'run'; id: number; kind: ModelKind; inputs: WireTensor[]; output: string }
  | { type: 'close'; id: number }
  /** Encoded image bytes (transferred) → CHW float32 tensor; off the chain, so decodes overlap runs. */
  | { type: 'preprocess'; id: number; bytes: ArrayBuffer; cfg: PreprocessConfig; limits: ImageLimits };

export interface PreprocessResult {
  /** CHW float32, 3 × cropHeight × cropWidth. */
  pixels: ArrayBuffer;
}

export interface LoadResult {
  provider: Provider;
  intraOpThreads: number;
  interOpThreads: number;
  fallbackReason?: string;
  inputNames: string[];
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

export interface WireError {
  name: string;
  code?: string;
  message: string;
  hint?: string;
}

export type WorkerReply =
  | { id: number; ok: true; result: LoadResult | RunResult | PreprocessResult | null }
  | { id: number; ok: false; error: WireError };

const sessions = new Map<ModelKind, OpenedSession>();

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
  return t.type === 'int64'
    ? new ort.Tensor('int64', new BigInt64Array(buffer, 0, bytes / 8), t.dims)
    : new ort.Tensor('float32', new Float32Array(buffer, 0, bytes / 4), t.dims);
}

async function load(req: Extract<WorkerRequest, { type: 'load' }>): Promise<LoadResult> {
  const t0 = performance.now();
  const existing = sessions.get(req.kind);
  if (existing) await existing.session.release();
  const s = await openSession(req.path, req.settings);
  sessions.set(req.kind, s);
  return {
    provider: s.provider,
    intraOpThreads: s.intraOpThreads,
    interOpThreads: s.interOpThreads,
    fallbackReason: s.fallbackReason,
    inputNames: [...s.session.inputNames],
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
  for (let r = 0; r < rows; r++) {
    let s2 = 0;
    const off = r * cols;
    for (let i = 0; i < cols; i++) s2 += data[off + i] * data[off + i];
    const n = Math.sqrt(s2);
    if (n > 0) for (let i = 0; i < cols; i++) data[off + i] /= n;
  }
  return { data: data.buffer, rows, dims: cols, runMs };
}

function wireError(e: unknown): WireError {
  if (isAdError(e)) return { name: e.name, code: e.code, message: e.message, hint: e.hint };
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { name: e.name, code: typeof code === 'string' ? code : undefined, message: e.message };
  }
  return { name: 'Error', message: String(e) };
}

/**
 * Lowers this thread's scheduling priority (nice 10; Linux, where a thread id is a valid
 * `setpriority` target): on a machine with fewer cores than busy threads, the bot's event
 * loop then gets the CPU before background work, so a Slack ack is not queued behind it.
 * Threads this one creates afterwards inherit it (ONNX Runtime's intra-op pool, created with the session). Best effort: elsewhere, a no-op.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // Not Linux, or not permitted: run at normal priority.
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  lowerThreadPriority();
  // Requests are handled strictly one after another: one model runs at a time.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (req: WorkerRequest) => {
    if (req.type === 'preprocess') {
      // Decoding is sharp on libuv's pool plus short loops here; it need not wait for a run
      // (and a run need not wait for it), so it stays off the one-at-a-time chain.
      preprocessImage(new Uint8Array(req.bytes), req.cfg, req.limits).then(
        (out) => {
          const pixels = out.buffer as ArrayBuffer;
          port.postMessage({ id: req.id, ok: true, result: { pixels } } satisfies WorkerReply, [pixels]);
        },
        (e: unknown) => port.postMessage({ id: req.id, ok: false, error: wireError(e) } satisfies WorkerReply),
      );
      return;
    }
    chain = chain.then(async () => {
      try {
        if (req.type === 'load') {
          port.postMessage({ id: req.id, ok: true, result: await load(req) } satisfies WorkerReply);
        } else if (req.type === 'run') {
          const result = await run(req);
          port.postMessage({ id: req.id, ok: true, result } satisfies WorkerReply, [result.data]);
        } else if (req.type === 'close') {
          for (const s of sessions.values()) await s.session.release();
          sessions.clear();
          port.postMessage({ id: req.id, ok: true, result: null } satisfies WorkerReply);
        }
      } catch (e) {
        port.postMessage({ id: req.id, ok: false, error: wireError(e) } satisfies WorkerReply);
      }
    });
  });
}
