import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { composeAd } from '../../../src/image/compose.ts';
import { checkLocaleFonts, startsRtl } from '../../../src/image/scripts.ts';
import { checkGlyphs, createGlyphChecker, renderText } from '../../../src/image/text.ts';
import { hasFont, systemAvailable } from '../../helpers/system.ts';

describe('the font check per locale', () => {
  it('names the locale, its script and the Debian package when no font draws it', () => {
    const latinOnly = createGlyphChecker((cp) => cp < 0x0590);
    expect(() => checkLocaleFonts([{ tag: 'de', lang: 'de' }], latinOnly)).not.toThrow();
    expect(() => checkLocaleFonts([{ tag: 'zh-CN', lang: 'zh' }], latinOnly)).toThrow(
      /no installed font can draw zh-CN \(Chinese \(Han\) script\); install Debian's fonts-noto-cjk/,
    );
    expect(() => checkLocaleFonts([{ tag: 'ar', lang: 'ar' }], latinOnly)).toThrow(
      /ar \(Arabic script\); install Debian's fonts-noto-core/,
    );
    expect(() => checkLocaleFonts([{ tag: 'he', lang: 'he' }], latinOnly)).toThrow(/he \(Hebrew script\)/);
  });
  it('tells right-to-left text by its first letter', () => {
    expect(startsRtl('«واقي شمس» SPF 50')).toBe(true);
    expect(startsRtl('50% הנחה')).toBe(true);
    expect(startsRtl('SPF 50 واقي')).toBe(false);
    expect(startsRtl('清爽')).toBe(false);
  });

  it('passes when fontconfig finds a font for every script', () => {
    expect(() =>
      checkLocaleFonts(
        [
          { tag: 'ja', lang: 'ja' },
          { tag: 'ko', lang: 'ko' },
        ],
        createGlyphChecker(() => '/f.ttf'),
      ),
    ).not.toThrow();
    // Latin, Greek and Cyrillic are DejaVu's, which the kits already use: nothing to check for French.
    expect(() =>
      checkLocaleFonts(
        [{ tag: 'fr', lang: 'fr' }],
        createGlyphChecker(() => false),
      ),
    ).not.toThrow();
  });
});

/** Per line of a rendered text (lines `lineHeight` apart): the first and last column with ink. */
async function inkPerLine(png: Buffer, lines: number): Promise<[number, number][]> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const out: [number, number][] = [];
  for (let b = 0; b < lines; b++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = -1;
    for (let y = Math.floor((b * info.height) / lines); y < Math.floor(((b + 1) * info.height) / lines); y++)
      for (let x = 0; x < info.width; x++)
        if (data[(y * info.width + x) * info.channels + 3] > 100) {
          lo = Math.min(lo, x);
          hi = Math.max(hi, x);
        }
    out.push([lo, hi]);
  }
  return out;
}

describe('right-to-left and CJK scripts render and wrap', () => {
  const style = { family: 'DejaVu Sans', size: 40, color: '#000000' };

  it('Arabic and Hebrew wrap at words, each line set from the right; Latin from the left', async (ctx) => {
    if (
      !systemAvailable({ what: 'Noto Sans Arabic', tests: 'right-to-left rendering', pkg: 'fonts-noto-core' }, hasFont('Noto Sans Arabic'))
    )
      return ctx.skip();
    for (const text of ['مرحبا بالعالم الجميل جدا', 'שלום עולם יפה מאוד']) {
      // The font check finds a font for the script (no FONT_MISSING).
      expect(() => checkLocaleFonts([{ tag: 'x', lang: /[\u0590-\u05ff]/.test(text) ? 'he' : 'ar' }])).not.toThrow();
      const r = await renderText(text, style, 260);
      expect(r.width).toBeLessThanOrEqual(260);
      expect(r.height).toBeGreaterThan(1.6 * 40); // two lines
      const [first, second] = await inkPerLine(r.png, 2);
      // The shorter last line hugs the right edge, as right-to-left text is set.
      expect(second[0] - first[0]).toBeGreaterThan(10);
      expect(Math.abs(second[1] - first[1])).toBeLessThanOrEqual(4);
    }
    const latin = await renderText('Hello world very nice', style, 260);
    const [a, b] = await inkPerLine(latin.png, 2);
    expect(Math.abs(a[0] - b[0])).toBeLessThanOrEqual(4);
  });

  it('an Arabic headline composes into an ad without boxes or cuts', async (ctx) => {
    if (
      !systemAvailable({ what: 'Noto Sans Arabic', tests: 'right-to-left rendering', pkg: 'fonts-noto-core' }, hasFont('Noto Sans Arabic'))
    )
      return ctx.skip();
    const kit = {
      colors: { primary: '#1F6F50', accent: '#F2C14E', text: '#FFFFFF' },
      fonts: { headline: 'DejaVu Sans', body: 'DejaVu Sans' },
    };
    const visual = await sharp({ create: { width: 400, height: 400, channels: 3, background: '#2d6a4f' } })
      .png()
      .toBuffer();
    const r = await composeAd({
      visual,
      format: 'square',
      headline: 'واقي شمس خفيف للجري في الصيف',
      cta: 'اشترِ الآن',
      style: {
        colors: { primary: '#1F6F50', accent: '#F2C14E', text: '#FFFFFF' },
        fonts: { headline: 'DejaVu Sans', body: 'DejaVu Sans' },
      },
    });
    expect(r.shortenedHeadline).toBeUndefined();
    expect([r.width, r.height]).toEqual([1080, 1080]);
    // Set from the right edge, as Arabic reads; the same ad in English from the left, at the same margin.
    const en = await composeAd({ visual, format: 'square', headline: 'Light sunscreen for summer runs', cta: 'Buy now', style: kit });
    const pad = en.headlineBox.x;
    expect(en.ctaBox.x).toBe(pad);
    expect(r.headlineBox.x + r.headlineBox.width).toBe(1080 - pad);
    expect(r.ctaBox.x + r.ctaBox.width).toBe(1080 - pad);
    expect(r.headlineBox.x).toBeGreaterThan(pad);
    // fontconfig named a font file with Arabic glyphs (DejaVu Sans or Noto Sans Arabic), handed to Pango.
    expect(checkGlyphs('واقي').fontfiles).toHaveLength(1);
  });
});
