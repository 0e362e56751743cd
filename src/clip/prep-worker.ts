/**
 * One thread of the CLIP preprocessing pool: encoded image bytes → the vision model's input
 * (normalised CHW float32, or the 8-bit RGB crop for `rgb8` models). Decoding is sharp's work
 * on libuv's threads, but alpha flattening, the exact resampler for upscales and the float
 * conversion are loops over pixels: a pool of these threads, sized to the cores the model
 * leaves free, keeps them off the bot's event loop and lets N images decode at once.
 * Spawned by encoder.ts over the shared worker RPC; the types below are the whole protocol.
 */
import { type HandlerResult, serveRpc } from '../workers/rpc.ts';
import type { VisionInput } from './model-dir.ts';
import { cropRgb, type DecodeMode, type ImageLimits, normalizeInto, type PreprocessConfig } from './preprocess.ts';

export interface PrepRequest {
  /** The image file's bytes (transferred). */
  bytes: ArrayBuffer;
  cfg: PreprocessConfig;
  limits: ImageLimits;
  /** What the vision model takes. */
  output: VisionInput;
  decode: DecodeMode;
}

export interface PrepResult {
  /** float: CHW float32, 3 × cropHeight × cropWidth; rgb8: HWC uint8, cropHeight × cropWidth × 3. */
  pixels: ArrayBuffer;
}

serveRpc<PrepRequest>(async (req): Promise<HandlerResult<PrepResult>> => {
  const rgb = await cropRgb(new Uint8Array(req.bytes), req.cfg, req.limits, { decode: req.decode });
  let pixels: ArrayBuffer;
  if (req.output === 'rgb8') {
    // A copy: sharp's output buffers are not always transferable (external or pooled memory).
    pixels = rgb.slice().buffer;
  } else {
    const out = new Float32Array(3 * req.cfg.cropHeight * req.cfg.cropWidth);
    normalizeInto(rgb, req.cfg, out, 0);
    pixels = out.buffer;
  }
  return { result: { pixels }, transfer: [pixels] };
});
