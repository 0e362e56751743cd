/**
 * Copy for the ad platforms' fields, from a variant's copy. The approved copy is used as it is
 * wherever it fits; where a platform wants more (Performance Max: 3 headlines, a long headline,
 * 3 descriptions) or shorter text, the extra texts come from the copywriter when one is set
 * (`ExtraCopyWriter`, OpenAI), and otherwise are derived by rules from the copy itself: whole
 * sentences and clauses, the headline with the brand — never a word cut in half, never a
 * trailing "…". Every text is checked against the field's rule before it is used.
 */
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { fits, hasEmoji, type TextRule } from './limits.ts';

export interface AdCopy {
  headline: string;
  body: string;
  cta: string;
}

/** What the export asks the copywriter for: more texts in the copy's voice, each inside a limit. */
export interface ExtraCopyRequest {
  brief: string;
  brand?: string;
  copy: AdCopy;
  headlines: { count: number; max: number };
  longHeadlines: { count: number; max: number };
  descriptions: { count: number; max: number };
  signal?: AbortSignal;
}

export interface ExtraCopy {
  headlines: string[];
  longHeadlines: string[];
  descriptions: string[];
}

/** The copywriter's side of it (generate/extra-copy.ts implements it on OpenAI). */
export interface ExtraCopyWriter {
  write(req: ExtraCopyRequest): Promise<ExtraCopy>;
}

/** A text chosen for a field, and where it came from (shown in the export's summary). */
export interface Chosen {
  text: string;
  source: 'approved' | 'copywriter' | 'derived';
}

const collapse = (s: string) => s.replace(/\s+/g, ' ').trim();

const capitalise = (s: string) => (s ? s.charAt(0).toLocaleUpperCase() + s.slice(1) : s);

