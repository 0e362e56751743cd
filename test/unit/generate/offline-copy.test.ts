/**
 * The offline copywriter on the held briefs: headlines that differ, fit their channel's limits
 * as the platform counts them without cutting a phrase, never print targeting, tone words or form
 * labels, a CTA for the brief's intent in its language, and feedback that shows.
 */
import { describe, expect, it } from 'vitest';
import { type BrandKit, DEFAULT_BRAND, loadBrand } from '../../../src/generate/brands.ts';
import type { CopyContext } from '../../../src/generate/copy.ts';
import { createOfflineCopywriter, distinctCombos, offlineHeadlines, readFeedback } from '../../../src/generate/offline-copy.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { countLength, wordUnits } from '../../../src/words.ts';
import { HELD_BRIEFS, type HeldBrief } from '../../fixtures/briefs/held.ts';

const fonts = new Set(['dejavu sans', 'dejavu serif', 'dejavu sans condensed']);
const kit = (name?: string): BrandKit => (name ? loadBrand('brands', name, { fonts }) : DEFAULT_BRAND);

const ctx = (b: Pick<HeldBrief, 'brief' | 'fields' | 'brand' | 'channel'>, over: Partial<CopyContext> = {}): CopyContext => ({
  brief: b.brief,
  fields: b.fields,
  brand: kit(b.brand),
  channel: b.channel,
  limits: limitsFor(b.channel),
  inspiration: [],
  feedback: [],
  count: 4,
  ...over,
});

const write = (c: CopyContext) => createOfflineCopywriter().write(c);

describe('offline copy on the held briefs', () => {
  for (const held of HELD_BRIEFS) {
    it(`${held.name}: four different headlines, whole, within ${held.channel}'s limits, nothing hidden shown, CTA "${held.cta}"`, async () => {
      const c = ctx(held);
      const out = await write(c);
      expect(out.drafts).toHaveLength(4);
      expect(new Set(out.drafts.map((d) => d.headline)).size).toBe(4);
      for (const d of out.drafts) {
        expect(d.offline).toBe(true);
        expect(countLength(d.headline, c.limits.count), d.headline).toBeLessThanOrEqual(c.limits.headline.max);
        expect(countLength(d.body, c.limits.count), d.body).toBeLessThanOrEqual(c.limits.body.max);
        // Whole phrases: nothing trimmed or flagged as such.
        expect(`${d.headline} ${d.body}`).not.toContain('…');
        expect(d.flags.join()).not.toMatch(/trimmed/);
        const shown = `${d.headline} ${d.body} ${d.cta}`;
        for (const word of held.never) expect(shown.toLowerCase(), `${held.name} shows "${word}"`).not.toContain(word.toLowerCase());
        expect(shown).not.toMatch(/\b(Product|Audience|Tone|Offer)\s*:/i);
        // In the brief's language.
        if (held.language === 'zh') expect(d.headline).toMatch(/\p{Script=Han}/u);
        else expect(d.headline).not.toMatch(/\p{Script=Han}/u);
      }
      expect(out.drafts[0].cta).toBe(held.cta);
      const brand = kit(held.brand);
      if (brand.mustSay.length) for (const d of out.drafts) expect(`${d.headline} ${d.body}`).toContain(brand.mustSay[0]);
    });
  }

  it('never cuts a headline inside a phrase: each is whole words of the angles, not the brief cut at the limit', async () => {
    const out = await write(ctx(HELD_BRIEFS[0]));
    const heads = out.drafts.map((d) => d.headline);
    // The old offline copy cut the brief at 27: "Summer sale on running" (losing "shoes").
    expect(heads).not.toContain('Summer sale on running');
    expect(heads.some((h) => /running shoes/i.test(h))).toBe(true);
    expect(heads.join(' ')).not.toMatch(/\bEnergetic\b/);
  });

  it('picks the CTA by intent, in the brief’s language', async () => {
    const cta = async (brief: string, brand?: string) => (await write(ctx({ brief, brand, channel: 'meta' }))).drafts[0].cta;
    expect(await cta('Summer sale on running shoes')).toBe('Shop now');
    expect(await cta('Budget app that sorts your receipts')).toBe('Download');
    expect(await cta('Free webinar on retirement planning, sign up today')).toBe('Sign up');
    expect(await cta('E-bike for city commuters. Book a test ride')).toBe('Book now');
    expect(await cta('夏季跑鞋大促，全场8折')).toBe('立即购买');
    expect(await cta('记账应用，下载即送会员')).toBe('立即下载');
    expect(await cta('Leichter Wanderrucksack, 20% Rabatt')).toBe('Jetzt kaufen');
    expect(await cta('Sac à dos léger, livraison offerte')).toBe('Acheter');
    expect(await cta('Mochila ligera, envío gratis')).toBe('Comprar ahora');
    // No intent in the brief: the brand kit's CTA.
    expect(await cta('Small-batch coffee, roasted Monday', 'northwind')).toBe('Order now');
  });

  it('counts Chinese twice on Google, so a headline there is half as many characters', async () => {
    const held = HELD_BRIEFS.find((h) => h.name === 'chinese-offer-google') as HeldBrief;
    for (const d of (await write(ctx(held))).drafts) expect(2 * [...d.headline].length).toBeLessThanOrEqual(30);
  });

  it('keeps Chinese words whole: every headline is whole words of the brief’s phrases', async () => {
    const out = await write(ctx(HELD_BRIEFS[1]));
    for (const d of out.drafts) {
      expect(d.headline).not.toMatch(/清爽不$|^油腻/);
      expect(wordUnits(d.headline).join('')).toBe(d.headline);
    }
    expect(out.drafts.map((d) => d.headline)).toContain('清爽不油腻的防晒霜');
  });
});

