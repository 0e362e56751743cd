/**
 * Composition, checked against small golden images with a tolerance. Regenerate them (after a
 * deliberate change, looking at the result) with UPDATE_GOLDEN=1; they are never rewritten
 * otherwise.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBrand } from '../../../src/generate/brands.ts';
import { type ComposeStyle, composeAd, goldenThumbnail, imageDifference } from '../../../src/image/compose.ts';
import { contrastRatio, parseHex, regionContrast } from '../../../src/image/contrast.ts';
import { createGlyphChecker, dropEmoji, escapeXml } from '../../../src/image/text.ts';
import type { FormatName } from '../../../src/vocabulary.ts';
import { hasFont, systemAvailable } from '../../helpers/system.ts';

const GOLDEN = 'test/golden';
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const fonts = new Set(['dejavu sans', 'dejavu serif', 'dejavu sans condensed']);
const kit = (name: string) => loadBrand('brands', name, { fonts });
const style = (name: string): ComposeStyle => {
  const k = kit(name);
  return { colors: k.colors, fonts: k.fonts, logo: k.logo };
};

async function matchesGolden(name: string, png: Uint8Array): Promise<void> {
  const thumb = await goldenThumbnail(png, 200);
  const file = join(GOLDEN, `${name}.png`);
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, thumb);
    return;
  }
  if (!existsSync(file))
    throw new Error(
      `no golden image ${file}; create it with UPDATE_GOLDEN=1 npx vitest run test/unit/image/compose.test.ts and look at it`,
    );
  const d = await imageDifference(thumb, readFileSync(file));
  expect(d.sameSize, `${name}: size differs from the golden image`).toBe(true);
  // Tolerates font hinting and codec differences between machines, not a moved or missing element.
  expect(d.mean, `${name}: mean difference ${d.mean.toFixed(2)}`).toBeLessThan(1.5);
  expect(d.over, `${name}: ${(100 * d.over).toFixed(2)}% of pixels differ a lot`).toBeLessThan(0.004);
}

const svg = (fill: string, w = 800, h = 800) =>
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="${w}" height="${h}" fill="${fill}"/></svg>`);

// A fixed picture (not the studio's, which may change): sky, sun, two ridges.
const scene = Buffer.from(
  `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600">
    <defs><linearGradient id="s" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#F9E7B0"/><stop offset="1" stop-color="#E9B949"/></linearGradient></defs>
    <rect width="600" height="600" fill="url(#s)"/>
    <circle cx="420" cy="170" r="70" fill="#FFF6D8"/>
    <path d="M0 380 L120 250 L210 330 L330 190 L450 320 L600 240 L600 600 L0 600 Z" fill="#3C8D6A"/>
    <path d="M0 470 L150 360 L270 440 L400 350 L600 450 L600 600 L0 600 Z" fill="#1F6F50"/>
  </svg>`,
);
const visual = async () => scene;

describe('composition into ad formats', () => {
  const sizes: Record<FormatName, [number, number]> = {
    square: [1080, 1080],
    portrait: [1080, 1350],
    story: [1080, 1920],
    landscape: [1200, 628],
  };
  for (const format of Object.keys(sizes) as FormatName[]) {
    it(`${format}: ${sizes[format].join('×')} with headline, CTA and logo`, async () => {
      const r = await composeAd({
        visual: await visual(),
        format,
        headline: 'Trail-ready in 30 seconds',
        cta: 'Shop now',
        style: style('acme'),
        offline: true,
      });
      expect([r.width, r.height]).toEqual(sizes[format]);
      expect(r.contrast).toBeGreaterThanOrEqual(4.5);
      expect(r.shortenedHeadline).toBeUndefined();
      await matchesGolden(`compose-${format}`, r.png);
    });
  }

  it('story keeps text out of the top 250 px and bottom 340 px', async () => {
    const r = await composeAd({
      visual: await visual(),
      format: 'story',
      headline: 'Trail-ready in 30 seconds, every weekend of the year',
      cta: 'Shop now',
      style: style('acme'),
    });
    for (const box of [r.headlineBox, r.ctaBox]) {
      expect(box.y).toBeGreaterThanOrEqual(250);
      expect(box.y + box.height).toBeLessThanOrEqual(1920 - 340);
    }
  });

  it('a long headline is wrapped and set smaller to fit its box; an endless one is shortened', async () => {
    const short = await composeAd({
      visual: await visual(),
      format: 'square',
      headline: 'Go further',
      cta: 'Shop now',
      style: style('acme'),
    });
    const long = await composeAd({
      visual: await visual(),
      format: 'square',
      headline: 'The lightest, toughest, most comfortable trail pack we have ever made, for every weekend',
      cta: 'Shop now',
      style: style('acme'),
    });
    expect(long.headlineSize).toBeLessThan(short.headlineSize);
    expect(long.headlineBox.width).toBeLessThanOrEqual(1080 - 2 * 65);
    expect(long.shortenedHeadline).toBeUndefined();
    await matchesGolden('compose-long-headline', long.png);
    const endless = await composeAd({
      visual: await visual(),
      format: 'landscape',
      headline: 'word '.repeat(120),
      cta: 'Go',
      style: style('acme'),
    });
    expect(endless.shortenedHeadline).toMatch(/…$/);
  });

  it('an empty headline or CTA is a clear error naming the field', async () => {
    const base = { visual: await visual(), format: 'square' as const, style: style('acme') };
    await expect(composeAd({ ...base, headline: '  ', cta: 'Go' })).rejects.toMatchObject({
      code: 'COPY_EMPTY',
      message: expect.stringContaining('the headline is empty'),
    });
    await expect(composeAd({ ...base, headline: 'Hi', cta: '' })).rejects.toMatchObject({
      code: 'COPY_EMPTY',
      message: expect.stringContaining('the CTA is empty'),
    });
  });

  it('a word wider than the text box (a URL, a long compound) is broken inside the box, not run off the canvas', async () => {
    const word = 'Wanderschuhsonderangebotswochenendeüberraschungspaket';
    for (const [format, maxWidth] of [
      ['story', 1080 - 2 * 65],
      ['landscape', Math.round(1200 * 0.55) - 38],
    ] as const) {
      const r = await composeAd({ visual: await visual(), format, headline: `${word} jetzt`, cta: 'Los', style: style('acme') });
      expect(r.headlineBox.x + r.headlineBox.width, format).toBeLessThanOrEqual(r.headlineBox.x + maxWidth);
    }
  });

  it('a low-contrast case gets a scrim that lifts the text to WCAG AA', async () => {
    // White headline over a near-white picture.
    const r = await composeAd({
      visual: svg('#F4F4F0'),
      format: 'square',
      headline: 'Light as air',
      cta: 'Shop now',
      style: style('acme'),
    });
    expect(r.scrim).toBeGreaterThan(0);
    expect(r.contrast).toBeGreaterThanOrEqual(4.5);
    await matchesGolden('compose-low-contrast', r.png);
    // The same text over a dark picture needs none.
    const dark = await composeAd({
      visual: svg('#10201A'),
      format: 'square',
      headline: 'Light as air',
      cta: 'Shop now',
      style: style('acme'),
    });
    expect(dark.scrim).toBe(0);
  });

  it('a dark-text brand gets a light scrim over a dark picture', async () => {
    const r = await composeAd({
      visual: svg('#202020'),
      format: 'portrait',
      headline: 'Skin, calmed',
      cta: 'Discover',
      style: style('lumen'),
    });
    expect(r.scrim).toBeGreaterThan(0);
    expect(r.contrast).toBeGreaterThanOrEqual(4.5);
  });

  it('escapes markup in copy instead of interpreting it', async () => {
    expect(escapeXml(`<b>Tom & Jerry's "deal"</b>`)).toBe('&lt;b&gt;Tom &amp; Jerry&apos;s &quot;deal&quot;&lt;/b&gt;');
    const r = await composeAd({
      visual: await visual(),
      format: 'square',
      headline: `<span size="99999">Tom & Jerry's</span>`,
      cta: '<Go>',
      style: style('acme'),
    });
    expect(r.headlineSize).toBeLessThanOrEqual(92);
    expect(r.width).toBe(1080);
    const emoji = await composeAd({
      visual: await visual(),
      format: 'landscape',
      headline: 'Summer 🎉 sale',
      cta: 'Go ☀️',
      style: style('acme'),
    });
    expect(emoji.width).toBe(1200);
  });

  it('renders CJK headlines with a CJK font', async (ctx) => {
    if (!systemAvailable({ what: 'Noto Sans CJK', tests: 'CJK composition', pkg: 'fonts-noto-cjk' }, hasFont('Noto Sans CJK')))
      return ctx.skip();
    const r = await composeAd({
      visual: await visual(),
      format: 'square',
      headline: '週末のハイキングに、軽さという自由を。',
      cta: '今すぐ購入',
      style: style('acme'),
    });
    expect(r.shortenedHeadline).toBeUndefined();
    await matchesGolden('compose-cjk', r.png);
  });

  it('a missing font for the script fails naming the Debian package', () => {
    const check = createGlyphChecker((cp) => cp < 0x2e80);
    expect(() => check('Hello, café — naïve')).not.toThrow();
    expect(() => check('軽さ')).toThrow(
      /no installed font has glyphs for "軽" \(U\+8EFD, Chinese\/Japanese\/Korean\); install Debian's fonts-noto-cjk/,
    );
    expect(() => check('Summer 🎉 sale ☀️')).not.toThrow();
    expect(dropEmoji('Summer 🎉 sale ☀️ now 👩‍👩‍👧', () => false)).toBe('Summer sale now');
    const none = createGlyphChecker(() => false);
    expect(() => none('नमस्ते')).toThrow(/U\+0928.*fonts-noto-core/);
  });

  it('an undecodable visual is an image error, not a crash', async () => {
    await expect(
      composeAd({ visual: Buffer.from('not an image'), format: 'square', headline: 'x', cta: 'y', style: style('acme') }),
    ).rejects.toThrow(/the visual could not be decoded/);
  });
});

describe('WCAG contrast', () => {
  it('matches the reference values', () => {
    expect(contrastRatio([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrastRatio(parseHex('#777777')!, [255, 255, 255])).toBeCloseTo(4.48, 2);
    expect(contrastRatio(parseHex('#fff')!, parseHex('#FFFFFF')!)).toBe(1);
  });

  it('judges a region by its worst part, not its average', () => {
    // 80% black, 20% white pixels: white text fails where it crosses the white patch.
    const px = new Uint8Array(300);
    for (let i = 80 * 3; i < 300; i++) px[i] = 255;
    expect(regionContrast(px, [255, 255, 255])).toBeLessThan(1.5);
  });
});
