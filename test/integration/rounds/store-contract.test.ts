/**
 * The RoundStore contract, run against every implementation: SQLite in a temp dir and a
 * real PostgreSQL cluster started for this file (skipped without PostgreSQL).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqlLeases } from '../../../src/rounds/leases.ts';
import { openPostgresStore, type PostgresRoundStore } from '../../../src/rounds/postgres.ts';
import type { SqlRoundStore } from '../../../src/rounds/sql-store.ts';
import { openSqliteStore } from '../../../src/rounds/sqlite.ts';
import type { CapCheck, NewRound, RoundStore, VariantRecord } from '../../../src/rounds/types.ts';
import { type PgCluster, postgresAvailable, startPostgres } from '../../helpers/postgres.ts';

const pgOk = postgresAvailable();
let cluster: PgCluster | undefined;
let dbSeq = 0;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'store-contract-'));
  if (pgOk) cluster = await startPostgres();
}, 90_000);

afterAll(() => {
  cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const CAPS = (now = new Date()): CapCheck => ({
  perUserLimit: 3,
  perUserSince: new Date(now.getTime() - 3_600_000),
  dailyImageCap: 10,
  daySince: new Date(now.getTime() - 86_400_000),
  monthlyUsdCap: 0,
  monthSince: new Date(now.getTime() - 30 * 86_400_000),
});

let n = 0;
function newRound(p: Partial<NewRound> = {}): NewRound {
  n++;
  return {
    id: `r${n}`,
    channel: 'C1',
    threadTs: `100.${n}`,
    number: 1,
    brief: 'oat milk for runners',
    author: 'U1',
    startedBy: p.author ?? 'U1',
    options: { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false },
    createdAt: new Date(),
    imagesPlanned: 2,
    ...p,
  };
}

function variant(roundId: string, label: string, position: number): VariantRecord {
  return {
    id: `${roundId}-${label}`,
    roundId,
    label,
    position,
    headline: `Headline ${label}`,
    body: 'Body',
    cta: 'Shop now',
    concept: 'a runner at dawn',
    reason: 'because',
    scores: { relevance: 0.3, novelty: 0.5, diversity: 0.4, preference: null, total: 0.4 },
    offline: true,
    flags: [],
    formats: ['square'],
    messageTs: `200.${position}.${roundId}`,
    fileId: null,
  };
}

type Factory = () => Promise<RoundStore>;
const impls: [string, Factory | undefined][] = [
  ['sqlite', () => openSqliteStore(join(tmp, `s${++dbSeq}.sqlite`))],
  ['postgres', pgOk ? () => openPostgresStore((cluster as PgCluster).createDatabase(`contract${++dbSeq}`)) : undefined],
];

describe.each(impls)('RoundStore contract: %s', (name, factory) => {
  let store: RoundStore;
  beforeEach(async (ctx) => {
    if (!factory) return ctx.skip();
    store = await factory();
  });
  afterEach(async () => {
    await store?.close();
  });

  it('migrates idempotently', async () => {
    await store.migrate();
    await store.migrate();
    expect(await store.roundsWithStatus(['open'])).toEqual([]);
  });

  it('inserts rounds, enforces the rate limit and the daily image cap atomically', async () => {
    const caps = CAPS();
    const made = await Promise.allSettled(Array.from({ length: 6 }, () => store.insertRound(newRound({ author: 'Urate' }), caps)));
    const ok = made.filter((m) => m.status === 'fulfilled');
    expect(ok).toHaveLength(3);
    const errs = made.filter((m): m is PromiseRejectedResult => m.status === 'rejected').map((m) => (m.reason as { code: string }).code);
    expect(new Set(errs)).toEqual(new Set(['RATE_LIMITED']));
    // 3 rounds × 2 images planned = 6 of 10; two more 2-image rounds fit, the third does not.
    await store.insertRound(newRound({ author: 'Ucap1' }), caps);
    await store.insertRound(newRound({ author: 'Ucap2' }), caps);
    await expect(store.insertRound(newRound({ author: 'Ucap3' }), caps)).rejects.toMatchObject({ code: 'DAILY_IMAGE_CAP' });
  });

  it('refuses a second round with the same number in a thread as ROUND_EXISTS (two quick clicks)', async () => {
    const first = newRound({ author: 'Udup', threadTs: '555.1', number: 2 });
    await store.insertRound(first, CAPS());
    await expect(store.insertRound(newRound({ author: 'Udup', threadTs: '555.1', number: 2 }), CAPS())).rejects.toMatchObject({
      code: 'ROUND_EXISTS',
    });
  });

  it('keeps the audience segment of each variant (migration 5), and none on variants without one', async () => {
    const audiences = ['students', 'parents of toddlers'];
    const r = await store.insertRound(newRound({ options: { ...newRound().options, audiences } }), CAPS());
    await store.insertVariants([{ ...variant(r.id, 'A', 0), audience: 'parents of toddlers' }, variant(r.id, 'B', 1)]);
    const [a, b] = await store.listVariants(r.id);
    expect(a).toEqual({ ...variant(r.id, 'A', 0), audience: 'parents of toddlers' });
    expect(b).toEqual(variant(r.id, 'B', 1));
    expect((await store.getVariant(a.id))?.audience).toBe('parents of toddlers');
    expect((await store.getRound(r.id))?.options.audiences).toEqual(audiences);
  });

  it('keeps one vote per person in each audience segment (migration 6): a vote moves only within its own segment', async () => {
    const r = await store.insertRound(newRound({ options: { ...newRound().options, audiences: ['students', 'parents'] } }), CAPS());
    const seg = (label: string, position: number, audience: string) => ({ ...variant(r.id, label, position), audience });
    await store.insertVariants([seg('A', 0, 'students'), seg('B', 1, 'students'), seg('C', 2, 'parents'), seg('D', 3, 'parents')]);
    await store.transitionRound(r.id, ['generating'], 'open');
    const [a, b, c, d] = (await store.listVariants(r.id)).map((v) => v.id);
    const at = new Date();
    const swap = (audience: string, expected: string | null, next: string | null, user = 'U1') =>
      store.swapVote({ roundId: r.id, user, audience, expected, next, source: 'button', at });

    // One person votes in both segments: both stand.
    expect(await swap('students', null, a)).toBe(true);
    expect(await swap('parents', null, c)).toBe(true);
    expect((await store.currentVote(r.id, 'U1', 'students'))?.variantId).toBe(a);
    expect((await store.currentVote(r.id, 'U1', 'parents'))?.variantId).toBe(c);
    expect(await store.currentVote(r.id, 'U1', '')).toBeUndefined();
    expect((await store.listVotes(r.id)).map((v) => [v.user, v.audience, v.variantId])).toEqual([
      ['U1', 'parents', c],
      ['U1', 'students', a],
    ]);
    // A second first vote in a segment loses the compare-and-set; moving within it replaces only that segment's vote.
    expect(await swap('students', null, b)).toBe(false);
    expect(await swap('students', a, b)).toBe(true);
    expect(await swap('students', a, null)).toBe(false);
    expect((await store.listVotes(r.id)).map((v) => [v.audience, v.variantId])).toEqual([
      ['parents', c],
      ['students', b],
    ]);
    expect(await swap('parents', c, null)).toBe(true);
    expect((await store.listVotes(r.id)).map((v) => v.variantId)).toEqual([b]);
    // A vote filed under another segment than its variant's is refused, loudly: it would break the one-per-segment key.
    await expect(swap('students', null, d)).rejects.toMatchObject({ code: 'STORE_BAD_VOTE' });
    await expect(swap('', null, d)).rejects.toMatchObject({ code: 'STORE_BAD_VOTE' });

    // 20 people vote in both segments at once: every vote counts, each segment's exactly once per person.
    const users = Array.from({ length: 20 }, (_, i) => `S${i}`);
    const made = await Promise.all(
      users.flatMap((u, i) => [swap('students', null, i % 2 ? a : b, u), swap('parents', null, i % 2 ? c : d, u)]),
    );
    expect(made.every(Boolean)).toBe(true);
    const votes = (await store.listVotes(r.id)).filter((v) => v.user.startsWith('S'));
    expect(votes).toHaveLength(40);
    expect(
      votes
        .filter((v) => v.audience === 'students')
        .map((v) => v.variantId)
        .sort(),
    ).toEqual([...Array(10).fill(a), ...Array(10).fill(b)].sort());
    expect((await store.voteEvents(r.id)).filter((e) => e.user.startsWith('S'))).toHaveLength(40);
  });

  it('reads rounds back exactly and transitions status only from the expected state', async () => {
    const r = await store.insertRound(newRound(), CAPS());
    expect(r.status).toBe('generating');
    expect(r.options.formats).toEqual(['square']);
    const got = await store.getRound(r.id);
    expect(got).toEqual(r);
    const closesAt = new Date(Date.now() + 60_000);
    expect(await store.transitionRound(r.id, ['generating'], 'open', { closesAt, offline: true, costUsd: 0.25 })).toBe(true);
    expect(await store.transitionRound(r.id, ['generating'], 'failed')).toBe(false);
    const open = await store.getRound(r.id);
    expect(open?.status).toBe('open');
    expect(open?.closesAt?.toISOString()).toBe(closesAt.toISOString());
    expect(open?.offline).toBe(true);
    expect(open?.costUsd).toBeCloseTo(0.25);
    // Two closers race: exactly one wins.
    const both = await Promise.all([
      store.transitionRound(r.id, ['open'], 'closed', { closedBy: 'U1' }),
      store.transitionRound(r.id, ['open'], 'closed', { closedBy: 'U2' }),
    ]);
    expect(both.filter(Boolean)).toHaveLength(1);
    expect((await store.roundsWithStatus(['closed'])).map((x) => x.id)).toContain(r.id);
    expect(await store.getRound('nope')).toBeUndefined();
  });

  it('stores variants, finds them by message, and counts concurrent votes exactly', async () => {
    const r = await store.insertRound(newRound(), CAPS());
    await store.insertVariants([variant(r.id, 'A', 0), variant(r.id, 'B', 1)]);
    await store.transitionRound(r.id, ['generating'], 'open');
    await store.updateVariant(`${r.id}-A`, { headline: 'Edited', flags: ['edited'] });
    const vs = await store.listVariants(r.id);
    expect(vs.map((v) => [v.label, v.headline, v.flags])).toEqual([
      ['A', 'Edited', ['edited']],
      ['B', 'Headline B', []],
    ]);
    const found = await store.variantByMessage('C1', vs[1].messageTs as string);
    expect(found?.variant.id).toBe(vs[1].id);
    expect(found?.round.id).toBe(r.id);

    // 40 people vote at once, half for A, half for B; then the same 40 race to move their vote.
    const users = Array.from({ length: 40 }, (_, i) => `V${i}`);
    const at = new Date();
    const first = await Promise.all(
      users.map((u, i) =>
        store.swapVote({ roundId: r.id, user: u, audience: '', expected: null, next: vs[i % 2].id, source: 'button', at }),
      ),
    );
    expect(first.every(Boolean)).toBe(true);
    // A duplicate first vote loses the compare-and-set.
    expect(await store.swapVote({ roundId: r.id, user: 'V0', audience: '', expected: null, next: vs[1].id, source: 'button', at })).toBe(
      false,
    );
    const moves = await Promise.all(
      users.flatMap((u, i) => [
        store.swapVote({ roundId: r.id, user: u, audience: '', expected: vs[i % 2].id, next: vs[(i + 1) % 2].id, source: 'reaction', at }),
        store.swapVote({ roundId: r.id, user: u, audience: '', expected: vs[i % 2].id, next: null, source: 'button', at }),
      ]),
    );
    // Exactly one of each person's two racing changes applied.
    expect(moves.filter(Boolean)).toHaveLength(40);
    const votes = await store.listVotes(r.id);
    const events = await store.voteEvents(r.id);
    expect(events.length).toBe(80);
    for (const u of users) {
      const mine = events.filter((e) => e.user === u);
      expect(mine).toHaveLength(2);
      const cur = await store.currentVote(r.id, u, '');
      const last = await store.lastVoteEvent(r.id, u);
      expect(cur?.variantId ?? null).toBe(last?.variantId ?? null);
    }
    expect(votes.length).toBe(moves.filter((m, i) => m && i % 2 === 0).length);

    // A closed round takes no votes.
    await store.transitionRound(r.id, ['open'], 'closed');
    expect(await store.swapVote({ roundId: r.id, user: 'Vlate', audience: '', expected: null, next: vs[0].id, source: 'button', at })).toBe(
      false,
    );
  });

  it('dedupes processed keys and feedback, marks feedback used once, reports usage and winners', async () => {
    const t = new Date();
    expect(await store.markProcessed(`ev-${name}`, t)).toBe(true);
    expect(await store.markProcessed(`ev-${name}`, t)).toBe(false);
    expect(await store.pruneProcessed(new Date(t.getTime() + 1000))).toBeGreaterThanOrEqual(1);
    expect(await store.markProcessed(`ev-${name}`, t)).toBe(true);

    const f = { channel: 'C1', threadTs: '1.1', messageTs: '1.2', user: 'U2', text: 'warmer colours', createdAt: t };
    expect(await store.addFeedback(f)).toBe(true);
    expect(await store.addFeedback(f)).toBe(false);
    await store.markFeedbackUsed(['C1:1.2'], 'rX');
    await store.markFeedbackUsed(['C1:1.2'], 'rY');
    expect((await store.feedbackInThread('C1', '1.1')).map((x) => [x.text, x.usedBy])).toEqual([['warmer colours', 'rX']]);

    const a = await store.insertRound(newRound({ author: 'Uw1' }), CAPS());
    const b = await store.insertRound(newRound({ author: 'Uw2' }), CAPS());
    const before = await store.usageSince(new Date(t.getTime() - 60_000));
    await store.updateRound(a.id, { costUsd: 0.5, imageCalls: 2, winnerVariantId: 'x', closedAt: new Date(t.getTime() - 1000) });
    await store.updateRound(b.id, { costUsd: 0.25, imageCalls: 1, winnerVariantId: 'y', closedAt: t });
    const failedRound = await store.insertRound(newRound({ author: 'Uw3' }), CAPS());
    await store.updateRound(failedRound.id, { status: 'failed', error: 'not_in_channel' });
    const usage = await store.usageSince(new Date(t.getTime() - 60_000));
    expect(usage.rounds).toBe(before.rounds + 1);
    expect(usage.failed).toBe(before.failed + 1);
    expect(usage.rounds).toBeGreaterThanOrEqual(3);
    expect(usage.images).toBeGreaterThanOrEqual(3);
    expect(usage.usd).toBeCloseTo(0.75);
    expect((await store.recentWinners(2)).map((r) => r.id)).toEqual([b.id, a.id]);
    expect((await store.roundsByAuthor('Uw1', ['generating'], 5)).map((r) => r.id)).toEqual([a.id]);
  });

  it('two racing inserts of one round number: one wins, the other is told ROUND_EXISTS', async () => {
    const made = await Promise.allSettled(
      [0, 1].map(() => store.insertRound(newRound({ author: 'Urace', threadTs: '777.1', number: 2 }), CAPS())),
    );
    expect(made.filter((m) => m.status === 'fulfilled')).toHaveLength(1);
    const lost = made.find((m): m is PromiseRejectedResult => m.status === 'rejected');
    expect(lost?.reason).toMatchObject({ name: 'RoundError', code: 'ROUND_EXISTS' });
    expect((await store.roundsInThread('C1', '777.1')).map((r) => r.number)).toEqual([2]);
  });

  it('a close racing votes: once the close has returned, the votes never change again', async () => {
    // Several rounds, so that some vote is caught between its "is it open?" and its write.
    for (let k = 0; k < 6; k++) {
      const r = await store.insertRound(newRound({ author: `Uclose${k}`, imagesPlanned: 0 }), CAPS());
      await store.insertVariants([variant(r.id, 'A', 0), variant(r.id, 'B', 1)]);
      await store.transitionRound(r.id, ['generating'], 'open');
      const at = new Date();
      const vote = (i: number) =>
        store.swapVote({
          roundId: r.id,
          user: `C${i}`,
          audience: '',
          expected: null,
          next: `${r.id}-${i % 2 ? 'A' : 'B'}`,
          source: 'button',
          at,
        });
      const early = Array.from({ length: 30 }, (_, i) => vote(i));
      const close = store.transitionRound(r.id, ['open'], 'closed', { closedBy: 'U1' });
      const late = Array.from({ length: 30 }, (_, i) => vote(30 + i));
      expect(await close).toBe(true);
      const atClose = await store.listVotes(r.id);
      const accepted = (await Promise.all([...early, ...late])).filter(Boolean).length;
      expect(await store.listVotes(r.id)).toEqual(atClose);
      // Every vote that said "recorded" is counted, each with its event, and none came after the close.
      expect(atClose).toHaveLength(accepted);
      expect(await store.voteEvents(r.id)).toHaveLength(accepted);
    }
  });

  it('a vote arriving while a close is being written waits for it, then refuses', async () => {
    const r = await store.insertRound(newRound(), CAPS());
    await store.insertVariants([variant(r.id, 'A', 0), variant(r.id, 'B', 1)]);
    await store.transitionRound(r.id, ['generating'], 'open');
    const db = (store as SqlRoundStore).db;
    let written!: () => void;
    let commit!: () => void;
    const closeWritten = new Promise<void>((res) => (written = res));
    const mayCommit = new Promise<void>((res) => (commit = res));
    // A close in one transaction, held open after its UPDATE until the vote has had its chance.
    const closing = db.transaction(async (tx) => {
      await tx.query("UPDATE rounds SET status = 'closed' WHERE id = ?", [r.id]);
      written();
      await mayCommit;
    });
    await closeWritten;
    let settled = false;
    const vote = store
      .swapVote({ roundId: r.id, user: 'Ulate', audience: '', expected: null, next: `${r.id}-A`, source: 'button', at: new Date() })
      .finally(() => (settled = true));
    // Long enough for the vote to reach the database; it must still be waiting there.
    await new Promise((res) => setTimeout(res, 150));
    const waited = !settled;
    commit();
    await closing;
    expect(waited).toBe(true);
    expect(await vote).toBe(false);
    expect(await store.listVotes(r.id)).toEqual([]);
  });

  it('lists recent winners newest first, a winner without a close time last', async () => {
    const t = Date.now();
    const old = await store.insertRound(newRound({ author: 'Un1' }), CAPS());
    const undated = await store.insertRound(newRound({ author: 'Un2' }), CAPS());
    const recent = await store.insertRound(newRound({ author: 'Un3' }), CAPS());
    await store.updateRound(old.id, { winnerVariantId: 'o', closedAt: new Date(t - 60_000) });
    await store.updateRound(undated.id, { winnerVariantId: 'u' });
    await store.updateRound(recent.id, { winnerVariantId: 'r', closedAt: new Date(t) });
    expect((await store.recentWinners(3)).map((r) => r.id)).toEqual([recent.id, old.id, undated.id]);
  });

  it('a failed transaction keeps none of its writes, and statements from outside it are never swept into it', async () => {
    const r = await store.insertRound(newRound(), CAPS());
    const keys = Array.from({ length: 40 }, (_, i) => `tx-${name}-${i}`);
    // One caller marks keys one after another while others run transactions that fail
    // halfway: the second variant names no round, so the first, already inserted, must go too.
    const marking = (async () => {
      for (const k of keys) expect(await store.markProcessed(k, new Date())).toBe(true);
    })();
    const failing = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        store.insertVariants([variant(r.id, `A${i}`, i), { ...variant(r.id, `B${i}`, 10 + i), roundId: 'no-such-round' }]),
      ),
    );
    await marking;
    for (const f of failing) expect(f).toMatchObject({ status: 'rejected', reason: { code: 'STORE_NO_ROUND' } });
    expect(await store.listVariants(r.id)).toEqual([]);
    for (const k of keys) expect(await store.markProcessed(k, new Date())).toBe(false);
  });

  it('keeps each content version of a variant with its hash, who made it and when', async () => {
    const r = await store.insertRound(newRound(), CAPS());
    await store.insertVariants([variant(r.id, 'A', 0), variant(r.id, 'B', 1)]);
    const t = new Date('2026-03-01T10:00:00.000Z');
    const v1 = await store.addContentVersion({
      variantId: `${r.id}-A`,
      roundId: r.id,
      hash: 'h1',
      headline: 'Headline A',
      body: 'Body',
      cta: 'Shop now',
      formats: ['square'],
      by: null,
      at: t,
    });
    const v2 = await store.addContentVersion({ ...v1, hash: 'h2', headline: 'Edited', by: 'U2', at: new Date(t.getTime() + 1000) });
    await store.addContentVersion({ ...v1, variantId: `${r.id}-B`, hash: 'hb' });
    expect([v1.seq, v2.seq]).toEqual([1, 2]);
    const all = await store.contentVersions(r.id);
    expect(all.map((v) => [v.variantId.slice(-1), v.seq, v.hash, v.headline, v.by])).toEqual([
      ['A', 1, 'h1', 'Headline A', null],
      ['A', 2, 'h2', 'Edited', 'U2'],
      ['B', 1, 'hb', 'Headline A', null],
    ]);
    expect(all[1]).toEqual(v2);
  });

  it('records approvals of exact content once, voids them on a content change, and refuses them once closed', async () => {
    const r = await store.insertRound(newRound(), CAPS());
    await store.insertVariants([variant(r.id, 'A', 0), variant(r.id, 'B', 1)]);
    await store.transitionRound(r.id, ['generating'], 'open');
    const A = `${r.id}-A`;
    const at = new Date('2026-03-01T10:00:00.000Z');
    expect(await store.approve({ roundId: r.id, variantId: A, user: 'Ualice', hash: 'h1', at })).toBe('recorded');
    expect(await store.approve({ roundId: r.id, variantId: A, user: 'Ualice', hash: 'h1', at })).toBe('duplicate');
    expect(await store.approve({ roundId: r.id, variantId: A, user: 'Ubob', hash: 'h1', at: new Date(at.getTime() + 1) })).toBe('recorded');
    expect(await store.approve({ roundId: r.id, variantId: `${r.id}-B`, user: 'Ubob', hash: 'hb', at })).toBe('recorded');
    // The copy of A changed to h2: both approvals of h1 are voided, B's stays.
    const voided = await store.voidApprovals(A, 'h2', new Date(at.getTime() + 5000), 'copy edited by U3');
    expect(voided.map((a) => [a.user, a.hash, a.voidedReason])).toEqual([
      ['Ualice', 'h1', 'copy edited by U3'],
      ['Ubob', 'h1', 'copy edited by U3'],
    ]);
    expect(await store.voidApprovals(A, 'h2', new Date(), 'again')).toEqual([]);
    // The record keeps them; Alice may approve the new content.
    expect(await store.approve({ roundId: r.id, variantId: A, user: 'Ualice', hash: 'h2', at: new Date(at.getTime() + 6000) })).toBe(
      'recorded',
    );
    const list = await store.listApprovals(r.id);
    expect(list.map((a) => [a.user, a.variantId.slice(-1), a.hash, a.voidedAt?.toISOString() ?? null])).toEqual([
      ['Ualice', 'A', 'h1', new Date(at.getTime() + 5000).toISOString()],
      ['Ubob', 'B', 'hb', null],
      ['Ubob', 'A', 'h1', new Date(at.getTime() + 5000).toISOString()],
      ['Ualice', 'A', 'h2', null],
    ]);
    await store.transitionRound(r.id, ['open'], 'closed');
    expect(await store.approve({ roundId: r.id, variantId: A, user: 'Ucarol', hash: 'h2', at })).toBe('closed');
    expect((await store.listApprovals(r.id)).length).toBe(4);
  });

  it('an approval arriving while a close is being written waits for it, then refuses', async () => {
    const r = await store.insertRound(newRound(), CAPS());
    await store.insertVariants([variant(r.id, 'A', 0)]);
    await store.transitionRound(r.id, ['generating'], 'open');
    const db = (store as SqlRoundStore).db;
    let written!: () => void;
    let commit!: () => void;
    const closeWritten = new Promise<void>((res) => (written = res));
    const mayCommit = new Promise<void>((res) => (commit = res));
    const closing = db.transaction(async (tx) => {
      await tx.query("UPDATE rounds SET status = 'closed' WHERE id = ?", [r.id]);
      written();
      await mayCommit;
    });
    await closeWritten;
    let settled = false;
    const approval = store
      .approve({ roundId: r.id, variantId: `${r.id}-A`, user: 'Ulate', hash: 'h', at: new Date() })
      .finally(() => (settled = true));
    await new Promise((res) => setTimeout(res, 150));
    const waited = !settled;
    commit();
    await closing;
    expect(waited).toBe(true);
    expect(await approval).toBe('closed');
    expect(await store.listApprovals(r.id)).toEqual([]);
  });

  it('lists rounds created or closed since a date, oldest first', async () => {
    const t = Date.parse('2026-05-10T00:00:00.000Z');
    const old = await store.insertRound(newRound({ author: 'Us1', createdAt: new Date(t - 86_400_000) }), CAPS(new Date(t)));
    const oldClosedLate = await store.insertRound(newRound({ author: 'Us2', createdAt: new Date(t - 3_600_000) }), CAPS(new Date(t)));
    const fresh = await store.insertRound(newRound({ author: 'Us3', createdAt: new Date(t + 1000) }), CAPS(new Date(t)));
    await store.updateRound(old.id, { closedAt: new Date(t - 1000) });
    await store.updateRound(oldClosedLate.id, { closedAt: new Date(t + 5000) });
    const since = (await store.roundsSince(new Date(t))).map((r) => r.id);
    expect(since).toContain(oldClosedLate.id);
    expect(since).toContain(fresh.id);
    expect(since).not.toContain(old.id);
    expect(since.indexOf(oldClosedLate.id)).toBeLessThan(since.indexOf(fresh.id));
  });

  it('keeps exports and imported result rows, matched or not, and finds them by ad key across many keys', async () => {
    const at = new Date('2026-06-01T12:00:00.000Z');
    const records = Array.from({ length: 620 }, (_, i) => ({
      id: `ex-${name}-${i}`,
      adKey: `adc-${String(i).padStart(12, '0')}`,
      roundId: i === 0 ? 'r-x' : null,
      variantId: i === 0 ? 'r-x-A' : null,
      label: 'A',
      hash: `hash${i}`,
      role: (i === 0 ? 'winner' : 'variant') as 'winner' | 'variant',
      platforms: ['meta', 'google-ads'],
      creativeId: i === 0 ? 'cre-1' : null,
      by: 'U1',
      at: new Date(at.getTime() + i),
      published: i === 0 ? { meta: ['123', '456'] } : null,
    }));
    await store.recordExports(records);
    expect(await store.exports({ roundId: 'r-x' })).toEqual([records[0]]);
    const keys = records.map((r) => r.adKey);
    expect((await store.exports({ adKeys: keys })).map((e) => e.id)).toEqual(records.map((r) => r.id));
    expect(await store.exports({ adKeys: [] })).toEqual([]);
    expect((await store.exports()).length).toBe(620);
    const row = (line: number, adKey: string | null, importId: string, importedAt: Date) => ({
      importId,
      line,
      platform: 'meta' as const,
      source: 'report.csv',
      adKey,
      platformAdId: adKey ? '120200000001' : null,
      adName: adKey ? `${adKey} A` : 'someone else’s ad',
      impressions: adKey ? 3_000_000_000 : 10,
      clicks: adKey ? 1234 : null,
      conversions: adKey ? 1.5 : null,
      raw: { 'Ad name': adKey ?? 'x', Impressions: '3,000,000,000' },
      reason: adKey ? null : 'no exported creative has this name',
      importedAt,
    });
    const first = [row(5, keys[0], 'imp-1', at), row(6, null, 'imp-1', at)];
    const second = [row(5, keys[0], 'imp-2', new Date(at.getTime() + 60_000))];
    await store.addResultRows(second);
    await store.addResultRows(first);
    expect(await store.resultRows({ importId: 'imp-1' })).toEqual(first);
    const mine = await store.resultRows({ adKeys: [keys[0], keys[1]] });
    expect(mine.map((r) => [r.importId, r.line, r.impressions, r.conversions])).toEqual([
      ['imp-1', 5, 3_000_000_000, 1.5],
      ['imp-2', 5, 3_000_000_000, 1.5],
    ]);
    await expect(store.addResultRows([first[0]])).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
  });

  it('refuses a patch naming an unknown field as STORE_BAD_PATCH', async () => {
    const r = await store.insertRound(newRound(), CAPS());
    await expect(store.updateRound(r.id, { nope: 1 } as never)).rejects.toMatchObject({ name: 'StoreError', code: 'STORE_BAD_PATCH' });
  });
});

describe('PostgreSQL round leases', () => {
  let store: PostgresRoundStore;
  beforeEach(async (ctx) => {
    if (!pgOk) return ctx.skip();
    store = await openPostgresStore((cluster as PgCluster).createDatabase(`leases${++dbSeq}`));
  });
  afterEach(async () => {
    await store?.close();
  });

  it('gives a round to one replica, renews it, and lets another take it only after it expired', async () => {
    const a = sqlLeases(store.db, 'replica-a', 400);
    const b = sqlLeases(store.db, 'replica-b', 400);
    await store.insertRound(newRound({ id: 'R1' }), CAPS());
    const done = await store.insertRound(newRound({ id: 'R3' }), CAPS());
    const claims = await Promise.all([a.claim('R1'), b.claim('R1')]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    const [owner, other] = claims[0] ? [a, b] : [b, a];
    expect(await owner.claim('R1')).toBe(true);
    expect(await other.claim('R1')).toBe(false);
    expect(await other.unowned(['R1', 'R2'])).toEqual(['R2']);
    // Renewed past the original expiry, the lease holds.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 150));
      expect(await owner.renewAll()).toBe(1);
    }
    expect(await other.claim('R1')).toBe(false);
    // The owner "dies": no renewals; after the lease time the other replica takes over.
    await new Promise((r) => setTimeout(r, 600));
    expect(await other.unowned(['R1'])).toEqual(['R1']);
    expect(await other.claim('R1')).toBe(true);
    expect(await owner.claim('R1')).toBe(false);
    await other.release('R1');
    expect(await owner.claim('R1')).toBe(true);
    // A finished round's lease is neither renewed nor kept.
    expect(await owner.claim(done.id)).toBe(true);
    await store.transitionRound(done.id, ['generating'], 'failed');
    expect(await owner.renewAll()).toBe(1);
    const left = await store.db.query('SELECT round_id FROM round_leases WHERE owner = ?', [owner.owner]);
    expect(left.rows.map((r) => r.round_id)).toEqual(['R1']);
  });

  it('says clearly when PostgreSQL is unreachable, without the password', async () => {
    const err = await openPostgresStore('postgres://bob:hunter2-secret@127.0.0.1:1/nodb').catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/PostgreSQL at .*127\.0\.0\.1:1.* is not reachable/);
    expect((err as Error).message).not.toContain('hunter2-secret');
  });
});
