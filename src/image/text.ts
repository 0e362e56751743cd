/**
 * Text for composition: escaping, glyph coverage and rendering. SVG text does not wrap,
 * so lines are laid out by Pango (sharp's text input), which wraps at word boundaries
 * (by character for CJK), shapes complex scripts and falls back through fontconfig to a
 * font that has the glyphs. What Pango cannot do is say "no font has these glyphs": it
 * draws boxes. So before drawing, the glyphs are checked against fontconfig and a missing
 * font is reported by its Debian package.
 */
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { ImageError } from '../errors.ts';

/** Escapes text for SVG/XML and for Pango markup (the same five entities). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

interface ScriptFont {
  name: string;
  test: (cp: number) => boolean;
  pkg: string;
}

const SCRIPT_FONTS: ScriptFont[] = [
  {
    name: 'Chinese/Japanese/Korean',
    test: (cp) =>
      (cp >= 0x2e80 && cp <= 0x9fff) ||
      (cp >= 0xac00 && cp <= 0xd7af) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xff00 && cp <= 0xffef) ||
      (cp >= 0x20000 && cp <= 0x3ffff),
    pkg: 'fonts-noto-cjk',
  },
  { name: 'emoji', test: (cp) => cp >= 0x1f000 && cp <= 0x1faff, pkg: 'fonts-noto-color-emoji' },
];

function scriptOf(cp: number): ScriptFont | undefined {
  return SCRIPT_FONTS.find((s) => s.test(cp));
}

/** True when the text needs CJK glyphs (drawn with Noto Sans CJK, wrapped per character). */
export function hasCjk(text: string): boolean {
  for (const ch of text) if (SCRIPT_FONTS[0].test(ch.codePointAt(0) ?? 0)) return true;
  return false;
}

/** Asks fontconfig whether any installed font has a glyph for the code point. */
export type GlyphQuery = (cp: number) => boolean;

