import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LanceLibrary } from '../../../src/library/lance-library.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'adc-index-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('library indexes', () => {
  it('builds its ANN and filter indexes by itself past the row threshold, and search stays exact', async () => {
    const enc = fakeEncoder({ dims: 16 });
    const lib = await LanceLibrary.open({ uri: dir, encoder: enc, settings: { indexMinRows: 256, optimizeEvery: 0 } });
    const images = await Promise.all(Array.from({ length: 300 }, (_, i) => testImage(1000 + i, [32, 32])));
    const brands = ['acme', 'lumen', 'fernleaf'];
    for (let i = 0; i < 300; i += 100) {
      await lib.add(images.slice(i, i + 100).map((image, j) => ({ image, brand: brands[(i + j) % 3] })));
    }
    expect((await lib.stats()).index.vector).toBe(false);
    await lib.optimize(); // queued behind the upkeep the last write started
    const stats = await lib.stats();
    expect(stats.rows).toBe(300);
    expect(stats.index.vector).toBe(true);
    expect(stats.index.scalar.join(' ')).toMatch(/brand/);

    const target = images[123];
    const hits = await lib.search({ image: target, k: 5, filters: { brand: brands[123 % 3] } });
    expect(hits).toHaveLength(5);
    expect(hits[0].scores.image).toBeCloseTo(1, 5);
    expect(hits.every((h) => h.brand === brands[123 % 3])).toBe(true);
    const self = await lib.get(hits[0].id);
    expect(self?.image).toEqual(target);
    const [sim] = await lib.maxSimilarity([(await enc.embedImages([target]))[0]]);
    expect(sim).toBeCloseTo(1, 4);
    await lib.close();
  });
});
