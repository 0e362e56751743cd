import { describe, expect, it } from 'vitest';
import { DEFAULT_BRAND, loadBrand } from '../../../src/generate/brands.ts';
import { parseBrief } from '../../../src/generate/brief-parse.ts';
import { asksForColour, asksForProduct, moodsOf, studioPalette, warmth } from '../../../src/generate/mood.ts';

const fonts = new Set(['dejavu sans', 'dejavu serif', 'dejavu sans condensed']);
const palette = (brief: string, feedback: string[] = [], brand = DEFAULT_BRAND) =>
  studioPalette({ brief: { ...parseBrief(brief), text: brief }, brand: brand.colors, feedback }).palette;

/** Hue (degrees) and saturation of #rrggbb. */
function hs(hex: string): [number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => v / 255);
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  if (!d) return [0, 0];
  const h = max === r ? ((g - b) / d + 6) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  const l = (max + min) / 2;
  return [h * 60, d / (1 - Math.abs(2 * l - 1))];
}

describe('the studio palette follows the brief and the feedback', () => {
  it('"bright, energetic summer" is warm, not the cold blue and grey of the neutral kit', () => {
    const neutral = [DEFAULT_BRAND.colors.primary, DEFAULT_BRAND.colors.accent, DEFAULT_BRAND.colors.text];
    expect(warmth(neutral)).toBeLessThan(0);
    const summer = palette('Summer sale on running shoes for young urban runners, energetic and bright');
    expect(warmth(summer.slice(0, 3))).toBeGreaterThan(0.5);
    expect(moodsOf('energetic and bright summer')[0]).toBe('bright');
  });

  it('"calm, caring" is soft; a brief with no mood keeps the brand’s colours', () => {
    const calm = palette('Gentle face wash, in a calm, caring tone');
    for (const c of calm.slice(0, 2)) expect(hs(c)[1]).toBeLessThan(0.7);
    const acme = loadBrand('brands', 'acme', { fonts });
    const plain = studioPalette({ brief: { ...parseBrief('Trail pack'), text: 'Trail pack' }, brand: acme.colors, feedback: [] });
    expect(plain.reasons).toEqual(['brand colours']);
    expect(plain.palette[0].toUpperCase()).toBe(acme.colors.primary);
  });

  it('"warmer colours please" warms the next round, in English and in Chinese; a named colour takes over', () => {
    const acme = loadBrand('brands', 'acme', { fonts });
    const before = palette('Trail pack for day hikes', [], acme);
    const after = palette('Trail pack for day hikes', ['warmer colours please'], acme);
    expect(warmth(after)).toBeGreaterThan(warmth(before) + 0.3);
    const zh = palette('清爽不油腻的防晒霜', ['颜色更温暖一些']);
    expect(warmth(zh)).toBeGreaterThan(warmth(palette('清爽不油腻的防晒霜')) + 0.3);
    const blue = palette('Summer sale on running shoes', ['more blue please']);
    expect(hs(blue[0])[0]).toBeGreaterThan(190);
    expect(hs(blue[0])[0]).toBeLessThan(240);
  });

  it('tells colour feedback and "show the product" apart from other feedback', () => {
    expect(asksForColour(['warmer colours please'])).toBe(true);
    expect(asksForColour(['more pink'])).toBe(true);
    expect(asksForColour(['shorter headline'])).toBe(false);
    expect(asksForProduct(['show the product'])).toBe(true);
    expect(asksForProduct(['can we see the product photo first?'])).toBe(true);
    expect(asksForProduct(['展示产品'])).toBe(true);
    expect(asksForProduct(['warmer colours'])).toBe(false);
  });
});
