import { describe, expect, it } from 'vitest';
import type { BrandScore } from '../../../../src/generate/brand-score.ts';
import { variantMessage } from '../../../../src/slack/blocks/round.ts';

const brand = (over: Partial<BrandScore> = {}): BrandScore => ({
  score: 4 / 6,
  passed: 4,
  applicable: 6,
  rules: [
    { rule: 'colours', status: 'passed', detail: 'primary 12.00%, accent 1.30% in square' },
    { rule: 'logo_contrast', status: 'not_applicable', detail: 'the brand kit has no logo' },
    { rule: 'must_say', status: 'failed', detail: 'missing "Northwind"' },
    { rule: 'never_say', status: 'failed', detail: 'uses "cheap"' },
    { rule: 'channel_limits', status: 'passed', detail: 'within meta limits' },
    { rule: 'safe_zones', status: 'passed', detail: 'inside the safe zones of square' },
    { rule: 'tone', status: 'passed', detail: 'copywriter: warm' },
  ],
  ...over,
});

const variant = (b?: BrandScore, flags: string[] = []) => ({
  id: 'v-A',
  label: 'A',
  headline: 'Roasted <this> week',
  body: 'Beans at your door.',
  cta: 'Order now',
  concept: 'beans',
  reason: '',
  scores: { relevance: 0.31, novelty: 0.2, diversity: 0.1, preference: null, total: 0.4, ...(b ? { brand: b } : {}) },
  offline: false,
  flags,
});

const contexts = (m: ReturnType<typeof variantMessage>): string[] =>
  m.blocks.flatMap((b) => (b.type === 'context' ? (b.elements as { text: string }[]).map((e) => e.text) : []));

describe('the brand score on a variant in the thread', () => {
  it('shows the score, each failed rule by name with what was found, and the rules that could not be judged', () => {
    const m = variantMessage({ round: 1, variant: variant(brand()), fileId: 'F1', voteReaction: '+1' });
    const line = contexts(m).find((t) => t.startsWith('brand score'));
    expect(line).toBe(
      'brand score 67% (4 of 6 rules) · failed: must-say words: missing "Northwind"; never-say words: uses "cheap" · not applicable: logo contrast ≥ 3:1: the brand kit has no logo',
    );
  });

  it('marks a variant under the kit minimum with a warning and shows the regeneration', () => {
    const b = brand({ minimum: 0.8, regenerated: true });
    const m = variantMessage({
      round: 1,
      variant: variant(b, ["brand score 67% is below the kit's minimum 80% after one regeneration; failed: must-say words"]),
      fileId: 'F1',
      voteReaction: '+1',
    });
    const texts = contexts(m);
    expect(texts.find((t) => t.includes('brand score 67% (4 of 6'))).toMatch(
      /^:warning: brand score 67% \(4 of 6 rules\), regenerated once · failed:/,
    );
    expect(texts.some((t) => t.includes("below the kit's minimum 80% after one regeneration"))).toBe(true);
    // Meeting the minimum: no warning.
    const ok = variantMessage({ round: 1, variant: variant(brand({ minimum: 0.5 })), fileId: 'F1', voteReaction: '+1' });
    expect(contexts(ok).find((t) => t.includes('brand score'))).toMatch(/^brand score/);
  });

  it('escapes what the copy put in a failed rule, and shows nothing for rounds stored before brand scores', () => {
    const b = brand({
      rules: [{ rule: 'must_say', status: 'failed', detail: 'missing "<Acme> & co"' }],
      passed: 0,
      applicable: 1,
      score: 0,
    });
    const line = contexts(variantMessage({ round: 1, variant: variant(b), fileId: 'F1', voteReaction: '+1' })).find((t) =>
      t.startsWith('brand'),
    );
    expect(line).toContain('missing "&lt;Acme&gt; &amp; co"');
    const old = variantMessage({ round: 1, variant: variant(), fileId: 'F1', voteReaction: '+1' });
    expect(contexts(old).some((t) => t.includes('brand score'))).toBe(false);
  });
});
