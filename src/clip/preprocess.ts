/**
 * CLIP image preprocessing, exactly as DESIGN.md §4 and Hugging Face's CLIPImageProcessor:
 * decode (orientation, alpha onto white, RGB), shortest side to `shortestEdge` with Pillow's
 * bicubic, centre crop at floor((n − crop) / 2), rescale, normalise, CHW float32.
 * The constants come from the model's `preprocessor_config.json`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../errors.ts';
import { decodeRgb, type ImageLimits, probe } from '../image/decode.ts';
import { type ResampleFilter, resizeWindowRgb } from '../image/resample.ts';
import { MODEL_FETCH_HINT as FETCH_HINT } from './model-config.ts';

export type { ImageLimits } from '../image/decode.ts';

export interface PreprocessConfig {
  shortestEdge: number;
  cropHeight: number;
  cropWidth: number;
  mean: [number, number, number];
  std: [number, number, number];
  rescaleFactor: number;
  resample: ResampleFilter;
}

/** openai/clip-vit-base-patch32's values, for synthetic model writers and as a fallback. */
export const CLIP_PREPROCESS: PreprocessConfig = Object.freeze({
  shortestEdge: 224,
  cropHeight: 224,
  cropWidth: 224,
  mean: Object.freeze([0.48145466, 0.4578275, 0.40821073]) as [number, number, number],
  std: Object.freeze([0.26862954, 0.26130258, 0.27577711]) as [number, number, number],
  rescaleFactor: 1 / 255,
  resample: 'bicubic',
}) as PreprocessConfig;

// Pillow's filter numbers, as `resample` stores them.
const PIL_FILTERS: Record<number, ResampleFilter | string> = {
  0: 'nearest',
  1: 'lanczos',
  2: 'bilinear',
  3: 'bicubic',
  4: 'box',
  5: 'hamming',
};

