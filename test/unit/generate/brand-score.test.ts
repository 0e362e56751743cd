import { describe, expect, it } from 'vitest';
import {
  BRAND_RULES,
  belowMinimum,
  belowMinimumWarning,
  brandScore,
  brandScoreLine,
  failedRules,
  type RenderFacts,
} from '../../../src/generate/brand-score.ts';
import { type BrandKit, DEFAULT_BRAND } from '../../../src/generate/brands.ts';
import { limitsFor } from '../../../src/vocabulary.ts';

const kit: BrandKit = {
  ...DEFAULT_BRAND,
  name: 'northwind',
  logo: new Uint8Array([1, 2, 3]),
  mustSay: ['Northwind'],
  neverSay: ['cheap'],
  toneWords: ['warm', 'unhurried'],
  minBrandScore: 0.8,
};

const square = (over: Partial<RenderFacts> = {}): RenderFacts => ({
  format: 'square',
  headlineBox: { x: 64, y: 600, width: 800, height: 200 },
  ctaBox: { x: 64, y: 880, width: 300, height: 90 },
  logoContrast: 5.2,
  colours: [
    { name: 'primary', hex: '#222222', share: 0.2 },
    { name: 'accent', hex: '#3A86FF', share: 0.03 },
  ],
  ...over,
});

const good = { headline: 'Northwind, roasted slowly', body: 'Beans roasted this week.', cta: 'Order now' };
const score = (over: Partial<Parameters<typeof brandScore>[0]> = {}) =>
  brandScore({
    copy: good,
    kit,
    channel: 'meta',
    limits: limitsFor('meta'),
    renders: [square()],
    tone: { respected: true, note: 'warm and unhurried' },
    ...over,
  });

describe('brand score', () => {
  it('passes every rule for copy and renders that keep the kit, and judges all seven', () => {
    const s = score();
    expect(s.rules.map((r) => r.rule)).toEqual([...BRAND_RULES]);
    expect(s).toMatchObject({ score: 1, passed: 7, applicable: 7, minimum: 0.8 });
    expect(failedRules(s)).toEqual([]);
    expect(belowMinimum(s)).toBe(false);
  });

  it('names each failed rule with what was found, and scores the share passed', () => {
    const s = score({
      copy: { headline: 'Cheap beans, fast', body: 'x'.repeat(200), cta: 'Buy' },
      renders: [
        square({
          logoContrast: 2.1,
          colours: [
            { name: 'primary', hex: '#222222', share: 0.004 },
            { name: 'accent', hex: '#3A86FF', share: 0.03 },
          ],
        }),
        // A story whose headline runs into the top 250 px kept free of text.
        square({
          format: 'story',
          headlineBox: { x: 64, y: 120, width: 800, height: 300 },
          ctaBox: { x: 64, y: 1400, width: 300, height: 90 },
        }),
      ],
      tone: { respected: false, note: 'misses "unhurried": the copy is urgent' },
    });
    expect(s.passed).toBe(0);
    expect(s.applicable).toBe(7);
    expect(s.score).toBe(0);
    const failed = failedRules(s).join('\n');
    expect(failed).toContain('primary #222222 covers 0.40% of square (needs ≥ 0.50%)');
    expect(failed).toContain('logo contrast below 3:1 in square 2.10:1');
    expect(failed).toContain('missing "Northwind"');
    expect(failed).toContain('uses "cheap"');
    expect(failed).toMatch(/primary text is 200, limit 125/);
    expect(failed).toContain('story headline: top at 120 px, safe zone starts at 250');
    expect(failed).toContain('misses "unhurried"');
    expect(belowMinimum(s)).toBe(true);
    expect(belowMinimumWarning({ ...s, regenerated: true })).toMatch(
      /^brand score 0% is below the kit's minimum 80% after one regeneration; failed: /,
    );
  });

  it('leaves rules it cannot judge out of the denominator and says why, never counting them as passed', () => {
    const bare: BrandKit = { ...kit, logo: new Uint8Array(), mustSay: [], neverSay: [], toneWords: [] };
    const s = score({ kit: bare, tone: undefined, copy: { ...good, headline: 'Roasted slowly' } });
    expect(s).toMatchObject({ passed: 3, applicable: 3, score: 1 });
    const na = s.rules.filter((r) => r.status === 'not_applicable');
    expect(na.map((r) => [r.rule, r.detail])).toEqual([
      ['logo_contrast', 'the brand kit has no logo'],
      ['must_say', 'the brand kit has no must-say words'],
      ['never_say', 'the brand kit has no never-say words'],
      ['tone', 'the brand kit names no tone words'],
    ]);
    expect(brandScoreLine(s)).toContain('not applicable: logo contrast ≥ 3:1: the brand kit has no logo');

    // Offline copy has no self-check: the tone rule is out, one failure of six is 83 %.
    const offline = score({
      tone: undefined,
      toneAbsentWhy: 'offline copy: no copywriter self-check',
      copy: { ...good, headline: 'Roasted slowly' },
    });
    expect(offline.rules.find((r) => r.rule === 'tone')).toMatchObject({
      status: 'not_applicable',
      detail: 'offline copy: no copywriter self-check',
    });
    expect(offline).toMatchObject({ passed: 5, applicable: 6 });
    expect(brandScoreLine(offline)).toMatch(/^brand score 83% \(5 of 6 rules\) · failed: must-say words: missing "Northwind"/);
  });

  it('counts must-say words as whole words in any case, and a kit without a minimum is never under it', () => {
    const s = score({ kit: { ...kit, minBrandScore: undefined }, copy: { ...good, headline: 'NORTHWIND roasts' } });
    expect(s.rules.find((r) => r.rule === 'must_say')?.status).toBe('passed');
    expect(score({ copy: { ...good, headline: 'Northwinds roast' } }).rules.find((r) => r.rule === 'must_say')?.status).toBe('failed');
    expect(belowMinimum({ ...s, score: 0 })).toBe(false);
  });
});
