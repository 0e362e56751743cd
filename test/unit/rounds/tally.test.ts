import { describe, expect, it } from 'vitest';
import { decideWinner, probabilityBest, tally, wholePercents } from '../../../src/rounds/tally.ts';
import type { Vote } from '../../../src/rounds/types.ts';
import { tallyMessage } from '../../../src/slack/blocks/round.ts';

const variants = [
  { id: 'a', label: 'A', position: 0, preference: 0.2 },
  { id: 'b', label: 'B', position: 1, preference: 0.9 },
  { id: 'c', label: 'C', position: 2, preference: null },
];
const vote = (user: string, variantId: string): Vote => ({
  roundId: 'r',
  user,
  audience: '',
  variantId,
  source: 'button',
  at: new Date(0),
});

describe('probability of being best', () => {
  it('is uniform with no votes and sums to one', () => {
    const p = probabilityBest([0, 0, 0]);
    for (const x of p) expect(x).toBeCloseTo(1 / 3, 1);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it('matches the exact Beta answer for two variants', () => {
    // P(p1 > p2) with p ~ Dirichlet(1+3, 1+1) = P(Beta(4,2) > 0.5) = 1 - I_0.5(4,2) = 13/16.
    const [p1] = probabilityBest([3, 1], { samples: 200_000 });
    expect(p1).toBeCloseTo(13 / 16, 2);
  });

  it('gives variants with the same count exactly the same chance', () => {
    expect(new Set(probabilityBest([0, 0, 0, 0])).size).toBe(1);
    const p = probabilityBest([2, 0, 2, 1]);
    expect(p[0]).toBe(p[2]);
  });

  it('shows whole percentages that sum to 100: no votes on four variants reads 25/25/25/25, not 25/25/25/26', () => {
    expect(wholePercents(probabilityBest([0, 0, 0, 0]))).toEqual([25, 25, 25, 25]);
    expect(wholePercents([1 / 3, 1 / 3, 1 / 3])).toEqual([34, 33, 33]);
    expect(wholePercents([0.004, 0.996])).toEqual([0, 100]);
    for (const counts of [
      [0, 0, 0],
      [3, 1, 0, 0, 2],
      [1, 1, 1, 1, 1, 1],
      [7, 2],
    ]) {
      expect(
        wholePercents(probabilityBest(counts)).reduce((a, b) => a + b, 0),
        counts.join(','),
      ).toBe(100);
    }
    // As the tally message shows them.
    const t = tally(
      ['a', 'b', 'c', 'd'].map((id, i) => ({ id, label: id.toUpperCase(), position: i, preference: null })),
      [],
    );
    const text = JSON.stringify(
      tallyMessage({
        roundId: 'r',
        round: 1,
        status: 'open',
        anonymous: false,
        hideTally: false,
        total: 0,
        entries: t.entries,
        pendingFeedback: 0,
      }).blocks,
    );
    expect(text.match(/(\d+)% chance best/g)).toEqual(Array(4).fill('25% chance best'));
  });

  it('is deterministic for the same counts', () => {
    expect(probabilityBest([2, 5, 1])).toEqual(probabilityBest([2, 5, 1]));
  });
});

describe('tally and winner', () => {
  it('counts votes per variant with voters', () => {
    const t = tally(variants, [vote('u1', 'a'), vote('u2', 'b'), vote('u3', 'b')]);
    expect(t.total).toBe(3);
    expect(t.entries.map((e) => [e.label, e.votes])).toEqual([
      ['A', 1],
      ['B', 2],
      ['C', 0],
    ]);
    expect(t.entries[1].voters).toEqual(['u2', 'u3']);
    expect(t.entries[1].probBest).toBeGreaterThan(t.entries[0].probBest);
  });

  it('breaks ties by preference, then by the earlier variant; no votes, no winner', () => {
    expect(decideWinner(variants, tally(variants, [vote('u1', 'a'), vote('u2', 'b')]))).toMatchObject({
      winnerId: 'b',
      tie: true,
      tiedLabels: ['A', 'B'],
      brokenBy: 'preference',
    });
    const noPref = variants.map((v) => ({ ...v, preference: null }));
    expect(decideWinner(noPref, tally(noPref, [vote('u1', 'c'), vote('u2', 'b')]))).toMatchObject({
      winnerId: 'b',
      tie: true,
      brokenBy: 'position',
    });
    // Equal predicted preferences do not break a tie: the earlier variant does, and the message must say so.
    const samePref = variants.map((v) => ({ ...v, preference: 0.5 }));
    expect(decideWinner(samePref, tally(samePref, [vote('u1', 'b'), vote('u2', 'a')]))).toMatchObject({
      winnerId: 'a',
      tie: true,
      brokenBy: 'position',
    });
    expect(decideWinner(variants, tally(variants, [vote('u1', 'c')]))).toMatchObject({ winnerId: 'c', tie: false, brokenBy: null });
    expect(decideWinner(variants, tally(variants, []))).toEqual({ winnerId: null, tie: false, tiedLabels: [], votes: 0, brokenBy: null });
  });
});
