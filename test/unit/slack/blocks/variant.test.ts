import { describe, expect, it } from 'vitest';
import { truncateMrkdwn } from '../../../../src/slack/blocks/kit.ts';
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

describe('the preference interval on a variant', () => {
  it('shows the 80% interval, and reads "uncertain" while the interval is wide', () => {
    expect(preferenceText(0.62, { low: 0.5, high: 0.71 })).toBe('preference 62nd percentile (50th–71st)');
    expect(preferenceText(0.4, { low: 0.12, high: 0.83 })).toBe('preference uncertain (12th–83rd percentile)');
    const m = variantMessage({
      round: 1,
      variant: { ...variant(0.4), scores: { ...variant(0.4).scores, preferenceLow: 0.1, preferenceHigh: 0.9 } },
      fileId: null,
      voteReaction: '+1',
    });
    expect(JSON.stringify(m.blocks)).toContain('preference uncertain (10th–90th percentile)');
    expect(JSON.stringify(m.blocks)).not.toContain('insufficient data');
  });

  it('says in the note when a variant was shown to learn', () => {
    const reason = 'shown to learn: #7 of 12 by score, below the cut, but the team may like it more than the model can yet tell';
    const m = variantMessage({ round: 1, variant: { ...variant(0.4), reason }, fileId: null, voteReaction: '+1' });
    expect(JSON.stringify(m.blocks)).toContain('shown to learn');
  });
});

describe("a variant's flags near the length limit", () => {
  /** The context line holding the flags, as Slack would show it. */
  const flagsLine = (flags: string[]) => {
    const m = variantMessage({ round: 1, variant: { ...variant(0.5), flags }, fileId: null, voteReaction: '+1' });
    const texts = m.blocks.flatMap((b) => ((b as { elements?: { text?: string }[] }).elements ?? []).map((e) => e.text ?? ''));
    return texts.find((t) => t.includes('headline shortened')) ?? '';
  };
  /** Every "&" starts a whole entity: nothing like "&am" reaches Slack. */
  const wholeEntities = (t: string) => !/&(?!amp;|lt;|gt;)/.test(t);

  it('never cuts an escaped "&" in half, wherever the limit falls', () => {
    for (let n = 485; n <= 500; n++) {
      const t = flagsLine([`headline shortened ${'x'.repeat(n - 19)} Fish & Chips <b> & more`]);
      expect(t.endsWith('…')).toBe(true);
      expect(t.length).toBeLessThanOrEqual(500);
      expect(wholeEntities(t), t.slice(-12)).toBe(true);
      expect(t).not.toMatch(/&[a-z]*…$/);
    }
  });

  it('keeps a mention whole when the cut falls inside it', () => {
    const t = flagsLine([`headline shortened ${'x'.repeat(458)}`, 'copy edited by <@U0BOBBY123>']);
    expect(t).not.toMatch(/<@U[0-9A-Z]*…$/);
    expect(truncateMrkdwn('ab <@U0BOB> cd', 8)).toBe('ab …');
    expect(truncateMrkdwn('a &amp; b', 5)).toBe('a …');
    expect(truncateMrkdwn('short', 10)).toBe('short');
  });
});
