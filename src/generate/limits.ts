/**
 * Fitting copy into a channel's limits after generation. What the limits are (per channel,
 * with COPY_LIMITS overrides) is vocabulary: `src/vocabulary.ts`.
 */
import { type CountRule, countLength, leadingWords } from '../words.ts';

let graphemes: Intl.Segmenter | undefined;

/** Words that lead into what follows, per language: a cut copy never ends on one ("für…", "pour…"). */
const LEAD_INS: Record<string, string> = {
  en: 'a|an|the|and|or|of|to|for|with|on|in|at|we|our|your|you|is|are|that|which',
  de: 'für|mit|und|oder|der|die|das|den|dem|des|ein|eine|einen|zu|zum|zur|im|in|auf|an|am|von|vom|bei|ihr|ihre|dein|deine|ist|sind',
  fr: 'pour|avec|et|ou|de|du|des|le|la|les|un|une|à|au|aux|en|sur|par|votre|vos|est|sont|qui|que',
  es: 'para|con|y|o|de|del|el|la|los|las|un|una|en|a|al|por|tu|tus|su|sus|es|son|que',
  it: 'per|con|e|o|di|del|della|il|lo|la|i|gli|le|un|una|in|a|al|su|da|tuo|tua|è|sono|che',
  pt: 'para|com|e|ou|de|do|da|dos|das|o|a|os|as|um|uma|em|no|na|por|seu|sua|é|são|que',
  nl: 'voor|met|en|of|de|het|een|van|in|op|aan|bij|je|jouw|uw|is|zijn|die|dat',
};

/**
 * Cuts at the last whole word that fits with "…" (CJK at a word too, never inside one), as
 * `rule` counts; a first word longer than the limit is cut at a character, as nothing else fits.
 */
export function trimToLimit(text: string, max: number, rule: CountRule = 'chars', lang = 'en'): string {
  if (countLength(text, rule) <= max) return text;
  const room = max - 1;
  // Not on a word that leads into what was cut ("The lightest trail pack we…", "Leichter Schutz für…").
  const leadIns = LEAD_INS[lang] ?? LEAD_INS.en;
  const words = leadingWords(text, room, rule).replace(new RegExp(`(?:\\s+(?:${leadIns}))+$`, 'iu'), '');
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
