import { describe, expect, it } from 'vitest';
import { demoSvg, wrapText } from '../../../src/image/demo-art.ts';
import { imageFormat, makeThumbnail } from '../../../src/image/thumbnail.ts';
import { testImage } from '../../helpers/images.ts';

describe('demo art', () => {
  it('wraps headlines by words and ellipsises what does not fit', () => {
    expect(wrapText('Beat traffic, not your legs', 12)).toEqual(['Beat', 'traffic, not', 'your legs']);
    expect(wrapText('one two three four five six', 3, 2)).toEqual(['one', 'tw…']);
    expect(wrapText('Supercalifragilistic', 8)).toEqual(['Superca…']);
  });

  it('escapes XML so headline text cannot break the SVG', () => {
    const svg = demoSvg({
      width: 300,
      height: 300,
      palette: ['#000000', '#ffffff', '#ff0000'],
      brand: 'A&B',
      headline: '<script>',
      cta: 'Go >',
      motif: 1,
      seed: 1,
    });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
  });

  it('draws decodable images and makes WebP thumbnails of them', async () => {
    const img = await testImage(3, [600, 314]);
    expect(await imageFormat(img)).toBe('jpeg');
    const t = await makeThumbnail(img, { maxBytes: 1e7, maxPixels: 1e7 });
    expect(t).toMatchObject({ format: 'jpeg', width: 600, height: 314 });
    expect(await imageFormat(t.webp)).toBe('webp');
    const big = await makeThumbnail(await testImage(4, [1000, 400], 'png'), { maxBytes: 1e7, maxPixels: 1e7 });
    expect(big.format).toBe('png');
  });

  it('classifies bad images', async () => {
    const limits = { maxBytes: 5000, maxPixels: 1e7 };
    const img = await testImage(5, [400, 400]);
    await expect(makeThumbnail(img, limits, 'x.jpg')).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    await expect(makeThumbnail(img.slice(0, 100), { maxBytes: 1e7, maxPixels: 1e7 }, 'x.jpg')).rejects.toMatchObject({
      code: 'IMAGE_CORRUPT',
    });
    await expect(makeThumbnail(new TextEncoder().encode('<svg/>'), limits, 'x.svg')).rejects.toMatchObject({ code: 'IMAGE_NOT_AN_IMAGE' });
  });
});
