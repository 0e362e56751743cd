import { describe, expect, it } from 'vitest';
import { type Candidate, rankCandidates } from '../../../src/library/rank.ts';

function cand(id: string, img: number[], txt: number[], impressions = 0, clicks = 0): Candidate {
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return Float32Array.from(v.map((x) => x / n));
  };
  return {
    id,
    sha256: id,
    source: 'test',
    brand: 'acme',
    channel: 'meta',
    format: 'square',
    headline: id,
    body: '',
    cta: '',
    caption: id,
    tags: [],
    thumbnail: new Uint8Array(1),
    fileName: '',
    imageEmbedding: unit(img),
    textEmbedding: unit(txt),
    impressions,
    clicks,
    conversions: 0,
    createdAt: new Date(0),
    demo: false,
  };
}

const prior = { mean: 0.01, strength: 1000, estimated: false };

describe('ranking candidates', () => {
  it('fuses image and caption similarity with the configured weights', () => {
    const q = Float32Array.from([1, 0, 0]);
    const hits = rankCandidates([cand('img', [1, 0, 0], [0, 1, 0]), cand('cap', [0, 1, 0], [1, 0, 0])], q, {
      k: 5,
      weights: { image: 0.7, caption: 0.3, ctr: 0 },
      prior,
      nearDuplicate: 0.99,
    });
    expect(hits.map((h) => h.id)).toEqual(['img', 'cap']);
    expect(hits[0].scores).toMatchObject({ image: 1, caption: 0, fused: 0.7 });
    expect(hits[1].scores.fused).toBeCloseTo(0.3, 6);
  });

  it('collapses near-duplicate images into the best-ranked one and still fills k', () => {
    const q = Float32Array.from([1, 0, 0]);
    const hits = rankCandidates(
      [
        cand('a', [1, 0.01, 0], [1, 0, 0]),
        cand('a2', [1, 0.012, 0], [1, 0, 0]),
        cand('b', [1, 1, 0], [1, 0, 0]),
        cand('c', [0, 0, 1], [0, 0, 1]),
      ],
      q,
      { k: 2, weights: { image: 1, caption: 0, ctr: 0 }, prior, nearDuplicate: 0.99 },
    );
    expect(hits.map((h) => h.id)).toEqual(['a', 'b']);
    expect(hits[0].duplicates).toEqual(['a2']);
  });

  it('lets proven performance break a similarity tie, not a lucky streak', () => {
    const q = Float32Array.from([1, 0, 0]);
    const hits = rankCandidates([cand('lucky', [1, 0, 0.1], [1, 0, 0], 2, 1), cand('proven', [1, 0.1, 0], [1, 0, 0], 20000, 500)], q, {
      k: 2,
      weights: { image: 1, caption: 0, ctr: 0.1 },
      prior,
      nearDuplicate: 0.999,
    });
    expect(hits.map((h) => h.id)).toEqual(['proven', 'lucky']);
  });
});
