/**
 * The in-process CLIP encoder: tokenizer on the calling thread, a dynamic batcher per model
 * half, and one worker thread that owns the ONNX Runtime sessions and runs them, and also
 * preprocesses images (decode, flatten, resample, float conversion: pixel loops that held
 * the bot's event loop for tens of milliseconds per image when they ran here). Images are preprocessed as they arrive and join the next
 * batch, so decoding overlaps inference; tensors travel to and from the worker as
 * transferred buffers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type AdError, ImageError, InferenceError, InputError, isAdError, ModelError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createBatcher } from './batcher.ts';
import { inspectModelDir, type ModelDir, type ModelKind, type Precision } from './model-dir.ts';
import { type ImageLimits, readPreprocessConfig } from './preprocess.ts';
import { type Device, intraOpThreads } from './session.ts';
import { ClipTokenizer } from './tokenizer.ts';
import type { Encoder, EncoderInfo } from './types.ts';
import type { LoadResult, PreprocessResult, RunResult, WireError, WireTensor, WorkerReply, WorkerRequest } from './worker.ts';

export interface OnnxEncoderOptions {
  modelDir: string;
  device: Device;
  precision: Precision;
  /** ONNX Runtime intra-op threads; 0: one per core. */
  threads: number;
  batchMax: number;
  batchWaitMs: number;
  limits: ImageLimits;
  logger: Logger;
  /** Text padding: to the longest text of each batch (default), or always to 77. */
  textPadding?: 'longest' | 'max';
  /** Images decoded at once; default: the cores inference leaves free (at least 1) on CPU, all cores on a GPU. */
  decodeConcurrency?: number;
}

/** One inference run, for tests and the benchmark. */
export interface RunEvent {
  kind: ModelKind;
  /** Inputs in the run. */
  size: number;
  /** Padded sequence length (text runs). */
  seqLen?: number;
  /** Time inside session.run in the worker. */
  runMs: number;
  /** From sending the batch to having its embeddings back on this thread. */
  roundTripMs: number;
  /** Mean time the run's inputs waited for it to start (the batcher's queue). */
  queueWaitMs?: number;
}

export interface EncoderStats {
  /** Sessions created, per model half (1 each after any number of concurrent first calls). */
  loads: Record<ModelKind, number>;
  runs: Record<ModelKind, number>;
  inputs: Record<ModelKind, number>;
  runMs: Record<ModelKind, number>;
}

export interface OnnxEncoder extends Encoder {
  stats(): EncoderStats;
  /** Calls `listener` after every inference run; returns an unsubscribe function. */
  onRun(listener: (e: RunEvent) => void): () => void;
  /** Loads the sessions now rather than on first use. */
  warmup(kinds?: ModelKind[]): Promise<void>;
  /**
   * Embeds images that are already preprocessed (CHW float32 tensors as `preprocessImage`
   * makes them): the model-only path, for benchmarks and callers that preprocess themselves.
   * The tensors' buffers are transferred to the worker and are unusable afterwards.
   */
  embedPreprocessed(pixels: Float32Array[]): Promise<Float32Array[]>;
  /** What the model directory holds. */
  readonly model: ModelDir;
  /**
   * Embeds texts that are already tokenized (one row of ids and its attention mask each, any
   * length ≤ 77, no padding needed): the raw-tensor path `serve-clip` uses. Rows from
   * concurrent callers share runs through the same dynamic batching as `embedTexts`.
   */
  embedTokenized(rows: TokenRow[]): Promise<Float32Array[]>;
}

/** One tokenized text: ids and attention mask of equal length (trailing padding allowed). */
export interface TokenRow {
  ids: BigInt64Array;
  mask: BigInt64Array;
}

type WorkerRequestBody = WorkerRequest extends infer T ? (T extends WorkerRequest ? Omit<T, 'id'> : never) : never;

const OUTPUT: Record<ModelKind, string> = { text: 'text_embeds', vision: 'image_embeds' };

