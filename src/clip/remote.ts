/**
 * The remote encoder: the `Encoder` interface over a KServe v2 server (`serve-clip`, or
 * Triton Inference Server with the repository `models triton` writes), for bots that load
 * no ONNX themselves.
 *
 * Tokenizing and preprocessing stay on the bot, from the model directory's small files
 * (tokenizer.json, preprocessor_config.json, config.json — no weights needed): the
 * protocol carries tensors only, Triton has no endpoint for those files, and this spreads
 * the decode work over the replicas instead of the GPU host. Images are preprocessed in the
 * CLIP preprocessing pool (worker threads), never on the bot's event loop. Tensors travel
 * with the binary extension (an image is 602 KB of FP32; as JSON it would be ~2 MB and slow
 * to parse); when the server's vision model takes 8-bit pixels (its model metadata says
 * `pixels` UINT8: `models rgb8`), images go as 150 KB of bytes instead.
 *
 * Failures: each request has a timeout; network errors, timeouts and 5xx are retried with
 * exponential backoff and full jitter; after `breakerFailures` consecutive failed attempts
 * the circuit opens and calls fail at once with a NetworkError that says when the next try
 * is ("CLIP server at … is down; retrying in 20 s"), which the bot shows in Slack; after the
 * cool-down one probe request goes through (half-open) and its success closes the circuit.
 * 4xx answers are the caller's fault: InferenceError at once, no retry, no breaker count.
 * 503 with Retry-After is a busy server, not a down one: waited out (within the retries), no
 * breaker count.
 */

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InferenceError, InputError, isAdError, NetworkError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { decodeInferResponse, encodeInferRequest, HEADER_LENGTH, type Tensor } from './kserve.ts';
import { readModelConfig } from './model-config.ts';
import { createPrepPool } from './prep-pool.ts';
import { type ImageLimits, type PreprocessConfig, readPreprocessConfig } from './preprocess.ts';
import { ClipTokenizer } from './tokenizer.ts';
import { type Encoder, type EncoderInfo, l2normalize } from './types.ts';

