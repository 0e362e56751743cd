/**
 * Existing state survives an upgrade: databases written by the earlier store code (see
 * test/fixtures/state/README.md), a SQLite file and a PostgreSQL dump, opened with today's
 * store. Everything reads back as it was written, migrating again changes nothing, and the
 * database takes new rounds and votes.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlLeases } from '../../../src/rounds/leases.ts';
import { MIGRATIONS } from '../../../src/rounds/migrations.ts';
import { openPostgresStore } from '../../../src/rounds/postgres.ts';
import type { SqlRoundStore } from '../../../src/rounds/sql-store.ts';
import { openSqliteStore } from '../../../src/rounds/sqlite.ts';
import type { CapCheck, VariantRecord } from '../../../src/rounds/types.ts';
import { type PgCluster, postgresAvailable, startPostgres } from '../../helpers/postgres.ts';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/state');
const pgOk = postgresAvailable();
let cluster: PgCluster | undefined;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'store-upgrade-'));
  if (pgOk) cluster = await startPostgres();
}, 90_000);

afterAll(() => {
  cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The fixtures' clock: 2026-02-03 10:mm:00.123 UTC. */
const T = (m: number) => new Date(Date.UTC(2026, 1, 3, 10, m, 0, 123));
const THREAD = '1700000000.000100';
const CAPS: CapCheck = {
  perUserLimit: 100,
  perUserSince: new Date(0),
  dailyImageCap: 1000,
  daySince: new Date(0),
  monthlyUsdCap: 0,
  monthSince: new Date(0),
};
const options = { variants: 2, formats: ['square', 'story'], brand: 'acme', channel: 'meta', anonymous: true, hideTally: false };

async function expectAsWritten(store: SqlRoundStore): Promise<void> {
  expect(await store.getRound('r-1')).toEqual({
    id: 'r-1',
    channel: 'C1',
    threadTs: THREAD,
    number: 1,
    brief: 'Oat milk for runners — "fast" & <light>',
    author: 'U1',
    options,
    status: 'closed',
    createdAt: T(0),
    closesAt: T(60),
    reminded: true,
    closedAt: T(8),
    closedBy: 'U1',
    winnerVariantId: 'r-1-A',
    winnerCreativeId: 'cr-9',
    tie: false,
    tallyTs: '1700000002.000100',
    permalink: 'https://example.slack.com/archives/C1/p1700000000000100',
    imagesPlanned: 2,
    costUsd: 0.09,
    textCalls: 1,
    imageCalls: 2,
    offline: true,
    synthetic: true,
    error: null,
  });
  const variants = await store.listVariants('r-1');
  expect(variants).toEqual([
    {
      id: 'r-1-A',
      roundId: 'r-1',
      label: 'A',
      position: 0,
      headline: 'Head A',
      body: 'Body A ✓',
      cta: 'Shop now',
      concept: 'dawn run',
      reason: 'closest to brief',
      scores: { relevance: 0.31, novelty: 0.52, diversity: 0.4, preference: 0.61, total: 0.44 },
      offline: false,
      flags: [],
      formats: ['square', 'story'],
      messageTs: '1700000001.000A',
      fileId: 'F123',
    },
    expect.objectContaining({
      id: 'r-1-B',
      offline: true,
      flags: ['edited'],
      fileId: null,
      scores: expect.objectContaining({ preference: null }),
    }),
  ]);
  expect((await store.variantByMessage('C1', '1700000001.001B'))?.variant.id).toBe('r-1-B');
  expect(await store.listVotes('r-1')).toEqual([
    { roundId: 'r-1', user: 'U2', audience: '', variantId: 'r-1-A', source: 'button', at: T(1) },
    { roundId: 'r-1', user: 'U3', audience: '', variantId: 'r-1-A', source: 'button', at: T(3) },
  ]);
  expect((await store.voteEvents('r-1')).map((e) => [e.user, e.previous, e.variantId, e.source])).toEqual([
    ['U2', null, 'r-1-A', 'button'],
    ['U3', null, 'r-1-B', 'reaction'],
    ['U3', 'r-1-B', 'r-1-A', 'button'],
    ['U4', null, 'r-1-B', 'button'],
    ['U4', 'r-1-B', null, 'button'],
  ]);
  expect(await store.lastVoteEvent('r-1', 'U4')).toMatchObject({ variantId: null, previous: 'r-1-B', at: T(5) });
  expect((await store.feedbackInThread('C1', THREAD)).map((f) => [f.id, f.text, f.usedBy, f.createdAt])).toEqual([
    ['C1:1700000003.000100', 'warmer colours', 'r-2', T(6)],
    ['C1:1700000004.000100', 'shorter headline', null, T(7)],
  ]);
  expect(await store.latestRoundInThread('C1', THREAD)).toMatchObject({ id: 'r-2', number: 2, status: 'open', closesAt: T(70) });
  expect(await store.roundsWithStatus(['failed'])).toEqual([expect.objectContaining({ id: 'r-3', error: 'not_in_channel' })]);
  expect(await store.usageSince(T(-1))).toEqual({ rounds: 3, failed: 1, images: 2, usd: 0.09 });
  expect(await store.markProcessed('Ev0001', T(20))).toBe(false);
}

