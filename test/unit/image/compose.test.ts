/**
 * Composition, checked against small golden images with a tolerance. Regenerate them (after a
 * deliberate change, looking at the result) with UPDATE_GOLDEN=1; they are never rewritten
 * otherwise.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadBrand } from '../../../src/generate/brands.ts';
import { type ComposeStyle, composeAd, goldenThumbnail, imageDifference } from '../../../src/image/compose.ts';
import { contrastRatio, parseHex, regionContrast } from '../../../src/image/contrast.ts';
import { createGlyphChecker, dropEmoji, escapeXml, renderText } from '../../../src/image/text.ts';
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
      ['landscape', Math.round(1200 * 0.58) - 38],
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
    expect(r.headlineSize).toBeLessThanOrEqual(Math.round(0.115 * 1080));
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

  it('asks again after a missing font was reported, so a font installed meanwhile is used on the next try', () => {
    let installed = false;
    let t = 0;
    let asked = 0;
    const check = createGlyphChecker(
      () => {
        asked++;
        return installed ? '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc' : false;
      },
      { now: () => t, retryMs: 2000 },
    );
    expect(() => check('防晒霜')).toThrow(/fonts-noto-cjk/);
    installed = true;
    // Within the retry time the answer stands (a burst of variants asks fontconfig once)…
    t = 500;
    expect(() => check('防晒霜')).toThrow(/fonts-noto-cjk/);
    expect(asked).toBe(1);
    // …then fontconfig is asked again, and the file it names goes to the renderer.
    t = 2500;
    expect(check('防晒霜')).toEqual({ fontfiles: ['/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc'] });
    // A found font is never asked about again (one question per 128-character block: three here).
    const before = asked;
    check('防晒霜');
    expect(asked).toBe(before);
  });

  it('keeps the logo at 3:1 against what is behind it: VoltRide’s yellow bolt on yellow gets a plate', async () => {
    const yellow = await composeAd({
      visual: svg('#FFBE0B'),
      format: 'square',
      headline: 'Ride on',
      cta: 'Book a test ride',
      style: style('voltride'),
    });
    expect(yellow.logoBox?.plate).toBe(true);
    expect(yellow.logoContrast).toBeGreaterThanOrEqual(3);
    // The plate is in the brand's primary colour, where the logo was designed to sit.
    const { data } = await sharp(yellow.png)
      .extract({ left: yellow.logoBox!.x + 3, top: yellow.logoBox!.y + Math.round(yellow.logoBox!.height / 2), width: 1, height: 1 })
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(contrastRatio([data[0], data[1], data[2]], parseHex('#0B132B')!)).toBeLessThan(1.1);
    // On a dark picture the logo stands out by itself: no plate.
    const dark = await composeAd({ visual: svg('#0B132B'), format: 'square', headline: 'Ride on', cta: 'Go', style: style('voltride') });
    expect(dark.logoBox?.plate).toBe(false);
    expect(dark.logoContrast).toBeGreaterThanOrEqual(3);
    // Lumen's crescent is a knock-out in its primary colour: it does not count against the logo.
    const pale = await composeAd({
      visual: svg('#F7E1D7'),
      format: 'square',
      headline: 'Calm skin',
      cta: 'Discover',
      style: style('lumen'),
    });
    expect(pale.logoBox?.plate).toBe(false);
  });

  it('eases the scrim in: no row-to-row step above the headline anywhere near a hard edge', async () => {
    const r = await composeAd({
      visual: svg('#F4F4F0'),
      format: 'square',
      headline: 'Light as air',
      cta: 'Shop now',
      style: style('acme'),
    });
    expect(r.scrim).toBeGreaterThan(0.5);
    const { data } = await sharp(r.png)
      .extract({ left: 900, top: 0, width: 1, height: r.headlineBox.y })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    let step = 0;
    for (let y = 1; y < r.headlineBox.y; y++) step = Math.max(step, Math.abs(data[3 * y] - data[3 * (y - 1)]));
    // The old scrim jumped by ~25 levels a row where it began; an eased one changes by a few.
    expect(step).toBeLessThanOrEqual(4);
    const land = await composeAd({
      visual: svg('#F4F4F0', 1200, 628),
      format: 'landscape',
      headline: 'Light as air',
      cta: 'Shop now',
      style: style('acme'),
    });
    const row = await sharp(land.png).extract({ left: 0, top: 300, width: 1200, height: 1 }).removeAlpha().raw().toBuffer();
    let hstep = 0;
    for (let x = 700; x < 1200; x++) hstep = Math.max(hstep, Math.abs(row[3 * x] - row[3 * (x - 1)]));
    expect(hstep).toBeLessThanOrEqual(4);
  });

  it('sets a short headline as large as the width allows, and never breaks a word to do it', async () => {
    const r = await composeAd({ visual: await visual(), format: 'square', headline: 'Go further', cta: 'Shop now', style: style('acme') });
    // The old layout capped it at 92 px, a third of the width empty.
    expect(r.headlineSize).toBeGreaterThan(110);
    const long = await composeAd({
      visual: await visual(),
      format: 'square',
      headline: 'Lightweight trail backpack',
      cta: 'Shop now',
      style: style('acme'),
    });
    // "Lightweight" alone must fit a line at the size chosen (no "Lightwei-ght").
    const word = await composeAd({
      visual: await visual(),
      format: 'square',
      headline: 'Lightweight',
      cta: 'Shop now',
      style: style('acme'),
    });
    expect(long.headlineSize).toBeLessThanOrEqual(word.headlineSize);
    expect(long.headlineBox.width).toBeGreaterThan(0.6 * (1080 - 2 * 65));
  });

  it('breaks CJK lines between words, never inside one (no "清爽不 / 油腻")', async (ctx) => {
    if (!systemAvailable({ what: 'Noto Sans CJK', tests: 'CJK composition', pkg: 'fonts-noto-cjk' }, hasFont('Noto Sans CJK')))
      return ctx.skip();
    const st = { family: 'DejaVu Sans', bold: true, size: 60, color: '#000000' };
    // Room for eight characters a line: a character-by-character wrap would split 防晒|霜 ("sunscreen").
    const auto = await renderText('清爽不油腻的防晒霜', st, 500);
    const atWords = await renderText('清爽不油腻的\n防晒霜', st, 2000);
    const inside = await renderText('清爽不油腻的防晒\n霜', st, 2000);
    expect((await imageDifference(auto.png, atWords.png)).sameSize).toBe(true);
    expect((await imageDifference(auto.png, atWords.png)).mean).toBeLessThan(1);
    expect((await imageDifference(auto.png, inside.png)).mean).toBeGreaterThan(5);
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
