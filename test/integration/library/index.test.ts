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

describe('index upkeep as the library grows', () => {
  it('rebuilds the ANN index once the library outgrows the size it was built for, and remembers that size', async () => {
    const uri = join(dir, 'grow');
    const enc = fakeEncoder({ dims: 16 });
    const settings = { indexMinRows: 256, optimizeEvery: 0, reindexGrowth: 2 };
    const lib = await LanceLibrary.open({ uri, encoder: enc, settings });
    const images = await Promise.all(Array.from({ length: 620 }, (_, i) => testImage(7000 + i, [24, 24])));
    await lib.add(images.slice(0, 300).map((image) => ({ image, brand: 'acme' })));
    await lib.optimize(); // waits for the build the write started
    expect((await lib.stats()).index).toMatchObject({ vector: true, builtForRows: 300 });

    await lib.add(images.slice(300, 500).map((image) => ({ image, brand: 'acme' })));
    await lib.optimize();
    expect((await lib.stats()).index.builtForRows).toBe(300); // 500 < 2 × 300: no rebuild yet

    await lib.add(images.slice(500).map((image) => ({ image, brand: 'lumen' })));
    await lib.optimize();
    expect((await lib.stats()).index).toMatchObject({ vector: true, builtForRows: 620, building: false });
    await lib.close();

    // The size is kept in the table, so another process (or a restart) queries with the same settings.
    const again = await LanceLibrary.open({ uri, encoder: enc, settings });
    expect((await again.stats()).index.builtForRows).toBe(620);
    const hits = await again.search({ image: images[610], k: 1, filters: { brand: 'lumen' } });
    expect(hits[0].scores.image).toBeCloseTo(1, 5);
    await again.close();
  });
});