async function expectWritable(store: SqlRoundStore): Promise<void> {
  await store.migrate();
  // Every migration shipped since then is applied on top.
  expect((await store.db.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => Number(r.version))).toEqual(
    MIGRATIONS.map((m) => m.version),
  );
  // Migration 2: rounds made before it count against their author.
  expect(
    Number((await store.db.query('SELECT COUNT(*) AS n FROM rounds WHERE started_by IS NULL OR started_by <> author')).rows[0].n),
  ).toBe(0);
  // Tables added later work on the old rows: an approval of an open round from back then.
  expect(await store.approve({ roundId: 'r-2', variantId: 'r-2-A', user: 'U4', hash: 'h', at: T(21) })).toBe('recorded');
  expect(
    await store.swapVote({ roundId: 'r-2', user: 'U3', audience: '', expected: null, next: 'r-2-A', source: 'reaction', at: T(21) }),
  ).toBe(true);
  expect(
    await store.swapVote({ roundId: 'r-1', user: 'U5', audience: '', expected: null, next: 'r-1-A', source: 'button', at: T(21) }),
  ).toBe(false);
  expect((await store.listVotes('r-2')).map((v) => v.user)).toEqual(['U2', 'U3']);
  const made = {
    id: 'r-4',
    channel: 'C1',
    threadTs: THREAD,
    author: 'U1',
    startedBy: 'U1',
    brief: 'again',
    options,
    createdAt: T(22),
    imagesPlanned: 1,
  };
  await expect(store.insertRound({ ...made, number: 2 } as never, CAPS)).rejects.toMatchObject({ code: 'ROUND_EXISTS' });
  expect(await store.insertRound({ ...made, number: 3 } as never, CAPS)).toMatchObject({ id: 'r-4', number: 3, status: 'generating' });
  expect((await store.roundsInThread('C1', THREAD)).map((r) => r.number)).toEqual([1, 2, 3]);
}

