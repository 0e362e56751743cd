import { describe, expect, it } from 'vitest';
import { annSettingsFor } from '../../../src/library/ann.ts';

describe('ANN settings from the row count', () => {
  it('matches the benchmarked settings at 1M rows of 512-d', () => {
    expect(annSettingsFor(1_000_000, 512)).toEqual({ partitions: 1000, subVectors: 32, nprobes: 10, refineFactor: 20 });
  });

  it('scales partitions with √rows and keeps sub-vectors a divisor of the width', () => {
    expect(annSettingsFor(100_000, 512).partitions).toBe(316);
    expect(annSettingsFor(300, 512).partitions).toBe(17);
    for (const dims of [512, 768, 100, 8]) expect(dims % annSettingsFor(50_000, dims).subVectors).toBe(0);
    expect(annSettingsFor(100_000_000, 512).nprobes).toBeGreaterThan(10);
  });
});
