import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed, mulberry32 } from '../../../../src/clip/synth/rng.ts';

describe('seeded rng', () => {
  it('repeats exactly for a seed and differs across seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xa = Array.from({ length: 100 }, a);
    expect(Array.from({ length: 100 }, b)).toEqual(xa);
    expect(Array.from({ length: 100 }, c)).not.toEqual(xa);
    for (const x of xa) expect(x >= 0 && x < 1).toBe(true);
  });

  it('draws normals with the asked mean and deviation', () => {
    const v = createRng(7).fillNormal(new Float32Array(200_001), 0.5, 1);
    let s = 0;
    let s2 = 0;
    for (const x of v) {
      s += x;
      s2 += x * x;
    }
    const mean = s / v.length;
    const std = Math.sqrt(s2 / v.length - mean * mean);
    expect(mean).toBeCloseTo(1, 2);
    expect(std).toBeCloseTo(0.5, 2);
    expect(v.every(Number.isFinite)).toBe(true);
  });

  it('gives each tensor name its own stream', () => {
    expect(deriveSeed(1, 'a.weight')).not.toBe(deriveSeed(1, 'a.bias'));
    expect(deriveSeed(1, 'a.weight')).not.toBe(deriveSeed(2, 'a.weight'));
    expect(deriveSeed(1, 'a.weight')).toBe(deriveSeed(1, 'a.weight'));
  });
});
