import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageDifference } from '../../../src/image/compose.ts';
import { motifFor, renderStudioArt } from '../../../src/image/studio-art.ts';
import { mulberry32 } from '../../../src/random.ts';

const palette = ['#4B2E2B', '#C08552', '#FFF8F0'];

/** A photo-like picture: smooth colour gradients and a sharp-edged object, with detail a blur would erase. */
async function photo(w: number, h: number): Promise<Buffer> {
  const checks = Array.from(
    { length: 12 },
    (_, i) => `<rect x="${w / 2 + i * 8}" y="${h / 3}" width="4" height="${h / 3}" fill="#111"/>`,
  ).join('');
  return sharp(
    Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#E63946"/><stop offset="1" stop-color="#F1FAEE"/></linearGradient></defs><rect width="${w}" height="${h}" fill="url(#g)"/><circle cx="${w / 3}" cy="${h / 2}" r="${Math.min(w, h) / 5}" fill="#1D3557"/>${checks}</svg>`,
    ),
  )
    .png()
    .toBuffer();
}

/** Mean saturation (max−min over max) of an image's pixels: greyscale is 0. */
async function saturation(png: Buffer, region?: { left: number; top: number; width: number; height: number }): Promise<number> {
  let img = sharp(png).removeAlpha();
  if (region) img = img.extract(region);
  const { data } = await img.raw().toBuffer({ resolveWithObject: true });
  let s = 0;
  for (let i = 0; i < data.length; i += 3) {
    const mx = Math.max(data[i], data[i + 1], data[i + 2]);
    s += mx ? (mx - Math.min(data[i], data[i + 1], data[i + 2])) / mx : 0;
  }
  return s / (data.length / 3);
}

describe('offline studio drafts', () => {
  it('are deterministic for a seed and differ between seeds', async () => {
    const a = await renderStudioArt({ palette, concept: 'morning coffee ritual', seed: 1, size: 128 });
    const b = await renderStudioArt({ palette, concept: 'morning coffee ritual', seed: 1, size: 128 });
    const c = await renderStudioArt({ palette, concept: 'morning coffee ritual', seed: 2, size: 128 });
    expect(Buffer.compare(a, b)).toBe(0);
    expect((await imageDifference(a, c)).mean).toBeGreaterThan(5);
  });

  it('show a reference photo as the photo: full bleed, sharp and in its own colours', async () => {
    const ref = await photo(900, 900);
    const out = await renderStudioArt({ palette, concept: 'x', seed: 3, size: 512, photo: ref });
    const expected = await sharp(ref).resize(512, 512).png().toBuffer();
    const d = await imageDifference(out, expected);
    // The old studio blurred it, turned it grey and tinted it into a box: nothing like the photo.
    expect(d.mean).toBeLessThan(4);
    expect(await saturation(out)).toBeGreaterThan(0.8 * (await saturation(expected)));
  });

  it('frame a small photo (a library thumbnail) on the scene at a size it can carry, unblurred', async () => {
    const thumb = await photo(256, 192);
    const out = await renderStudioArt({ palette, concept: 'x', seed: 3, size: 1024, photo: thumb });
    const plain = await renderStudioArt({ palette, concept: 'x', seed: 3, size: 1024 });
    expect((await imageDifference(out, plain)).over).toBeGreaterThan(0.1);
    // The photo's sharp black bars survive: the darkest pixels are near black, as in the photo.
    const { data } = await sharp(out).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let darkest = 255;
    for (let i = 0; i < data.length; i += 3) darkest = Math.min(darkest, Math.max(data[i], data[i + 1], data[i + 2]));
    expect(darkest).toBeLessThan(40);
  });

  it('survive an unreadable photo: the scene alone', async () => {
    const plain = await renderStudioArt({ palette, concept: 'x', seed: 3, size: 128 });
    const broken = await renderStudioArt({ palette, concept: 'x', seed: 3, size: 128, photo: Buffer.from('nope') });
    expect(Buffer.compare(broken, plain)).toBe(0);
  });

  it('choose shapes from the concept’s words', () => {
    const r = mulberry32(1);
    expect(motifFor('a summit trail at dawn', r)).toBe('peaks');
    expect(motifFor('fresh organic greens', r)).toBe('leaves');
    expect(motifFor('city commute on an electric bike', r)).toBe('bands');
  });
});