export interface RemoteEncoderOptions {
  /** Base URL of the KServe v2 server, e.g. http://gpu-host:8000. */
  endpoint: string;
  /** Model directory with tokenizer.json, preprocessor_config.json and config.json. */
  modelDir: string;
  timeoutMs?: number;
  retries?: number;
  breakerFailures?: number;
  breakerCooldownMs?: number;
  /** Largest inputs per request (larger calls are split). */
  maxBatch?: number;
  /** JSON tensors instead of the binary extension (for debugging with curl-like tools). */
  json?: boolean;
  limits?: ImageLimits;
  logger?: Logger;
  /** Backoff base; tests shorten it. */
  backoffMs?: number;
  /** Image preprocessing threads (default: the cores but one). */
  prepThreads?: number;
  /** Bearer token the server requires (SERVE_CLIP_TOKEN). */
  token?: string;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface RemoteEncoder extends Encoder {
  breaker(): { state: BreakerState; failures: number; retryAt: number | null };
  /** GET /v2/health/ready, without retries (for /readyz). */
  ready(): Promise<boolean>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Seconds the server asked us to wait (Retry-After), when it did. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export function createRemoteEncoder(opts: RemoteEncoderOptions): RemoteEncoder {
  const endpoint = opts.endpoint.replace(/\/+$/, '');
  const log = (opts.logger ?? silentLogger).child({ component: 'clip-remote', endpoint });
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const retries = opts.retries ?? 2;
  const threshold = opts.breakerFailures ?? 5;
  const cooldownMs = opts.breakerCooldownMs ?? 20_000;
  const maxBatch = opts.maxBatch ?? 32;
  const backoff = opts.backoffMs ?? 200;
  const binary = !opts.json;
  const auth: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const limits = opts.limits ?? { maxPixels: 40_000_000, maxBytes: 26_214_400 };

  for (const f of ['tokenizer.json', 'preprocessor_config.json', 'config.json']) {
    if (!existsSync(join(opts.modelDir, f)))
      throw new InferenceError('REMOTE_MODEL_FILES', `CLIP_ENDPOINT is set, but ${join(opts.modelDir, f)} is missing`, {
        hint: 'the remote encoder tokenizes and preprocesses on the bot: CLIP_MODEL_DIR must hold tokenizer.json, preprocessor_config.json and config.json (the ONNX files may be left out)',
      });
  }
  const mc = readModelConfig(opts.modelDir);
  const facts = { name: mc.name, dims: mc.projectionDim, synthetic: mc.synthetic };
  if (facts.synthetic)
    log.warn(
      `SYNTHETIC CLIP MODEL configured in ${opts.modelDir}: similarities from ${endpoint} are MEANINGLESS unless it serves the real model`,
      { synthetic: true },
    );
  const tokenizer = ClipTokenizer.load(join(opts.modelDir, 'tokenizer.json'));
  const closedError = () => new InferenceError('ENCODER_CLOSED', 'the CLIP encoder has been closed');
  const prep = createPrepPool(opts.prepThreads ?? Math.max(1, availableParallelism() - 1), closedError);
  // What the server's clip-vision takes, from its model metadata: asked once it answers.
  let visionWire: Promise<'float' | 'rgb8'> | undefined;
  const serverVisionInput = (): Promise<'float' | 'rgb8'> => {
    visionWire ??= fetch(`${endpoint}/v2/models/clip-vision`, { headers: auth, signal: AbortSignal.timeout(Math.min(timeoutMs, 5000)) })
      .then(async (res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const meta = (await res.json()) as { inputs?: { name?: string; datatype?: string }[] };
        const rgb8 = meta.inputs?.some((i) => i.name === 'pixels' && i.datatype === 'UINT8') === true;
        log.info('CLIP server vision input', { input: rgb8 ? 'pixels UINT8' : 'pixel_values FP32' });
        return rgb8 ? ('rgb8' as const) : ('float' as const);
      })
      .catch((e: unknown) => {
        // Not known yet (server down, or no metadata route): float this time, ask again next time.
        visionWire = undefined;
        log.debug('CLIP server metadata unavailable; sending float pixels', { error: e instanceof Error ? e.message : String(e) });
        return 'float' as const;
      });
    return visionWire;
  };
  let pre: PreprocessConfig | undefined;
  const preprocessConfig = () => {
    pre ??= readPreprocessConfig(opts.modelDir);
    return pre;
  };

  // --- circuit breaker ---
  let failures = 0;
  let openUntil = 0;
  let probing = false;
  let closed = false;
  const inflight = new Set<AbortController>();

  const state = (): BreakerState => (failures < threshold ? 'closed' : Date.now() < openUntil ? 'open' : 'half-open');

  const downError = (cause?: unknown): NetworkError => {
    const secs = Math.max(1, Math.ceil((openUntil - Date.now()) / 1000));
    const why = cause instanceof Error ? ` (${cause.message})` : '';
    return new NetworkError('CLIP_SERVER_DOWN', `CLIP server at ${endpoint} is down${why}; retrying in ${secs} s`, {
      cause,
      hint: 'check that `adcreative serve-clip` (or Triton) runs and is reachable from the bot, or unset CLIP_ENDPOINT to run CLIP in-process',
    });
  };

  const recordFailure = (e: unknown) => {
    failures++;
    if (failures >= threshold) {
      const wasOpen = openUntil > 0;
      openUntil = Date.now() + cooldownMs;
      if (!wasOpen || failures === threshold) log.warn('CLIP server unreachable: circuit open', { failures, error: String(e), cooldownMs });
    }
  };
  const recordSuccess = () => {
    if (failures >= threshold) log.info('CLIP server is back: circuit closed', {});
    failures = 0;
    openUntil = 0;
  };

  const attempt = async (model: string, body: Buffer, headers: Record<string, string>): Promise<Tensor[]> => {
    const ac = new AbortController();
    inflight.add(ac);
    const timer = setTimeout(() => ac.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      const res = await fetch(`${endpoint}/v2/models/${model}/infer`, {
        method: 'POST',
        body: body as Uint8Array<ArrayBuffer>,
        headers: { ...headers, ...auth },
        signal: ac.signal,
      });
      const buf = Buffer.from(await res.arrayBuffer());
      if (!res.ok) {
        let msg = buf.toString('utf8').slice(0, 500);
        try {
          const j = JSON.parse(msg) as { error?: string };
          if (j.error) msg = j.error;
        } catch {
          // Not JSON: keep the text.
        }
        const after = Number(res.headers.get('retry-after'));
        throw new HttpStatusError(res.status, `${model}: HTTP ${res.status}: ${msg}`, Number.isFinite(after) ? after : undefined);
      }
      return decodeInferResponse(buf, res.headers.get(HEADER_LENGTH) ?? undefined).outputs;
    } catch (e) {
      if (ac.signal.aborted && !(e instanceof HttpStatusError)) {
        const reason = ac.signal.reason;
        throw new Error(reason instanceof Error ? reason.message : 'request aborted');
      }
      throw e;
    } finally {
      clearTimeout(timer);
      inflight.delete(ac);
    }
  };

  const infer = async (model: string, inputs: Tensor[], output: string): Promise<Tensor> => {
    if (closed) throw closedError();
    const enc = encodeInferRequest({ inputs, outputs: [output], binary });
    let last: unknown;
    for (let i = 0; i <= retries; i++) {
      const s = state();
      if (s === 'open') throw downError(last);
      if (s === 'half-open') {
        // One probe at a time; everyone else fails fast until it answers.
        if (probing) throw downError(last);
        probing = true;
      }
      try {
        const outs = await attempt(model, enc.body, enc.headers);
        recordSuccess();
        const t = outs.find((o) => o.name === output) ?? outs[0];
        if (t?.datatype !== 'FP32') throw new InferenceError('REMOTE_BAD_RESPONSE', `${endpoint}: ${model} returned no FP32 ${output}`);
        return t;
      } catch (e) {
        if (e instanceof HttpStatusError && e.status >= 400 && e.status < 500) {
          // The server answered: it is up; the request was wrong.
          recordSuccess();
          throw new InferenceError('REMOTE_REJECTED', `CLIP server at ${endpoint} refused the request: ${e.message}`, { cause: e });
        }
        if (isAdError(e)) throw e;
        last = e;
        if (e instanceof HttpStatusError && e.status === 503 && e.retryAfter !== undefined) {
          // Busy, not down: wait as told (capped), without counting toward the breaker.
          recordSuccess();
          if (i < retries) await sleep(Math.min(5_000, e.retryAfter * 1000) * (0.5 + Math.random() / 2));
          continue;
        }
        recordFailure(e);
        log.warn('CLIP server request failed', {
          model,
          attempt: i + 1,
          of: retries + 1,
          error: e instanceof Error ? e.message : String(e),
        });
        if (state() === 'open') throw downError(e);
        if (i < retries) {
          // Exponential backoff with full jitter: replicas retrying together do not arrive together.
          const cap = Math.min(5_000, backoff * 2 ** i);
          await sleep(cap / 2 + Math.random() * (cap / 2));
        }
      } finally {
        if (s === 'half-open') probing = false;
      }
    }
    const msg = last instanceof Error ? last.message : String(last);
    if (last instanceof HttpStatusError && last.status === 503)
      throw new NetworkError('CLIP_SERVER_BUSY', `CLIP server at ${endpoint} stayed busy over ${retries + 1} attempts: ${msg}`, {
        cause: last,
        hint: 'raise SERVE_CLIP_MAX_INFLIGHT_BYTES on the server if it has the memory, or add serve-clip instances',
      });
    throw new NetworkError('CLIP_SERVER_UNREACHABLE', `CLIP server at ${endpoint} did not answer after ${retries + 1} attempts: ${msg}`, {
      cause: last,
      hint: 'check that `adcreative serve-clip` (or Triton) runs and is reachable from the bot',
    });
  };

  const rows = (t: Tensor, n: number): Float32Array[] => {
    const data = t.data as Float32Array;
    const d = data.length / n;
    if (!Number.isInteger(d) || d !== facts.dims)
      throw new InferenceError(
        'REMOTE_BAD_RESPONSE',
        `${endpoint} returned ${data.length} values for ${n} inputs; expected ${facts.dims}-d embeddings (does it serve the model in ${opts.modelDir}?)`,
      );
    // Normalised here too: Triton returns the ONNX model's raw embeddings.
    return Array.from({ length: n }, (_, i) => l2normalize(data.slice(i * d, (i + 1) * d)));
  };

  const chunks = <T>(xs: T[]): T[][] => {
    const out: T[][] = [];
    for (let i = 0; i < xs.length; i += maxBatch) out.push(xs.slice(i, i + maxBatch));
    return out;
  };

  const embedTexts = async (texts: string[]): Promise<Float32Array[]> => {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string'))
      throw new InputError('INPUT_INVALID', 'embedTexts expects an array of strings');
    const out: Float32Array[] = [];
    for (const part of chunks(texts)) {
      // Always 77 long: equal shapes let Triton's dynamic batcher merge requests (serve-clip strips the padding).
      const e = tokenizer.encodeBatch(part, { padTo: 'max' });
      const shape = [e.batch, e.seqLen];
      const t = await infer(
        'clip-text',
        [
          { name: 'input_ids', datatype: 'INT64', shape, data: e.inputIds },
          { name: 'attention_mask', datatype: 'INT64', shape, data: e.attentionMask },
        ],
        'text_embeds',
      );
      out.push(...rows(t, part.length));
    }
    return out;
  };

  const embedImages = async (images: Uint8Array[]): Promise<Float32Array[]> => {
    if (!Array.isArray(images) || images.some((b) => !(b instanceof Uint8Array)))
      throw new InputError('INPUT_INVALID', 'embedImages expects an array of image file bytes (Uint8Array/Buffer)');
    const cfg = preprocessConfig();
    const input = await serverVisionInput();
    const out: Float32Array[] = [];
    for (const part of chunks(images)) {
      const pixels = await Promise.all(part.map((b) => prep.preprocess(b, cfg, limits, input)));
      const per = pixels[0]?.length ?? 0;
      const [h, w] = [cfg.cropHeight, cfg.cropWidth];
      const data = input === 'rgb8' ? new Uint8Array(per * pixels.length) : new Float32Array(per * pixels.length);
      pixels.forEach((p, i) => {
        data.set(p as never, i * per);
      });
      const tensor: Tensor =
        input === 'rgb8'
          ? { name: 'pixels', datatype: 'UINT8', shape: [pixels.length, h, w, 3], data }
          : { name: 'pixel_values', datatype: 'FP32', shape: [pixels.length, 3, h, w], data };
      const t = await infer('clip-vision', [tensor], 'image_embeds');
      out.push(...rows(t, part.length));
    }
    return out;
  };

  return {
    dims: facts.dims,
    info(): EncoderInfo {
      return { model: facts.name, dims: facts.dims, synthetic: facts.synthetic, device: `remote ${endpoint}`, precision: 'fp32' };
    },
    embedTexts: async (t) => (t.length ? embedTexts(t) : []),
    embedImages: async (i) => (i.length ? embedImages(i) : []),
    breaker: () => ({ state: state(), failures, retryAt: failures >= threshold ? openUntil : null }),
    async ready() {
      try {
        const res = await fetch(`${endpoint}/v2/health/ready`, { headers: auth, signal: AbortSignal.timeout(Math.min(timeoutMs, 3000)) });
        await res.arrayBuffer();
        return res.ok;
      } catch {
        return false;
      }
    },
    async close() {
      closed = true;
      for (const ac of inflight) ac.abort(new Error('encoder closed'));
      await prep.close();
    },
  };
}
