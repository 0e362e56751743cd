/**
 * The one place the bot gets its encoder from the configuration: the in-process ONNX
 * encoder, or — when CLIP_ENDPOINT is set — the remote (KServe v2) encoder of remote.ts,
 * behind the same `Encoder` interface, so callers never change.
 */
import type { Config } from '../config.ts';
import { type Logger, silentLogger } from '../log.ts';
import { applyConfiguredAdapter } from './adapter.ts';
import { createOnnxEncoder } from './encoder.ts';
import type { Encoder } from './types.ts';

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
      token: cfg.serveClipToken,
      logger,
    });
    // The adapter applies to remote embeddings exactly as to in-process ones.
    return applyConfiguredAdapter(cfg, remote, { logger });
  }
  const encoder = await createOnnxEncoder({
    modelDir: cfg.clipModelDir,
    device: cfg.clipDevice,
    precision: cfg.clipPrecision,
    threads: cfg.clipThreads,
    batchMax: cfg.clipBatchMax,
    batchWaitMs: cfg.clipBatchWaitMs,
    limits: { maxPixels: cfg.imageMaxPixels, maxBytes: cfg.imageMaxBytes },
    logger,
  });
  // CLIP_ADAPTER: the team's fine-tuned adapter over the frozen embeddings (off: unchanged).
  return applyConfiguredAdapter(cfg, encoder, { logger });
}
