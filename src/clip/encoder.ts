/**
 * The in-process CLIP encoder: tokenizer on the calling thread, a dynamic batcher per model
 * input, one worker thread that owns the ONNX Runtime sessions and runs them, and a pool of
 * preprocessing threads (decode, flatten, resample, normalise: pixel loops that held the
 * bot's event loop for tens of milliseconds per image when they ran here). Images are
 * preprocessed as they arrive and join the next batch, so decoding overlaps inference;
 * tensors travel to and from the workers as transferred buffers.
 *
 * What depends on the execution provider settles when the first session loads (session.ts
 * picks the provider, the precision and the file): the batch ceiling and wait (GPU-sized or
 * CPU-sized unless set), the size of the preprocessing pool (all cores but one on a GPU, the
 * cores inference leaves free on a CPU), and what the pool produces (float tensors, or 8-bit
 * pixels for an `rgb8` vision model).
 */
import { availableParallelism } from 'node:os';
import { type AdError, ImageError, InferenceError, InputError, isAdError, ModelError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createSemaphore } from '../workers/pool.ts';
import { type WireError, WorkerRpc } from '../workers/rpc.ts';
import { createBatcher } from './batcher.ts';
import { inspectModelDir, type ModelDir, type ModelKind, type PrecisionSetting } from './model-dir.ts';
import { createPrepPool } from './prep-pool.ts';
import { type DecodeMode, type ImageLimits, readPreprocessConfig } from './preprocess.ts';
import { type Device, isGpu, type Provider, type VisionInputSetting, type WebGpuSettings } from './session.ts';
import { ClipTokenizer } from './tokenizer.ts';
import type { Encoder, EncoderInfo, RunEvent } from './types.ts';
import type { InputInfo, LoadResult, RunResult, WireTensor, WorkerRequest } from './worker.ts';

export type { RunEvent } from './types.ts';

export interface OnnxEncoderOptions {
  modelDir: string;
  device: Device;
  precision: PrecisionSetting;
  /** Which vision graph to load: the float export, the 8-bit-pixel variant, or (`auto`) the latter where it exists. */
  visionInput?: VisionInputSetting;
  /** ONNX Runtime intra-op threads; 0: one per core. */
  threads: number;
  /** Most inputs in one run; default by provider (`batchDefaults`). */
  batchMax?: number;
  /** Longest wait for more inputs before a run; default by provider. */
  batchWaitMs?: number;
  limits: ImageLimits;
  logger: Logger;
  /** Text padding: to the longest text of each batch (default), or always to 77. */
  textPadding?: 'longest' | 'max';
  /** Preprocessing threads (images decoded at once); default by provider (`prepPoolSize`). */
  decodeConcurrency?: number;
  /** How images are decoded and resized (preprocess.ts); default `default`. */
  decode?: DecodeMode;
  webgpu?: WebGpuSettings;
}

/** Batching that fills the provider: where throughput stops rising on a GPU; a few inputs on a CPU. */
export function batchDefaults(provider: Provider): { batchMax: number; batchWaitMs: number } {
  // GPU: ViT-B/32 on WebGPU (H200) still gained from 32 to 128 images (1,412 → 1,543 img/s fp16)
  // and text from 32 to 128 (563 → 997/s); a 5 ms wait costs a lone request little next to
  // the 8 ms a batch of one takes there. CPU: throughput is flat past 8 (bench/results/clip.json).
  return isGpu(provider) ? { batchMax: 128, batchWaitMs: 5 } : { batchMax: 8, batchWaitMs: 4 };
}

/** Preprocessing threads: on a GPU all cores but the caller's; on a CPU the cores inference leaves free. */
export function prepPoolSize(provider: Provider, threads: number, cores = availableParallelism()): number {
  return Math.max(1, isGpu(provider) ? cores - 1 : cores - (threads > 0 ? threads : cores));
}

