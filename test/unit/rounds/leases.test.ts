/**
 * Round ownership between replicas, at the service level: two RoundServices on one store,
 * each with its replica's leases (an in-memory lease table with the PostgreSQL semantics;
 * the SQL itself is tested in the store contract suite).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RoundLeases } from '../../../src/rounds/leases.ts';
import { RoundService, type RoundSettings } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import { createRoundTimer } from '../../../src/rounds/timer.ts';
import type { Round, RoundOptions } from '../../../src/rounds/types.ts';

const settings: RoundSettings = {
  ratePerHour: 10,
  dailyImageCap: 100,
  monthlyUsdCap: 0,
  autoCloseMinutes: 60,
  reminderMinutes: 10,
  doubleClickMs: 0,
  pricing: { estimate: (n: number) => ({ usd: 0.01 + 0.04 * n, textCalls: 1, imageCalls: n }) },
};
const options: RoundOptions = { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false };
const TTL = 30_000;

/** The lease table every replica shares, on the test's clock. */
function leaseTable(clock: () => number) {
  const rows = new Map<string, { owner: string; expires: number }>();
  return (owner: string): RoundLeases => ({
    owner,
    shared: true,
    claim: async (id) => {
      const row = rows.get(id);
      if (row && row.owner !== owner && row.expires >= clock()) return false;
      rows.set(id, { owner, expires: clock() + TTL });
      return true;
    },
    renewAll: async () => {
      let n = 0;
      for (const r of rows.values())
        if (r.owner === owner) {
          r.expires = clock() + TTL;
          n++;
        }
      return n;
    },
    release: async (id) => {
      if (rows.get(id)?.owner === owner) rows.delete(id);
    },
    unowned: async (ids) => ids.filter((id) => (rows.get(id)?.expires ?? 0) < clock()),
  });
}

let dir: string;
let store: SqliteRoundStore;
let now: number;
let a: RoundService;
let b: RoundService;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leases-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  now = Date.parse('2026-03-10T12:00:00Z');
  const table = leaseTable(() => now);
  const clock = () => new Date(now);
  a = new RoundService({ store, settings, clock, leases: table('replica-a'), leaseMs: TTL });
  b = new RoundService({ store, settings, clock, leases: table('replica-b'), leaseMs: TTL });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const create = (svc: RoundService, ts: string) =>
  svc.createRound({ channel: 'C1', threadTs: ts, number: 1, brief: 'coffee', author: 'U1', options });

describe('round leases in the service', () => {
  it('the creating replica owns its round; another one takes it only after the owner stops renewing', async () => {
    const r = await create(a, '1.1');
    expect(await b.claim(r.id)).toBe(false);
    expect(await a.claim(r.id)).toBe(true);
    // Young, or owned and renewed: not an orphan.
    now += TTL + 1000;
    await a.leases?.renewAll();
    expect(await b.orphans()).toEqual([]);
    // The owner dies: after one lease time its generating round is an orphan for the other replica.
    now += TTL + 1000;
    expect((await b.orphans()).map((x) => x.id)).toEqual([r.id]);
    expect(await b.claim(r.id)).toBe(true);
    expect(await a.claim(r.id)).toBe(false);
  });

  it('each due round is closed by exactly one replica: its owner while alive, the other after it died', async () => {
    const r1 = await create(a, '1.1');
    const r2 = await create(b, '2.1');
    await a.open(r1.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });
    await b.open(r2.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });
    now += 61 * 60_000;
    await a.leases?.renewAll();
    await b.leases?.renewAll();
    expect((await a.due()).close.map((r) => r.id)).toEqual([r1.id]);
    expect((await b.due()).close.map((r) => r.id)).toEqual([r2.id]);

    // Replica B dies; A's timer finds B's round once B's lease ran out, and closes it.
    const closedBy: Record<string, string> = {};
    const timer = createRoundTimer({
      rounds: a,
      onRemind: async () => {},
      onClose: async (r: Round) => {
        closedBy[r.id] = 'replica-a';
        await a.close(r.id, 'auto');
      },
    });
    now += TTL / 2;
    await a.leases?.renewAll();
    await timer.tick();
    expect(closedBy).toEqual({ [r1.id]: 'replica-a' });
    now += TTL;
    await a.leases?.renewAll();
    await timer.tick();
    expect(Object.keys(closedBy).sort()).toEqual([r1.id, r2.id].sort());
    expect((await store.getRound(r2.id))?.status).toBe('closed');
  });

  it('the timer hands orphaned generating rounds to onOrphans, and without leases there are none', async () => {
    const r = await create(b, '3.1');
    const seen: string[][] = [];
    const timer = createRoundTimer({
      rounds: a,
      onRemind: async () => {},
      onClose: async () => {},
      onOrphans: async (rs) => {
        seen.push(rs.map((x) => x.id));
      },
    });
    await timer.tick();
    expect(seen).toEqual([]);
    now += 2 * TTL;
    await timer.tick();
    expect(seen).toEqual([[r.id]]);
    const solo = new RoundService({ store, settings, clock: () => new Date(now) });
    expect(await solo.orphans()).toEqual([]);
    expect(await solo.claim(r.id)).toBe(true);
  });
});
