/**
 * Library thumbnails: a ≤ 256 px WebP of any image the library accepts. Making it decodes the
 * whole image, so it doubles as the ingest check that sorts bad files into clear reasons
 * (empty, too large, unsupported, corrupt) before anything is embedded or written.
 */
import sharp from 'sharp';
import { ImageError } from '../errors.ts';
import { type ImageLimits, probe } from './decode.ts';

export type { ImageLimits } from './decode.ts';

export interface Thumbnail {
  /** WebP bytes, longest side ≤ `size`. */
  webp: Uint8Array;
  /** The source image's format and displayed size (after EXIF orientation). */
  format: string;
  width: number;
  height: number;
}

export const THUMBNAIL_SIZE = 256;

/**
 * Checks `bytes` is an accepted, intact image within `limits` and returns its thumbnail.
 * The checks are `probe`'s (the same ones the CLIP encoder applies, so a file ingest accepts
 * is one the encoder can embed): IMAGE_EMPTY, IMAGE_TOO_LARGE, IMAGE_NOT_AN_IMAGE,
 * IMAGE_CORRUPT; the message starts with `name` so a summary line says which file it was.
 */
export async function makeThumbnail(bytes: Uint8Array, limits: ImageLimits, name = 'image', size = THUMBNAIL_SIZE): Promise<Thumbnail> {
  const info = await probe(bytes, limits, name);
  try {
    const webp = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', pages: 1 })
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 78 })
      .toBuffer();
    return {
      webp: new Uint8Array(webp.buffer, webp.byteOffset, webp.byteLength),
      format: info.format,
      width: info.width,
      height: info.height,
    };
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new ImageError('IMAGE_CORRUPT', `${name}: the ${info.format.toUpperCase()} data is corrupt or truncated (${why})`, { cause: e });
  }
}

/**
 * The whole image in a square PNG, letterboxed: for places that show a thumbnail cropped to a
 * square (a Slack section's accessory image), where a portrait or landscape creative would lose
 * its top and bottom, or its sides, with its copy.
 */
export async function squareThumbnail(bytes: Uint8Array, size = THUMBNAIL_SIZE, background = '#F4F4F4'): Promise<Uint8Array> {
  const png = await sharp(bytes, { failOn: 'error', pages: 1 })
    .rotate()
    .resize(size, size, { fit: 'contain', background })
    .flatten({ background })
    .png({ compressionLevel: 9 })
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** The container format sharp sees in `bytes` ("jpeg", "png", "webp", "gif", "heif", …), or undefined. */
export async function imageFormat(bytes: Uint8Array): Promise<string | undefined> {
  try {
    return (await sharp(bytes, { limitInputPixels: false }).metadata()).format;
  } catch {
    return undefined;
  }
}
