import { describe, expect, it } from 'vitest';
import { formatRecall, recallAtK } from '../../../src/learn/recall.ts';
import { createRng, normalizeRows } from '../../../src/linalg.ts';

function randomUnit(n: number, d: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  normalizeRows(x, n, d);
  return x;
}

describe('recallAtK', () => {
  it('finds every pair when images equal their captions', () => {
    const t = randomUnit(300, 16, 1);
    const r = recallAtK(t, t, 300, 16);
    expect(r.textToImage).toEqual({ r1: 1, r5: 1, r10: 1 });
    expect(r.imageToText).toEqual({ r1: 1, r5: 1, r10: 1 });
    expect(r.n).toBe(300);
  });

  it('is near chance for unrelated embeddings', () => {
    const n = 500;
    const r = recallAtK(randomUnit(n, 32, 2), randomUnit(n, 32, 3), n, 32);
    expect(r.textToImage.r1).toBeLessThan(0.02);
    expect(r.textToImage.r10).toBeLessThan(0.06);
    expect(r.imageToText.r10).toBeLessThan(0.06);
    expect(r.textToImage.r10).toBeGreaterThanOrEqual(r.textToImage.r5);
  });

  it('counts ranks in each direction separately', () => {
    // 3 pairs in 2-d: image 0 is closer to caption 1 than to its own, so text→image
    // misses for caption 1 ... and image→text misses for image 0.
    const text = new Float32Array([1, 0, 0.8, 0.6, 0, 1]);
    const image = new Float32Array([0.8, 0.6, 0.6, 0.8, 0, 1]);
    const r = recallAtK(text, image, 3, 2);
    // caption 0 (1,0): sims 0.8, 0.6, 0 → own image first. caption 1 (0.8,0.6): 1.0, 0.96, 0.6 → image 0 wins.
    // caption 2 (0,1): 0.6, 0.8, 1 → own. So text→image R@1 = 2/3.
    expect(r.textToImage.r1).toBeCloseTo(2 / 3);
    // image 0 (0.8,0.6): captions 0.8, 1.0, 0.6 → caption 1 wins; image 1: 0.6, 0.96, 0.8 → own; image 2: own.
    expect(r.imageToText.r1).toBeCloseTo(2 / 3);
    expect(r.textToImage.r5).toBe(1);
  });

  it('counts ties against the pair, so identical embeddings do not look perfect', () => {
    const same = new Float32Array(10 * 4).fill(0.5);
    const r = recallAtK(same, same, 10, 4);
    expect(r.textToImage.r1).toBe(0);
    expect(formatRecall(r)).toMatch(/R@1 0\.0%.*among 10/);
  });

  it('handles more rows than one block', () => {
    const t = randomUnit(700, 8, 4);
    const r = recallAtK(t, t, 700, 8);
    expect(r.imageToText.r1).toBe(1);
  });
});
