/**
 * Locales of a brief (`--locales de,fr,zh-CN`): the tags people may ask for, the brief's own
 * language, and how much longer each language runs than another, so copy meant for several
 * markets is written to fit every one of them instead of being cut afterwards.
 */
import { InputError } from '../errors.ts';
import type { ChannelLimits } from '../vocabulary.ts';
import { detectLanguage } from './lexicon.ts';

/** More locales than this make a thread nobody reads side by side, and multiply the renders. */
export const MAX_LOCALES = 6;

/**
 * Length of a text in a language relative to the same text in English, in characters as they
 * are typed (industry rules of thumb for UI and ad copy: German ~35 % longer, French ~20 %;
 * Chinese and Japanese say the same in about half the characters).
 */
const EXPANSION: Record<string, number> = {
  en: 1,
  de: 1.35,
  fr: 1.2,
  es: 1.25,
  it: 1.2,
  pt: 1.25,
  nl: 1.3,
  sv: 1.15,
  da: 1.15,
  no: 1.15,
  nb: 1.15,
  fi: 1.3,
  pl: 1.25,
  cs: 1.2,
  ru: 1.2,
  uk: 1.2,
  el: 1.25,
  tr: 1.15,
  ar: 1.25,
  he: 1.05,
  zh: 0.5,
  ja: 0.6,
  ko: 0.7,
  th: 1.1,
  vi: 1.15,
  id: 1.2,
  hi: 1.2,
};

/** Expansion of a language not in the table: assume it runs long rather than short. */
const UNKNOWN_EXPANSION = 1.3;

/** `lang` is the primary subtag (lower case), `tag` the canonical form ("zh-CN", "pt-BR", "de"). */
export interface Locale {
  tag: string;
  lang: string;
}

const TAG = /^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{4}))?(?:[-_]([a-zA-Z]{2}|\d{3}))?$/;

/** One tag ("de", "zh-CN", "zh-Hant-TW", "pt_BR") as a Locale, or an InputError naming it. */
export function parseLocale(raw: string): Locale {
  const t = raw.trim();
  const m = TAG.exec(t);
  if (!m) {
    throw new InputError(
      'BAD_LOCALE',
      `"${raw}" is not a locale tag; expected a language code with an optional region, such as de, fr, en-GB or zh-CN.`,
    );
  }
  const lang = m[1].toLowerCase();
  const script = m[2] ? m[2][0].toUpperCase() + m[2].slice(1).toLowerCase() : undefined;
  const region = m[3]?.toUpperCase();
  const tag = [lang, script, region].filter(Boolean).join('-');
  // Intl knows which language subtags exist; a made-up one ("xx") gets no name of its own.
  let known = true;
  try {
    const name = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' }).of(tag);
    known = name !== undefined && name.toLowerCase() !== tag.toLowerCase();
  } catch {
    known = false;
  }
  if (!known) {
    throw new InputError(
      'BAD_LOCALE',
      `"${raw}" is not a language this bot knows; expected a language code with an optional region, such as de, fr, en-GB or zh-CN.`,
    );
  }
  return { tag, lang };
}

/** "de,fr,zh-CN" (commas or spaces) → locales, each once, at most MAX_LOCALES. */
export function parseLocales(raw: string): Locale[] {
  const parts = raw
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (!parts.length) throw new InputError('BAD_LOCALE', '--locales needs at least one locale tag, such as de or zh-CN (comma-separated).');
  // `--locales de, fr` reaches here as "de," (the command line splits at the space): "fr" went into
  // the brief and the round would run without it, so say how to write the list instead.
  if (/,\s*$/.test(raw)) {
    throw new InputError(
      'BAD_LOCALE',
      `--locales ends with a comma (${JSON.stringify(raw)}); write the list without spaces, such as de,fr,zh-CN, or put it in quotes.`,
    );
  }
  const out: Locale[] = [];
  for (const p of parts) {
    const l = parseLocale(p);
    if (!out.some((o) => o.tag === l.tag)) out.push(l);
  }
  if (out.length > MAX_LOCALES) {
    throw new InputError(
      'TOO_MANY_LOCALES',
      `--locales takes at most ${MAX_LOCALES} locales; got ${out.length} (${out.map((l) => l.tag).join(', ')}).`,
    );
  }
  return out;
}

/** A locale's name for people: "German", "Chinese (China)". */
export function localeName(tag: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/**
 * The brief's own language as a primary subtag: right-to-left and other scripts by their
 * letters, Chinese/Japanese and the Latin languages as the offline copywriter reads them.
 */
export function briefLanguage(brief: string): string {
  const count = (re: RegExp) => (brief.match(re) ?? []).length;
  const letters = count(/\p{L}/gu) || 1;
  if (count(/\p{Script=Hangul}/gu) / letters > 0.2) return 'ko';
  if (count(/\p{Script=Arabic}/gu) / letters > 0.3) return 'ar';
  if (count(/\p{Script=Hebrew}/gu) / letters > 0.3) return 'he';
  if (count(/\p{Script=Cyrillic}/gu) / letters > 0.3) return 'ru';
  if (count(/\p{Script=Greek}/gu) / letters > 0.3) return 'el';
  return detectLanguage(brief);
}

export function expansionOf(lang: string): number {
  return EXPANSION[lang] ?? UNKNOWN_EXPANSION;
}

/** How much longer the longest of `targets` runs than text in `source` (at least 1). */
export function worstExpansion(source: string, targets: Locale[]): number {
  let worst = 1;
  for (const t of targets) if (t.lang !== source) worst = Math.max(worst, expansionOf(t.lang) / expansionOf(source));
  return worst;
}

/** Never ask for less than this share of a limit: below it the source copy says nothing. */
const MIN_SHARE = 0.4;

/**
 * The limits the brief-language copy is written to when it will be translated: each field's
 * limit divided by how much the longest target language expands it, so the translations land
 * inside the platform's limits instead of being cut. Unchanged when no target runs longer.
 */
export function sourceLimits(limits: ChannelLimits, source: string, targets: Locale[]): ChannelLimits {
  const k = worstExpansion(source, targets);
  if (k <= 1) return limits;
  const scale = (max: number) => Math.max(Math.ceil(max * MIN_SHARE), Math.floor(max / k));
  return {
    ...limits,
    headline: { ...limits.headline, max: scale(limits.headline.max) },
    body: { ...limits.body, max: scale(limits.body.max) },
    cta: { ...limits.cta, max: scale(limits.cta.max) },
  };
}
