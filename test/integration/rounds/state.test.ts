/**
 * openState(cfg): the one place the bot, the learning loop and the CLI open rounds state.
 * SQLite under DATA_DIR by default; PostgreSQL, shared by replicas with leases, when
 * DATABASE_URL is set; each deployment loads only its own driver.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { openState, stateExists } from '../../../src/rounds/state.ts';
import type { CapCheck, NewRound } from '../../../src/rounds/types.ts';
import { type PgCluster, postgresAvailable, startPostgres } from '../../helpers/postgres.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const pgOk = postgresAvailable();
let cluster: PgCluster | undefined;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'state-'));
  if (pgOk) cluster = await startPostgres();
}, 90_000);

afterAll(() => {
  cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const CAPS: CapCheck = {
  perUserLimit: 10,
  perUserSince: new Date(0),
  dailyImageCap: 100,
  daySince: new Date(0),
  monthlyUsdCap: 0,
  monthSince: new Date(0),
};
const round = (id: string): NewRound => ({
  id,
  channel: 'C1',
  threadTs: `${id}.1`,
  number: 1,
  brief: 'oat milk',
  author: 'U1',
  startedBy: 'U1',
  options: { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false },
  createdAt: new Date(),
  imagesPlanned: 2,
});
const embedding = Float32Array.from([0.6, 0.8]);
const assets = { images: {}, preview: new Uint8Array([1]), visual: new Uint8Array([2]), imageEmbedding: embedding };

describe('openState', () => {
  it('without DATABASE_URL: SQLite at $DATA_DIR/state.sqlite, every lease granted, assets under $DATA_DIR/variants', async () => {
    const dir = join(tmp, 'sqlite');
    const cfg = loadConfig({ DATA_DIR: dir });
    expect(stateExists(cfg)).toBe(false);
    const state = await openState(cfg);
    try {
      expect(existsSync(join(dir, 'state.sqlite'))).toBe(true);
      expect(stateExists(cfg)).toBe(true);
      await state.store.insertRound(round('r1'), CAPS);
      expect(await state.leases.claim('r1')).toBe(true);
      expect(await state.leases.unowned(['r1'])).toEqual([]);
      await state.assets.save('r1', 'r1-A', assets);
      expect(existsSync(join(dir, 'variants', 'r1', 'r1-A', 'embedding.f32'))).toBe(true);
    } finally {
      await state.close();
    }
    // Reopened: the same state.
    const again = await openState(cfg);
    try {
      expect((await again.store.getRound('r1'))?.brief).toBe('oat milk');
      expect([...((await again.assets.load('r1', 'r1-A'))?.imageEmbedding ?? [])]).toEqual([...embedding]);
    } finally {
      await again.close();
    }
  });

  it('a state.sqlite that is not a database: STORE_OPEN naming the file, and the file is left as it was', async () => {
    const dir = join(tmp, 'junk');
    mkdirSync(dir, { recursive: true });
    const junk = 'not a database, just text '.repeat(200);
    writeFileSync(join(dir, 'state.sqlite'), junk);
    const err = await openState(loadConfig({ DATA_DIR: dir })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'StoreError', code: 'STORE_OPEN' });
    expect((err as Error).message).toContain(join(dir, 'state.sqlite'));
    expect(readFileSync(join(dir, 'state.sqlite'), 'utf8')).toBe(junk);
  });

  it('with DATABASE_URL: PostgreSQL shared by replicas, each with its leases, and no SQLite file', async (ctx) => {
    if (!cluster) return ctx.skip();
    const dir = join(tmp, 'pg');
    const env = { DATA_DIR: dir, DATABASE_URL: cluster.createDatabase('state_shared') };
    const a = await openState(loadConfig({ ...env, REPLICA_ID: 'replica-a', ROUND_LEASE_SECONDS: '30' }));
    const b = await openState(loadConfig({ ...env, REPLICA_ID: 'replica-b', ROUND_LEASE_SECONDS: '30' }));
    try {
      expect(stateExists(loadConfig(env))).toBe(true);
      await a.store.insertRound(round('p1'), CAPS);
      expect((await b.store.getRound('p1'))?.id).toBe('p1');
      expect(a.leases.owner).toBe('replica-a');
      expect(await a.leases.claim('p1')).toBe(true);
      expect(await b.leases.claim('p1')).toBe(false);
      expect(await b.leases.unowned(['p1', 'p2'])).toEqual(['p2']);
      expect(existsSync(join(dir, 'state.sqlite'))).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('loads only the driver it uses: PostgreSQL never loads better-sqlite3, SQLite never loads pg', async (ctx) => {
    if (!cluster) return ctx.skip();
    // A fresh process, so that no other test's imports count.
    const script = [
      "import { createRequire } from 'node:module';",
      "import { loadConfig } from './src/config.ts';",
      "import { openState } from './src/rounds/state.ts';",
      'const state = await openState(loadConfig({ DATA_DIR: process.env.D, DATABASE_URL: process.env.U }));',
      "await state.store.getRound('probe');",
      'await state.close();',
      'const loaded = Object.keys(createRequire(import.meta.url).cache);',
      "const has = (lib) => loaded.some((p) => p.includes('/node_modules/' + lib + '/'));",
      "console.log(JSON.stringify({ sqlite: has('better-sqlite3'), pg: has('pg') }));",
    ].join('\n');
    const run = (env: Record<string, string>) =>
      JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', D: join(tmp, 'drivers'), ...env },
          encoding: 'utf8',
        })
          .trim()
          .split('\n')
          .at(-1) as string,
      );
    expect(run({ U: cluster.createDatabase('state_drivers') })).toEqual({ sqlite: false, pg: true });
    expect(run({ U: '' })).toEqual({ sqlite: true, pg: false });
  });
});
