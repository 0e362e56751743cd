/**
 * A variant's copy per locale once a person edited its copy. The brief-language locale is the
 * variant's copy, so it takes the edit; a translation was made from the copy before the edit, so
 * it is marked `outdated` (people see it as such) instead of passing for the translation of the
 * words they now vote on. Decided here, with the edit, so the thread only renders the field.
 */
import type { Copy } from '../generate/types.ts';
import type { VariantLocale } from './types.ts';

export function localesAfterEdit<V extends Pick<Copy, 'headline' | 'body' | 'cta'> & { locales?: VariantLocale[] }>(v: V): V {
  if (!v.locales?.length) return v;
  return {
    ...v,
    locales: v.locales.map((l): VariantLocale => {
      if (l.status === 'source') return { ...l, headline: v.headline, body: v.body, cta: v.cta };
      if (l.status === 'translated') return { ...l, outdated: true };
      return l;
    }),
  };
}
