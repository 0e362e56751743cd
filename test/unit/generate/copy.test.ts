import { describe, expect, it } from 'vitest';
import { loadBrand } from '../../../src/generate/brands.ts';
import { type CopyContext, createOfflineCopywriter, distinctCombos, finalise, findBanned } from '../../../src/generate/copy.ts';
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

describe('offline copy', () => {
  it('recombines the brief and the library within limits, without banned words, labelled offline', async () => {
    const out = await createOfflineCopywriter().write(ctx());
    expect(out.drafts).toHaveLength(4);
    expect(out.textCalls).toBe(0);
    const heads = new Set(out.drafts.map((d) => d.headline));
    expect(heads.size).toBeGreaterThan(1);
    for (const d of out.drafts) {
      expect(d.offline).toBe(true);
      expect(d.flags.join()).toMatch(/offline copy/);
      expect(Array.from(d.headline).length).toBeLessThanOrEqual(27);
      expect(Array.from(d.body).length).toBeLessThanOrEqual(125);
      expect(findBanned(`${d.headline} ${d.body} ${d.cta}`, acme.neverSay)).toEqual([]);
    }
    // Inspiration that performed is reused; the one with a banned word is not.
    expect(out.drafts.some((d) => d.headline === 'Pack light, hike far')).toBe(true);
    expect(out.drafts.some((d) => /thrills/.test(d.headline))).toBe(false);
  });

  it('never borrows another brand’s words, however similar the library says they are', async () => {
    const out = await createOfflineCopywriter().write(
      ctx({
        inspiration: [
          {
            id: 'c',
            brand: 'northwind',
            headline: 'Decaf that tastes like coffee',
            body: 'Barista-grade at home.',
            cta: 'Try a sample',
            ctr: 0.09,
            similarity: 0.99,
          },
          {
            id: 'a',
            brand: 'acme',
            headline: 'Pack light, hike far',
            body: 'Our lightest pack yet.',
            cta: 'Shop the pack',
            ctr: 0.03,
            similarity: 0.5,
          },
        ],
      }),
    );
    const text = out.drafts.map((d) => `${d.headline} ${d.body} ${d.cta}`).join(' ');
    expect(text).not.toMatch(/Decaf|Barista|Try a sample/);
    expect(out.drafts.some((d) => d.headline === 'Pack light, hike far')).toBe(true);
  });

  it('gives every variant its own copy even from a one-line brief and an empty library', async () => {
    const out = await createOfflineCopywriter().write(ctx({ brief: 'Trail pack for day hikes', inspiration: [], count: 3 }));
    expect(out.drafts).toHaveLength(3);
    expect(new Set(out.drafts.map((d) => `${d.headline}|${d.body}|${d.cta}`)).size).toBe(3);
    for (const d of out.drafts) {
      expect(d.body).toContain('Acme'); // the brand's must-say, in every variant
      expect(d.headline).not.toBe('Acme: Trail pack for day'); // no brand-first headline cut mid-phrase
    }
    const exclaimed = await createOfflineCopywriter().write(
      ctx({ brief: 'Great boots! Waterproof to the ankle; free returns', inspiration: [], count: 4 }),
    );
    expect(new Set(exclaimed.drafts.map((d) => `${d.headline}|${d.body}`)).size).toBe(4);
    expect(exclaimed.drafts.map((d) => d.body).join(' ')).not.toMatch(/[!?]\./);
  });

  it('enumerates distinct copy combinations, headlines first, repeating only when they run out', () => {
    expect(distinctCombos(3, 2, 1, 4)).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
      [0, 1, 0],
    ]);
    expect(distinctCombos(1, 2, 2, 4)).toEqual([
      [0, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
      [0, 1, 1],
    ]);
    expect(distinctCombos(1, 1, 1, 4)).toEqual([[0, 0, 0]]);
  });

  it('keeps the brief’s language and prefers short headlines when feedback asks', async () => {
    const out = await createOfflineCopywriter().write(
      ctx({
        brief: 'Sac à dos léger pour randonneurs du week-end. Livraison offerte',
        inspiration: [],
        feedback: ['shorter headline please'],
        count: 2,
      }),
    );
    expect(out.drafts[0].headline).toBe('Livraison offerte');
    expect(out.drafts.map((d) => d.body).join()).toMatch(/Sac à dos léger/);
    expect(out.drafts[0].concept).toMatch(/shorter headline/);
  });
});
