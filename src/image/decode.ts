/**
 * Image bytes → pixels. The only place sharp decodes: format sniffing, header probing
 * (limits are checked before any pixel is decoded, against decompression bombs) and
 * decoding to 8-bit RGB with EXIF orientation applied and alpha flattened onto white.
 * Thumbnails and composition use `probe` and `decodeRgb` too.
 */
import sharp, { type Metadata } from 'sharp';
import { ImageError } from '../errors.ts';

export interface ImageLimits {
  /** Largest width × height accepted (after reading the header, before decoding). */
  maxPixels: number;
  /** Largest encoded file accepted. */
  maxBytes: number;
}

/** Formats the project decodes. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff';
export const SUPPORTED_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff'];
const SUPPORTED_LIST = 'JPEG, PNG, WebP, GIF, AVIF, TIFF';

export interface ImageInfo {
  format: ImageFormat;
  /** Size as displayed, i.e. after EXIF orientation (of the first frame for animations). */
  width: number;
  height: number;
  /** EXIF orientation 1–8 (1 when absent). */
  orientation: number;
  /** Frames in an animation, 1 otherwise. */
  pages: number;
  hasAlpha: boolean;
  /** libvips' colour space name: "srgb", "b-w", "cmyk", "rgb16", … */
  space: string;
}

export interface RgbImage {
  /** Interleaved 8-bit RGB, row-major, `width * height * 3` bytes. */
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < Math.min(end, bytes.length); i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/**
 * What the bytes look like, from their magic numbers: one of SUPPORTED_FORMATS, or a
 * readable name of something else ("SVG", "PDF", "HEIC", "text", "unknown data").
 */
export function sniffFormat(bytes: Uint8Array): string {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (ascii(b, 0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*') return 'tiff';
  if (ascii(b, 4, 8) === 'ftyp') {
    const boxSize = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
    const brands: string[] = [ascii(b, 8, 12)];
    for (let i = 16; i + 4 <= Math.min(boxSize, b.length, 64); i += 4) brands.push(ascii(b, i, i + 4));
    if (brands.includes('avif') || brands.includes('avis')) return 'avif';
    if (brands.some((x) => ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(x))) return 'HEIC';
    if (brands.some((x) => x.startsWith('qt') || x.startsWith('mp4') || x.startsWith('iso'))) return 'video (MP4/QuickTime)';
    return 'ISO media';
  }
  if (ascii(b, 0, 2) === 'BM') return 'BMP';
  if (ascii(b, 0, 4) === '%PDF') return 'PDF';
  if (ascii(b, 0, 4) === '8BPS') return 'PSD';
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return 'ICO';
  if ((b[0] === 0xff && b[1] === 0x0a) || ascii(b, 4, 8) === 'JXL ') return 'JPEG XL';
  if (ascii(b, 4, 8) === 'jP  ' || (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51)) return 'JPEG 2000';
  const head = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 2048)).replace(/^\ufeff/, '');
  const lower = head.toLowerCase();
  if (/^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg[^>]*>\s*)?<svg[\s>]/.test(lower)) return 'SVG';
  if (/^\s*(<!doctype html|<html)/.test(lower)) return 'HTML';
  // Mostly printable characters: someone passed a text file.
  let printable = 0;
  for (const ch of head) if (ch >= ' ' || ch === '\n' || ch === '\r' || ch === '\t') printable++;
  if (head.length > 0 && !head.includes('\ufffd') && printable / [...head].length > 0.95) return 'text';
  return 'unknown data';
}

function label(source?: string): string {
  return source ? `${source}: ` : '';
}

/** An image file of `size` bytes is over IMAGE_MAX_BYTES (for callers that refuse before reading it). */
export function fileTooLarge(size: number, limits: Pick<ImageLimits, 'maxBytes'>, source?: string): ImageError {
  return new ImageError(
    'IMAGE_TOO_LARGE',
    `${label(source)}the image file is ${size} bytes; the limit is ${limits.maxBytes} bytes (IMAGE_MAX_BYTES)`,
  );
}

function checkBytes(bytes: Uint8Array, limits: ImageLimits, source?: string): ImageFormat {
  if (bytes.length === 0)
    throw new ImageError('IMAGE_EMPTY', `${label(source)}the image is empty (0 bytes); expected a ${SUPPORTED_LIST} file`);
  if (bytes.length > limits.maxBytes) throw fileTooLarge(bytes.length, limits, source);
  const format = sniffFormat(bytes);
  if (!(SUPPORTED_FORMATS as readonly string[]).includes(format)) {
    // SVG is refused on purpose: a vector document (scripts, external references, unbounded
    // render cost and size) rather than a photo, and the reference preprocessing (PIL) cannot read it.
    throw new ImageError(
      'IMAGE_NOT_AN_IMAGE',
      `${label(source)}not a supported image: the data looks like ${format}${format === 'SVG' ? ' (vector drawings are not accepted; export a PNG)' : ''}; supported formats are ${SUPPORTED_LIST}`,
    );
  }
  return format as ImageFormat;
}

function corrupt(e: unknown, format: string, source?: string): ImageError {
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  if (/exceeds pixel limit/i.test(msg)) {
    return new ImageError('IMAGE_TOO_LARGE', `${label(source)}the image has more pixels than the limit (IMAGE_MAX_PIXELS): ${msg}`, {
      cause: e,
    });
  }
  return new ImageError('IMAGE_CORRUPT', `${label(source)}the ${format.toUpperCase()} data is corrupt or truncated (${msg})`, { cause: e });
}