function triple(v: unknown): [number, number, number] | undefined {
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return [v[0], v[1], v[2]];
  if (typeof v === 'number' && Number.isFinite(v)) return [v, v, v];
  return undefined;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/**
 * Parses HF CLIPImageProcessor fields: `size` ({shortest_edge} or an int), `crop_size`
 * ({height, width} or an int), `image_mean`, `image_std`, `rescale_factor`, `resample`,
 * and the `do_*` switches.
 */
export function parsePreprocessConfig(json: unknown, file: string): PreprocessConfig {
  const bad = (what: string): never => {
    throw new ModelError('MODEL_CONFIG_INVALID', `${file}: ${what}`, { hint: FETCH_HINT });
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('expected a JSON object');
  const j = json as Record<string, unknown>;
  const size = j.size;
  let shortestEdge: number | undefined;
  if (typeof size === 'number') shortestEdge = positiveInt(size);
  else if (typeof size === 'object' && size !== null) {
    const s = size as Record<string, unknown>;
    shortestEdge = positiveInt(s.shortest_edge);
    if (shortestEdge === undefined && s.height !== undefined)
      bad('size {height, width} (resize without keeping the aspect) is not CLIP preprocessing; expected size.shortest_edge');
  }
  if (j.do_resize === false) bad('do_resize is false; CLIP preprocessing resizes the shortest side');
  if (shortestEdge === undefined) bad(`size must be an integer or {"shortest_edge": n}; got ${JSON.stringify(size)}`);

  const crop = j.crop_size ?? size;
  let cropHeight: number | undefined;
  let cropWidth: number | undefined;
  if (typeof crop === 'number') cropHeight = cropWidth = positiveInt(crop);
  else if (typeof crop === 'object' && crop !== null) {
    const c = crop as Record<string, unknown>;
    cropHeight = positiveInt(c.height ?? c.shortest_edge);
    cropWidth = positiveInt(c.width ?? c.shortest_edge);
  }
  if (j.do_center_crop === false) bad('do_center_crop is false; the model needs a fixed input size');
  if (cropHeight === undefined || cropWidth === undefined)
    bad(`crop_size must be an integer or {"height", "width"}; got ${JSON.stringify(crop)}`);

  let mean: [number, number, number] = [0, 0, 0];
  let std: [number, number, number] = [1, 1, 1];
  if (j.do_normalize !== false) {
    mean = triple(j.image_mean) ?? bad(`image_mean must be 3 numbers; got ${JSON.stringify(j.image_mean)}`);
    std = triple(j.image_std) ?? bad(`image_std must be 3 numbers; got ${JSON.stringify(j.image_std)}`);
    if (std.some((s) => s === 0)) bad('image_std has a zero');
  }
  let rescaleFactor = 1 / 255;
  if (j.do_rescale === false) rescaleFactor = 1;
  else if (j.rescale_factor !== undefined) {
    if (typeof j.rescale_factor !== 'number' || !(j.rescale_factor > 0))
      bad(`rescale_factor must be a positive number; got ${JSON.stringify(j.rescale_factor)}`);
    rescaleFactor = j.rescale_factor as number;
  }
  const code = j.resample ?? 3;
  const resample = typeof code === 'number' ? PIL_FILTERS[code] : undefined;
  if (resample !== 'bicubic' && resample !== 'bilinear') {
    bad(`resample ${JSON.stringify(code)} (${resample ?? 'unknown'}) is not supported; expected 3 (bicubic) or 2 (bilinear)`);
  }
  return {
    shortestEdge: shortestEdge as number,
    cropHeight: cropHeight as number,
    cropWidth: cropWidth as number,
    mean,
    std,
    rescaleFactor,
    resample: resample as ResampleFilter,
  };
}

/** `<modelDir>/preprocessor_config.json`; a ModelError naming the file when missing or invalid. */
export function readPreprocessConfig(modelDir: string): PreprocessConfig {
  const file = join(modelDir, 'preprocessor_config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelError('MODEL_FILE_MISSING', `${file} is missing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      cause: e,
      hint: FETCH_HINT,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${file} is not valid JSON (${(e as Error).message})`, { cause: e, hint: FETCH_HINT });
  }
  return parsePreprocessConfig(json, file);
}

/** Value → normalised float, per channel: 3 × 256 entries; cached per config object (treat configs as immutable). */
const lutCache = new WeakMap<PreprocessConfig, Float32Array>();
function lut(cfg: PreprocessConfig): Float32Array {
  let t = lutCache.get(cfg);
  if (!t) {
    t = new Float32Array(3 * 256);
    for (let c = 0; c < 3; c++) {
      // float32 at every step, as torchvision/numpy compute it: bit-identical to the reference.
      const f = Math.fround;
      for (let v = 0; v < 256; v++) t[c * 256 + v] = f(f(f(v * cfg.rescaleFactor) - f(cfg.mean[c])) / f(cfg.std[c]));
    }
    lutCache.set(cfg, t);
  }
  return t;
}

/** Resized size: shortest side to `edge`, the long side `floor(edge · long / short)`. */
export function resizedSize(width: number, height: number, edge: number): { width: number; height: number } {
  if (width <= height) return { width: edge, height: Math.floor((edge * height) / width) };
  return { width: Math.floor((edge * width) / height), height: edge };
}

/** Where the crop starts in the resized image; negative means padding (crop larger than the image). */
function cropStart(size: number, crop: number): number {
  return size >= crop ? Math.floor((size - crop) / 2) : -Math.ceil((crop - size) / 2);
}

/**
 * How images are decoded and resized:
 * - `default`: downscales with libvips' Catmull-Rom (the same filter family as Pillow's bicubic,
 *   within a level or two of it), upscales with the Pillow port;
 * - `exact`: Pillow's resampler in TypeScript for every image (byte-exact with the reference, slower);
 * - `fast`: as default, but a JPEG is decoded at 1/2, 1/4 or 1/8 of its size where the
 *   downscale allows (libjpeg's shrink-on-load), which skips most of the decode: faster, and the
 *   pixels differ more from the reference (bench/results/preprocess.json states by how much).
 */
export type DecodeMode = 'default' | 'exact' | 'fast';
export const DECODE_MODES: readonly DecodeMode[] = ['default', 'exact', 'fast'];

export interface PreprocessOptions {
  /** File name or URL for error messages. */
  source?: string;
  /** Same as `decode: 'exact'`. */
  exact?: boolean;
  decode?: DecodeMode;
}

/**
 * Decodes, resizes (shortest side to `shortestEdge`) and centre-crops one image to the
 * model's window: 8-bit RGB, row-major HWC, cropHeight × cropWidth × 3 bytes; where the crop
 * is larger than the image the rest is black (pixel value 0), as CLIPImageProcessor pads.
 * This is what the 8-bit-pixel (`rgb8`) vision models take; `normalizeInto` makes the float
 * tensor of the standard export from it.
 */
export async function cropRgb(
  bytes: Uint8Array,
  cfg: PreprocessConfig,
  limits: ImageLimits,
  opts: PreprocessOptions = {},
): Promise<Uint8Array> {
  const H = cfg.cropHeight;
  const W = cfg.cropWidth;
  const mode: DecodeMode = opts.exact ? 'exact' : (opts.decode ?? 'default');
  const info = await probe(bytes, limits, opts.source);
  const rs = resizedSize(info.width, info.height, cfg.shortestEdge);
  const top = cropStart(rs.height, H);
  const left = cropStart(rs.width, W);
  // The part of the crop that lies inside the resized image.
  const y0 = Math.max(0, top);
  const x0 = Math.max(0, left);
  const y1 = Math.min(rs.height, top + H);
  const x1 = Math.min(rs.width, left + W);
  const win = { left: x0, top: y0, width: x1 - x0, height: y1 - y0 };
  let px: Uint8Array;
  if (mode !== 'exact' && rs.width < info.width) {
    const img = await decodeRgb(bytes, limits, {
      source: opts.source,
      info,
      // Shrink-on-load only for JPEG: libjpeg's 1/2, 1/4, 1/8 scales; WebP's loader would rescale by any factor.
      resize: {
        width: rs.width,
        height: rs.height,
        window: win,
        filter: cfg.resample,
        shrinkOnLoad: mode === 'fast' && info.format === 'jpeg',
      },
    });
    px = img.data;
  } else {
    const img = await decodeRgb(bytes, limits, { source: opts.source, info });
    px = resizeWindowRgb(img.data, img.width, img.height, rs.width, rs.height, win, cfg.resample);
  }
  if (win.width === W && win.height === H && px.length === W * H * 3) return px;
  const out = new Uint8Array(W * H * 3);
  const dy = y0 - top;
  const dx = x0 - left;
  for (let y = 0; y < win.height; y++) out.set(px.subarray(y * win.width * 3, (y + 1) * win.width * 3), ((y + dy) * W + dx) * 3);
  return out;
}

/** 8-bit RGB HWC (as `cropRgb` makes it) → normalised CHW float32 into `out` at `offset`. */
export function normalizeInto(rgb: Uint8Array, cfg: PreprocessConfig, out: Float32Array, offset: number): void {
  const plane = cfg.cropHeight * cfg.cropWidth;
  if (rgb.length !== 3 * plane) throw new RangeError(`normalizeInto: ${rgb.length} bytes; expected ${cfg.cropHeight}×${cfg.cropWidth}×3`);
  if (!Number.isInteger(offset) || offset < 0 || offset + 3 * plane > out.length) {
    throw new RangeError(`preprocessInto: ${3 * plane} floats at offset ${offset} do not fit in a tensor of ${out.length}`);
  }
  const t = lut(cfg);
  const r0 = offset;
  const g0 = offset + plane;
  const b0 = offset + 2 * plane;
  for (let o = 0, p = 0; o < plane; o++, p += 3) {
    out[r0 + o] = t[rgb[p]];
    out[g0 + o] = t[256 + rgb[p + 1]];
    out[b0 + o] = t[512 + rgb[p + 2]];
  }
}

/** Preprocesses into `out` at `offset` (3 × cropHeight × cropWidth floats). */
export async function preprocessInto(
  bytes: Uint8Array,
  cfg: PreprocessConfig,
  limits: ImageLimits,
  out: Float32Array,
  offset: number,
  opts: PreprocessOptions = {},
): Promise<void> {
  const plane = cfg.cropHeight * cfg.cropWidth;
  if (!Number.isInteger(offset) || offset < 0 || offset + 3 * plane > out.length) {
    throw new RangeError(`preprocessInto: ${3 * plane} floats at offset ${offset} do not fit in a tensor of ${out.length}`);
  }
  normalizeInto(await cropRgb(bytes, cfg, limits, opts), cfg, out, offset);
}

/** Encoded image bytes → CHW float32 (3 × cropHeight × cropWidth). */
export async function preprocessImage(
  bytes: Uint8Array,
  cfg: PreprocessConfig,
  limits: ImageLimits,
  opts: PreprocessOptions = {},
): Promise<Float32Array> {
  const out = new Float32Array(3 * cfg.cropHeight * cfg.cropWidth);
  await preprocessInto(bytes, cfg, limits, out, 0, opts);
  return out;
}