/** Sentences of a text (Latin and CJK full stops, question and exclamation marks). */
export function sentences(text: string): string[] {
  return collapse(text)
    .split(/(?<=[.!?。！？])\s*/u)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Clauses of a sentence, at commas, semicolons, colons and dashes between words. */
export function clauses(sentence: string): string[] {
  return sentence
    .split(/\s*[,;:，；：]\s+|\s+[—–-]\s+/u)
    .map((s) => s.replace(/[.!?。！？]+$/u, '').trim())
    .filter((s) => s.split(/\s+/).length >= 2 || /\p{Script=Han}/u.test(s))
    .map(capitalise);
}

/** Text without emoji and the characters TikTok refuses, spaces tidied: nothing else changes. */
export function withoutEmoji(text: string): string {
  return collapse(
    [...text]
      .filter((ch) => !hasEmoji(ch))
      .join('')
      .replace(/[{}#]/g, ' '),
  );
}

/**
 * Phrases of a clause split where English joins two thoughts ("sunscreen that does not sting" →
 * "Sunscreen", "Does not sting"): whole words on both sides, for the short fields.
 */
export function phrases(clause: string): string[] {
  return clause
    .split(/\s+(?:that|which|so|because|while|and|but|with)\s+/iu)
    .map((p) => p.replace(/[.!?,;:]+$/u, '').trim())
    .filter((p) => p.split(/\s+/).length >= 2)
    .map(capitalise);
}

/**
 * Whole-text candidates derived from the copy, best first: the headline, the body, its sentences,
 * its clauses, and the headline joined with the first sentence, the CTA and the brand.
 */
export function derivedTexts(copy: AdCopy, brandName?: string): string[] {
  const body = collapse(copy.body);
  const head = collapse(copy.headline);
  const ss = sentences(body);
  // The body's leading sentences, longest first: the most of the approved text a shorter field can hold.
  const leading = ss.slice(1).map((_, k) => ss.slice(0, ss.length - 1 - k).join(' '));
  const parts = [...ss.flatMap(clauses), ...clauses(head)];
  const out = [head, body, ...leading, ...ss, ...ss.flatMap(clauses), ...[...parts, head].flatMap(phrases)];
  const stop = (s: string) => (/[.!?。！？]$/u.test(s) ? s : `${s}.`);
  if (ss[0]) out.push(`${stop(head)} ${ss[0]}`);
  if (ss.length > 1) out.push(`${ss[0]} ${ss[1]}`);
  if (copy.cta) out.push(`${stop(head)} ${stop(collapse(copy.cta))}`);
  if (brandName) out.push(`${head} — ${brandName}`, `${brandName}: ${head}`, `${collapse(copy.cta)} — ${brandName}`);
  // The call to action on its own: short, and the copy's own words.
  if (copy.cta) out.push(collapse(copy.cta));
  // A text is words: an emoji-only "sentence" is no headline.
  return out.map(collapse).filter((t) => /\p{L}.*\p{L}|\p{Script=Han}/u.test(t));
}

/**
 * A CSV cell beginning with = + - @ is written with a leading apostrophe (library/csv.ts), which
 * an importer may keep: such a text must fit with it.
 */
const asCell = (t: string) => (/^[=+\-@\t\r]/.test(t) ? `'${t}` : t);

/** Up to `n` distinct texts (case-insensitively) that fit `rule`, in order; `taken` ones are skipped. */
export function pick(candidates: string[], rule: TextRule, n: number, taken: string[] = []): string[] {
  // The same words with or without a closing full stop are the same text.
  const key = (t: string) => t.toLocaleLowerCase().replace(/[.!?。！？]+$/u, '');
  const seen = new Set(taken.map(key));
  const out: string[] = [];
  for (const c of candidates) {
    if (out.length >= n) break;
    const k = key(c);
    if (seen.has(k) || !fits(asCell(c), rule)) continue;
    seen.add(k);
    out.push(c);
  }
  return out;
}

/** Headlines read without a closing full stop (Google's guidance for short headlines). */
export function headlineForm(text: string): string {
  return text.replace(/(?<![.])[.。]$/u, '').trim();
}

/**
 * Asks the copywriter for extra texts; a failure (or no copywriter) gives none, and the caller
 * derives what it needs by rules. Each text the copywriter returns is still checked by `pick`.
 */
export async function askExtraCopy(
  writer: ExtraCopyWriter | undefined,
  req: ExtraCopyRequest,
  logger?: Logger,
): Promise<{ extra: ExtraCopy; note?: string }> {
  const none: ExtraCopy = { headlines: [], longHeadlines: [], descriptions: [] };
  if (!writer) return { extra: none, note: 'no copywriter set (offline): extra texts derived from the copy by rules' };
  try {
    const got = await writer.write(req);
    return {
      extra: {
        headlines: got.headlines.map(collapse).filter(Boolean),
        longHeadlines: got.longHeadlines.map(collapse).filter(Boolean),
        descriptions: got.descriptions.map(collapse).filter(Boolean),
      },
    };
  } catch (e) {
    logger?.warn('export: the copywriter could not write extra texts; deriving them by rules', { error: describeError(e) });
    return { extra: none, note: `the copywriter failed (${describeError(e)}): extra texts derived from the copy by rules` };
  }
}

/**
 * `n` texts for a field: the approved text first when it fits, then the copywriter's, then the
 * derived ones; each marked with its source.
 */
export function choose(p: {
  approved?: string;
  extra?: string[];
  derived: string[];
  rule: TextRule;
  n: number;
  taken?: string[];
  form?: (s: string) => string;
}): Chosen[] {
  const form = p.form ?? ((s: string) => s);
  const out: Chosen[] = [];
  const taken = [...(p.taken ?? [])];
  const add = (list: string[], source: Chosen['source']) => {
    for (const t of pick(list.map(form), p.rule, p.n - out.length, taken)) {
      out.push({ text: t, source });
      taken.push(t);
    }
  };
  if (p.approved !== undefined) add([p.approved], 'approved');
  if (p.extra) add(p.extra, 'copywriter');
  add(p.derived, 'derived');
  return out;
}

/** Extra texts for Google's fields, asked of the copywriter once per creative (none: rules). */
export async function extraCopyFor(
  writer: ExtraCopyWriter | undefined,
  creatives: { adKey: string; brief: string; copy: AdCopy }[],
  brand?: string,
): Promise<{ extra: Map<string, ExtraCopy>; notes: string[] }> {
  const extra = new Map<string, ExtraCopy>();
  const notes = new Set<string>();
  for (const c of creatives) {
    const r = await askExtraCopy(writer, {
      brief: c.brief,
      brand,
      copy: c.copy,
      headlines: { count: 5, max: 30 },
      longHeadlines: { count: 3, max: 90 },
      descriptions: { count: 4, max: 90 },
    });
    extra.set(c.adKey, r.extra);
    if (r.note) notes.add(r.note);
  }
  return { extra, notes: [...notes] };
}