export const fontconfigGlyphQuery: GlyphQuery = (cp) => {
  try {
    const out = execFileSync('fc-list', [`:charset=${cp.toString(16)}`, 'family'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim().length > 0;
  } catch {
    // No fontconfig tools: do not block rendering on a check we cannot make.
    return true;
  }
};

/**
 * A checker that throws `FONT_MISSING` naming the script and the Debian package to install.
 * Results are cached per 128-code-point block, which keeps it to a handful of fc-list calls.
 */
export function createGlyphChecker(query: GlyphQuery = fontconfigGlyphQuery): (text: string) => void {
  const cache = new Map<number, boolean>();
  return (text) => {
    for (const ch of text) {
      const cp = ch.codePointAt(0) ?? 0;
      // ASCII, Latin, Greek, Cyrillic, punctuation and the like are in DejaVu, which the kits use.
      if (cp < 0x0590 || (cp >= 0x2000 && cp <= 0x206f) || cp === 0x20ac || cp === 0x2122) continue;
      if (cp >= 0xfe00 && cp <= 0xfe0f) continue; // variation selectors draw nothing
      if (EMOJI_ONE.test(ch) || cp === 0x200d) continue; // emoji are dropped when no font has them (dropEmoji)
      const block = cp >> 7;
      let ok = cache.get(block);
      if (ok === undefined) {
        ok = query(cp);
        cache.set(block, ok);
      }
      if (!ok) {
        const script = scriptOf(cp);
        const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
        const pkg = script?.pkg ?? 'fonts-noto-core';
        throw new ImageError(
          'FONT_MISSING',
          `no installed font has glyphs for "${ch}" (${hex}${script ? `, ${script.name}` : ''}); install Debian's ${pkg}`,
          { hint: `apt-get install -y ${pkg}` },
        );
      }
    }
  };
}

export const checkGlyphs = createGlyphChecker();

const EMOJI_ONE = /^\p{Extended_Pictographic}$/u;
const EMOJI = /\p{Extended_Pictographic}(?:\uFE0F|\u200D\p{Extended_Pictographic})*\uFE0F?/gu;
let emojiFont: boolean | undefined;

/** Emoji from a copywriter are decoration: without an emoji font they are left out, not drawn as boxes. */
export function dropEmoji(text: string, query?: GlyphQuery): string {
  if (!/\p{Extended_Pictographic}/u.test(text)) return text;
  if (!query && emojiFont === undefined) emojiFont = fontconfigGlyphQuery(0x1f600);
  const has = query ? query(0x1f600) : emojiFont;
  return has
    ? text
    : text
        .replace(EMOJI, '')
        .replace(/\s{2,}/g, ' ')
        .trim();
}

export interface TextStyle {
  /** Fontconfig family, e.g. "DejaVu Sans". */
  family: string;
  bold?: boolean;
  /** Pixel size. */
  size: number;
  color: string; // #rrggbb
  align?: 'left' | 'centre';
  /** Extra space between lines, in points (Pango's spacing). */
  lineSpacing?: number;
}

export interface RenderedText {
  png: Buffer;
  width: number;
  height: number;
}

function pangoFont(style: TextStyle, cjk: boolean): string {
  // CJK first for CJK text so punctuation and Latin in it share one face's metrics.
  const families = cjk ? `Noto Sans CJK JP,${style.family}` : `${style.family},Noto Sans CJK JP`;
  return `${families} ${style.bold ? 'Bold ' : ''}${style.size}px`;
}

/** Draws `text` wrapped to `width` pixels; transparent background. */
export async function renderText(raw: string, style: TextStyle, width: number): Promise<RenderedText> {
  const text = dropEmoji(raw);
  if (!text.trim()) {
    throw new ImageError(
      'TEXT_EMPTY',
      raw.trim()
        ? `nothing to draw in ${JSON.stringify(raw)}: it is only emoji and no emoji font is installed (install Debian's fonts-noto-color-emoji)`
        : 'nothing to draw: the text is empty',
    );
  }
  checkGlyphs(text);
  const cjk = hasCjk(text);
  const markup = `<span foreground="${style.color}">${escapeXml(text)}</span>`;
  const { data, info } = await sharp({
    text: {
      text: markup,
      font: pangoFont(style, cjk),
      width: Math.max(1, Math.floor(width)),
      rgba: true,
      // At word boundaries, falling back to characters for a word wider than the box (a URL,
      // a long compound): plain 'word' lets such a word run past the box and off the canvas.
      wrap: 'word-char',
      align: style.align === 'centre' ? 'centre' : 'left',
      dpi: 72,
      spacing: style.lineSpacing ?? 0,
    },
  })
    .png({ compressionLevel: 1 })
    .toBuffer({ resolveWithObject: true });
  return { png: data, width: info.width, height: info.height };
}

export interface FittedText extends RenderedText {
  size: number;
  text: string;
  /** The text was cut (with "…") because even the smallest size overflowed the box. */
  shortened: boolean;
}

/**
 * The largest size between `maxSize` and `minSize` at which `text` wrapped to `width` fits in
 * `height`; below that, words are dropped from the end (with an ellipsis) until it fits.
 */
export async function fitText(
  text: string,
  style: Omit<TextStyle, 'size'>,
  box: { width: number; height: number },
  maxSize: number,
  minSize: number,
): Promise<FittedText> {
  let size = maxSize;
  for (;;) {
    const r = await renderText(text, { ...style, size }, box.width);
    if (r.height <= box.height && r.width <= box.width) return { ...r, size, text, shortened: false };
    if (size <= minSize) break;
    size = Math.max(minSize, Math.floor(size * 0.9));
  }
  const cjk = hasCjk(text);
  let units = cjk ? Array.from(text) : text.split(/\s+/);
  while (units.length > 1) {
    units = units.slice(0, -1);
    const cut = `${units.join(cjk ? '' : ' ').replace(/[\s,.;:–—-]+$/u, '')}…`;
    const r = await renderText(cut, { ...style, size: minSize }, box.width);
    if (r.height <= box.height && r.width <= box.width) return { ...r, size: minSize, text: cut, shortened: true };
  }
  const r = await renderText(units.join(''), { ...style, size: minSize }, box.width);
  return { ...r, size: minSize, text: units.join(''), shortened: true };
}

/** Font families fontconfig knows (lower-cased), for validating brand kits. */
export function installedFontFamilies(): Set<string> {
  try {
    const out = execFileSync('fc-list', [':', 'family'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const set = new Set<string>();
    for (const line of out.split('\n')) for (const f of line.split(',')) if (f.trim()) set.add(f.trim().toLowerCase());
    return set;
  } catch {
    return new Set();
  }
}
