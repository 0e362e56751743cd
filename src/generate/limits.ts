/**
 * Fitting copy into a channel's limits after generation. What the limits are (per channel,
 * with COPY_LIMITS overrides) is vocabulary: `src/vocabulary.ts`.
 */
import { type CountRule, countLength, leadingWords } from '../words.ts';

let graphemes: Intl.Segmenter | undefined;

/**
 * Cuts at the last whole word that fits with "…" (CJK at a word too, never inside one), as
 * `rule` counts; a first word longer than the limit is cut at a character, as nothing else fits.
 */
export function trimToLimit(text: string, max: number, rule: CountRule = 'chars'): string {
  if (countLength(text, rule) <= max) return text;
  const room = max - 1;
  // Not on a word that leads into what was cut ("The lightest trail pack we…").
  const words = leadingWords(text, room, rule).replace(
    /(?:\s+(?:a|an|the|and|or|of|to|for|with|on|in|at|we|our|your|you|is|are|that|which))+$/i,
    '',
  );
  if (words) return `${words}…`;
  let out = '';
  // By grapheme, not code point: an accent or a joined emoji is never left half-drawn.
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  for (const { segment: ch } of graphemes.segment(text)) {
    if (countLength(out + ch, rule) > room) break;
    out += ch;
  }
  return `${out}…`;
}
