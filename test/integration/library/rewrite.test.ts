/**
 * `library reembed` across crashes: a crash while embedding leaves the live table untouched and
 * the next run embeds only what is left; a crash while copying back (the live table half
 * rebuilt) is finished by the next run from the complete staging table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encoder } from '../../../src/clip/types.ts';
import { LanceLibrary } from '../../../src/library/lance-library.ts';
import { reembedLibrary } from '../../../src/library/reembed.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'adc-rewrite-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Fails every embedding call after the first `okCalls`, like a process killed mid-run. */
function dying(enc: Encoder, okCalls: number): Encoder {
  let calls = 0;
  return {
    ...enc,
    info: () => enc.info(),
    embedImages: async (xs) => {
      if (++calls > okCalls) throw new Error('killed');
      return enc.embedImages(xs);
    },
    embedTexts: (xs) => enc.embedTexts(xs),
  };
}

async function libraryState(uri: string, encoder: Encoder) {
  const lib = await LanceLibrary.open({ uri, encoder });
  const s = await lib.stats();
  const ids: string[] = [];
  for await (const c of lib.scan({ images: false })) ids.push(c.id);
  await lib.close();
  return { model: s.model, rows: s.rows, ids: ids.sort() };
}

describe('library reembed across crashes', () => {
  it('resumes an interrupted embedding pass and finishes an interrupted copy-back', async () => {
    const uri = join(dir, 'lancedb');
    const a = fakeEncoder({ dims: 16, model: 'model-a' });
    const lib = await LanceLibrary.open({ uri, encoder: a });
    const images = await Promise.all(Array.from({ length: 40 }, (_, i) => testImage(3000 + i, [20, 20])));
    await lib.add(images.map((image, i) => ({ image, brand: 'acme', headline: `ad ${i}` })));
    await lib.close();
    const before = await libraryState(uri, a);
    expect(before.rows).toBe(40);

    // 1. Killed after two batches of eight while embedding: the live table is untouched.
    const b = fakeEncoder({ dims: 16, model: 'model-b' });
    await expect(reembedLibrary({ uri, encoder: dying(b, 2), batch: 8 })).rejects.toThrow('killed');
    expect(await libraryState(uri, a)).toEqual(before);

    // The next run embeds only the 24 rows not staged yet.
    expect(b.calls.images).toBe(16);
    const again = await reembedLibrary({ uri, encoder: b, batch: 8 });
    expect(again).toMatchObject({ rows: 40, from: 'model-a (16-d)', to: 'model-b (16-d)' });
    expect(b.calls.images - 16).toBe(24);
    expect(await libraryState(uri, b)).toEqual({ ...before, model: 'model-b' });

    // 2. Killed while copying back: the live table holds 16 of 40 rows, the staging table all of them.
    const c = fakeEncoder({ dims: 16, model: 'model-c' });
    await expect(
      reembedLibrary({
        uri,
        encoder: c,
        batch: 8,
        onRestore: (n) => {
          if (n >= 16) throw new Error('killed while copying back');
        },
      }),
    ).rejects.toThrow('killed while copying back');
    // The next run restores from the staging table without embedding anything again.
    const embeddedBefore = c.calls.images;
    const finished = await reembedLibrary({ uri, encoder: c, batch: 8 });
    expect(finished).toMatchObject({ rows: 40, to: 'model-c (16-d)' });
    expect(finished.skipped).toMatch(/finished an interrupted re-embed/);
    expect(c.calls.images).toBe(embeddedBefore);
    expect(await libraryState(uri, c)).toEqual({ ...before, model: 'model-c' });
  });
});
