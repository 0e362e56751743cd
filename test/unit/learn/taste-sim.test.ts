import { describe, expect, it } from 'vitest';
import { createWorld, finalVotes, type SimBrief, type VoteAction } from '../../../src/learn/taste-sim.ts';
import { createRng } from '../../../src/linalg.ts';

const small = { dims: 64, latent: 8, library: 150, pastRounds: 12 };

function spearman(a: number[], b: number[]): number {
  const ranks = (xs: number[]) => {
    const order = xs.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array(xs.length);
    order.forEach(([, i], k) => {
      r[i] = k;
    });
    return r as number[];
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const m = (n - 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - m) * (rb[i] - m);
    da += (ra[i] - m) ** 2;
    db += (rb[i] - m) ** 2;
  }
  return num / Math.sqrt(da * db);
}

describe('the simulated team', () => {
  it('is reproducible from its seed, and another seed is another world', () => {
    const a = createWorld({ seed: 3, ...small });
    const b = createWorld({ seed: 3, ...small });
    const c = createWorld({ seed: 4, ...small });
    expect(a.brief(5).candidates[2].imageEmbedding).toEqual(b.brief(5).candidates[2].imageEmbedding);
    expect(a.library.map((r) => r.clicks)).toEqual(b.library.map((r) => r.clicks));
    const shown = a
      .brief(5)
      .candidates.slice(0, 4)
      .map((x) => x.id);
    expect(a.vote(a.brief(5), shown, createRng(1))).toEqual(b.vote(b.brief(5), shown, createRng(1)));
    expect(c.brief(5).candidates[2].imageEmbedding).not.toEqual(a.brief(5).candidates[2].imageEmbedding);
    // Briefs do not depend on the order they are asked for in.
    expect(createWorld({ seed: 3, ...small }).brief(9).candidates[0].teamUtility).toBe(a.brief(9).candidates[0].teamUtility);
  });

  it('makes CLIP-like embeddings: unit length, the asked width, related within a brief', () => {
    const w = createWorld({ seed: 1, ...small });
    const b = w.brief(0);
    for (const c of b.candidates) {
      expect(c.imageEmbedding).toHaveLength(64);
      const n = Math.hypot(...c.imageEmbedding);
      expect(n).toBeCloseTo(1, 5);
      expect(Math.hypot(...c.textEmbedding)).toBeCloseTo(1, 5);
    }
    const cos = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i], 0);
    // A brief's candidates vary around its topic: closer to each other than to another brief's.
    let within = 0;
    let across = 0;
    let n = 0;
    for (let k = 0; k < 10; k++) {
      const c = w.brief(k).candidates;
      const d = w.brief(k + 50).candidates;
      for (let i = 0; i < c.length; i++) {
        for (let j = i + 1; j < c.length; j++) {
          within += cos(c[i].imageEmbedding, c[j].imageEmbedding);
          across += cos(c[i].imageEmbedding, d[j].imageEmbedding);
          n++;
        }
      }
    }
    expect(within / n).toBeGreaterThan(across / n + 0.1);
    // Ads sit in a narrow cone, as CLIP's do: even unrelated ones are far from orthogonal.
    expect(across / n).toBeGreaterThan(0.3);
    expect(new Set(b.candidates.map((c) => c.brand)).size).toBe(1);
  });

  it("scales the team's utility to unit spread among a brief's candidates", () => {
    const w = createWorld({ seed: 2, ...small });
    let s = 0;
    let n = 0;
    for (let i = 0; i < 60; i++) {
      const us = w.brief(i).candidates.map((c) => c.teamUtility);
      const m = us.reduce((a, x) => a + x, 0) / us.length;
      s += us.reduce((a, x) => a + (x - m) ** 2, 0);
      n += us.length - 1;
    }
    expect(Math.sqrt(s / n)).toBeGreaterThan(0.8);
    expect(Math.sqrt(s / n)).toBeLessThan(1.25);
  });

  it('votes as the flow does: clicks, moved votes, reactions, retractions and abstentions', () => {
    const w = createWorld({
      seed: 5,
      ...small,
      team: { members: 6, disagreement: 0.5, decisiveness: 3, abstain: 0.25, move: 0.3, retract: 0.1, reaction: 0.3 },
    });
    const rng = createRng(9);
    const all: VoteAction[][] = [];
    let abstained = 0;
    for (let r = 0; r < 80; r++) {
      const b = w.brief(r);
      const acts = w.vote(
        b,
        b.candidates.slice(0, 4).map((c) => c.id),
        rng,
      );
      all.push(acts);
      abstained += w.members.length - new Set(acts.map((a) => a.user)).size;
    }
    const flat = all.flat();
    expect(flat.some((a) => a.via === 'button')).toBe(true);
    expect(flat.some((a) => a.via === 'reaction' && a.op === 'add')).toBe(true);
    expect(flat.some((a) => a.via === 'reaction' && a.op === 'remove')).toBe(true);
    // A moved vote: the same person adds twice in a round, on different variants.
    const moved = all.filter((acts) =>
      w.members.some(
        (u) => new Set(acts.filter((a) => a.user === u && (a.via === 'button' || a.op === 'add')).map((a) => a.variantId)).size > 1,
      ),
    );
    expect(moved.length).toBeGreaterThan(5);
    expect(abstained / (80 * w.members.length)).toBeGreaterThan(0.15);
    expect(abstained / (80 * w.members.length)).toBeLessThan(0.35);
    // A button retraction is a second click on the same variant: the person ends with no vote.
    const retracted = all.filter((acts) => {
      const f = finalVotes(acts);
      return new Set(acts.map((a) => a.user)).size > f.size;
    });
    expect(retracted.length).toBeGreaterThan(3);
  });

  it("votes carry the team's taste, with disagreement between members", () => {
    const w = createWorld({ seed: 7, ...small });
    const rng = createRng(2);
    let chosenAbove = 0;
    let votes = 0;
    let split = 0;
    for (let r = 0; r < 100; r++) {
      const b: SimBrief = w.brief(r);
      const shown = b.candidates.slice(0, 4);
      const mean = shown.reduce((s, c) => s + c.teamUtility, 0) / shown.length;
      const f = finalVotes(
        w.vote(
          b,
          shown.map((c) => c.id),
          rng,
        ),
      );
      for (const id of f.values()) {
        votes++;
        if ((shown.find((c) => c.id === id)?.teamUtility ?? 0) > mean) chosenAbove++;
      }
      if (new Set(f.values()).size > 1) split++;
    }
    expect(chosenAbove / votes).toBeGreaterThan(0.7);
    expect(split).toBeGreaterThan(30);
  });

  it('makes click rates follow the team’s taste as far as ctrAlignment says, and marks past winners', () => {
    const aligned = createWorld({ seed: 11, ...small, library: 400, ctrAlignment: 1 });
    const blind = createWorld({ seed: 11, ...small, library: 400, ctrAlignment: 0 });
    const rate = (r: { clicks: number; impressions: number }) => r.clicks / r.impressions;
    const big = (w: typeof aligned) => w.library.filter((r) => r.impressions > 3000);
    expect(
      spearman(
        big(aligned).map(rate),
        big(aligned).map((r) => r.teamUtility),
      ),
    ).toBeGreaterThan(0.3);
    expect(
      Math.abs(
        spearman(
          big(blind).map(rate),
          big(blind).map((r) => r.teamUtility),
        ),
      ),
    ).toBeLessThan(0.2);
    const winners = aligned.library.filter((r) => r.source?.startsWith('winner:'));
    expect(winners.length).toBeGreaterThan(8);
    expect(winners.length).toBeLessThanOrEqual(12);
  });
});
