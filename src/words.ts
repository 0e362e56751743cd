/**
 * Words as people read them, in any script: where a line may break, how wide text is as ad
 * platforms count it, and cutting text at whole words. Latin-script words are the runs between
 * spaces; Chinese and Japanese have no spaces, so `Intl.Segmenter` finds the words, and runs of
 * one-character segments (which ICU's dictionary leaves where it does not know a word, as in
 * 油|腻 for 油腻) stay with the word before them, so "清爽不油腻的" is never split inside.
 */
import type { CountRule } from './vocabulary.ts';

/** East Asian Wide and Fullwidth characters (Unicode UAX #11): the ones platforms count twice. */
export function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** True when the text has Chinese, Japanese or Korean characters. */
export function hasCjk(text: string): boolean {
  return CJK_CHAR.test(text);
}

export type { CountRule };

export function countLength(text: string, rule: CountRule = 'chars'): number {
  let n = 0;
  for (const ch of text) n += rule === 'double-width' && isWide(ch.codePointAt(0) ?? 0) ? 2 : 1;
  return n;
}

let segmenter: Intl.Segmenter | undefined;

/** A CJK run split into words: ICU's segments, with runs of one-character segments kept whole. */
function cjkWords(run: string): string[] {
  segmenter ??= new Intl.Segmenter('zh', { granularity: 'word' });
  const segs = [...segmenter.segment(run)].map((s) => s.segment);
  const out: string[] = [];
  let pendingSingles = '';
  for (const seg of segs) {
    // Numbers go with their neighbours too: 满300减50 and 8折 are one phrase each.
    const single = [...seg].length === 1 || /^[\d.,%％０-９]+$/u.test(seg);
    if (single && !/^[\p{P}\s]$/u.test(seg)) {
      if (out.length && !pendingSingles && isGlueable(out[out.length - 1])) out[out.length - 1] += seg;
      else pendingSingles += seg;
      continue;
    }
    if (/^[\p{P}\s]+$/u.test(seg)) {
      // Punctuation ends the word before it and never starts a line.
      if (pendingSingles) {
        out.push(pendingSingles);
        pendingSingles = '';
      }
      if (out.length) out[out.length - 1] += seg;
      else out.push(seg);
      continue;
    }
    out.push(pendingSingles + seg);
    pendingSingles = '';
  }
  if (pendingSingles) {
    if (out.length && isGlueable(out[out.length - 1])) out[out.length - 1] += pendingSingles;
    else out.push(pendingSingles);
  }
  return out;
}

/** A word that one-character segments may join: not one ending in punctuation (a clause is over). */
const isGlueable = (w: string) => !/[\p{P}\s]$/u.test(w);

/**
 * The text as unbreakable units whose concatenation is the text: Latin words with the spaces
 * after them, CJK words as above. A line may break only between units.
 */
export function wordUnits(text: string): string[] {
  const out: string[] = [];
  // Runs of CJK (with their punctuation) and runs of everything else.
  const re =
    /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}ー々〆〇0-9０-９%％]+[、。，．！？：；」』）】〕”’…‥ー]*)|([^\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+)/gu;
  for (const m of text.matchAll(re)) {
    if (m[1]) out.push(...cjkWords(m[1]));
    else for (const w of m[2].match(/\S+\s*|\s+/g) ?? []) out.push(w);
  }
  return out;
}

const WORD_JOINER = '\u2060';

/**
 * The text with a word joiner between the characters of each CJK word, so a line breaker that
 * follows Unicode's rules (Pango) breaks lines only between words.
 */
export function joinWords(text: string): string {
  if (!hasCjk(text)) return text;
  return wordUnits(text)
    .map((u) => (hasCjk(u) ? [...u].join(WORD_JOINER) : u))
    .join('');
}

/** Drops word joiners (for showing or measuring text that went through `joinWords`). */
export function unjoinWords(text: string): string {
  return text.replaceAll(WORD_JOINER, '');
}

/**
 * The longest run of whole leading words of `text` within `max` (as `rule` counts), with
 * trailing punctuation and spaces removed; '' when not even the first word fits.
 */
export function leadingWords(text: string, max: number, rule: CountRule = 'chars'): string {
  let out = '';
  for (const u of wordUnits(text)) {
    const next = out + u;
    if (countLength(next.trimEnd(), rule) > max) break;
    out = next;
  }
  return out.replace(/[\s,.;:!?、，。；：！？–—-]+$/u, '');
}
