/**
 * Composition and studio drafts off the calling thread: one worker (worker.ts), spawned on
 * first use, respawned if it dies, and unreferenced while idle so it never keeps a process
 * alive. The results are those of `composeAd` and `renderStudioArt` called here: the same
 * functions, in another thread.
 */
import { Worker } from 'node:worker_threads';
import { ImageError } from '../errors.ts';
import type { ComposeInput, ComposeResult } from './compose.ts';
import type { StudioArtInput } from './studio-art.ts';
import type { ImageReply, ImageRequest, WireImageError } from './worker.ts';

export interface ImageWorker {
  compose(input: ComposeInput): Promise<ComposeResult>;
  studioArt(input: StudioArtInput): Promise<Buffer>;
  /** Ends the worker; calls in flight reject. Later calls spawn a new one. */
  close(): Promise<void>;
}

function revive(e: WireImageError): Error {
  if (e.name === 'ImageError' && e.code) return new ImageError(e.code, e.message, { hint: e.hint });
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** An exactly-sized copy that can be transferred without touching the caller's bytes. */
function own(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer as ArrayBuffer;
}

type Body<T> = T extends ImageRequest ? Omit<T, 'id'> : never;

export function createImageWorker(): ImageWorker {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve(r: ImageReply & { ok: true }): void; reject(e: unknown): void }>();

  const spawn = (): Worker => {
    // The CLIP worker's bootstrap: registers the TypeScript loader in the thread, then imports the entry.
    const w = new Worker(new URL('../clip/worker-boot.mjs', import.meta.url), {
      execArgv: [],
      workerData: { entry: new URL('./worker.ts', import.meta.url).href },
    });
    w.on('message', (reply: ImageReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if (reply.ok) p.resolve(reply);
      else p.reject(revive(reply.error));
    });
    const fail = (why: string) => {
      if (worker !== w) return;
      worker = undefined;
      for (const p of pending.values()) p.reject(new ImageError('IMAGE_WORKER_FAILED', `the image worker ${why}`));
      pending.clear();
    };
    w.on('error', (e) => fail(`failed: ${e.message}`));
    w.on('exit', (code) => fail(`exited (code ${code})`));
    return w;
  };

  const call = (req: Body<ImageRequest>, transfer: ArrayBuffer[]): Promise<ImageReply & { ok: true }> => {
    worker ??= spawn();
    const w = worker;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ ...req, id }, transfer);
    });
  };

  return {
    async compose(input) {
      const visual = own(input.visual);
      const logo = input.style.logo ? own(input.style.logo) : undefined;
      const r = await call(
        {
          type: 'compose',
          visual,
          format: input.format,
          headline: input.headline,
          cta: input.cta,
          colors: { ...input.style.colors },
          fonts: { ...input.style.fonts },
          logo,
          offline: input.offline,
        },
        logo ? [visual, logo] : [visual],
      );
      if (!('compose' in r)) throw new ImageError('IMAGE_WORKER_FAILED', 'the image worker answered a composition without one');
      return { ...r.compose, png: Buffer.from(r.compose.png) };
    },
    async studioArt(input) {
      const photo = input.photo?.length ? own(input.photo) : undefined;
      const r = await call(
        { type: 'studio', palette: [...input.palette], concept: input.concept, seed: input.seed, photo, size: input.size },
        photo ? [photo] : [],
      );
      if (!('png' in r)) throw new ImageError('IMAGE_WORKER_FAILED', 'the image worker answered a draft without one');
      return Buffer.from(r.png);
    },
    async close() {
      const w = worker;
      worker = undefined;
      for (const p of pending.values()) p.reject(new ImageError('IMAGE_WORKER_CLOSED', 'the image worker was closed'));
      pending.clear();
      if (w) await w.terminate();
    },
  };
}