/**
 * Reads the header only: format, displayed size, orientation, alpha. Throws ImageError
 * (IMAGE_EMPTY, IMAGE_NOT_AN_IMAGE, IMAGE_CORRUPT, IMAGE_TOO_LARGE) before any decoding.
 */
export async function probe(bytes: Uint8Array, limits: ImageLimits, source?: string): Promise<ImageInfo> {
  const format = checkBytes(bytes, limits, source);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw corrupt(e, format, source);
  }
  const w = meta.width ?? 0;
  const h = meta.pageHeight ?? meta.height ?? 0;
  if (w <= 0 || h <= 0) {
    throw new ImageError(
      'IMAGE_EMPTY',
      `${label(source)}the ${format.toUpperCase()} header says ${w}×${h} pixels; expected a non-empty image`,
    );
  }
  if (w * h > limits.maxPixels) {
    throw new ImageError(
      'IMAGE_TOO_LARGE',
      `${label(source)}the image is ${w}×${h} = ${(w * h).toLocaleString('en')} pixels; the limit is ${limits.maxPixels.toLocaleString('en')} (IMAGE_MAX_PIXELS)`,
    );
  }
  const orientation = meta.orientation ?? 1;
  const swap = orientation >= 5 && orientation <= 8;
  return {
    format,
    width: swap ? h : w,
    height: swap ? w : h,
    orientation,
    pages: meta.pages ?? 1,
    hasAlpha: meta.hasAlpha ?? false,
    space: meta.space ?? 'srgb',
  };
}

export interface DecodeOptions {
  /** File name or URL for error messages. */
  source?: string;
  /** The header as `probe` read it, to skip reading it twice. */
  info?: ImageInfo;
  /**
   * Resize (after orientation and flattening) to width × height with libvips' kernel
   * (cubic = Catmull-Rom, bicubic a = −0.5, widened when shrinking, like Pillow's), then
   * keep only `window` of the result. No JPEG shrink-on-load unless `shrinkOnLoad`: decoding
   * at 1/2, 1/4 or 1/8 scale skips most of the decode but changes pixels.
   */
  resize?: { width: number; height: number; window?: Window; filter: 'bicubic' | 'bilinear'; shrinkOnLoad?: boolean };
}

export interface Window {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Decodes to 8-bit RGB as the CLIP reference (PIL) sees the image: EXIF orientation
 * applied, alpha flattened onto white, palette and grey expanded, first frame of an
 * animation. Embedded ICC profiles are ignored except for CMYK, which is converted
 * through its profile: PIL ignores them too, and CLIP was trained on what PIL decoded.
 */
export async function decodeRgb(bytes: Uint8Array, limits: ImageLimits, opts: DecodeOptions = {}): Promise<RgbImage & { info: ImageInfo }> {
  const { source } = opts;
  const info = opts.info ?? (await probe(bytes, limits, source));
  const cmyk = info.space === 'cmyk';
  try {
    let img = sharp(bytes, {
      failOn: 'error',
      limitInputPixels: limits.maxPixels,
      pages: 1,
      autoOrient: true,
      ignoreIcc: !cmyk,
    }).toColourspace('srgb');
    if (info.hasAlpha) {
      // Flattened here rather than by libvips, whose rounding differs from Pillow's for
      // grey + alpha; then resized (if asked) from the flattened pixels.
      const rgba = await img.ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      if (rgba.info.channels !== 4) throw new Error(`decoder returned ${rgba.info.channels} channels with alpha`);
      const flat = flattenOnWhite(rgba.data, rgba.info.width * rgba.info.height);
      if (!opts.resize) return { data: flat, width: rgba.info.width, height: rgba.info.height, channels: 3, info };
      img = sharp(flat, { raw: { width: rgba.info.width, height: rgba.info.height, channels: 3 } });
    }
    const r = opts.resize;
    if (r) {
      img = img.resize(r.width, r.height, {
        fit: 'fill',
        kernel: r.filter === 'bilinear' ? 'linear' : 'cubic',
        fastShrinkOnLoad: r.shrinkOnLoad === true,
      });
      if (r.window) img = img.extract(r.window);
    }
    const { data, info: out } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (out.channels !== 3) {
      // Should not happen without alpha after sRGB; keep the contract (3 channels) explicit.
      throw new Error(`decoder returned ${out.channels} channels`);
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: out.width, height: out.height, channels: 3, info };
  } catch (e) {
    throw corrupt(e, info.format, source);
  }
}

/**
 * Straight (not premultiplied) RGBA → RGB over white, with Pillow's rounding (`paste` with
 * the alpha as mask): round((c·a + 255·(255 − a)) / 255).
 */
export function flattenOnWhite(rgba: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0, j = 0; i < pixels; i++, j += 3) {
    const p = i * 4;
    const a = rgba[p + 3];
    if (a === 255) {
      out[j] = rgba[p];
      out[j + 1] = rgba[p + 1];
      out[j + 2] = rgba[p + 2];
    } else {
      const bg = 255 * (255 - a) + 128;
      for (let c = 0; c < 3; c++) {
        const t = rgba[p + c] * a + bg;
        out[j + c] = (t + (t >> 8)) >> 8;
      }
    }
  }
  return out;
}

/** Threads libvips may use per operation (the benchmark pins it to 1). */
export function setDecodeThreads(n: number): void {
  sharp.concurrency(n);
}
