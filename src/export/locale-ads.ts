/**
 * A round with `--locales` exports each translated locale of a variant as an ad of its own: the
 * locale's copy on the variant's visual, under its own ad key, named with its locale on every
 * platform. Locales not translated are not exported; the thread says which and why.
 */
import { createHash } from 'node:crypto';
import { briefLanguage } from '../generate/locales.ts';
import type { ContentVersion, VariantLocale, VariantRecord } from '../rounds/types.ts';
import { adKey } from './build.ts';
import type { AdCopy } from './copy.ts';

/** What became of the round's locales in an export, for the thread's note. */
export interface LocaleOutcome {
  /** Locales exported as ads of their own (at least one variant's ad written). */
  exported: string[];
  /** Locales (or a variant's locale) not exported, with why. */
  notExported: { locale: string; why: string }[];
}

/** A variant's locales split: the brief's own language, the translated ones to export, and the rest with why not. */
export function variantLocales(v: VariantRecord): {
  source?: string;
  translated: VariantLocale[];
  skipped: { locale: string; why: string }[];
} {
  const ls = v.locales ?? [];
  return {
    source: ls.find((l) => l.status === 'source')?.locale,
    translated: ls.filter((l) => l.status === 'translated' && l.headline.trim() && l.body.trim()),
    skipped: ls
      .filter((l) => l.status === 'not-translated' || (l.status === 'translated' && !(l.headline.trim() && l.body.trim())))
      .map((l) => ({ locale: l.locale, why: notTranslatedWhy(l) })),
  };
}

/** The translator's own reason when it gave one ("French: not translated (…)"), else plainly "not translated". */
function notTranslatedWhy(l: VariantLocale): string {
  if (l.status === 'translated') return 'translated copy is empty';
  const flag = l.flags.find((f) => /not translated/i.test(f));
  const m = flag?.match(/not translated \((.+)\)$/);
  return m ? `not translated (${m[1]})` : 'not translated';
}

/** The locale of the approved copy in a round with locales: its 'source' entry, else the brief's language. */
export function sourceLocale(v: VariantRecord, brief: string): string | undefined {
  if (!v.locales?.length) return undefined;
  return v.locales.find((l) => l.status === 'source')?.locale ?? briefLanguage(brief);
}

/**
 * Why the variant's translations no longer match its copy, if they do not: a person edited the
 * copy after generation (edits are not re-translated), so a translation would advertise the
 * earlier wording.
 */
export function staleTranslation(v: VariantRecord, current: ContentVersion | undefined): string | undefined {
  const src = v.locales?.find((l) => l.status === 'source');
  // `outdated` is what an edit records on the translations (rounds/locales.ts); the other checks cover rows stored before it.
  const edited =
    current?.by != null ||
    v.locales?.some((l) => l.outdated) ||
    (src && (src.headline !== v.headline || src.body !== v.body || src.cta !== v.cta));
  return edited ? 'not exported: the copy was edited after it was translated, and the translation is of the earlier copy' : undefined;
}

export const localeLabel = (label: string, locale: string) => `${label} · ${locale}`;

/**
 * The ad key of a variant's locale: from the locale, the content people approved (the source's
 * content hash) and the locale's copy — distinct from the source's and every other locale's key,
 * and the same at every export of the same content (re-rendered PNG bytes do not move it).
 */
export function localeAdKey(locale: string, sourceHash: string, copy: AdCopy): string {
  const h = createHash('sha256')
    .update(JSON.stringify({ locale, source: sourceHash, headline: copy.headline, body: copy.body, cta: copy.cta }))
    .digest('hex');
  return adKey(h);
}

/**
 * Folds each variant's outcome per locale into the note's lines: a locale is exported when some
 * variant's ad of it was; every variant whose locale was not is named with the reason.
 */
export function localeOutcome(rows: { locale: string; label: string; exported: boolean; why?: string }[], order: string[]): LocaleOutcome {
  const exported = order.filter((l) => rows.some((r) => r.locale === l && r.exported));
  const notExported: LocaleOutcome['notExported'] = [];
  for (const l of order) {
    const missed = rows.filter((r) => r.locale === l && !r.exported);
    if (!missed.length) continue;
    const byWhy = new Map<string, string[]>();
    for (const r of missed) byWhy.set(r.why ?? 'not exported', [...(byWhy.get(r.why ?? 'not exported') ?? []), r.label]);
    const all = rows.filter((r) => r.locale === l).length === missed.length;
    for (const [why, labels] of byWhy)
      notExported.push({
        locale: l,
        why: all && byWhy.size === 1 ? why : `${why}: variant${labels.length === 1 ? '' : 's'} ${labels.join(', ')}`,
      });
  }
  return { exported, notExported };
}
