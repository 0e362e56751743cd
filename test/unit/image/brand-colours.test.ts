import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadBrand } from '../../../src/generate/brands.ts';
import { COLOUR_DELTA_E, COLOUR_PRESENCE_MIN_SHARE, colourShares, deltaE, toLab } from '../../../src/image/brand-colours.ts';
import { composeAd } from '../../../src/image/compose.ts';
import { parseHex, type RGB } from '../../../src/image/contrast.ts';

const rgb = (hex: string) => parseHex(hex) as RGB;
const lab = (hex: string) => toLab(rgb(hex));

/** A white 1080 × 1080 PNG with solid rectangles. */
async function canvas(rects: { hex: string; x: number; y: number; w: number; h: number }[]): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1080" height="1080">${rects
    .map((r) => `<rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" fill="${r.hex}"/>`)
    .join('')}</svg>`;
  return sharp({ create: { width: 1080, height: 1080, channels: 3, background: '#ffffff' } })
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
    .png()
    .toBuffer();
}

describe('brand colour presence', () => {
  it('converts sRGB to CIE Lab as the standard does (D65)', () => {
    const red = lab('#FF0000');
    expect(red[0]).toBeCloseTo(53.24, 1);
    expect(red[1]).toBeCloseTo(80.09, 1);
    expect(red[2]).toBeCloseTo(67.2, 1);
    expect(lab('#FFFFFF')[0]).toBeCloseTo(100, 3);
  });

  it('measures the share of the render each colour covers, counting near shades and not neighbouring hues', async () => {
    // Brown block: 324 × 180 = 5 % of the ad; a shade of it ΔE < 10 away fills another 2.5 %.
    const shade = '#553530';
    expect(deltaE(lab('#4B2E2B'), lab(shade))).toBeLessThan(COLOUR_DELTA_E);
    // The accent's lighter tint is a different colour to the eye (ΔE ≈ 13): it must not count.
    const tint = '#D9A679';
    expect(deltaE(lab('#C08552'), lab(tint))).toBeGreaterThan(COLOUR_DELTA_E);
    const png = await canvas([
      { hex: '#4B2E2B', x: 0, y: 0, w: 324, h: 180 },
      { hex: shade, x: 0, y: 180, w: 324, h: 90 },
      { hex: '#C08552', x: 540, y: 540, w: 27, h: 108 }, // 0.25 %
      { hex: tint, x: 600, y: 600, w: 400, h: 400 },
    ]);
    const [primary, accent] = await colourShares(png, [
      { name: 'primary', hex: '#4b2e2b' },
      { name: 'accent', hex: '#C08552' },
    ]);
    expect(primary).toMatchObject({ name: 'primary', hex: '#4B2E2B' });
    expect(primary.share).toBeGreaterThan(0.07);
    expect(primary.share).toBeLessThan(0.08);
    expect(accent.share).toBeGreaterThan(0.001);
    expect(accent.share).toBeLessThan(COLOUR_PRESENCE_MIN_SHARE);
  });

  it('finds the accent in a composed ad, where the CTA button is drawn in it', async () => {
    const kit = loadBrand('brands', 'northwind', { fonts: new Set(['dejavu sans', 'dejavu serif']) });
    const visual = await canvas([{ hex: '#8899AA', x: 0, y: 0, w: 1080, h: 1080 }]);
    const r = await composeAd({
      visual,
      format: 'square',
      headline: 'Roasted this week',
      cta: 'Order now',
      style: { colors: kit.colors, fonts: kit.fonts, logo: kit.logo },
    });
    const [accent] = await colourShares(r.png, [{ name: 'accent', hex: kit.colors.accent }]);
    expect(accent.share).toBeGreaterThan(COLOUR_PRESENCE_MIN_SHARE);
    const [absent] = await colourShares(r.png, [{ name: 'green', hex: '#00AA00' }]);
    expect(absent.share).toBe(0);
  });
});