function reviveError(e: WireError): AdError {
  const opts = { hint: e.hint };
  if (e.name === 'ModelError') return new ModelError(e.code ?? 'MODEL_CORRUPT', e.message, opts);
  if (e.name === 'InferenceError') return new InferenceError(e.code ?? 'INFERENCE_FAILED', e.message, opts);
  return new InferenceError('INFERENCE_FAILED', `ONNX Runtime failed: ${e.message}`, opts);
}

/** A failed preprocess in the worker: the image's fault unless the worker itself said otherwise. */
function revivePreprocessError(e: WireError): AdError {
  if (e.name === 'ModelError' || e.name === 'InferenceError') return reviveError(e);
  return new ImageError(e.name === 'ImageError' && e.code ? e.code : 'IMAGE_CORRUPT', e.message, { hint: e.hint });
}

/** The RPC side of the inference worker; respawned on next use if it dies. */
class WorkerClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve(r: WorkerReply & { ok: true }): void; reject(e: unknown): void; revive: (e: WireError) => AdError }
  >();
  private closed = false;

  constructor(private readonly onExit: () => void) {}

  private spawn(): Worker {
    // The bootstrap registers the TypeScript loader in the new thread, then imports worker.ts.
    const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      execArgv: [],
      workerData: { entry: new URL('./worker.ts', import.meta.url).href },
    });
    w.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) w.unref();
      if (reply.ok) p.resolve(reply);
      else p.reject(p.revive(reply.error));
    });
    const fail = (err: AdError) => {
      // Calls still waiting on this worker get an answer even when it was closed on purpose.
      for (const p of this.pending.values())
        p.reject(this.closed ? new InferenceError('ENCODER_CLOSED', 'the CLIP encoder has been closed') : err);
      this.pending.clear();
      if (this.worker !== w) return;
      this.worker = undefined;
      this.onExit();
    };
    w.on('error', (e) => fail(new InferenceError('WORKER_FAILED', `the CLIP inference worker failed: ${e.message}`, { cause: e })));
    w.on('exit', (code) => fail(new InferenceError('WORKER_EXITED', `the CLIP inference worker exited (code ${code})`)));
    return w;
  }

  get alive(): boolean {
    return this.worker !== undefined;
  }

  call<R extends LoadResult | RunResult | PreprocessResult | null>(
    req: WorkerRequestBody,
    transfer: ArrayBuffer[] = [],
    revive: (e: WireError) => AdError = reviveError,
  ): Promise<R> {
    if (this.closed) return Promise.reject(new InferenceError('ENCODER_CLOSED', 'the CLIP encoder has been closed'));
    this.worker ??= this.spawn();
    const w = this.worker;
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: (r) => resolve(r.result as R), reject, revive });
      w.ref();
      w.postMessage({ ...req, id } as WorkerRequest, transfer);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    if (!w) {
      this.closed = true;
      return;
    }
    // Let the session release after the run in progress, but never wait long for it.
    const released = this.call({ type: 'close' }).catch(() => undefined);
    this.closed = true;
    await Promise.race([released, new Promise((r) => setTimeout(r, 2000).unref())]);
    await w.terminate();
  }
}

/** A buffer that can be transferred whole (not a view into a larger or pooled one). */
function ownBuffer(a: Float32Array | BigInt64Array): ArrayBuffer {
  if (a.byteOffset === 0 && a.buffer.byteLength === a.byteLength && a.buffer instanceof ArrayBuffer) return a.buffer;
  return a.slice().buffer as ArrayBuffer;
}

function rows(r: RunResult): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < r.rows; i++) out.push(new Float32Array(r.data, i * r.dims * 4, r.dims));
  return out;
}

/** A FIFO counting semaphore whose capacity can change. */
function createSemaphore(n: number) {
  let capacity = n;
  let used = 0;
  const waiters: (() => void)[] = [];
  const wake = () => {
    while (used < capacity && waiters.length) {
      used++;
      waiters.shift()?.();
    }
  };
  return {
    acquire(): Promise<void> {
      if (used < capacity && waiters.length === 0) {
        used++;
        return Promise.resolve();
      }
      return new Promise((r) => {
        waiters.push(r);
      });
    },
    release(): void {
      used--;
      wake();
    },
    resize(c: number): void {
      capacity = Math.max(1, c);
      wake();
    },
  };
}

