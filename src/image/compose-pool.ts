/**
 * `composeAd` off the calling thread: one worker (compose-worker.ts), spawned on first use,
 * respawned if it dies, and unreferenced while idle so it never keeps a process alive.
 * The same results as calling `composeAd` here (it is the same function, in another thread).
 */
import { Worker } from 'node:worker_threads';
import { ImageError } from '../errors.ts';
import type { ComposeInput, ComposeResult } from './compose.ts';
import type { ComposeReply, ComposeRequest, WireComposeError } from './compose-worker.ts';

export interface Composer {
  compose(input: ComposeInput): Promise<ComposeResult>;
  /** Ends the worker; calls in flight reject. Later calls spawn a new one. */
  close(): Promise<void>;
}

function revive(e: WireComposeError): Error {
  if (e.name === 'ImageError' && e.code) return new ImageError(e.code, e.message, { hint: e.hint });
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** An exactly-sized copy that can be transferred without touching the caller's bytes. */
function own(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer as ArrayBuffer;
}

export function createComposeWorker(): Composer {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve(r: ComposeResult): void; reject(e: unknown): void }>();

  const spawn = (): Worker => {
    // The CLIP worker's bootstrap: registers the TypeScript loader in the thread, then imports the entry.
    const w = new Worker(new URL('../clip/worker-boot.mjs', import.meta.url), {
      execArgv: [],
      workerData: { entry: new URL('./compose-worker.ts', import.meta.url).href },
    });
    w.on('message', (reply: ComposeReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if (reply.ok) p.resolve({ ...reply.result, png: Buffer.from(reply.result.png) });
      else p.reject(revive(reply.error));
    });
    const fail = (why: string) => {
      if (worker !== w) return;
      worker = undefined;
      for (const p of pending.values()) p.reject(new ImageError('COMPOSE_WORKER_FAILED', `the composition worker ${why}`));
      pending.clear();
    };
    w.on('error', (e) => fail(`failed: ${e.message}`));
    w.on('exit', (code) => fail(`exited (code ${code})`));
    return w;
  };

  return {
    compose(input) {
      worker ??= spawn();
      const w = worker;
      const id = nextId++;
      const visual = own(input.visual);
      const logo = input.style.logo ? own(input.style.logo) : undefined;
      const req: ComposeRequest = {
        id,
        visual,
        format: input.format,
        headline: input.headline,
        cta: input.cta,
        colors: { ...input.style.colors },
        fonts: { ...input.style.fonts },
        logo,
        offline: input.offline,
      };
      return new Promise<ComposeResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.ref();
        w.postMessage(req, logo ? [visual, logo] : [visual]);
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      for (const p of pending.values()) p.reject(new ImageError('COMPOSE_WORKER_CLOSED', 'the composition worker was closed'));
      pending.clear();
      if (w) await w.terminate();
    },
  };
}
