import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LibraryError } from '../../../src/errors.ts';
import { LanceLibrary, type LibrarySettings } from '../../../src/library/lance-library.ts';
import { axis, fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';

const DIMS = 8;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'adc-lib-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function settings(over: Partial<LibrarySettings> = {}): Partial<LibrarySettings> {
  return { weights: { image: 0.6, caption: 0.4, ctr: 0 }, optimizeEvery: 0, ...over };
}

describe('creative library on LanceDB', () => {
  it('adds creatives once per image and updates metadata when the same image comes again', async () => {
    const enc = fakeEncoder({ dims: DIMS });
    const lib = await LanceLibrary.open({ uri: dir, encoder: enc, settings: settings() });
    const imgs = await Promise.all([1, 2, 3].map((s) => testImage(s)));
    const first = await lib.add(imgs.map((image, i) => ({ image, headline: `H${i}`, brand: 'Acme', fileName: `f${i}.jpg` })));
    expect(first).toMatchObject({ ingested: 3, updated: 0, failed: [] });
    const again = await lib.add([{ image: imgs[1], headline: 'New headline', impressions: 100, clicks: 3 }]);
    expect(again).toMatchObject({ ingested: 0, updated: 1 });
    expect(again.ids).toEqual([first.ids[1]]);
    expect(await lib.count()).toBe(3);
    const c = await lib.get(first.ids[1]);
    expect(c).toMatchObject({ headline: 'New headline', brand: 'acme', impressions: 100, clicks: 3, fileName: 'f1.jpg' });
    expect(c?.thumbnail.byteLength).toBeGreaterThan(0);
    expect(Array.from(c!.imageEmbedding)).toHaveLength(DIMS);
    // the image was not embedded twice; the changed caption was
    expect(enc.calls.images).toBe(3);
    expect(enc.calls.texts).toBe(4);
    await lib.close();
  });

  it('reports bad images with reasons and still adds the good ones', async () => {
    const lib = await LanceLibrary.open({ uri: dir, encoder: fakeEncoder({ dims: DIMS }), settings: settings() });
    const good = await testImage(9);
    const r = await lib.add([
      { image: good, fileName: 'good.jpg' },
      { image: good.slice(0, 200), fileName: 'truncated.jpg' },
      { image: new TextEncoder().encode('hello'), fileName: 'text.png' },
      { image: new Uint8Array(0), fileName: 'empty.png' },
    ]);
    expect(r.ingested).toBe(1);
    expect(r.failed.map((f) => f.path)).toEqual(['truncated.jpg', 'text.png', 'empty.png']);
    expect(r.failed[0].reason).toMatch(/corrupt or truncated/);
    expect(r.failed[1].reason).toMatch(/not a supported image/);
    expect(r.failed[2].reason).toMatch(/empty/);
    await lib.close();
  });

  it('filtered search returns the right creatives in the right order with exact scores', async () => {
    const enc = fakeEncoder({ dims: DIMS });
    const lib = await LanceLibrary.open({ uri: dir, encoder: enc, settings: settings() });
    const imgs = await Promise.all([11, 12, 13, 14, 15].map((s) => testImage(s)));
    const specs: { brand: string; channel: string; v: Record<number, number>; date: string; imp: number }[] = [
      { brand: 'acme', channel: 'meta', v: { 0: 1, 1: 0.1 }, date: '2025-03-01', imp: 5000 },
      { brand: 'northwind', channel: 'meta', v: { 0: 1, 2: 0.3 }, date: '2025-03-01', imp: 5000 },
      { brand: 'acme', channel: 'google', v: { 0: 1, 1: 1 }, date: '2025-06-01', imp: 50 },
      { brand: 'acme', channel: 'meta', v: { 1: 1 }, date: '2025-09-01', imp: 9000 },
      { brand: 'acme', channel: 'meta', v: { 0: 1, 1: 0.4 }, date: '2024-01-01', imp: 5000 },
    ];
    specs.forEach((s, i) => {
      enc.pinImage(imgs[i], axis(DIMS, s.v));
      enc.pinText(`caption ${i}`, axis(DIMS, { 7: 1 }));
    });
    enc.pinText('query', axis(DIMS, { 0: 1 }));
    const added = await lib.add(
      specs.map((s, i) => ({
        image: imgs[i],
        brand: s.brand,
        channel: s.channel,
        caption: `caption ${i}`,
        createdAt: new Date(s.date),
        impressions: s.imp,
      })),
    );
    const id = (i: number) => added.ids[i];

    const all = await lib.search({ text: 'query', k: 10 });
    expect(all.map((h) => h.id)).toEqual([0, 1, 4, 2, 3].map(id));
    expect(all[0].scores.image).toBeCloseTo(1 / Math.sqrt(1 + 0.1 ** 2), 5);
    expect(all[0].scores.caption).toBeCloseTo(0, 5);
    expect(all[0].scores.fused).toBeCloseTo(0.6 * all[0].scores.image, 5);

    const acme = await lib.search({ text: 'query', k: 10, filters: { brand: 'ACME' } });
    expect(acme.map((h) => h.id)).toEqual([0, 4, 2, 3].map(id));
    const acmeMeta2025 = await lib.search({
      text: 'query',
      k: 10,
      filters: { brand: 'acme', channel: 'meta', since: new Date('2025-01-01'), until: new Date('2025-12-31') },
    });
    expect(acmeMeta2025.map((h) => h.id)).toEqual([0, 3].map(id));
    const popular = await lib.search({ text: 'query', k: 2, filters: { minImpressions: 1000 } });
    expect(popular.map((h) => h.id)).toEqual([0, 1].map(id));
    // a reference image searches the same way
    const byImage = await lib.search({ image: imgs[3], k: 1 });
    expect(byImage[0].id).toBe(id(3));
    expect(byImage[0].scores.image).toBeCloseTo(1, 5);

    const sims = await lib.maxSimilarity([axis(DIMS, { 1: 1 }), axis(DIMS, { 6: 1 })]);
    expect(sims[0]).toBeCloseTo(1, 4);
    expect(sims[1]).toBeCloseTo(0, 4);
    await lib.close();
  });

  it('collapses near-duplicate images and ranks smoothed CTR, not raw CTR', async () => {
    const enc = fakeEncoder({ dims: DIMS });
    const lib = await LanceLibrary.open({ uri: dir, encoder: enc, settings: settings({ weights: { image: 1, caption: 0, ctr: 0.5 } }) });
    const imgs = await Promise.all([21, 22, 23, 24].map((s) => testImage(s)));
    enc.pinImage(imgs[0], axis(DIMS, { 0: 1, 2: 0.3 }));
    enc.pinImage(imgs[1], axis(DIMS, { 0: 1, 2: 0.31 })); // a near-copy of 0
    enc.pinImage(imgs[2], axis(DIMS, { 0: 1, 3: 0.3 }));
    enc.pinImage(imgs[3], axis(DIMS, { 0: 1, 4: 0.3 }));
    enc.pinText('query', axis(DIMS, { 0: 1 }));
    const r = await lib.add([
      { image: imgs[0], impressions: 10000, clicks: 300 },
      { image: imgs[1], impressions: 10000, clicks: 90 },
      { image: imgs[2], impressions: 2, clicks: 1 }, // 50 % raw, but on 2 impressions
      { image: imgs[3], impressions: 20000, clicks: 500 },
    ]);
    const hits = await lib.search({ text: 'query', k: 10 });
    // 300/10,000 > 500/20,000 > 1/2 once smoothed
    expect(hits.map((h) => h.id)).toEqual([r.ids[0], r.ids[3], r.ids[2]]);
    expect(hits[0].duplicates).toEqual([r.ids[1]]);
    const lucky = hits[2];
    expect(lucky.ctr.raw).toBe(0.5);
    expect(lucky.ctr.smoothed).toBeLessThan(0.03);
    expect(hits[1].ctr.smoothed).toBeGreaterThan(lucky.ctr.smoothed);
    expect(hits[1].ctr.raw).toBeLessThan(lucky.ctr.raw);
    await lib.close();
  });

  it('refuses to open a library made with another model and says to re-embed', async () => {
    const lib = await LanceLibrary.open({ uri: dir, encoder: fakeEncoder({ dims: DIMS, model: 'model-a' }) });
    await lib.add([{ image: await testImage(31) }]);
    await lib.close();
    const err = await LanceLibrary.open({ uri: dir, encoder: fakeEncoder({ dims: 16, model: 'model-b' }) }).catch((e) => e);
    expect(err).toBeInstanceOf(LibraryError);
    expect(err.code).toBe('LIBRARY_MODEL_MISMATCH');
    expect(err.message).toMatch(/model-a \(8-d\).*model-b \(16-d\)/);
    expect(err.hint).toMatch(/adcreative library reembed/);
    // read-only use without an encoder still works
    const ro = await LanceLibrary.open({ uri: dir });
    expect(await ro.count()).toBe(1);
    await ro.close();
  });

  it('removes, scans, updates metrics and builds indexes', async () => {
    const lib = await LanceLibrary.open({ uri: dir, encoder: fakeEncoder({ dims: DIMS }), settings: settings() });
    const imgs = await Promise.all([41, 42, 43].map((s) => testImage(s)));
    const r = await lib.add(imgs.map((image, i) => ({ image, brand: i === 2 ? 'lumen' : 'acme' })));
    expect(await lib.remove([r.ids[0], 'nope'])).toEqual({ removed: [r.ids[0]], missing: ['nope'] });
    expect(await lib.count()).toBe(2);
    expect(await lib.count({ brand: 'lumen' })).toBe(1);
    expect(await lib.count({ brand: 'nobody' })).toBe(0);
    const scanned = [];
    for await (const c of lib.scan({ filters: { brand: 'lumen' } })) scanned.push(c);
    expect(scanned.map((c) => c.id)).toEqual([r.ids[2]]);
    expect(scanned[0].image).toEqual(imgs[2]);
    expect(await lib.updateMetrics([{ id: r.ids[1], impressions: 1000, clicks: 20 }])).toBe(1);
    expect(await lib.get(r.ids[1])).toMatchObject({ impressions: 1000, clicks: 20, conversions: 0 });
    const report = await lib.buildIndex();
    expect(report.vector.built).toBe(false);
    expect(report.vector.reason).toMatch(/at least 256 rows/);
    expect(report.scalar).toContain('brand (bitmap)');
    const stats = await lib.stats();
    expect(stats).toMatchObject({ rows: 2, brands: { acme: 1, lumen: 1 }, impressions: 1000, clicks: 20 });
    expect((await lib.search({ text: 'x', filters: { brand: 'acme' } })).map((h) => h.id)).toEqual([r.ids[1]]);
    await lib.close();
  });
});
