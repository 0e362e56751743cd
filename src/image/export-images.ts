/**
 * The pixel work an ad export needs: a brand logo drawn centred on a plate of the platform's
 * shape (Google wants logos at 1:1 and 4:1), and a PNG re-encoded as JPEG where a platform
 * suggests small files.
 */
import sharp from 'sharp';
import { ImageError } from '../errors.ts';
import { parseHex } from './contrast.ts';

/**
 * The logo (SVG, PNG, …) fitted inside 80% of a `width`×`height` plate of `background`, as PNG.
 * A logo that cannot be drawn is an ImageError naming it.
 */
export async function logoPlate(logo: Uint8Array, width: number, height: number, background = '#FFFFFF'): Promise<Uint8Array> {
  const [r, g, b] = parseHex(background) ?? [255, 255, 255];
  let mark: Buffer;
  try {
    mark = await sharp(logo, { density: 300 })
      .resize({ width: Math.round(width * 0.8), height: Math.round(height * 0.8), fit: 'inside' })
      .png()
      .toBuffer();
  } catch (e) {
    throw new ImageError('LOGO_UNREADABLE', `the brand logo could not be drawn: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  const out = await sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .composite([{ input: mark, gravity: 'centre' }])
    .png()
    .toBuffer();
  return new Uint8Array(out);
}

/** An image as baseline JPEG (4:2:0, no metadata) at `quality`. */
export async function toJpeg(image: Uint8Array, quality = 85): Promise<Uint8Array> {
  return new Uint8Array(await sharp(image).flatten({ background: '#ffffff' }).jpeg({ quality, mozjpeg: true }).toBuffer());
}
