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
import { hasCjk, joinWords, wordUnits } from '../words.ts';

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
  {
    name: 'Arabic',
    test: (cp) => (cp >= 0x0600 && cp <= 0x06ff) || (cp >= 0x0750 && cp <= 0x077f) || (cp >= 0xfb50 && cp <= 0xfeff),
    pkg: 'fonts-noto-core',
  },
  { name: 'Hebrew', test: (cp) => (cp >= 0x0590 && cp <= 0x05ff) || (cp >= 0xfb1d && cp <= 0xfb4f), pkg: 'fonts-noto-core' },
  { name: 'emoji', test: (cp) => cp >= 0x1f000 && cp <= 0x1faff, pkg: 'fonts-noto-color-emoji' },
];

function scriptOf(cp: number): ScriptFont | undefined {
  return SCRIPT_FONTS.find((s) => s.test(cp));
}

/**
 * Asks fontconfig for an installed font with a glyph for the code point: the path of its file,
 * `true` when fontconfig cannot say (no fc-list: rendering is not blocked on a check we cannot
 * make), `false` when there is none.
 */
export type GlyphQuery = (cp: number) => string | boolean;

export const fontconfigGlyphQuery: GlyphQuery = (cp) => {
  try {
    // A fresh fc-list each time: it sees fonts installed since the bot started.
    const out = execFileSync('fc-list', [`:charset=${cp.toString(16)}`, 'file'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const files = out
      .split('\n')
      .map((l) => l.trim().replace(/:$/, ''))
      .filter(Boolean)
      .sort();
    // Prefer the Sans face the renderer asks for (Noto Sans CJK) over Serif and others.
    return files.find((f) => /Sans/i.test(f) && !/Mono/i.test(f)) ?? files[0] ?? false;
  } catch {
    return true;
  }
};

/** How long a "no font has it" answer stands before fontconfig is asked again. */
export const GLYPH_RETRY_MS = 2000;

/** What a text needs from the fonts: the files found for its non-Latin scripts (for `renderText`). */
export interface GlyphCheck {
  fontfiles: string[];
}

/**
 * A checker that throws `FONT_MISSING` naming the script and the Debian package to install.
 * Answers are cached per 128-code-point block, which keeps it to a handful of fc-list calls;
 * a missing font is asked about again after GLYPH_RETRY_MS, so a font installed while the bot
 * runs (apt-get install fonts-noto-cjk) is found on the next try, without a restart.
 */
export function createGlyphChecker(
  query: GlyphQuery = fontconfigGlyphQuery,
  opts: { now?: () => number; retryMs?: number } = {},
): (text: string) => GlyphCheck {
  const now = opts.now ?? Date.now;
  const retryMs = opts.retryMs ?? GLYPH_RETRY_MS;
  const cache = new Map<number, { found: string | boolean; at: number }>();
  return (text) => {
    const fontfiles = new Set<string>();
    for (const ch of text) {
      const cp = ch.codePointAt(0) ?? 0;
      // ASCII, Latin, Greek, Cyrillic, punctuation and the like are in DejaVu, which the kits use.
      if (cp < 0x0590 || (cp >= 0x2000 && cp <= 0x206f) || cp === 0x20ac || cp === 0x2122) continue;
      if (cp >= 0xfe00 && cp <= 0xfe0f) continue; // variation selectors draw nothing
      if (EMOJI_ONE.test(ch) || cp === 0x200d) continue; // emoji are dropped when no font has them (dropEmoji)
      const block = cp >> 7;
      let hit = cache.get(block);
      if (!hit || (hit.found === false && now() - hit.at >= retryMs)) {
        hit = { found: query(cp), at: now() };
        cache.set(block, hit);
      }
      if (hit.found === false) {
        const script = scriptOf(cp);
        const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
        const pkg = script?.pkg ?? 'fonts-noto-core';
        throw new ImageError(
          'FONT_MISSING',
          `no installed font has glyphs for "${ch}" (${hex}${script ? `, ${script.name}` : ''}); install Debian's ${pkg}`,
          { hint: `apt-get install -y ${pkg}` },
        );
      }
      if (typeof hit.found === 'string') fontfiles.add(hit.found);
    }
    return { fontfiles: [...fontfiles] };
  };
}

export const checkGlyphs = createGlyphChecker();

const EMOJI_ONE = /^\p{Extended_Pictographic}$/u;
const EMOJI = /\p{Extended_Pictographic}(?:\uFE0F|\u200D\p{Extended_Pictographic})*\uFE0F?/gu;
let emojiFont: { has: boolean; at: number } | undefined;

/** Emoji from a copywriter are decoration: without an emoji font they are left out, not drawn as boxes. */
export function dropEmoji(text: string, query?: GlyphQuery): string {
  if (!/\p{Extended_Pictographic}/u.test(text)) return text;
  // As with glyphs: "no emoji font" is asked again after a while (one may have been installed).
  if (!query && (!emojiFont || (!emojiFont.has && Date.now() - emojiFont.at >= GLYPH_RETRY_MS)))
    emojiFont = { has: fontconfigGlyphQuery(0x1f600) !== false, at: Date.now() };
  const has = query ? query(0x1f600) !== false : emojiFont?.has;
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
  const { fontfiles } = checkGlyphs(text);
  const cjk = hasCjk(text);
  // CJK lines break between words, never inside one ("清爽不 / 油腻" splits "not greasy").
  const markup = `<span foreground="${style.color}">${escapeXml(cjk ? joinWords(text) : text)}</span>`;
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
      // The file fontconfig found for the script, handed to Pango directly: its own font list is
      // read once per process, so a font installed since the bot started is only seen this way.
      ...(fontfiles.length ? { fontfile: fontfiles[0] } : {}),
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
 * `height` in at most `maxLines` lines; below that, words are dropped from the end (with an
 * ellipsis) until it fits. The lines are then balanced: the box is narrowed as far as the
 * text keeps its number of lines, so no line is left with one word dangling.
 */
export async function fitText(
  text: string,
  style: Omit<TextStyle, 'size'>,
  box: { width: number; height: number },
  maxSize: number,
  minSize: number,
  maxLines = 4,
): Promise<FittedText> {
  // Line height as a share of the size: Noto Sans CJK's is taller than DejaVu's.
  const lineFactor = hasCjk(text) ? 1.5 : 1.25;
  const fits = (r: RenderedText, size: number) =>
    r.height <= box.height && r.width <= box.width && r.height <= maxLines * size * lineFactor;
  // The longest words, to keep a size at which none of them has to be broken ("Lightwei-ght").
  const longest = [...new Set(wordUnits(text).map((w) => w.trim()))].sort((a, b) => [...b].length - [...a].length).slice(0, 2);
  // Measured once at the largest size: a word's width scales with the size.
  let widestAtMax = -1;
  let size = maxSize;
  for (;;) {
    const r = await renderText(text, { ...style, size }, box.width);
    let widest = 0;
    if (fits(r, size)) {
      if (widestAtMax < 0) {
        widestAtMax = 0;
        for (const w of longest)
          widestAtMax = Math.max(widestAtMax, (await renderText(w, { ...style, size: maxSize }, box.width * 4)).width);
      }
      widest = Math.ceil((widestAtMax * size) / maxSize);
    }
    // At the smallest size a word wider than the box is broken rather than run off the canvas.
    if (fits(r, size) && (widest <= box.width || size <= minSize))
      return { ...(await balance(text, { ...style, size }, box.width, r, widest)), size, text, shortened: false };
    if (size <= minSize) break;
    size = Math.max(minSize, Math.floor(size * 0.9));
  }
  // Whole words are dropped from the end, CJK ones too (never "清爽不…").
  let units = wordUnits(text);
  while (units.length > 1) {
    units = units.slice(0, -1);
    const cut = `${units.join('').replace(/[\s,.;:、，。；：–—-]+$/u, '')}…`;
    const r = await renderText(cut, { ...style, size: minSize }, box.width);
    if (fits(r, minSize)) return { ...r, size: minSize, text: cut, shortened: true };
  }
  const r = await renderText(units.join('').trim(), { ...style, size: minSize }, box.width);
  return { ...r, size: minSize, text: units.join('').trim(), shortened: true };
}

/** The narrowest wrap width (down to 60 %, never below the widest word) that keeps the text's line count: even lines. */
async function balance(text: string, style: TextStyle, width: number, first: RenderedText, widest: number): Promise<RenderedText> {
  if (first.height <= style.size * 1.6) return first; // one line: nothing to balance
  let lo = Math.max(Math.round(width * 0.6), Math.ceil(widest) + 2);
  let hi = Math.ceil(first.width);
  let best = first;
  for (let i = 0; i < 4 && hi - lo > 16; i++) {
    const mid = Math.round((lo + hi) / 2);
    const r = await renderText(text, style, mid);
    if (r.height <= first.height) {
      best = r;
      hi = mid;
    } else lo = mid;
  }
  return best;
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