/** libuv's thread pool, which every sharp call runs on: UV_THREADPOOL_SIZE as the process started with it. */
function uvThreads(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
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
  onRun(listener: (e: RunEvent) => void): () => void;
  /** Loads the sessions now rather than on first use. */
  warmup(kinds?: ModelKind[]): Promise<void>;
  ready(): Promise<boolean>;
  /**
   * Embeds images that are already preprocessed: normalised CHW float32 tensors as
   * `preprocessImage` makes them, or 8-bit HWC crops as `cropRgb` makes them, whichever the
   * loaded vision graph takes (`visionInput()`): the model-only path, for serve-clip and the
   * benchmark. The buffers are transferred to the worker and are unusable afterwards.
   */
  embedPreprocessed(pixels: (Float32Array | Uint8Array)[]): Promise<Float32Array[]>;
  /** The vision graph's pixel input (loads the vision session). */
  visionInput(): Promise<InputInfo>;
  /** What the model directory holds. */
  readonly model: ModelDir;
  /**
   * Embeds texts that are already tokenized (one row of ids and its attention mask each, any
   * length ≤ 77, no padding needed): the raw-tensor path `serve-clip` uses. Rows from
   * concurrent callers share runs through the same dynamic batching as `embedTexts`.
   */
  embedTokenized(rows: TokenRow[]): Promise<Float32Array[]>;
  /** Batching and preprocessing as settled for the provider (after the first load). */
  settings(): { provider: Provider | undefined; batchMax: number; batchWaitMs: number; prepThreads: number; visionInput: string };
}

/** One tokenized text: ids and attention mask of equal length (trailing padding allowed). */
export interface TokenRow {
  ids: BigInt64Array;
  mask: BigInt64Array;
}

const OUTPUT: Record<ModelKind, string> = { text: 'text_embeds', vision: 'image_embeds' };

function reviveError(e: WireError): AdError {
  const opts = { hint: e.hint };
  if (e.name === 'ModelError') return new ModelError(e.code ?? 'MODEL_CORRUPT', e.message, opts);
  if (e.name === 'InferenceError') return new InferenceError(e.code ?? 'INFERENCE_FAILED', e.message, opts);
  return new InferenceError('INFERENCE_FAILED', `ONNX Runtime failed: ${e.message}`, opts);
}

const closedError = () => new InferenceError('ENCODER_CLOSED', 'the CLIP encoder has been closed');

/** A buffer that can be transferred whole (not a view into a larger or pooled one). */
function ownBuffer(a: Float32Array | BigInt64Array | Uint8Array): ArrayBuffer {
  if (a.byteOffset === 0 && a.buffer.byteLength === a.byteLength && a.buffer instanceof ArrayBuffer) return a.buffer;
  return a.slice().buffer as ArrayBuffer;
}

