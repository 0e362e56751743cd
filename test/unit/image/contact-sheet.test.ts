import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { contactSheet } from '../../../src/image/compose.ts';

/** A 1200×628 landscape ad: red band down the left edge (where its copy would be), blue elsewhere. */
async function landscape(): Promise<Uint8Array> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="628"><rect width="1200" height="628" fill="#0000ff"/><rect width="120" height="628" fill="#ff0000"/></svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
}

describe('contact sheet', () => {
  it('shows a landscape preview whole (letterboxed), not cropped to a square that cuts its left edge off', async () => {
    const png = await contactSheet([{ image: await landscape(), title: 'A: headline', lines: ['total 0.50'] }], { tile: 300 });
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
    // Tile at (24, 24), 300 px: the image is 300×157 centred vertically (y 95..252).
    const [r, g, b] = at(24 + 10, 24 + 150);
    expect(r).toBeGreaterThan(200);
    expect(g + b).toBeLessThan(60);
    expect(at(24 + 150, 24 + 150)[2]).toBeGreaterThan(200); // blue in the middle
    expect(at(24 + 150, 24 + 20)).toEqual([244, 244, 244]); // letterbox above it, the sheet's grey
  });
});