describe('feedback changes the next round', () => {
  const backpack = HELD_BRIEFS.find((h) => h.name === 'english-offer') as HeldBrief;

  it('"shorter headline" makes the headlines visibly shorter', async () => {
    const before = await write(ctx(backpack));
    const after = await write(ctx(backpack, { feedback: ['shorter headline please'] }));
    const mean = (ds: { headline: string }[]) => ds.reduce((s, d) => s + d.headline.length, 0) / ds.length;
    expect(mean(after.drafts)).toBeLessThan(0.75 * mean(before.drafts));
    for (const d of after.drafts) expect(d.headline.length).toBeLessThanOrEqual(16);
    expect(new Set(after.drafts.map((d) => d.headline)).size).toBe(4);
  });

  it('an offer in feedback leads the headline', async () => {
    const plain = { brief: 'Lightweight trail backpack for weekend hikers', brand: 'acme', channel: 'meta' as const };
    const before = await write(ctx(plain));
    expect(before.drafts[0].headline).not.toMatch(/30%/);
    const after = await write(ctx(plain, { feedback: ['lead with 30% off'] }));
    expect(after.drafts[0].headline).toMatch(/^30% off/);
    expect(after.drafts[0].body).toMatch(/30% off/);
    expect(readFeedback(['lead with 30% off']).offer?.short).toBe('30% off');
  });

  it('any feedback gives different copy than the round before (generate --feedback)', async () => {
    for (const held of HELD_BRIEFS) {
      const before = (await write(ctx(held))).drafts.map((d) => d.headline);
      const after = (await write(ctx(held, { feedback: ['warmer colours please'] }))).drafts.map((d) => d.headline);
      expect(after, held.name).not.toEqual(before);
      expect(after[0], held.name).not.toBe(before[0]);
    }
  });

  it("moves the leader's headline behind the new angles", async () => {
    const c = ctx(backpack);
    const first = offlineHeadlines(c)[0].text;
    const next = offlineHeadlines({ ...c, feedback: ['more like this'], leader: { headline: first, body: 'x', cta: 'Shop now' } });
    expect(next[0].text).not.toBe(first);
    expect(next.map((h) => h.text)).toContain(first);
  });
});

describe('what offline copy borrows', () => {
  const inspiration = [
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
    { id: 'b', brand: 'acme', headline: 'Cheap thrills outdoors', body: 'Guaranteed fun.', cta: 'Go', ctr: 0.05, similarity: 0.7 },
  ];

  it('the same brand’s past headlines, never another brand’s words, never a never-say word', async () => {
    const out = await write(ctx({ brief: 'Trail pack for day hikes', brand: 'acme', channel: 'meta' }, { inspiration, count: 8 }));
    const text = out.drafts.map((d) => `${d.headline} ${d.body} ${d.cta}`).join(' ');
    expect(text).not.toMatch(/Decaf|Barista|Try a sample|thrills|Guaranteed/i);
    expect(out.drafts.map((d) => d.headline)).toContain('Pack light, hike far');
  });

  it('drops a selling point with a never-say word rather than printing it', async () => {
    const out = await write(
      ctx({ brief: 'Lightweight trail backpack. Cheap shipping on every order, 20% off this month', brand: 'acme', channel: 'meta' }),
    );
    for (const d of out.drafts) expect(`${d.headline} ${d.body}`).not.toMatch(/cheap/i);
    expect(out.drafts[0].headline).toMatch(/20% off/);
  });

  it('enumerates distinct copy combinations, headlines first, repeating only when they run out', () => {
    expect(distinctCombos(3, 2, 1, 4)).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
      [0, 1, 0],
    ]);
    expect(distinctCombos(1, 1, 1, 4)).toEqual([[0, 0, 0]]);
  });
});