function rows(r: RunResult): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < r.rows; i++) out.push(new Float32Array(r.data, i * r.dims * 4, r.dims));
  return out;
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
  let provider: Provider | undefined;
  let precision: EncoderInfo['precision'] = 'auto';
  let closed = false;
  const loaded: Partial<Record<ModelKind, LoadResult>> = {};

  const sessions: Partial<Record<ModelKind, Promise<LoadResult>>> = {};
  const worker = new WorkerRpc<WorkerRequest>({
    entry: new URL('./worker.ts', import.meta.url),
    name: 'the CLIP inference worker',
    closedError,
    onExit: () => {
      // A dead worker took its sessions with it: the next call loads them again.
      delete sessions.text;
      delete sessions.vision;
      delete loaded.text;
      delete loaded.vision;
    },
  });

  // Settled by provider on the first load unless given.
  const cpuDefaults = batchDefaults('cpu');
  let batchMax = opts.batchMax ?? cpuDefaults.batchMax;
  let batchWaitMs = opts.batchWaitMs ?? cpuDefaults.batchWaitMs;
  let prepThreads =
    opts.decodeConcurrency ?? prepPoolSize(opts.device === 'cpu' || opts.device === 'auto' ? 'cpu' : opts.device, opts.threads);
  // Preprocessing gets a pool of its own: in the inference worker its JavaScript parts would
  // wait for each blocking run() to end, so decoding could not overlap inference. One image per
  // thread at a time: on a CPU the pool has the cores inference leaves (at least one), since
  // decoding there preempts ONNX Runtime's threads, whose parallel loops stall while any one
  // of them is descheduled.
  const prep = createPrepPool(prepThreads, closedError);
  const warnedNotes = new Set<string>();
  let warnedUv = false;

  const settle = (r: LoadResult) => {
    const first = provider === undefined;
    provider = r.provider;
    if (precision === 'auto') precision = r.precision;
    const d = batchDefaults(r.provider);
    batchMax = opts.batchMax ?? d.batchMax;
    batchWaitMs = opts.batchWaitMs ?? d.batchWaitMs;
    for (const b of [textBatcher, imageBatcher, tokenBatcher]) b.configure({ batchMax, waitMs: batchWaitMs });
    window.resize(Math.max(2 * batchMax, 8));
    prepThreads = opts.decodeConcurrency ?? prepPoolSize(r.provider, opts.threads);
    prep.resize(prepThreads);
    if (first && prepThreads > uvThreads() && !warnedUv) {
      warnedUv = true;
      log.warn(
        `image preprocessing: ${prepThreads} threads, but libuv's pool (which sharp decodes on) has ${uvThreads()}: start the process with UV_THREADPOOL_SIZE=${prepThreads + 1} or more to decode that many images at once`,
        { prepThreads, uvThreads: uvThreads() },
      );
    }
  };

  const ensureSession = (kind: ModelKind): Promise<LoadResult> => {
    const existing = sessions[kind];
    if (existing) return existing;
    stats.loads[kind]++;
    const settings = {
      device: opts.device,
      threads: opts.threads,
      precision: opts.precision,
      visionInput: opts.visionInput ?? 'float',
      webgpu: opts.webgpu,
    };
    const p = worker.call<LoadResult>({ type: 'load', kind, files: model.files[kind], settings }, [], reviveError).then((r) => {
      loaded[kind] = r;
      // Each provider tried and failed is reported by the worker once, in order.
      const failures = r.attempts.filter((a) => a.error);
      failures.forEach((a, i) => {
        const next = failures[i + 1]?.provider ?? r.provider;
        log.warn(`CLIP_DEVICE=${opts.device}: the ${a.provider} execution provider could not load; trying ${next}`, {
          kind,
          provider: a.provider,
          reason: a.error,
        });
      });
      for (const n of r.notes) {
        if (warnedNotes.has(n)) continue;
        warnedNotes.add(n);
        log.warn(`CLIP: ${n}`, { kind, provider: r.provider });
      }
      settle(r);
      log.info('clip session loaded', {
        kind,
        path: r.path,
        provider: r.provider,
        requestedDevice: opts.device,
        precision: r.precision,
        requestedPrecision: opts.precision,
        ...(kind === 'vision' ? { visionInput: r.input } : {}),
        intraOpThreads: r.intraOpThreads,
        interOpThreads: r.interOpThreads,
        batchMax,
        batchWaitMs,
        prepThreads,
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
      reviveError,
    );
    if (r.rows !== size) throw new InferenceError('INFERENCE_FAILED', `the ${kind} model returned ${r.rows} embeddings for ${size} inputs`);
    emit({ kind, size, seqLen, runMs: r.runMs, roundTripMs: performance.now() - t0, queueWaitMs });
    return rows(r);
  };

  const textBatcher = createBatcher<string, Float32Array>({
    batchMax,
    waitMs: batchWaitMs,
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

  /** The vision graph's pixel input, from its loaded session. */
  const pixelInput = async (): Promise<InputInfo> => {
    const r = await ensureSession('vision');
    const { cropHeight, cropWidth } = await preprocessConfig();
    const found = r.inputs.find((i) => i.name === 'pixels' || i.name === 'pixel_values') ?? r.inputs[0];
    if (found.type === 'uint8') return { name: found.name, type: 'uint8', dims: [-1, cropHeight, cropWidth, 3] };
    return { name: found.name, type: 'float32', dims: [-1, 3, cropHeight, cropWidth] };
  };

  const imageBatcher = createBatcher<Float32Array | Uint8Array, Float32Array>({
    batchMax,
    waitMs: batchWaitMs,
    run: async (pixels, info) => {
      const input = await pixelInput();
      const dims = [pixels.length, ...input.dims.slice(1)];
      return runModel(
        'vision',
        [{ name: input.name, type: input.type === 'uint8' ? 'uint8' : 'float32', dims, parts: pixels.map(ownBuffer) }],
        pixels.length,
        undefined,
        info.waitMs,
      );
    },
  });

  // --- raw token rows (serve-clip): padded here to the longest row of each batch ---
  const tokenBatcher = createBatcher<TokenRow, Float32Array>({
    batchMax,
    waitMs: batchWaitMs,
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
  const window = createSemaphore(Math.max(2 * batchMax, 8));

  const checkOpen = () => {
    if (closed) throw closedError();
  };

  const embedImages = async (images: Uint8Array[]): Promise<Float32Array[]> => {
    checkOpen();
    if (!Array.isArray(images) || images.some((b) => !(b instanceof Uint8Array))) {
      throw new InputError('INPUT_INVALID', 'embedImages expects an array of image file bytes (Uint8Array/Buffer)');
    }
    if (images.length === 0) return [];
    // The vision session decides what preprocessing makes (and the provider sizes the pool).
    const [cfg, input] = await Promise.all([preprocessConfig(), pixelInput()]);
    const output = input.type === 'uint8' ? 'rgb8' : 'float';
    let failed = false;
    const one = async (bytes: Uint8Array, i: number): Promise<Float32Array> => {
      await window.acquire();
      try {
        if (failed) throw new ImageError('IMAGE_SKIPPED', 'skipped after another image of the same call failed');
        let pixels: Float32Array | Uint8Array;
        try {
          pixels = await prep.preprocess(bytes, cfg, opts.limits, output, opts.decode);
        } catch (e) {
          failed = true;
          if (images.length === 1) throw e;
          const code = isAdError(e) ? e.code : 'IMAGE_CORRUPT';
          const msg = e instanceof Error ? e.message : String(e);
          throw new ImageError(code, `image ${i + 1} of ${images.length}: ${msg}`, { cause: e, hint: isAdError(e) ? e.hint : undefined });
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
    // Loaded before batching, so the first batches are already sized for the provider.
    await ensureSession('text');
    return textBatcher.submit(texts);
  };

  return {
    dims: model.dims,
    model,
    info(): EncoderInfo {
      return { model: model.name, dims: model.dims, synthetic: model.synthetic, device: provider ?? opts.device, precision };
    },
    embedTexts,
    embedImages,
    async embedPreprocessed(pixels) {
      checkOpen();
      if (pixels.length === 0) return [];
      const input = await pixelInput();
      const want = input.dims.slice(1).reduce((a, b) => a * b, 1);
      const Want = input.type === 'uint8' ? Uint8Array : Float32Array;
      const what =
        input.type === 'uint8' ? `8-bit RGB ${input.dims.slice(1).join('×')} (HWC)` : `float32 ${input.dims.slice(1).join('×')} (CHW)`;
      const wrong = pixels.find((p) => !(p instanceof Want) || p.length !== want);
      if (wrong)
        throw new InputError(
          'INPUT_INVALID',
          `a preprocessed image is ${wrong instanceof Uint8Array ? '8-bit' : 'float32'} with ${wrong.length} values; this vision model takes ${what} = ${want} values`,
        );
      return imageBatcher.submit(pixels);
    },
    visionInput: pixelInput,
    async embedTokenized(rowsIn) {
      checkOpen();
      if (!rowsIn.length) return [];
      await ensureSession('text');
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
    async ready() {
      return !closed && loaded.text !== undefined && loaded.vision !== undefined;
    },
    settings: () => ({
      provider,
      batchMax,
      batchWaitMs,
      prepThreads,
      visionInput: loaded.vision?.input ?? opts.visionInput ?? 'float',
    }),
    async close() {
      if (closed) return;
      closed = true;
      const err = closedError();
      textBatcher.close(err);
      tokenBatcher.close(err);
      imageBatcher.close(err);
      // Let the sessions release after the run in progress, but never wait long for it.
      await Promise.all([worker.close({ farewell: { type: 'close' } }), prep.close()]);
    },
  };
}
