/**
 * Translated locales as ads of their own: which locales of a variant are exported, their ad keys
 * (distinct from the source's and each other's, the same at every export), translations left out
 * once the copy was edited, and the thread's summary of what was and was not exported.
 */
import { describe, expect, it } from 'vitest';
import { AD_KEY_PATTERN, adKey } from '../../../src/export/build.ts';
import { localeAdKey, localeOutcome, sourceLocale, staleTranslation, variantLocales } from '../../../src/export/locale-ads.ts';
import type { ContentVersion, VariantLocale, VariantRecord } from '../../../src/rounds/types.ts';

const copy = { headline: 'Sunscreen that stays put', body: 'No sting, even on long runs.', cta: 'Shop now' };
const de: VariantLocale = {
  locale: 'de',
  status: 'translated',
  headline: 'Sonnenschutz, der hält',
  body: 'Brennt nicht, auch nicht auf langen Läufen.',
  cta: 'Jetzt kaufen',
  flags: [],
};
const fr: VariantLocale = {
  locale: 'fr',
  status: 'not-translated',
  headline: '',
  body: '',
  cta: '',
  flags: ['French: not translated (the translator was offline)'],
};

function variant(locales?: VariantLocale[], over: Partial<VariantRecord> = {}): VariantRecord {
  return {
    id: 'r1-A',
    roundId: 'r1',
    label: 'A',
    position: 0,
    ...copy,
    concept: 'c',
    reason: 'r',
    scores: {} as VariantRecord['scores'],
    offline: true,
    flags: [],
    formats: ['square'],
    messageTs: null,
    fileId: null,
    ...(locales ? { locales } : {}),
    ...over,
  };
}

const version = (by: string | null): ContentVersion => ({
  variantId: 'r1-A',
  roundId: 'r1',
  seq: by ? 2 : 1,
  hash: 'a'.repeat(64),
  ...copy,
  formats: ['square'],
  by,
  at: new Date(0),
});

describe('locale ads', () => {
  it('exports translated locales only; a not-translated one is left out with the translator’s reason', () => {
    const src: VariantLocale = { locale: 'en', status: 'source', ...copy, flags: [] };
    const split = variantLocales(variant([src, de, fr]));
    expect(split.source).toBe('en');
    expect(split.translated.map((l) => l.locale)).toEqual(['de']);
    expect(split.skipped).toEqual([{ locale: 'fr', why: 'not translated (the translator was offline)' }]);
    // A "translated" entry with no words is no ad either.
    expect(variantLocales(variant([{ ...de, headline: ' ', body: '' }])).skipped).toEqual([
      { locale: 'de', why: 'translated copy is empty' },
    ]);
    expect(variantLocales(variant())).toEqual({ source: undefined, translated: [], skipped: [] });
  });

  it('the source copy’s locale: its own entry, else the brief’s language; none without locales', () => {
    expect(sourceLocale(variant([de, fr]), 'Sunscreen for trail runners')).toBe('en');
    expect(sourceLocale(variant([{ ...de, locale: 'de-AT', status: 'source' }, fr]), 'Sonnencreme')).toBe('de-AT');
    expect(sourceLocale(variant(), 'Sunscreen')).toBeUndefined();
  });

  it('gives each locale a key of its own, stable across exports and distinct from the source’s', () => {
    const hash = 'f'.repeat(64);
    const k = localeAdKey('de', hash, de);
    expect(k).toMatch(AD_KEY_PATTERN);
    expect(k).toBe(localeAdKey('de', hash, { ...de }));
    expect(k).not.toBe(adKey(hash));
    // The same words under another tag, another approved content, or other words: another ad.
    expect(new Set([k, localeAdKey('de-AT', hash, de), localeAdKey('de', 'e'.repeat(64), de), localeAdKey('de', hash, copy)]).size).toBe(4);
  });

  it('leaves translations out once a person edited the copy (they are of the earlier copy)', () => {
    expect(staleTranslation(variant([de]), version(null))).toBeUndefined();
    expect(staleTranslation(variant([de]), version('U1'))).toMatch(/edited after it was translated/);
    const src: VariantLocale = { locale: 'en', status: 'source', ...copy, flags: [] };
    expect(staleTranslation(variant([src, de], { headline: 'New words' }), undefined)).toMatch(/edited/);
  });

  it('sums up per locale: exported when some variant’s ad was, and names the variants left out', () => {
    const out = localeOutcome(
      [
        { locale: 'de', label: 'A', exported: true },
        { locale: 'de', label: 'B', exported: false, why: 'left out on every platform (needs a headline)' },
        { locale: 'fr', label: 'A', exported: false, why: 'not translated' },
        { locale: 'fr', label: 'B', exported: false, why: 'not translated' },
      ],
      ['de', 'fr', 'it'],
    );
    expect(out).toEqual({
      exported: ['de'],
      notExported: [
        { locale: 'de', why: 'left out on every platform (needs a headline): variant B' },
        { locale: 'fr', why: 'not translated' },
      ],
    });
  });
});
