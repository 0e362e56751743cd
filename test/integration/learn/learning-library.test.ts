import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adapter, withAdapter } from '../../../src/clip/adapter.ts';
import { libraryUri, loadConfig } from '../../../src/config.ts';
import { syntheticPairs } from '../../../src/learn/adapter-train.ts';
import { readLibrarySpace, reprojectLibrary, retrainAdapter, retrainPreference } from '../../../src/learn/learning.ts';
import { openLearningSources } from '../../../src/learn/open-sources.ts';
import { LanceLibrary } from '../../../src/library/lance-library.ts';
import { silentLogger } from '../../../src/log.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';

const D = 16;
const N = 64;

describe('learning loop on a real LanceDB library', () => {
  let dir: string;
  let ids: string[];
  const raw = syntheticPairs(N, D, { seed: 5, noise: 0.3 });
  const enc = fakeEncoder({ dims: D, model: 'test/fake-clip' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adc-learning-'));
    const images = await Promise.all(Array.from({ length: N }, (_, i) => testImage(i, [32, 32])));
    // Captions and images whose embeddings are the synthetic pairs: a hidden rotation apart.
    images.forEach((img, i) => {
      enc.pinImage(img, raw.image.slice(i * D, (i + 1) * D));
      enc.pinText(`caption ${i}`, raw.text.slice(i * D, (i + 1) * D));
    });
    const lib = await LanceLibrary.open({ uri: join(dir, 'lancedb'), encoder: enc, settings: { optimizeEvery: 0 } });
    const r = await lib.add(
      images.map((image, i) => ({ image, caption: `caption ${i}`, impressions: 100_000, clicks: 200 + 100 * (i % 9) })),
    );
    expect(r.failed).toEqual([]);
    ids = r.ids;
    await lib.close();
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains on the stored pairs, re-projects the stored embeddings, and search through the adapted encoder uses them', async () => {
    const cfg = loadConfig({ DATA_DIR: dir });
    expect(libraryUri(cfg)).toBe(join(dir, 'lancedb'));
    const sources = await openLearningSources(cfg, { logger: silentLogger });
    expect(sources.model).toEqual({ name: 'test/fake-clip', dims: D });
    const run = await retrainAdapter({ cfg, sources, logger: silentLogger }, { seed: 1, batchSize: 16, epochs: 40, patience: 10 });
    expect(run.pairs).toBe(N);
    expect(run.reprojected).toBe(N);
    expect(run.result.after.textToImage.r1).toBeGreaterThan(run.result.before.textToImage.r1);
    // The library is still readable through the same handle after the rewrite (it reopened).
    expect(await sources.library!.count()).toBe(N);
    const pref = await retrainPreference({ cfg, sources, logger: silentLogger });
    expect(pref.model.meta.comparisons.ctr).toBeGreaterThan(0);
    await sources.close();

    const a = Adapter.load(join(dir, 'adapter.json'));
    expect(readLibrarySpace(cfg)).toMatchObject({ model: 'test/fake-clip', adapter: a.id });
    const lib = await LanceLibrary.open({ uri: join(dir, 'lancedb'), encoder: withAdapter(enc, a), settings: { optimizeEvery: 0 } });
    const i = ids.findIndex(Boolean);
    const stored = await lib.get(ids[i]);
    const want = a.applyImage(raw.image.slice(i * D, (i + 1) * D));
    stored!.imageEmbedding.forEach((x, j) => {
      expect(x).toBeCloseTo(want[j], 5);
    });
    // A text query through the adapted encoder lands in the same space as the re-projected rows.
    const hits = await lib.search({ text: 'caption 3', k: 3 });
    expect(hits.length).toBeGreaterThan(0);
    await lib.close();

    // Turning the adapter off and re-projecting restores raw CLIP embeddings, without the encoder.
    const off = loadConfig({ DATA_DIR: dir, CLIP_ADAPTER: 'off' });
    const s2 = await openLearningSources(off, { logger: silentLogger });
    const back = await reprojectLibrary({ cfg: off, sources: s2 });
    await s2.close();
    expect(back).toEqual({ rows: N, from: a.id, to: null });
    const lib2 = await LanceLibrary.open({ uri: join(dir, 'lancedb'), encoder: enc, settings: { optimizeEvery: 0 } });
    const again = await lib2.get(ids[i]);
    again!.imageEmbedding.forEach((x, j) => {
      expect(x).toBeCloseTo(raw.image[i * D + j], 4);
    });
    await lib2.close();
  });
});