export function createOnnxEncoder(opts: OnnxEncoderOptions): OnnxEncoder {
  const model = inspectModelDir(opts.modelDir, opts.precision);
  const log = opts.logger.child({ component: 'clip' });
  if (model.synthetic) {
    log.warn(
      `SYNTHETIC CLIP MODEL LOADED from ${model.dir}: its weights are seeded random numbers, so every similarity, ranking and search result is MEANINGLESS. Fetch the real model with \`npm run -s adcreative -- models fetch\` and point CLIP_MODEL_DIR at it.`,
      { modelDir: model.dir, model: model.name, synthetic: true },
    );
  }

  const stats: EncoderStats = {
    loads: { text: 0, vision: 0 },
    runs: { text: 0, vision: 0 },
    inputs: { text: 0, vision: 0 },
    runMs: { text: 0, vision: 0 },
  };
  const listeners = new Set<(e: RunEvent) => void>();
  let device: string = opts.device;
  let closed = false;

  const sessions: Partial<Record<ModelKind, Promise<LoadResult>>> = {};
  const worker = new WorkerClient(() => {
    // A dead worker took its sessions with it: the next call loads them again.
    delete sessions.text;
    delete sessions.vision;
  });
  // Preprocessing gets a worker of its own: in the inference worker its JavaScript parts would
  // wait for each blocking run() to end, so decoding could not overlap inference.
  const prepWorker = new WorkerClient(() => {});

  const ensureSession = (kind: ModelKind): Promise<LoadResult> => {
    const existing = sessions[kind];
    if (existing) return existing;
    const path = kind === 'text' ? model.textModel : model.visionModel;
    stats.loads[kind]++;
    const p = worker.call<LoadResult>({ type: 'load', kind, path, settings: { device: opts.device, threads: opts.threads } }).then((r) => {
      device = r.provider;
      if (opts.decodeConcurrency === undefined && kind === 'vision')
        decodes.resize(r.provider === 'cpu' ? cpuDecodes : availableParallelism());
      if (r.fallbackReason) {
        log.warn(`CLIP_DEVICE=${opts.device}: CUDA is not available, running on CPU`, { kind, reason: r.fallbackReason });
      }
      log.info('clip session loaded', {
        kind,
        path,
        provider: r.provider,
        requestedDevice: opts.device,
        precision: opts.precision,
        intraOpThreads: r.intraOpThreads,
        interOpThreads: r.interOpThreads,
        loadMs: Math.round(r.loadMs),
      });
      return r;
    });
    sessions[kind] = p;
    // A failed load is not cached: the files may be fixed and the next call retries.
    p.catch(() => {
      if (sessions[kind] === p) delete sessions[kind];
    });
    return p;
  };

  let tokenizerP: Promise<ClipTokenizer> | undefined;
  const tokenizer = (): Promise<ClipTokenizer> => {
    tokenizerP ??= Promise.resolve(ClipTokenizer.load(model.tokenizer)).catch((e: unknown) => {
      tokenizerP = undefined;
      throw e;
    });
    return tokenizerP;
  };
  type PreprocessConfig = Awaited<ReturnType<typeof readPreprocessConfig>>;
  let preP: Promise<PreprocessConfig> | undefined;
  const preprocessConfig = (): Promise<PreprocessConfig> => {
    preP ??= Promise.resolve(readPreprocessConfig(model.dir)).catch((e: unknown) => {
      preP = undefined;
      throw e;
    });
    return preP;
  };

  const emit = (e: RunEvent) => {
    stats.runs[e.kind]++;
    stats.inputs[e.kind] += e.size;
    stats.runMs[e.kind] += e.runMs;
    for (const l of listeners) l(e);
  };

  const runModel = async (
    kind: ModelKind,
    inputs: WireTensor[],
    size: number,
    seqLen?: number,
    queueWaitMs?: number,
  ): Promise<Float32Array[]> => {
    await ensureSession(kind);
    const t0 = performance.now();
    const r = await worker.call<RunResult>(
      { type: 'run', kind, inputs, output: OUTPUT[kind] },
      inputs.flatMap((t) => t.parts),
    );
    if (r.rows !== size) throw new InferenceError('INFERENCE_FAILED', `the ${kind} model returned ${r.rows} embeddings for ${size} inputs`);
    emit({ kind, size, seqLen, runMs: r.runMs, roundTripMs: performance.now() - t0, queueWaitMs });
    return rows(r);
  };

  const textBatcher = createBatcher<string, Float32Array>({
    batchMax: opts.batchMax,
    waitMs: opts.batchWaitMs,
    run: async (texts, info) => {
      const tok = await tokenizer();
      const enc = tok.encodeBatch(texts, { padTo: opts.textPadding ?? 'longest' });
      const dims = [enc.batch, enc.seqLen];
      return runModel(
        'text',
        [
          { name: 'input_ids', type: 'int64', dims, parts: [ownBuffer(enc.inputIds)] },
          { name: 'attention_mask', type: 'int64', dims, parts: [ownBuffer(enc.attentionMask)] },
        ],
        texts.length,
        enc.seqLen,
        info.waitMs,
      );
    },
  });

  const imageBatcher = createBatcher<Float32Array, Float32Array>({
    batchMax: opts.batchMax,
    waitMs: opts.batchWaitMs,
    run: async (pixels, info) => {
      const { cropHeight, cropWidth } = await preprocessConfig();
      return runModel(
        'vision',
        [{ name: 'pixel_values', type: 'float32', dims: [pixels.length, 3, cropHeight, cropWidth], parts: pixels.map(ownBuffer) }],
        pixels.length,
        undefined,
        info.waitMs,
      );
    },
  });

  // --- raw token rows (serve-clip): padded here to the longest row of each batch ---
  const tokenBatcher = createBatcher<TokenRow, Float32Array>({
    batchMax: opts.batchMax,
    waitMs: opts.batchWaitMs,
    run: async (rowsIn, info) => {
      const padId = BigInt((await tokenizer()).padId);
      // A row's length is up to its last attended token; whatever padding it came with is dropped.
      const lens = rowsIn.map((r) => {
        let n = r.mask.length;
        while (n > 0 && r.mask[n - 1] === 0n) n--;
        return n;
      });
      const seqLen = Math.max(1, ...lens);
      const ids = new BigInt64Array(rowsIn.length * seqLen).fill(padId);
      const mask = new BigInt64Array(rowsIn.length * seqLen);
      rowsIn.forEach((r, i) => {
        ids.set(r.ids.subarray(0, lens[i]), i * seqLen);
        mask.set(r.mask.subarray(0, lens[i]), i * seqLen);
      });
      const dims = [rowsIn.length, seqLen];
      return runModel(
        'text',
        [
          { name: 'input_ids', type: 'int64', dims, parts: [ids.buffer] },
          { name: 'attention_mask', type: 'int64', dims, parts: [mask.buffer] },
        ],
        rowsIn.length,
        seqLen,
        info.waitMs,
      );
    },
  });

  // Decoded-but-not-yet-embedded images, across all callers: enough to fill the next batch
  // while one runs, without holding a whole large call's tensors in memory.
  const window = createSemaphore(Math.max(2 * opts.batchMax, 8));
  // Decodes at once. On CPU, inference already has `threads` cores; one decode at a time
  // (~7 ms for a 1024×768 JPEG, several times the model's rate) keeps up without preempting
  // ONNX Runtime's threads, whose parallel loops stall while any one of them is descheduled.
  // A GPU leaves the cores to decoding.
  const cpuDecodes = Math.max(1, availableParallelism() - intraOpThreads(opts.threads));
  const decodes = createSemaphore(opts.decodeConcurrency ?? (opts.device === 'cpu' ? cpuDecodes : availableParallelism()));

  const checkOpen = () => {
    if (closed) throw new InferenceError('ENCODER_CLOSED', 'the CLIP encoder has been closed');
  };

  const embedImages = async (images: Uint8Array[]): Promise<Float32Array[]> => {
    checkOpen();
    if (!Array.isArray(images) || images.some((b) => !(b instanceof Uint8Array))) {
      throw new InputError('INPUT_INVALID', 'embedImages expects an array of image file bytes (Uint8Array/Buffer)');
    }
    if (images.length === 0) return [];
    const cfg = await preprocessConfig();
    let failed = false;
    const one = async (bytes: Uint8Array, i: number): Promise<Float32Array> => {
      await window.acquire();
      try {
        if (failed) throw new ImageError('IMAGE_SKIPPED', 'skipped after another image of the same call failed');
        let pixels: Float32Array;
        await decodes.acquire();
        try {
          // In the worker: decoding's alpha flattening, the exact resampler for upscales and the
          // float conversion are loops over pixels that would otherwise hold this event loop.
          // A copy (never Buffer#slice, a view): the transfer detaches it, and the caller keeps its bytes.
          const own = new Uint8Array(bytes).buffer as ArrayBuffer;
          const r = await prepWorker.call<PreprocessResult>(
            { type: 'preprocess', bytes: own, cfg, limits: opts.limits },
            [own],
            revivePreprocessError,
          );
          pixels = new Float32Array(r.pixels);
        } catch (e) {
          failed = true;
          if (images.length === 1) throw e;
          const code = isAdError(e) ? e.code : 'IMAGE_CORRUPT';
          const msg = e instanceof Error ? e.message : String(e);
          throw new ImageError(code, `image ${i + 1} of ${images.length}: ${msg}`, { cause: e, hint: isAdError(e) ? e.hint : undefined });
        } finally {
          decodes.release();
        }
        return await imageBatcher.submitOne(pixels);
      } finally {
        window.release();
      }
    };
    const settled = await Promise.allSettled(images.map(one));
    // Report the first real failure, not the images skipped because of it.
    const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as unknown);
    if (failures.length) throw failures.find((e) => !(isAdError(e) && e.code === 'IMAGE_SKIPPED')) ?? failures[0];
    return settled.map((s) => (s as PromiseFulfilledResult<Float32Array>).value);
  };

  const embedTexts = async (texts: string[]): Promise<Float32Array[]> => {
    checkOpen();
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      throw new InputError('INPUT_INVALID', 'embedTexts expects an array of strings');
    }
    if (texts.length === 0) return [];
    return textBatcher.submit(texts);
  };

  return {
    dims: model.dims,
    model,
    info(): EncoderInfo {
      return { model: model.name, dims: model.dims, synthetic: model.synthetic, device, precision: opts.precision };
    },
    embedTexts,
    embedImages,
    async embedPreprocessed(pixels) {
      checkOpen();
      if (pixels.length === 0) return [];
      const { cropHeight, cropWidth } = await preprocessConfig();
      const want = 3 * cropHeight * cropWidth;
      const wrong = pixels.find((p) => !(p instanceof Float32Array) || p.length !== want);
      if (wrong)
        throw new InputError(
          'INPUT_INVALID',
          `a preprocessed image has ${wrong.length} values; expected 3×${cropHeight}×${cropWidth} = ${want}`,
        );
      return imageBatcher.submit(pixels);
    },
    async embedTokenized(rowsIn) {
      checkOpen();
      if (!rowsIn.length) return [];
      // An id the model's embedding table does not have fails the whole run it is in: refused here.
      const vocab = BigInt((await tokenizer()).vocabSize);
      rowsIn.forEach((r, b) => {
        for (let i = 0; i < r.ids.length; i++) {
          if (r.ids[i] < 0n || r.ids[i] >= vocab)
            throw new InputError(
              'INPUT_INVALID',
              `input_ids row ${b} holds ${r.ids[i]} at position ${i}, not a token id of this model (0 to ${vocab - 1n})`,
            );
        }
      });
      return tokenBatcher.submit(rowsIn);
    },
    stats: () => structuredClone(stats),
    onRun(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async warmup(kinds = ['text', 'vision']) {
      checkOpen();
      await Promise.all(kinds.map(ensureSession));
      if (kinds.includes('text')) await tokenizer();
      if (kinds.includes('vision')) await preprocessConfig();
    },
    async close() {
      if (closed) return;
      closed = true;
      const err = new InferenceError('ENCODER_CLOSED', 'the CLIP encoder has been closed');
      textBatcher.close(err);
      tokenBatcher.close(err);
      imageBatcher.close(err);
      await Promise.all([worker.close(), prepWorker.close()]);
    },
  };
}
