/**
 * An index that came due while no bot ran is built when the bot starts (services open the
 * library), beside the write queue: not left until the next winner is stored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { LanceLibrary } from '../../../src/library/lance-library.ts';
import { silentLogger } from '../../../src/log.ts';
import { createServices } from '../../../src/services.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'adc-start-index-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('bot start', () => {
  it('builds an index that is due when the library opens', async () => {
    const enc = fakeEncoder({ dims: 16 });
    const uri = join(dir, 'lancedb');
    const before = await LanceLibrary.open({ uri, encoder: enc, settings: { indexMinRows: 1_000_000 } });
    const images = await Promise.all(Array.from({ length: 270 }, (_, i) => testImage(9000 + i, [16, 16])));
    await before.add(images.map((image) => ({ image, brand: 'acme' })));
    await before.close();

    const cfg = loadConfig({ DATA_DIR: dir, LANCEDB_URI: uri, LIBRARY_INDEX_MIN_ROWS: '256', LOG_LEVEL: 'error', BRANDS_DIR: 'brands' });
    const services = await createServices(cfg, { encoder: enc, logger: silentLogger });
    try {
      const lib = await services.library();
      const rows = (await lib.stats()).rows;
      expect(rows).toBeGreaterThanOrEqual(256);
      await vi.waitFor(async () => expect((await lib.stats()).index).toMatchObject({ vector: true, builtForRows: rows }), {
        timeout: 45_000, // a busy machine: the build (IVF_PQ and eight scalar indexes) runs beside the test
        interval: 100,
      });
    } finally {
      await services.close();
    }
  });
});
