/**
 * Composition and studio drafts off the calling thread: a pool of workers (worker.ts, over
 * the shared worker RPC), each spawned when concurrent work first needs it, respawned if it
 * dies, and unreferenced while idle so it never keeps a process alive. The results are those
 * of `composeAd` and `renderStudioArt` called here: the same functions, in another thread.
 */
import { availableParallelism } from 'node:os';
import { ImageError } from '../errors.ts';
import { WorkerPool } from '../workers/pool.ts';
import type { ComposeInput, ComposeResult } from './compose.ts';
import type { StudioArtInput } from './studio-art.ts';
import type { ImageRequest, ImageResult } from './worker.ts';

export interface ImageWorker {
  compose(input: ComposeInput): Promise<ComposeResult>;
  studioArt(input: StudioArtInput): Promise<Buffer>;
  /** Ends the worker; calls in flight reject. Later calls spawn a new one. */
  close(): Promise<void>;
}

/** An exactly-sized copy that can be transferred without touching the caller's bytes. */
function own(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer as ArrayBuffer;
}

/** Threads for pixel work: the cores but one (the caller's event loop), at least one. */
export function pixelPoolSize(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

export function createImageWorker(opts: { size?: number } = {}): ImageWorker {
  const closedError = () => new ImageError('IMAGE_WORKER_CLOSED', 'the image worker was closed');
  let pool: WorkerPool<ImageRequest> | undefined;
  const call = (req: ImageRequest, transfer: ArrayBuffer[]): Promise<ImageResult> => {
    pool ??= new WorkerPool<ImageRequest>(
      {
        entry: new URL('./worker.ts', import.meta.url),
        name: 'the image worker',
        closedError,
        deathError: (why) => new ImageError('IMAGE_WORKER_FAILED', `the image worker ${why}`),
      },
      opts.size ?? pixelPoolSize(),
    );
    return pool.call<ImageResult>(req, transfer);
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
      // Calls in flight reject; a later call starts a fresh pool.
      const p = pool;
      pool = undefined;
      await p?.close({ graceMs: 0 });
    },
  };
}
