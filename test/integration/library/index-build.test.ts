import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';

// The real IVF_PQ build, held at a gate so the test decides when it may finish: at a million rows
// it takes minutes, and the bot must keep storing winners and votes meanwhile.
const gate = vi.hoisted(() => {
  const g = { opened: Promise.resolve(), open: () => {}, entered: 0, arm() {} };
  g.arm = () => {
    g.entered = 0;
    g.opened = new Promise<void>((r) => {
      g.open = r;
    });
  };
  g.arm();
  return g;
});
vi.mock('../../../src/library/ann.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/library/ann.ts')>();
  return {
    ...real,
    buildVectorIndex: async (...args: Parameters<typeof real.buildVectorIndex>) => {
      gate.entered++;
      await gate.opened;
      return real.buildVectorIndex(...args);
    },
  };
});

const { LanceLibrary } = await import('../../../src/library/lance-library.ts');
const { rewriteLibraryEmbeddings } = await import('../../../src/library/training-pairs.ts');

// How long a build may take to reach the gate: vi.waitFor's default (1 s) is too short on a busy
// machine, where the writes queued ahead of the build's barrier take longer than that.
const REACH = { timeout: 30_000, interval: 50 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'adc-index-build-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('index builds beside the write queue', () => {
  it('stores, updates and removes creatives while an index build runs, and the finished index covers them', async () => {
    const enc = fakeEncoder({ dims: 16 });
    const lib = await LanceLibrary.open({ uri: dir, encoder: enc, settings: { indexMinRows: 1_000_000, optimizeEvery: 0 } });
    const images = await Promise.all(Array.from({ length: 340 }, (_, i) => testImage(5000 + i, [32, 32])));
    await lib.add(images.slice(0, 300).map((image, i) => ({ image, brand: i % 2 ? 'acme' : 'lumen' })));

    let built = false;
    const build = lib.buildIndex().then((r) => {
      built = true;
      return r;
    });
    build.catch(() => undefined); // awaited below; a failure fails the test there, not as an unhandled rejection
    await vi.waitFor(() => expect(gate.entered).toBe(1), REACH);
    expect((await lib.stats()).index.building).toBe(true);

    // Writes land while the build is held: before this change they queued behind it.
    const added = await lib.add(images.slice(300, 320).map((image) => ({ image, brand: 'fernleaf' })));
    expect(added.ingested).toBe(20);
    const gone = await lib.remove([added.ids[0]]);
    expect(gone.removed).toEqual([added.ids[0]]);
    expect(await lib.updateMetrics([{ id: added.ids[1], impressions: 1000, clicks: 40 }])).toBe(1);
    expect(built).toBe(false);
    // Search stays exact (flat) until the index lands, and sees the new rows.
    const during = await lib.search({ image: images[310], k: 3, filters: { brand: 'fernleaf' } });
    expect(during[0].id).toBe(added.ids[10]);

    gate.open();
    const report = await build;
    expect(report.vector.built).toBe(true);
    const stats = await lib.stats();
    expect(stats.index).toMatchObject({ vector: true, building: false, unindexedRows: 0 });
    expect(stats.rows).toBe(319);
    const after = await lib.search({ image: images[311], k: 3, filters: { brand: 'fernleaf' } });
    expect(after[0].id).toBe(added.ids[11]);
    expect((await lib.get(added.ids[1]))?.clicks).toBe(40);

    // Ungated, a forced rebuild and a write race for real; Lance commits both, in either order.
    const [rebuilt, more] = await Promise.all([
      lib.buildIndex({ force: true }),
      lib.add(images.slice(320).map((image) => ({ image, brand: 'acme' }))),
    ]);
    expect(rebuilt.vector.built).toBe(true);
    expect(more.ingested).toBe(20);
    expect((await lib.stats()).rows).toBe(339);
    const last = await lib.search({ image: images[335], k: 1, filters: { brand: 'acme' } });
    expect(last[0].id).toBe(more.ids[15]);
    await lib.close();
  });

  it('a re-projection waits for an index build running in this process, then the library follows the new table', async () => {
    gate.arm();
    const uri = join(dir, 'build-then-rewrite');
    const enc = fakeEncoder({ dims: 16 });
    const lib = await LanceLibrary.open({ uri, encoder: enc, settings: { indexMinRows: 1_000_000, optimizeEvery: 0 } });
    const images = await Promise.all(Array.from({ length: 300 }, (_, i) => testImage(8000 + i, [24, 24])));
    await lib.add(images.map((image) => ({ image, brand: 'acme' })));
    const build = lib.buildIndex();
    build.catch(() => undefined); // awaited below
    await vi.waitFor(() => expect(gate.entered).toBe(1), REACH);
    let rewritten = false;
    const rewrite = rewriteLibraryEmbeddings({ uri, target: 'adapter-b', fn: (r) => r }).then((n) => {
      rewritten = true;
      return n;
    });
    rewrite.catch(() => undefined); // awaited below
    await new Promise((r) => setTimeout(r, 400));
    expect(rewritten).toBe(false); // the build would commit to the table the rewrite replaces
    gate.open();
    expect((await build).vector.built).toBe(true);
    expect(await rewrite).toBe(300);
    // The rewritten table has no index yet; the library sees that, and its rows.
    const s = await lib.stats();
    expect(s).toMatchObject({ rows: 300, index: { vector: false } });
    expect((await lib.search({ image: images[7], k: 1 }))[0].scores.image).toBeCloseTo(1, 5);
    await lib.close();
  });
});
