import { describe, expect, it } from 'vitest';
import { estimatePrior, performanceLift, rawCtr, smoothedCtr } from '../../../src/library/ctr.ts';

describe('smoothed CTR', () => {
  it('keeps 1 click of 2 impressions below 500 of 20,000', () => {
    const prior = { mean: 0.01, strength: 1000, estimated: false };
    const lucky = smoothedCtr(1, 2, prior);
    const proven = smoothedCtr(500, 20000, prior);
    expect(rawCtr(1, 2)).toBe(0.5);
    expect(lucky).toBeCloseTo((1 + 10) / 1002, 10);
    expect(proven).toBeGreaterThan(lucky);
    expect(proven).toBeCloseTo(510 / 21000, 10);
  });

  it('falls back to the prior mean with no impressions and never exceeds 1', () => {
    const prior = { mean: 0.02, strength: 500, estimated: false };
    expect(smoothedCtr(0, 0, prior)).toBeCloseTo(0.02, 10);
    expect(smoothedCtr(50, 10, prior)).toBeLessThanOrEqual(1);
  });

  it('estimates the prior strength from the spread of per-creative CTRs (empirical Bayes)', () => {
    // CTRs drawn around 2 % with a real spread: strength should land in a sensible range.
    const rows = Array.from({ length: 200 }, (_, i) => {
      const p = 0.02 * (0.5 + (i % 10) / 9);
      return { impressions: 50000, clicks: Math.round(50000 * p) };
    });
    const prior = estimatePrior(rows, 'auto');
    expect(prior.estimated).toBe(true);
    expect(prior.mean).toBeCloseTo(0.02, 3);
    expect(prior.strength).toBeGreaterThan(100);
    expect(prior.strength).toBeLessThan(20000);
    // identical CTRs: no spread beyond noise, so pool hard
    const flat = estimatePrior(
      Array.from({ length: 50 }, () => ({ impressions: 10000, clicks: 100 })),
      'auto',
    );
    expect(flat.strength).toBeGreaterThan(1e5);
  });

  it('uses the configured strength or the default when the library is too small to estimate', () => {
    expect(estimatePrior([{ impressions: 100, clicks: 5 }], 'auto')).toEqual({ mean: 0.05, strength: 1000, estimated: false });
    expect(estimatePrior([], 250)).toEqual({ mean: 0.01, strength: 250, estimated: false });
  });

  it('turns smoothed CTR into a bounded performance lift', () => {
    const prior = { mean: 0.01, strength: 1000, estimated: false };
    expect(performanceLift(0.02, prior)).toBeCloseTo(1, 10);
    expect(performanceLift(0.005, prior)).toBeCloseTo(-1, 10);
    expect(performanceLift(0.5, prior)).toBe(1);
    expect(performanceLift(0.01, prior)).toBe(0);
  });
});
