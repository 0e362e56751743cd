/**
 * Images made fit to send to an image model's edit endpoint: a format it reads (PNG, JPEG or
 * WebP; dall-e-2 only a square PNG), under its byte limit, no larger than it will look at.
 * A logo drawn as SVG is rasterised; EXIF orientation is applied so the model sees what a person sees.
 */
import sharp from 'sharp';
import { ImageError } from '../errors.ts';
import { sniffFormat } from './decode.ts';

export interface ModelInput {
  bytes: Uint8Array;
  type: 'image/png' | 'image/jpeg' | 'image/webp';
  ext: 'png' | 'jpg' | 'webp';
}

export interface ModelInputRules {
  /** dall-e-2: "a square png file less than 4MB". */
  squarePng: boolean;
  maxBytes: number;
  /** Longest side sent; larger images only cost more input tokens. */
  maxSide?: number;
}

const TYPES = { png: ['image/png', 'png'], jpeg: ['image/jpeg', 'jpg'], webp: ['image/webp', 'webp'] } as const;

export async function toModelInput(bytes: Uint8Array, rules: ModelInputRules, name = 'image'): Promise<ModelInput> {
  const format = sniffFormat(bytes);
  const maxSide = rules.maxSide ?? 2048;
  if (!rules.squarePng && (format === 'png' || format === 'jpeg' || format === 'webp') && bytes.length <= rules.maxBytes) {
    const meta = await sharp(bytes).metadata();
    if ((meta.width ?? 0) <= maxSide && (meta.height ?? 0) <= maxSide && !(meta.orientation && meta.orientation > 1)) {
      const [type, ext] = TYPES[format];
      return { bytes, type, ext };
    }
  }
  try {
    let img = sharp(bytes, { density: format === 'SVG' ? 288 : undefined, pages: 1 }).rotate();
    if (rules.squarePng) {
      const meta = await sharp(bytes, { density: format === 'SVG' ? 288 : undefined }).metadata();
      const side = Math.min(1024, maxSide, Math.max(meta.width ?? 1024, meta.height ?? 1024));
      img = img.resize(side, side, { fit: 'contain', background: { r: 255, g: 255, b: 255, alpha: 0 } });
    } else {
      img = img.resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true });
    }
    let out = await img.png().toBuffer();
    // Still too heavy (a photo as PNG): halve until it fits.
    for (let side = maxSide / 2; out.length > rules.maxBytes && side >= 256; side /= 2) {
      out = await sharp(out).resize(side, side, { fit: 'inside' }).png().toBuffer();
    }
    if (out.length > rules.maxBytes) {
      throw new ImageError('IMAGE_TOO_LARGE', `${name}: still ${out.length} bytes as PNG; the image model takes at most ${rules.maxBytes}`);
    }
    return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), type: 'image/png', ext: 'png' };
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(
      'IMAGE_CORRUPT',
      `${name}: could not be prepared for the image model (${format}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
      { cause: e },
    );
  }
}
