import { describe, expect, it } from 'vitest';
import { l2normalize } from '../../../src/clip/types.ts';
import { novelty } from '../../../src/rank/novelty.ts';
import { relevance } from '../../../src/rank/relevance.ts';
import { DEFAULT_WEIGHTS, rank } from '../../../src/rank/score.ts';

const v = (...xs: number[]) => l2normalize(Float32Array.from(xs));

describe('relevance and novelty', () => {
  it('relevance is the cosine of brief and image', () => {
    const brief = v(1, 0);
    const [same, orth, opposite, diag] = relevance(brief, [v(1, 0), v(0, 1), v(-1, 0), v(1, 1)]);
    expect(same).toBeCloseTo(1, 6);
    expect(orth).toBeCloseTo(0, 6);
    expect(opposite).toBeCloseTo(-1, 6);
    expect(diag).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('novelty is 1 − the highest similarity to the library; an empty library makes it 1', () => {
    expect(novelty([0.9, 0.2, -0.1, Number.NaN])).toEqual([1 - 0.9, 1 - 0.2, 1.1, 1]);
  });
});

describe('rank', () => {
  const brief = v(1, 1, 1, 1);
  // 0 and 1 are near-duplicates; 2 is as relevant but different; 3 is off-brief.
  const images = [v(1, 1, 0.2, 0.2), v(1, 1, 0.21, 0.19), v(0.2, 0.2, 1, 1.01), v(1, -1, 0, 0)];

  it('scores every pick, puts the best first and says why each was picked', () => {
    const r = rank({ brief, images, librarySimilarity: [0.1, 0.1, 0.1, 0.1], count: 3, weights: DEFAULT_WEIGHTS });
    const order = r.map((x) => x.index);
    // The near-duplicate of the first pick loses second place to the different candidate.
    expect(order.slice(0, 2)).toContain(2);
    expect(order.slice(0, 2).filter((i) => i === 0 || i === 1)).toHaveLength(1);
    for (const x of r) {
      expect(x.scores.total).toBeCloseTo(x.scores.relevance + 0.3 * x.scores.novelty, 6);
      expect(x.scores.preference).toBeNull();
      expect(x.reason).toMatch(/relevance \d\.\d\d, novelty \d\.\d\d/);
      expect(x.scores.diversity).toBeGreaterThan(0);
    }
    expect(r[0].reason).toMatch(/highest score of 4 candidates/);
    expect(r[1].reason).toMatch(/variety|not too close/);
  });

  it('novelty lifts a candidate unlike the library', () => {
    const brief = v(1, 0, 0);
    const imgs = [v(1, 0.1, 0), v(1, 0, 0.1)];
    const r = rank({ brief, images: imgs, librarySimilarity: [0.95, 0.05], count: 1, weights: { ...DEFAULT_WEIGHTS, novelty: 1 } });
    expect(r[0].index).toBe(1);
  });

  it('shows the preference score but ignores it at weight 0; uses it when weighted', () => {
    const brief = v(1, 0, 0);
    const imgs = [v(1, 0.1, 0), v(1, 0, 0.12)];
    const pref = [0.1, 0.9];
    const w0 = rank({ brief, images: imgs, librarySimilarity: [0, 0], preference: pref, count: 1, weights: DEFAULT_WEIGHTS });
    expect(w0[0].index).toBe(0);
    expect(w0[0].scores.preference).toBe(0.1);
    expect(w0[0].reason).toMatch(/preference 0\.10 \(weight 0\)/);
    const w1 = rank({
      brief,
      images: imgs,
      librarySimilarity: [0, 0],
      preference: pref,
      count: 1,
      weights: { ...DEFAULT_WEIGHTS, preference: 1 },
    });
    expect(w1[0].index).toBe(1);
  });
});

describe('choosing what to show (Thompson sampling inside MMR)', () => {
  const brief = v(1, 0, 0, 0);
  // Equally relevant and distinct: only preference tells them apart.
  const images = [v(1, 1, 0, 0), v(1, 0, 1, 0), v(1, 0, 0, 1), v(1, -1, 0, 0)];
  const weights = { ...DEFAULT_WEIGHTS, preference: 1, novelty: 0 };

  it('makes pick j on the j-th posterior draw, shows the mean with its interval, and says which were shown to learn', () => {
    const preference = [
      { value: 0.9, low: 0.8, high: 0.95, draws: [0.9, 0.9] },
      { value: 0.8, low: 0.7, high: 0.9, draws: [0.8, 0.2] },
      // Unsure: a low mean, but its first draw says it may be the team's favourite.
      { value: 0.3, low: 0.05, high: 0.97, draws: [0.99, 0.1] },
      { value: 0.1, low: 0.05, high: 0.2, draws: [0.1, 0.1] },
    ];
    const r = rank({ brief, images, librarySimilarity: [0, 0, 0, 0], preference, count: 2, weights });
    expect(r.map((x) => x.index)).toEqual([2, 0]);
    expect(r[0].scores.preference).toBe(0.3);
    expect(r[0].scores.preferenceLow).toBe(0.05);
    expect(r[0].scores.preferenceHigh).toBe(0.97);
    expect(r[0].scores.shownToLearn).toBe(true);
    expect(r[0].reason).toMatch(/^shown to learn: #3 of 4 by score/);
    expect(r[0].reason).toMatch(/preference 0\.30 \(80% interval 0\.05–0\.97\)/);
    // The mean alone would also have shown candidate 0: not "to learn".
    expect(r[1].scores.shownToLearn).toBeUndefined();
  });

  it('without draws, or at preference weight 0, ranks on the mean and shows nothing to learn', () => {
    const pref = [0.9, 0.8, 0.3, 0.1].map((value) => ({ value, low: value - 0.05, high: value + 0.05 }));
    const r = rank({ brief, images, librarySimilarity: [0, 0, 0, 0], preference: pref, count: 2, weights });
    expect(r.map((x) => x.index)).toEqual([0, 1]);
    const drawn = pref.map((p, i) => ({ ...p, draws: [i === 3 ? 1 : 0] }));
    const w0 = rank({
      brief,
      images,
      librarySimilarity: [0, 0, 0, 0],
      preference: drawn,
      count: 2,
      weights: { ...weights, preference: 0 },
    });
    expect(w0.every((x) => !x.scores.shownToLearn)).toBe(true);
  });

  it('keeps variety: a near-duplicate of a pick loses to a different candidate even when its draw is high', () => {
    const dup = [v(1, 1, 0, 0), v(1, 1, 0.02, 0), v(1, 0, 1, 0)];
    const preference = [
      { value: 0.9, low: 0.8, high: 1, draws: [0.9, 0.9] },
      { value: 0.9, low: 0.8, high: 1, draws: [0.9, 0.9] },
      { value: 0.6, low: 0.4, high: 0.8, draws: [0.6, 0.6] },
    ];
    const r = rank({ brief, images: dup, librarySimilarity: [0, 0, 0], preference, count: 2, weights: { ...weights, lambda: 0.5 } });
    expect(r.map((x) => x.index)).toEqual([0, 2]);
  });
});
