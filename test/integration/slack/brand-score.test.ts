/**
 * The brand score in the thread: what the generator scored reaches every variant's message through
 * the round store (scores JSON) and the round view, and the strict Slack stand-in takes the blocks.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BrandScore } from '../../../src/generate/brand-score.ts';
import { type Harness, harness, tallyMessage, variantMessages } from './harness.ts';

const C = 'C0GENERAL';
let h: Harness;
beforeEach(async () => {
  h = await harness({ tallyUpdateMs: 50 });
});
afterEach(async () => {
  await h.close();
});

const scoreFor = (i: number): BrandScore =>
  i === 0
    ? {
        score: 1,
        passed: 6,
        applicable: 6,
        rules: [
          { rule: 'colours', status: 'passed', detail: 'primary 9.10%, accent 1.20% in square' },
          { rule: 'tone', status: 'not_applicable', detail: 'offline copy: no copywriter self-check' },
        ],
      }
    : {
        score: 4 / 6,
        passed: 4,
        applicable: 6,
        minimum: 0.8,
        regenerated: true,
        rules: [
          { rule: 'must_say', status: 'failed', detail: 'missing "Northwind"' },
          { rule: 'logo_contrast', status: 'failed', detail: 'logo contrast below 3:1 in story 2.40:1' },
        ],
      };

describe('brand score in the thread', () => {
  it("shows every variant's brand score and its failed rules by name, with a warning under the kit minimum", async () => {
    const generate = h.gen.generate.bind(h.gen);
    h.gen.generate = async (req) => {
      const r = await generate(req);
      for (const [i, v] of r.variants.entries()) {
        v.scores = { ...v.scores, brand: scoreFor(i) };
        if (i > 0) v.flags.push("brand score 67% is below the kit's minimum 80% after one regeneration; failed: must-say words");
      }
      return r;
    };
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Coffee beans roasted this week --variants 2' });
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).find((m) => m.text.includes('Coffee beans')), 5000, 'parent');
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
    const [A, B] = variantMessages(h.slack, C, parent.ts).map((v) => JSON.stringify(v.message.blocks));
    expect(A).toContain(
      'brand score 100% (6 of 6 rules) · not applicable: tone words (copywriter self-check): offline copy: no copywriter self-check',
    );
    expect(B).toContain(
      ':warning: brand score 67% (4 of 6 rules), regenerated once · failed: must-say words: missing \\"Northwind\\"; logo contrast ≥ 3:1: logo contrast below 3:1 in story 2.40:1',
    );
    expect(B).toContain("below the kit's minimum 80% after one regeneration");
    // Kept with the round: what a later view (an edit, App Home) reads back.
    const round = await h.store.latestRoundInThread(C, parent.ts);
    const stored = await h.rounds.variants(round?.id as string);
    expect(stored.map((v) => v.scores.brand?.score)).toEqual([1, 4 / 6]);
  });
});
