/**
 * Request/reply over a worker thread: the one RPC the CLIP inference worker, the CLIP
 * preprocessing pool and the image (composition) pool share.
 *
 * Parent side (`WorkerRpc`): spawns the worker on first use through `boot.mjs` (a worker does
 * not inherit the parent's TypeScript loader), numbers each request, transfers the buffers
 * it is given, answers every call exactly once (a worker that dies or is closed rejects what
 * it still owed), respawns on the next call after a death, and keeps the worker unreferenced
 * while nothing is pending so an idle worker never holds the process open.
 *
 * Worker side (`serveRpc`): one handler per request; what it returns (and the buffers it
 * names) goes back, what it throws goes back as a `WireError` that keeps the typed error's
 * class, code and hint.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { type AdError, ImageError, InferenceError, InputError, isAdError, ModelError } from '../errors.ts';

/** A thrown error as it crosses the thread boundary. */
export interface WireError {
  name: string;
  code?: string;
  message: string;
  hint?: string;
}

interface Envelope<Req> {
  id: number;
  req: Req;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

/** What a worker-side handler returns: the result, and the buffers in it to transfer rather than copy. */
export interface HandlerResult<R = unknown> {
  result: R;
  transfer?: ArrayBuffer[];
}

export function toWireError(e: unknown): WireError {
  if (isAdError(e)) return { name: e.name, code: e.code, message: e.message, hint: e.hint };
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { name: e.name, code: typeof code === 'string' ? code : undefined, message: e.message };
  }
  return { name: 'Error', message: String(e) };
}

const ERROR_CLASSES: Record<string, new (code: string, message: string, o?: { hint?: string }) => AdError> = {
  ImageError,
  InputError,
  ModelError,
  InferenceError,
};

/** The typed error a `WireError` stood for (the classes a worker throws); a plain Error otherwise. */
export function fromWireError(e: WireError): Error {
  const Cls = ERROR_CLASSES[e.name];
  if (Cls && e.code) return new Cls(e.code, e.message, { hint: e.hint });
  const err = new Error(e.message);
  err.name = e.name;
  if (e.code) Object.assign(err, { code: e.code });
  return err;
}

export interface WorkerRpcOptions {
  /** The worker module (TypeScript or JavaScript), e.g. `new URL('./worker.ts', import.meta.url)`. */
  entry: URL;
  /** For messages: "the CLIP inference worker". */
  name: string;
  /** The error calls get once `close()` was called (default: an InferenceError WORKER_CLOSED). */
  closedError?: () => Error;
  /** The error a death gives the calls it leaves unanswered (default: an InferenceError WORKER_EXITED / WORKER_FAILED). */
  deathError?: (why: string, cause?: unknown) => Error;
  /** Called when a live worker died (not when it was closed): e.g. to forget what it had loaded. */
  onExit?: () => void;
}

/** The parent's end of one worker thread. */
export class WorkerRpc<Req> {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void; revive(e: WireError): Error }>();
  private closed = false;

  constructor(private readonly opts: WorkerRpcOptions) {}

  /** Calls in flight. */
  get load(): number {
    return this.pending.size;
  }

  get alive(): boolean {
    return this.worker !== undefined;
  }

  private closedError(): Error {
    return this.opts.closedError?.() ?? new InferenceError('WORKER_CLOSED', `${this.opts.name} has been closed`);
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./boot.mjs', import.meta.url), {
      execArgv: [],
      workerData: { entry: this.opts.entry.href },
    });
    w.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) w.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(p.revive(reply.error));
    });
    const fail = (why: string, cause?: unknown) => {
      // Calls still waiting on this worker get an answer even when it was closed on purpose.
      const err = this.closed
        ? this.closedError()
        : (this.opts.deathError?.(why, cause) ??
          new InferenceError(cause ? 'WORKER_FAILED' : 'WORKER_EXITED', `${this.opts.name} ${why}`, { cause }));
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (this.worker !== w) return;
      this.worker = undefined;
      if (!this.closed) this.opts.onExit?.();
    };
    w.on('error', (e) => fail(`failed: ${e.message}`, e));
    w.on('exit', (code) => fail(`exited (code ${code})`));
    return w;
  }

  /**
   * Sends one request; resolves with the worker's result. `transfer` moves those buffers
   * (they are unusable here afterwards); `revive` turns the worker's error into the one the
   * caller should see (default: `fromWireError`).
   */
  call<R>(req: Req, transfer: ArrayBuffer[] = [], revive: (e: WireError) => Error = fromWireError): Promise<R> {
    if (this.closed) return Promise.reject(this.closedError());
    this.worker ??= this.spawn();
    const w = this.worker;
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, revive });
      w.ref();
      w.postMessage({ id, req } satisfies Envelope<Req>, transfer);
    });
  }

  /**
   * Ends the worker. `farewell` is sent first (e.g. release the sessions after the run in
   * progress) and waited for at most `graceMs`; calls still pending then reject.
   */
  async close(opts: { farewell?: Req; graceMs?: number } = {}): Promise<void> {
    const w = this.worker;
    if (!w) {
      this.closed = true;
      return;
    }
    const done = opts.farewell === undefined ? Promise.resolve() : this.call(opts.farewell).catch(() => undefined);
    this.closed = true;
    await Promise.race([done, new Promise((r) => setTimeout(r, opts.graceMs ?? 2000).unref())]);
    this.worker = undefined;
    await w.terminate();
  }
}

/**
 * Lowers this thread's scheduling priority (nice 10; Linux, where a thread id is a valid
 * `setpriority` target): on a machine with fewer cores than busy threads, the bot's event
 * loop then gets the CPU before background work, so a Slack ack is not queued behind it.
 * Threads this one creates afterwards inherit it (ONNX Runtime's intra-op pool). Best effort.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // Not Linux, or not permitted: run at normal priority.
  }
}

/**
 * The worker's end: calls `handle` for each request as it arrives (requests may overlap;
 * a handler that must run one at a time chains them itself). A no-op on the main thread, so
 * a worker module can also be imported by tests.
 */
export function serveRpc<Req>(handle: (req: Req) => Promise<HandlerResult>, opts: { background?: boolean } = {}): void {
  if (isMainThread || !parentPort) return;
  const port = parentPort;
  if (opts.background !== false) lowerThreadPriority();
  port.on('message', (m: Envelope<Req>) => {
    handle(m.req).then(
      (r) => port.postMessage({ id: m.id, ok: true, result: r.result } satisfies Reply, r.transfer ?? []),
      (e: unknown) => port.postMessage({ id: m.id, ok: false, error: toWireError(e) } satisfies Reply),
    );
  });
}
