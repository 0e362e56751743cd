/**
 * The one place the bot gets its encoder from the configuration: the in-process ONNX
 * encoder, or — when CLIP_ENDPOINT is set — the remote (KServe v2) encoder of remote.ts,
 * behind the same `Encoder` interface, so callers never change.
 */
import type { Config } from '../config.ts';
import { type Logger, silentLogger } from '../log.ts';
import { applyConfiguredAdapter } from './adapter.ts';
import { createOnnxEncoder, type OnnxEncoderOptions } from './encoder.ts';
import { createMultilingualTextEncoder, withTextEncoder } from './multilingual.ts';
import type { Encoder } from './types.ts';
import { webgpuSettings } from './webgpu-options.ts';

const orUndefined = (v: number | 'auto'): number | undefined => (v === 'auto' ? undefined : v);

/** The in-process encoder's options as the configuration sets them (`auto` values settle by provider). */
export function encoderOptions(cfg: Config, over: Partial<OnnxEncoderOptions> & { logger: Logger }): OnnxEncoderOptions {
  return {
    modelDir: cfg.clipModelDir,
    device: cfg.clipDevice,
    precision: cfg.clipPrecision,
    visionInput: cfg.clipVisionInput,
    threads: cfg.clipThreads,
    batchMax: orUndefined(cfg.clipBatchMax),
    batchWaitMs: orUndefined(cfg.clipBatchWaitMs),
    decodeConcurrency: orUndefined(cfg.clipPrepThreads),
    decode: cfg.clipDecode,
    webgpu: webgpuSettings(cfg.clipWebgpuOptions),
    limits: { maxPixels: cfg.imageMaxPixels, maxBytes: cfg.imageMaxBytes },
    ...over,
  };
}

export async function openEncoder(cfg: Config, opts: { logger?: Logger } = {}): Promise<Encoder> {
  const logger = opts.logger ?? silentLogger;
  if (cfg.clipEndpoint) {
    const { createRemoteEncoder } = await import('./remote.ts');
    const remote = createRemoteEncoder({
      endpoint: cfg.clipEndpoint,
      modelDir: cfg.clipModelDir,
      timeoutMs: cfg.clipRemoteTimeoutMs,
      retries: cfg.clipRemoteRetries,
      breakerFailures: cfg.clipBreakerFailures,
      breakerCooldownMs: cfg.clipBreakerCooldownMs,
      limits: { maxPixels: cfg.imageMaxPixels, maxBytes: cfg.imageMaxBytes },
      prepThreads: orUndefined(cfg.clipPrepThreads),
      token: cfg.serveClipToken,
      logger,
    });
    // The adapter applies to remote embeddings exactly as to in-process ones.
    return applyConfiguredAdapter(cfg, withConfiguredTextModel(cfg, remote, logger), { logger });
  }
  const encoder = withConfiguredTextModel(cfg, createOnnxEncoder(encoderOptions(cfg, { logger })), logger);
  // CLIP_ADAPTER: the team's fine-tuned adapter over the frozen embeddings (off: unchanged).
  return applyConfiguredAdapter(cfg, encoder, { logger });
}

/** CLIP_TEXT_MODEL_DIR: texts in any language go to the multilingual encoder (in this process); images stay CLIP's. */
function withConfiguredTextModel(cfg: Config, encoder: Encoder, logger: Logger): Encoder {
  if (!cfg.clipTextModelDir) return encoder;
  const text = createMultilingualTextEncoder({ modelDir: cfg.clipTextModelDir, device: cfg.clipDevice, threads: cfg.clipThreads, logger });
  return withTextEncoder(encoder, text);
}
