import { describe, expect, it } from 'vitest';
import { loadBrand } from '../../../src/generate/brands.ts';
import { type CopyContext, finalise, findBanned } from '../../../src/generate/copy.ts';
import { limitsFor } from '../../../src/vocabulary.ts';

const acme = loadBrand('brands', 'acme', { fonts: new Set(['dejavu sans']) });

const ctx = (over: Partial<CopyContext> = {}): CopyContext => ({
  brief: 'Lightweight trail backpack for weekend hikers. Cheap shipping on every order, 20% off this month',
  brand: acme,
  channel: 'meta',
  limits: limitsFor('meta'),
  inspiration: [
    {
      id: 'a',
      brand: 'acme',
      headline: 'Pack light, hike far',
      body: 'Our lightest pack yet.',
      cta: 'Shop the pack',
      ctr: 0.03,
      similarity: 0.8,
    },
    { id: 'b', brand: 'acme', headline: 'Cheap thrills outdoors', body: 'Guaranteed fun.', cta: 'Go', ctr: 0.05, similarity: 0.7 },
  ],
  feedback: [],
  count: 4,
  ...over,
});

describe('never-say words', () => {
  it('match whole words in any case, not parts of words', () => {
    expect(findBanned('A CHEAP pack', ['cheap'])).toEqual(['cheap']);
    expect(findBanned('Cheapskate', ['cheap'])).toEqual([]);
    expect(findBanned('fake meat, honestly', ['fake meat'])).toEqual(['fake meat']);
  });

  it('find words in copy written without spaces (Chinese, Japanese, Thai), still not inside Latin words', () => {
    expect(findBanned('Acme夏季跑鞋，全场50%折扣', ['Acme', '50%'])).toEqual(['Acme', '50%']);
    expect(findBanned('超便宜的跑鞋', ['便宜'])).toEqual(['便宜']);
    expect(findBanned('安いAcmeのくつ', ['acme'])).toEqual(['acme']);
    expect(findBanned('跑鞋 Acmex', ['Acme'])).toEqual([]);
    expect(findBanned('跑鞋 xAcme', ['Acme'])).toEqual([]);
  });

  it('copy that still uses one is rejected; over-long copy is trimmed and flagged', () => {
    const c = ctx();
    expect(finalise({ headline: 'Cheap and good', body: 'x', cta: 'Go', concept: '', flags: [], offline: false }, c).rejected).toMatch(
      /never-say word "cheap"/,
    );
    const r = finalise(
      { headline: 'The lightest trail pack we ever made', body: 'x', cta: 'Go', concept: '', flags: [], offline: false },
      c,
    );
    expect(r.draft?.headline).toBe('The lightest trail pack…');
    expect(r.draft?.flags).toEqual(['headline trimmed to 27 characters for meta']);
  });
});
