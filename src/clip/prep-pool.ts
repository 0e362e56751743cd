/**
 * The CLIP preprocessing pool (prep-worker.ts threads over the shared worker RPC): encoded
 * image bytes in, the vision model's input out, at most one image per thread at a time. The
 * in-process encoder sizes it by execution provider; the remote encoder, which preprocesses on
 * the bot before sending tensors, to the cores but one.
 */
import { ImageError, InferenceError, ModelError } from '../errors.ts';
import { WorkerPool } from '../workers/pool.ts';
import type { WireError } from '../workers/rpc.ts';
import type { VisionInput } from './model-dir.ts';
import type { PrepRequest, PrepResult } from './prep-worker.ts';
import type { DecodeMode, ImageLimits, PreprocessConfig } from './preprocess.ts';

export interface PrepPool {
  /** Float CHW for `float`, 8-bit HWC for `rgb8`. The caller's bytes are copied, never detached. */
  preprocess(
    bytes: Uint8Array,
    cfg: PreprocessConfig,
    limits: ImageLimits,
    output: VisionInput,
    decode?: DecodeMode,
  ): Promise<Float32Array | Uint8Array>;
  resize(size: number): void;
  readonly size: number;
  close(): Promise<void>;
}

/** A failed preprocess: the image's fault unless the worker itself said otherwise. */
function revive(e: WireError): Error {
  if (e.name === 'ModelError') return new ModelError(e.code ?? 'MODEL_CORRUPT', e.message, { hint: e.hint });
  if (e.name === 'InferenceError') return new InferenceError(e.code ?? 'INFERENCE_FAILED', e.message, { hint: e.hint });
  return new ImageError(e.name === 'ImageError' && e.code ? e.code : 'IMAGE_CORRUPT', e.message, { hint: e.hint });
}

export function createPrepPool(size: number, closedError: () => Error): PrepPool {
  const pool = new WorkerPool<PrepRequest>(
    {
      entry: new URL('./prep-worker.ts', import.meta.url),
      name: 'a CLIP preprocessing worker',
      closedError,
      deathError: (why) => new ImageError('PREP_WORKER_FAILED', `a CLIP preprocessing worker ${why}`),
    },
    size,
  );
  return {
    async preprocess(bytes, cfg, limits, output, decode = 'default') {
      // A copy (never Buffer#slice, a view): the transfer detaches it, and the caller keeps its bytes.
      const own = new Uint8Array(bytes).buffer as ArrayBuffer;
      const r = await pool.call<PrepResult>({ bytes: own, cfg, limits, output, decode }, [own], revive);
      return output === 'rgb8' ? new Uint8Array(r.pixels) : new Float32Array(r.pixels);
    },
    resize: (n) => pool.resize(n),
    get size() {
      return pool.size;
    },
    close: () => pool.close({ graceMs: 0 }),
  };
}
