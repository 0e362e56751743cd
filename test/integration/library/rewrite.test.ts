/**
 * `library reembed` across crashes: a crash while embedding leaves the live table untouched and
 * the next run embeds only what is left; a crash while copying back (the live table half
 * rebuilt) is finished by the next run from the complete staging table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Encoder } from '../../../src/clip/types.ts';
import { connectLance } from '../../../src/library/connect.ts';
import { LanceLibrary } from '../../../src/library/lance-library.ts';
import { reembedLibrary } from '../../../src/library/reembed.ts';
import { interruptedRewrites, STAGING, withRewriteLock } from '../../../src/library/rewrite.ts';
import { creativesSchema } from '../../../src/library/schema.ts';
import { finishInterruptedReprojection, rewriteLibraryEmbeddings } from '../../../src/library/training-pairs.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';

// Thumbnails (the first step of an add) wait here while a test holds the gate: the add's read of
// the table (its duplicate check) then comes at a moment the test picks.
const thumbs = vi.hoisted(() => ({ held: undefined as Promise<void> | undefined }));
vi.mock('../../../src/image/thumbnail.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/image/thumbnail.ts')>();
  return {
    ...real,
    makeThumbnail: async (...args: Parameters<typeof real.makeThumbnail>) => {
      await thumbs.held;
      return real.makeThumbnail(...args);
    },
  };
});

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
    // Until it is finished the library refuses to open: rows written to the half-copied table would be lost.
    await expect(LanceLibrary.open({ uri, encoder: c })).rejects.toMatchObject({
      code: 'LIBRARY_REWRITE_INTERRUPTED',
      hint: expect.stringMatching(/adcreative library reembed/),
    });
    // While a rewrite holds the lock (copying back now), the message says so instead.
    await withRewriteLock(uri, async () => {
      await expect(LanceLibrary.open({ uri, encoder: c })).rejects.toMatchObject({ code: 'LIBRARY_REWRITE_RUNNING' });
    });
    // The next run restores from the staging table without embedding anything again.
    const embeddedBefore = c.calls.images;
    const finished = await reembedLibrary({ uri, encoder: c, batch: 8 });
    expect(finished).toMatchObject({ rows: 40, to: 'model-c (16-d)' });
    expect(finished.skipped).toMatch(/finished an interrupted re-embed/);
    expect(c.calls.images).toBe(embeddedBefore);
    expect(await libraryState(uri, c)).toEqual({ ...before, model: 'model-c' });
  });

  it('does not resume a staging table when the library changed since (deleted rows stay deleted)', async () => {
    const uri = join(dir, 'changed');
    const a = fakeEncoder({ dims: 16, model: 'model-a' });
    const lib = await LanceLibrary.open({ uri, encoder: a });
    const images = await Promise.all(Array.from({ length: 24 }, (_, i) => testImage(4000 + i, [20, 20])));
    const added = await lib.add(images.map((image) => ({ image, brand: 'acme' })));
    await lib.close();
    const b = fakeEncoder({ dims: 16, model: 'model-b' });
    await expect(reembedLibrary({ uri, encoder: dying(b, 1), batch: 8 })).rejects.toThrow('killed');
    // Someone removes a creative before the re-embed is run again.
    const mid = await LanceLibrary.open({ uri, encoder: a });
    expect((await mid.remove([added.ids[0]])).removed).toEqual([added.ids[0]]);
    await mid.close();
    const r = await reembedLibrary({ uri, encoder: b, batch: 8 });
    expect(r.rows).toBe(23);
    const after = await libraryState(uri, b);
    expect(after.ids).not.toContain(added.ids[0]);
  });

  it('a re-projection finished after a crash says which adapter space the library is in', async () => {
    const uri = join(dir, 'reproject');
    const a = fakeEncoder({ dims: 16, model: 'model-a' });
    const lib = await LanceLibrary.open({ uri, encoder: a });
    const images = await Promise.all(Array.from({ length: 20 }, (_, i) => testImage(5000 + i, [20, 20])));
    await lib.add(images.map((image) => ({ image, brand: 'acme' })));
    await lib.close();
    const negate = (v: Float32Array) => v.map((x) => -x);
    await expect(
      rewriteLibraryEmbeddings({
        uri,
        target: 'adapter-123',
        batch: 8,
        fn: (r) => ({ textEmbedding: negate(r.textEmbedding), imageEmbedding: negate(r.imageEmbedding) }),
        onRestore: (n) => {
          if (n >= 8) throw new Error('killed while copying back');
        },
      }),
    ).rejects.toThrow('killed while copying back');
    // A second re-projection is refused until this one is finished (it would project twice).
    await expect(rewriteLibraryEmbeddings({ uri, target: null, fn: (r) => r })).rejects.toMatchObject({
      code: 'LIBRARY_REWRITE_INTERRUPTED',
    });
    const recorded: unknown[] = [];
    const finished = await finishInterruptedReprojection({ uri, record: (space) => void recorded.push(space) });
    expect(finished).toEqual({ rows: 20, adapter: 'adapter-123', model: 'model-a' });
    expect(recorded).toEqual([{ adapter: 'adapter-123', model: 'model-a' }]);
    expect(await finishInterruptedReprojection({ uri })).toBeUndefined();
    // Every row was projected exactly once.
    const reopened = await LanceLibrary.open({ uri, encoder: a });
    const [first] = await a.embedImages([images[3]]);
    const [sim] = await reopened.maxSimilarity([negate(first)]);
    expect(sim).toBeCloseTo(1, 5);
    await reopened.close();
  });

  it('one rewrite at a time per library folder; a lock left by a dead process is taken over', async () => {
    const uri = join(dir, 'locked');
    let inner: unknown;
    await withRewriteLock(uri, async () => {
      inner = await withRewriteLock(uri, async () => 'second').catch((e) => e);
    });
    expect(inner).toMatchObject({ code: 'LIBRARY_REWRITE_BUSY' });
    // A lock whose process is gone (pid 2^22 + 1 is above Linux's pid_max), or that names this very
    // pid without this process holding it (a container restarted as pid 1 again), is taken over.
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { hostname } = await import('node:os');
    const leave = (pid: number) => {
      mkdirSync(join(uri, '.adcreative-rewrite.lock'));
      writeFileSync(join(uri, '.adcreative-rewrite.lock', 'owner.json'), JSON.stringify({ pid, host: hostname(), token: 'old' }));
    };
    leave(4_194_305);
    expect(await withRewriteLock(uri, async () => 'ran')).toBe('ran');
    leave(process.pid);
    expect(await withRewriteLock(uri, async () => 'ran again')).toBe('ran again');
    // A live process's lock (pid 1 is alive here) is respected.
    leave(1);
    await expect(withRewriteLock(uri, async () => 'no')).rejects.toMatchObject({ code: 'LIBRARY_REWRITE_BUSY' });
  });

  it('writes made while a rewrite runs wait for it instead of being lost to its restore', async () => {
    const uri = join(dir, 'waiting');
    const a = fakeEncoder({ dims: 16, model: 'model-a' });
    const lib = await LanceLibrary.open({ uri, encoder: a });
    const images = await Promise.all(Array.from({ length: 12 }, (_, i) => testImage(6000 + i, [20, 20])));
    await lib.add(images.slice(0, 10).map((image) => ({ image, brand: 'acme' })));
    // A re-projection (the learning loop in this process) starts; a winner is stored while it runs.
    let write: Promise<unknown> | undefined;
    let storedDuring = false;
    const rows = await rewriteLibraryEmbeddings({
      uri,
      target: 'adapter-w',
      fn: (r) => {
        write ??= lib.add(images.slice(10).map((image) => ({ image, brand: 'acme' }))).then(() => {
          storedDuring = true;
        });
        // Awaited below, after the rewrite: a failure must fail this test there, not escape unhandled meanwhile.
        write.catch(() => undefined);
        return r;
      },
    });
    expect(rows).toBe(10);
    expect(storedDuring).toBe(false); // it waited for the restore…
    await write;
    const s = await lib.stats(); // …and then landed in the new table
    expect(s.rows).toBe(12);
    await lib.close();
  });

  it('a write whose duplicate check reads the table while a rewrite copies it back lands in the new table', async () => {
    const uri = join(dir, 'checking');
    const a = fakeEncoder({ dims: 16, model: 'model-a' });
    const lib = await LanceLibrary.open({ uri, encoder: a });
    const images = await Promise.all(Array.from({ length: 12 }, (_, i) => testImage(6100 + i, [20, 20])));
    await lib.add(images.slice(0, 10).map((image) => ({ image, brand: 'acme' })));
    let release = () => {};
    thumbs.held = new Promise<void>((r) => {
      release = r;
    });
    let write: Promise<unknown> | undefined;
    try {
      const rows = await rewriteLibraryEmbeddings({
        uri,
        target: 'adapter-c',
        fn: (r) => {
          // A winner is stored while the re-projection stages its rows…
          write ??= lib.add([
            { image: images[10], brand: 'acme' },
            { image: images[11], headline: 'winner' },
          ]);
          write.catch(() => undefined); // awaited below; a failure fails the test there
          return r;
        },
        // …and reads the table for duplicates only once the copy-back has replaced it.
        onRestore: () => release(),
      });
      expect(rows).toBe(10);
    } finally {
      release();
      thumbs.held = undefined;
    }
    expect(await write).toMatchObject({ ingested: 2, failed: [] });
    expect((await lib.stats()).rows).toBe(12);
    expect((await lib.search({ image: images[11], k: 1 }))[0].headline).toBe('winner');
    await lib.close();
  });

  it('a read in flight while a rewrite replaces the table finishes on the rows it started on', async () => {
    const uri = join(dir, 'reading');
    const a = fakeEncoder({ dims: 16, model: 'model-a' });
    // No compaction: one fragment per add, more than Lance reads ahead of a scan (16 here), so the
    // scan below must open data files after the rewrite has replaced the table.
    const lib = await LanceLibrary.open({ uri, encoder: a, settings: { optimizeEvery: 0 } });
    const images = await Promise.all(Array.from({ length: 40 }, (_, i) => testImage(8000 + i, [20, 20])));
    const ids: string[] = [];
    for (const image of images) ids.push(...(await lib.add([{ image, brand: 'acme' }])).ids);
    // An export (or the learning loop) is part-way through the library when a re-projection lands.
    const reading = lib.scan({ images: false })[Symbol.asyncIterator]();
    const first = await reading.next();
    expect(first.done).toBe(false);
    expect(await rewriteLibraryEmbeddings({ uri, target: 'adapter-r', fn: (r) => r })).toBe(40);
    const seen = [(first.value as { id: string }).id];
    for (let r = await reading.next(); !r.done; r = await reading.next()) seen.push(r.value.id);
    expect(seen.sort()).toEqual([...ids].sort());
    // The next read is on the rewritten table.
    expect(await lib.count()).toBe(40);
    expect((await lib.search({ image: images[7], k: 1 }))[0].id).toBe(ids[7]);
    await lib.close();
  });

  it('a staging table dropped between listing and opening it (its rewrite just finished) is not an error', async () => {
    const uri = join(dir, 'vanishing');
    const db = await connectLance(uri);
    await db.createEmptyTable(STAGING.reproject.table, creativesSchema('model-a', 16));
    // Opening a library (or checking for an interrupted re-projection) takes no lock: the rewrite
    // may drop its staging table right after the listing saw it.
    let dropped = false;
    const racing = new Proxy(db, {
      get(target, key) {
        if (key === 'tableNames')
          return async () => {
            const names = await target.tableNames();
            if (!dropped) {
              dropped = true;
              await target.dropTable(STAGING.reproject.table);
            }
            return names;
          };
        const v = Reflect.get(target, key);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    expect(await interruptedRewrites(racing)).toEqual([]);
    expect(dropped).toBe(true);
    db.close();
  });

  it('an open library notices a rewrite made between its writes: reopens the new table, or refuses another model', async () => {
    const uri = join(dir, 'between');
    const a = fakeEncoder({ dims: 16, model: 'model-a' });
    const lib = await LanceLibrary.open({ uri, encoder: a });
    const images = await Promise.all(Array.from({ length: 14 }, (_, i) => testImage(7000 + i, [20, 20])));
    await lib.add(images.slice(0, 10).map((image) => ({ image, brand: 'acme' })));
    // The learning loop re-projects (another handle) while this one is idle.
    await rewriteLibraryEmbeddings({ uri, target: 'adapter-x', fn: (r) => r });
    await lib.add(images.slice(10, 12).map((image) => ({ image, brand: 'acme' })));
    expect((await lib.search({ image: images[11], k: 1 }))[0].scores.image).toBeCloseTo(1, 5);
    await lib.close();
    // Another process, reading from scratch, sees every row: the write went to the new table.
    expect((await libraryState(uri, a)).rows).toBe(12);

    // A re-embed with another model under an open handle: its writes are refused, not mixed in.
    const open = await LanceLibrary.open({ uri, encoder: a });
    await reembedLibrary({ uri, encoder: fakeEncoder({ dims: 16, model: 'model-z' }) });
    await expect(open.add(images.slice(12).map((image) => ({ image })))).rejects.toMatchObject({ code: 'LIBRARY_MODEL_MISMATCH' });
    await open.close();
  });
});
