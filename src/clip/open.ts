/**
 * The one place the bot gets its encoder from the configuration. Today that is the
 * in-process ONNX encoder; when CLIP_ENDPOINT is set a remote (KServe v2) encoder will be
 * returned from here instead, behind the same `Encoder` interface, so callers never change.
 */
import type { Config } from '../config.ts';
import { InferenceError } from '../errors.ts';
import { type Logger, silentLogger } from '../log.ts';
import { applyConfiguredAdapter } from './adapter.ts';
import { createOnnxEncoder } from './encoder.ts';
import type { Encoder } from './types.ts';

export async function openEncoder(cfg: Config, opts: { logger?: Logger } = {}): Promise<Encoder> {
  const logger = opts.logger ?? silentLogger;
  if (cfg.clipEndpoint) {
    // Seam for the remote encoder (a later issue): `return createRemoteEncoder({ endpoint: cfg.clipEndpoint, logger })`.
    throw new InferenceError(
      'REMOTE_ENCODER_UNAVAILABLE',
      `CLIP_ENDPOINT=${cfg.clipEndpoint} is set, but this build has no remote encoder yet`,
      {
        hint: 'unset CLIP_ENDPOINT to run CLIP in-process',
      },
    );
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
