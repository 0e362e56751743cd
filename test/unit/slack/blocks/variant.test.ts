import { describe, expect, it } from 'vitest';
import { preferenceText, variantMessage } from '../../../../src/slack/blocks/round.ts';

const variant = (preference: number | null) => ({
  id: 'v-A',
  label: 'A',
  headline: 'Sunscreen that stays out of your eyes',
  body: 'Run the trail, not the tears.',
  cta: 'Shop now',
  concept: 'runner at dawn',
  reason: '',
  scores: { relevance: 0.31, novelty: 0.2, diversity: 0.1, preference, total: 0.4 },
  offline: false,
  flags: [],
});

describe('the preference score on a variant', () => {
  it('reads as a 0–100 percentile against past creatives', () => {
    const m = variantMessage({ round: 1, variant: variant(0.87), fileId: null, voteReaction: '+1' });
    expect(JSON.stringify(m.blocks)).toContain('preference 87th percentile');
    expect(JSON.stringify(m.blocks)).not.toContain('preference 0.87');
    expect([0, 0.01, 0.02, 0.03, 0.11, 0.12, 0.13, 0.21, 0.999].map((p) => preferenceText(p))).toEqual([
      'preference 0th percentile',
      'preference 1st percentile',
      'preference 2nd percentile',
      'preference 3rd percentile',
      'preference 11th percentile',
      'preference 12th percentile',
      'preference 13th percentile',
      'preference 21st percentile',
      'preference 100th percentile',
    ]);
  });

  it('says "insufficient data" when there is no model or too few votes', () => {
    const m = variantMessage({ round: 1, variant: variant(null), fileId: null, voteReaction: '+1' });
    expect(JSON.stringify(m.blocks)).toContain('preference: insufficient data');
  });
});

describe('the voting hint on a variant', () => {
  it('warns in anonymous rounds that a reaction shows who reacted', () => {
    const open = JSON.stringify(variantMessage({ round: 1, variant: variant(null), fileId: null, voteReaction: '+1' }).blocks);
    expect(open).toContain('or react with :+1:');
    const anon = JSON.stringify(
      variantMessage({ round: 1, variant: variant(null), fileId: null, voteReaction: '+1', anonymous: true }).blocks,
    );
    expect(anon).toContain('anonymous');
    expect(anon).toContain('Slack shows who reacted');
  });
});
