import { describe, expect, it } from 'vitest';
import { l2normalize } from '../../../src/clip/types.ts';
import { mmr } from '../../../src/rank/mmr.ts';

const v = (...xs: number[]) => l2normalize(Float32Array.from(xs));

describe('maximal marginal relevance', () => {
  // Three near-duplicates with the best scores, and two different, slightly weaker candidates.
  const embeddings = [v(1, 0, 0), v(0.99, 0.1, 0), v(0.98, 0, 0.1), v(0, 1, 0), v(0, 0, 1)];
  const quality = [0.9, 0.89, 0.88, 0.8, 0.75];

  it('picks a diverse set instead of the near-duplicates at the top', () => {
    const picks = mmr(quality, embeddings, 3, 0.7).map((p) => p.index);
    expect(picks).toEqual([0, 3, 4]);
  });

  it('with λ = 1 ranks by quality alone', () => {
    expect(mmr(quality, embeddings, 3, 1).map((p) => p.index)).toEqual([0, 1, 2]);
  });

  it('reports each pick’s similarity to the ones before it', () => {
    const picks = mmr(quality, embeddings, 3, 0.7);
    expect(picks[0].maxSimilarity).toBe(0);
    expect(picks[1].maxSimilarity).toBeCloseTo(0, 5);
    expect(picks[2].maxSimilarity).toBeCloseTo(0, 5);
    const dupFirst = mmr(quality, embeddings, 2, 1);
    expect(dupFirst[1].maxSimilarity).toBeGreaterThan(0.98);
  });

  it('returns every candidate when asked for more than there are, each once', () => {
    const picks = mmr(quality, embeddings, 10, 0.5).map((p) => p.index);
    expect([...picks].sort()).toEqual([0, 1, 2, 3, 4]);
  });
});
