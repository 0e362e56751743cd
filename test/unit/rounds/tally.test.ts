import { describe, expect, it } from 'vitest';
import { decideWinner, probabilityBest, tally } from '../../../src/rounds/tally.ts';
import type { Vote } from '../../../src/rounds/types.ts';

const variants = [
  { id: 'a', label: 'A', position: 0, preference: 0.2 },
  { id: 'b', label: 'B', position: 1, preference: 0.9 },
  { id: 'c', label: 'C', position: 2, preference: null },
];
const vote = (user: string, variantId: string): Vote => ({ roundId: 'r', user, variantId, source: 'button', at: new Date(0) });

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