describe('state written by the earlier store code', () => {
  it('SQLite: a state.sqlite file reads back exactly and takes new writes', async () => {
    const path = join(tmp, 'state.sqlite');
    copyFileSync(join(FIXTURES, 'v1-state.sqlite'), path);
    const store = await openSqliteStore(path);
    try {
      await expectAsWritten(store);
      await expectWritable(store);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL: a schema with its leases reads back exactly and takes new writes', async (ctx) => {
    if (!cluster) return ctx.skip();
    const url = cluster.createDatabase('upgraded');
    cluster.psql('upgraded', readFileSync(join(FIXTURES, 'v1-state.postgres.sql'), 'utf8'));
    const store = await openPostgresStore(url);
    try {
      await expectAsWritten(store);
      await expectWritable(store);
      // The lease table came through: its row is there, and its owner can renew it.
      expect((await store.db.query('SELECT round_id, owner FROM round_leases')).rows).toEqual([{ round_id: 'r-2', owner: 'replica-a' }]);
      expect(await sqlLeases(store.db, 'replica-a', 60_000).claim('r-2')).toBe(true);
      expect(await sqlLeases(store.db, 'replica-b', 60_000).claim('r-2')).toBe(false);
    } finally {
      await store.close();
    }
  });
});

/**
 * A database at version 5 (votes keyed by round and person) with votes in a round with audiences
 * and in one without: made with today's store, its votes table put back as version 1 made it.
 * Migration 6 keeps every vote, each in its variant's segment, and then a person can vote in each.
 */
async function seedVersion5(store: SqlRoundStore): Promise<void> {
  const audiences = ['students', 'parents'];
  await store.insertRound({ ...v5Round('seg'), options: { ...options, audiences } } as never, CAPS);
  await store.insertRound(v5Round('plain') as never, CAPS);
  const v = (roundId: string, label: string, position: number, audience?: string): VariantRecord => ({
    id: `${roundId}-${label}`,
    roundId,
    label,
    position,
    headline: `Head ${label}`,
    body: 'Body',
    cta: 'Shop',
    concept: 'c',
    reason: 'r',
    scores: { relevance: 0.3, novelty: 0.5, diversity: 0.4, preference: null, total: 0.4 },
    offline: true,
    flags: [],
    formats: ['square'],
    messageTs: `9.${roundId}${label}`,
    fileId: null,
    ...(audience ? { audience } : {}),
  });
  await store.insertVariants([
    v('seg', 'A', 0, 'students'),
    v('seg', 'B', 1, 'students'),
    v('seg', 'C', 2, 'parents'),
    v('seg', 'D', 3, 'parents'),
  ]);
  await store.insertVariants([v('plain', 'A', 0), v('plain', 'B', 1)]);
  for (const id of ['seg', 'plain']) await store.transitionRound(id, ['generating'], 'open');
  const v1Votes = MIGRATIONS[0].sql.find((s) => s.startsWith('CREATE TABLE votes')) as string;
  await store.db.transaction(async (tx) => {
    await tx.query('DROP TABLE votes');
    await tx.query(v1Votes);
    await tx.query('DELETE FROM schema_migrations WHERE version >= 6');
    const votes = [
      ['seg', 'U1', 'seg-A', 1],
      ['seg', 'U2', 'seg-C', 2],
      ['seg', 'U3', 'seg-B', 3],
      ['plain', 'U1', 'plain-B', 4],
    ] as const;
    for (const [round, user, variant, m] of votes) {
      await tx.query('INSERT INTO votes (round_id, user_id, variant_id, source, at) VALUES (?, ?, ?, ?, ?)', [
        round,
        user,
        variant,
        'button',
        T(m).toISOString(),
      ]);
    }
  });
}

function v5Round(id: string) {
  return {
    id,
    channel: 'C5',
    threadTs: `5.${id}`,
    number: 1,
    author: 'U1',
    startedBy: 'U1',
    brief: 'b',
    options,
    createdAt: T(0),
    imagesPlanned: 0,
  };
}

async function expectVotesKeptPerSegment(store: SqlRoundStore): Promise<void> {
  expect((await store.db.query('SELECT MAX(version) AS v FROM schema_migrations')).rows[0].v).toBe(6);
  expect(await store.listVotes('seg')).toEqual([
    { roundId: 'seg', user: 'U1', audience: 'students', variantId: 'seg-A', source: 'button', at: T(1) },
    { roundId: 'seg', user: 'U2', audience: 'parents', variantId: 'seg-C', source: 'button', at: T(2) },
    { roundId: 'seg', user: 'U3', audience: 'students', variantId: 'seg-B', source: 'button', at: T(3) },
  ]);
  expect(await store.listVotes('plain')).toEqual([
    { roundId: 'plain', user: 'U1', audience: '', variantId: 'plain-B', source: 'button', at: T(4) },
  ]);
  // The kept vote is U1's students vote; their parents vote is a second one, not a move.
  expect((await store.currentVote('seg', 'U1', 'students'))?.variantId).toBe('seg-A');
  expect(
    await store.swapVote({ roundId: 'seg', user: 'U1', audience: 'parents', expected: null, next: 'seg-D', source: 'button', at: T(5) }),
  ).toBe(true);
  expect((await store.listVotes('seg')).filter((x) => x.user === 'U1').map((x) => x.variantId)).toEqual(['seg-A', 'seg-D']);
  // Still one vote per person in a round without audiences.
  expect(
    await store.swapVote({ roundId: 'plain', user: 'U1', audience: '', expected: null, next: 'plain-A', source: 'button', at: T(5) }),
  ).toBe(false);
}

describe('migration 6: votes per audience segment', () => {
  it('SQLite: a version-5 database keeps its votes, each in its segment', async () => {
    const path = join(tmp, 'v5.sqlite');
    const seeded = await openSqliteStore(path);
    await seedVersion5(seeded);
    await seeded.close();
    const store = await openSqliteStore(path);
    try {
      await expectVotesKeptPerSegment(store);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL: a version-5 database keeps its votes, each in its segment', async (ctx) => {
    if (!cluster) return ctx.skip();
    const url = cluster.createDatabase('v5');
    const seeded = await openPostgresStore(url);
    await seedVersion5(seeded);
    await seeded.close();
    const store = await openPostgresStore(url);
    try {
      await expectVotesKeptPerSegment(store);
    } finally {
      await store.close();
    }
  });
});
