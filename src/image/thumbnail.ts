/**
 * Library thumbnails: a ≤ 256 px WebP of any image the library accepts. Making it decodes the
 * whole image, so it doubles as the ingest check that sorts bad files into clear reasons
 * (empty, too large, unsupported, corrupt) before anything is embedded or written.
 */
import sharp, { type Metadata } from 'sharp';
import { ImageError } from '../errors.ts';

/** Formats the library takes (sharp's names; AVIF arrives as "heif"). */
const ACCEPTED = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'avif']);

export interface ImageLimits {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Largest width × height accepted (decompression bombs). */
  maxPixels: number;
}

export interface Thumbnail {
  /** WebP bytes, longest side ≤ `size`. */
  webp: Uint8Array;
  /** The source image's format and size. */
  format: string;
  width: number;
  height: number;
}

export const THUMBNAIL_SIZE = 256;

/**
 * Checks `bytes` is an accepted, intact image within `limits` and returns its thumbnail.
 * Throws `ImageError` with IMAGE_EMPTY, IMAGE_TOO_LARGE, IMAGE_UNSUPPORTED or IMAGE_CORRUPT;
 * the message starts with `name` so a summary line says which file it was.
 */
export async function makeThumbnail(bytes: Uint8Array, limits: ImageLimits, name = 'image', size = THUMBNAIL_SIZE): Promise<Thumbnail> {
  if (bytes.byteLength === 0) throw new ImageError('IMAGE_EMPTY', `${name}: the file is empty (expected an encoded image)`);
  if (bytes.byteLength > limits.maxBytes) {
    throw new ImageError(
      'IMAGE_TOO_LARGE',
      `${name}: ${formatBytes(bytes.byteLength)} is over the ${formatBytes(limits.maxBytes)} limit (IMAGE_MAX_BYTES)`,
    );
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    const sniffed = sniff(bytes);
    if (sniffed) {
      throw new ImageError('IMAGE_CORRUPT', `${name}: the ${sniffed} data is damaged or truncated (its header cannot be read)`, {
        cause: e,
      });
    }
    throw new ImageError('IMAGE_UNSUPPORTED', `${name}: not an image format this library reads (expected JPEG, PNG, WebP, GIF or AVIF)`, {
      cause: e,
    });
  }
  const format = meta.format ?? 'unknown';
  if (!ACCEPTED.has(format)) {
    throw new ImageError('IMAGE_UNSUPPORTED', `${name}: ${format.toUpperCase()} is not accepted (expected JPEG, PNG, WebP, GIF or AVIF)`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > limits.maxPixels) {
    throw new ImageError(
      'IMAGE_TOO_LARGE',
      `${name}: ${width}×${height} is ${(width * height).toLocaleString('en')} pixels, over the ${limits.maxPixels.toLocaleString('en')} limit (IMAGE_MAX_PIXELS)`,
    );
  }
  try {
    const webp = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', pages: 1 })
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 78 })
      .toBuffer();
    return { webp: new Uint8Array(webp.buffer, webp.byteOffset, webp.byteLength), format, width, height };
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new ImageError('IMAGE_CORRUPT', `${name}: the ${format.toUpperCase()} data is damaged or truncated (${why})`, { cause: e });
  }
}

/** The format a file's magic bytes claim, for telling a damaged image from a non-image. */
function sniff(b: Uint8Array): string | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPEG';
  if (b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'PNG';
  if (ascii(0, 4) === 'GIF8') return 'GIF';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'WEBP';
  if (ascii(4, 8) === 'ftyp') return 'AVIF';
  return undefined;
}

function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The container format sharp sees in `bytes` ("jpeg", "png", "webp", "gif", "heif", …), or undefined. */
export async function imageFormat(bytes: Uint8Array): Promise<string | undefined> {
  try {
    return (await sharp(bytes, { limitInputPixels: false }).metadata()).format;
  } catch {
    return undefined;
  }
}
