import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { makeThumbnail, squareThumbnail } from '../../../src/image/thumbnail.ts';

/** A creative of the given size with a red band along its top edge and a blue one along its bottom (where copy sits). */
async function creative(width: number, height: number): Promise<Buffer> {
  const band = Math.round(height * 0.08);
  return sharp(
    Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="#2a9d58"/><rect width="${width}" height="${band}" fill="#ff0000"/><rect y="${height - band}" width="${width}" height="${band}" fill="#0000ff"/><rect width="${Math.round(width * 0.08)}" height="${height}" x="${width - Math.round(width * 0.08)}" fill="#ffff00"/></svg>`,
    ),
  )
    .png()
    .toBuffer();
}

async function colours(png: Uint8Array): Promise<{ w: number; h: number; has: (rgb: [number, number, number]) => boolean }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    w: info.width,
    h: info.height,
    has: ([r, g, b]) => {
      for (let i = 0; i < data.length; i += 3)
        if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40) return true;
      return false;
    },
  };
}

describe('inspiration thumbnails', () => {
  it('show the whole portrait or landscape creative in a square, letterboxed, where Slack crops to a square', async () => {
    for (const [w, h] of [
      [1080, 1920],
      [1200, 628],
      [1080, 1080],
    ]) {
      const lib = await makeThumbnail(await creative(w, h), { maxBytes: 1e8, maxPixels: 1e8 });
      const sq = await squareThumbnail(lib.webp);
      const c = await colours(sq);
      expect([c.w, c.h]).toEqual([256, 256]);
      // Top, bottom and right edges of the creative all survive: nothing was cropped.
      expect(c.has([255, 0, 0]), `${w}×${h} top`).toBe(true);
      expect(c.has([0, 0, 255]), `${w}×${h} bottom`).toBe(true);
      expect(c.has([255, 255, 0]), `${w}×${h} right`).toBe(true);
      expect((await sharp(sq).metadata()).format).toBe('png');
    }
  });
});
