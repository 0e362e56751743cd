/**
 * Issue 14, a full or read-only disk: /readyz says so before a round fails on it, naming the
 * folder, and a library write that fails on the disk is one sentence naming the library's folder,
 * not LanceDB's Rust error chain.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { libraryUri, loadConfig } from '../../src/config.ts';
import { diskProblem } from '../../src/disk.ts';
import { LibraryError } from '../../src/errors.ts';
import { openLibrary } from '../../src/library/open.ts';
import { libraryStorageError } from '../../src/library/storage-error.ts';
import { silentLogger } from '../../src/log.ts';
import { createServices, type Services } from '../../src/services.ts';
import { fakeEncoder } from '../helpers/fake-encoder.ts';
import { testImage } from '../helpers/images.ts';
import { makeUnwritable, type Unwritable } from '../helpers/unwritable.ts';
import { harness } from '../integration/slack/harness.ts';

// LanceDB's own words when the library's folder went read-only (issue 14).
const RAW =
  'lance error: LanceError(IO): Read-only file system (os error 30) at path "/data/lancedb/creatives.lance/data/.tmpQ2v", ' +
  '/usr/local/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lance-io-0.27.0/src/object_store.rs:800:21  Caused by: ' +
  'LanceError(IO): Read-only file system (os error 30)';

let dir: string;
let locked: Unwritable | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'adc-disk-'));
});
afterEach(() => {
  locked?.restore();
  locked = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function lock(dirs: string[]): boolean {
  locked = makeUnwritable(dirs);
  if (!locked.available) process.stderr.write(`skipping: cannot make a folder unwritable here (${locked.why})\n`);
  return locked.available;
}

describe('a full or read-only disk', () => {
  it('turns LanceDB’s IO error chain into one sentence naming the folder', () => {
    const e = libraryStorageError(new Error(RAW), '/data/lancedb') as LibraryError;
    expect(e).toBeInstanceOf(LibraryError);
    expect(e.code).toBe('LIBRARY_NOT_WRITABLE');
    expect(e.message).toBe('the creative library at /data/lancedb cannot be written: the file system is mounted read-only');
    expect(diskProblem(new Error('LanceError(IO): No space left on device (os error 28)'))).toBe('the disk is full');
    expect(diskProblem(Object.assign(new Error('write failed'), { code: 'ENOSPC' }))).toBe('the disk is full');
    const other = new Error('LanceError(Schema): field missing');
    expect(libraryStorageError(other, '/data/lancedb')).toBe(other);
  });

  it('a library write that fails on the disk says so in one sentence', async () => {
    const uri = join(dir, 'lancedb');
    const lib = await openLibrary({ uri, encoder: fakeEncoder({ dims: 16 }), logger: silentLogger, settings: { optimizeEvery: 0 } });
    try {
      await lib.add([{ image: await testImage(1), fileName: 'a.jpg', source: 'test' }]);
      if (!lock([uri])) return;
      const err = await lib.add([{ image: await testImage(2), fileName: 'b.jpg', source: 'test' }]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LibraryError);
      expect((err as LibraryError).code).toBe('LIBRARY_NOT_WRITABLE');
      expect((err as Error).message).toMatch(
        new RegExp(
          `^the creative library at ${uri} cannot be written: (this process may not write there|the file system is mounted read-only)`,
        ),
      );
      expect((err as Error).message).not.toMatch(/LanceError|object_store|os error/);
    } finally {
      locked?.restore();
      locked = undefined;
      await lib.close();
    }
  });

  it('/readyz turns 503 naming DATA_DIR and the library folder when they cannot be written', async () => {
    const cfg = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'error', BRANDS_DIR: 'brands', IMAGE_PROVIDER: 'studio' });
    const services: Services = await createServices(cfg, { encoder: fakeEncoder({ dims: 16 }), logger: silentLogger });
    try {
      expect(await services.readiness.refresh()).toBe(true);
      expect(services.readiness.status()).toMatchObject({ data_dir_writable: 'ok', library_writable: 'ok' });
      if (!lock([dir])) return;
      expect(await services.readiness.refresh()).toBe(false);
      const checks = services.readiness.status();
      expect(checks.data_dir_writable).toMatch(new RegExp(`^DATA_DIR ${dir} cannot be written: `));
      expect(checks.library_writable).toMatch(new RegExp(`^the creative library folder ${libraryUri(cfg)} cannot be written: `));
      locked?.restore();
      locked = undefined;
      expect(await services.readiness.refresh()).toBe(true);
    } finally {
      locked?.restore();
      locked = undefined;
      await services.close();
    }
  });

  it('a round that hits a full disk says it stopped, instead of sitting at "posting variants…"', async () => {
    const h = await harness();
    try {
      let release = () => {};
      h.gen.gate = new Promise<void>((r) => {
        release = r;
      });
      await h.d.slashCommand({ user: 'U0ALICE', channel: 'C0GENERAL', text: 'Wool socks for sailors --variants 2' });
      const parent = await h.slack.waitFor(
        () => h.slack.channelMessages('C0GENERAL').find((m) => m.text.includes('Wool socks')),
        5000,
        'parent',
      );
      await h.slack.waitFor(() => (h.gen.requests.length === 1 ? true : undefined), 5000, 'generating');
      // The disk goes: neither the variants' images nor the state database can be written.
      if (!lock([h.dir])) return;
      release();
      const note = await h.slack.waitFor(
        () => h.slack.thread('C0GENERAL', parent.ts).find((m) => m.text.includes('Round 1 stopped')),
        10_000,
        'failure note',
      );
      expect(note.text).toMatch(
        /the bot could not save it: (this process may not write there|the disk is full|the file system is mounted read-only)/,
      );
      await h.slack.waitFor(
        () => (h.slack.message('C0GENERAL', parent.ts)?.text.includes('failed') ? true : undefined),
        10_000,
        'parent status',
      );
      expect(JSON.stringify(h.slack.message('C0GENERAL', parent.ts)?.blocks)).not.toContain('posting variants');
      await h.bot.runner.work.idle();
    } finally {
      locked?.restore();
      locked = undefined;
      await h.close();
    }
  });
});
