/**
 * Approvals with a record, run by the real runner over the real RoundService on SQLite and shown
 * through a recording RoundView: who may approve, which exact content, what an edit voids, and
 * the quorum closing the round. A restart reads the same record back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { contentHash } from '../../../src/rounds/approvals.ts';
import { createFileAssetStore } from '../../../src/rounds/assets.ts';
import { RoundRunner } from '../../../src/rounds/runner.ts';
import { RoundService, type RoundSettings } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import type { Round, RoundOptions } from '../../../src/rounds/types.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { type FakeGenerator, type FakeLibrary, fakeGenerator, fakeLibrary } from '../../helpers/fakes.ts';
import { type RecordingView, recordingView } from '../../helpers/recording-view.ts';

const settings: RoundSettings = {
  ratePerHour: 50,
  dailyImageCap: 1000,
  monthlyUsdCap: 0,
  autoCloseMinutes: 60,
  reminderMinutes: 10,
  doubleClickMs: 0,
  pricing: { estimate: (n: number) => ({ usd: 0, textCalls: 0, imageCalls: n }) },
};
const ALICE = 'U0ALICE'; // writes the brief
const BOB = 'U0BOB'; // approver
const CAROL = 'U0CAROL'; // approver
const DAVE = 'U0DAVE'; // votes, is no approver
const C = 'C1';

let dir: string;
let store: SqliteRoundStore;
let rounds: RoundService;
let view: RecordingView;
let gen: FakeGenerator;
let lib: FakeLibrary;

function runner() {
  return new RoundRunner({
    rounds,
    generator: gen,
    library: async () => lib,
    encoder: fakeEncoder(),
    assets: createFileAssetStore(join(dir, 'variants')),
    view,
    isAdmin: async () => false,
    synthetic: false,
    settings: { inspirationCount: 3, maxConcurrentRounds: 2 },
    logger: silentLogger,
  });
}

async function start(r: RoundRunner, o: Partial<RoundOptions>): Promise<Round> {
  const options: RoundOptions = { variants: 3, formats: ['square', 'story'], channel: 'meta', anonymous: false, hideTally: false, ...o };
  await r.start({ user: ALICE, channel: C, brief: 'Trail running sunscreen', options, replyTo: { user: ALICE, channel: C } });
  return (await rounds.latestInThread(C, `T${view.of('openThread').length}`)) as Round;
}

const lastTally = () => view.of('tally').at(-1)?.snapshot;
const notes = (kind: string) => view.of('notes').flatMap((n) => n.notes.filter((x) => x.kind === kind));
const told = (user: string) =>
  view
    .of('tell')
    .filter((t) => t.to.user === user)
    .map((t) => t.notice);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'approvals-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  rounds = new RoundService({ store, settings });
  view = recordingView();
  gen = fakeGenerator();
  lib = fakeLibrary([{ headline: 'Past winner' }]);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('approvals', () => {
  it('records who approved which content, voids approvals on an edit, and closes on the quorum', async () => {
    const r = runner();
    const round = await start(r, { approvers: [BOB, CAROL], quorum: 2 });
    const [, b] = await rounds.variants(round.id);
    // Every variant's first content is kept with the hash of its copy and images.
    const v1 = (await rounds.currentContent(round.id)).get(b.id);
    const images = (await createFileAssetStore(join(dir, 'variants')).load(round.id, b.id))?.images ?? {};
    expect(v1).toMatchObject({ seq: 1, hash: contentHash(b, images), by: null, headline: b.headline });
    // No votes: nothing leads, so there is nothing to approve yet.
    expect(lastTally()?.approval).toMatchObject({ approvers: [BOB, CAROL], quorum: 2, approvedBy: [], met: false });
    expect(lastTally()?.approval?.leader).toBeUndefined();

    await r.voted(await rounds.buttonVote(b.id, DAVE), { user: DAVE, channel: C });
    const hash1 = lastTally()?.approval?.leader?.hash as string;
    expect(lastTally()?.approval?.leader).toEqual({ variantId: b.id, label: 'B', hash: v1?.hash });

    // Not an approver: refused, nothing recorded.
    expect(await r.approve({ variantId: b.id, hash: hash1, user: DAVE })).toMatchObject({ kind: 'refused', reason: 'not_approver' });
    expect(told(DAVE).at(-1)).toMatchObject({ kind: 'approve_refused', reason: 'not_approver', approvers: [BOB, CAROL] });
    // A button drawn for other content: refused.
    expect(await r.approve({ variantId: b.id, hash: 'stale', user: BOB })).toMatchObject({ kind: 'refused', reason: 'changed' });
    expect(await rounds.approvals(round.id)).toEqual([]);

    // Bob approves: the thread gets the record, the tally counts 1 of 2, voting goes on.
    expect(await r.approve({ variantId: b.id, hash: hash1, user: BOB })).toMatchObject({
      kind: 'approved',
      count: 1,
      quorum: 2,
      met: false,
    });
    expect(notes('approved')).toEqual([{ kind: 'approved', label: 'B', user: BOB, hash: hash1, count: 1, quorum: 2 }]);
    expect(lastTally()?.approval?.approvedBy).toEqual([BOB]);
    expect(await r.approve({ variantId: b.id, hash: hash1, user: BOB })).toMatchObject({ kind: 'duplicate' });
    expect((await rounds.round(round.id))?.status).toBe('open');

    // Alice edits B: new content, Bob's approval no longer counts, and the thread says so.
    await r.editCopy({ variantId: b.id, user: ALICE, copy: { headline: 'Sting-free on the trail', body: b.body, cta: b.cta } });
    const hash2 = (await rounds.currentContent(round.id)).get(b.id)?.hash as string;
    expect(hash2).not.toBe(hash1);
    expect(notes('approvals_voided')).toEqual([{ kind: 'approvals_voided', label: 'B', users: [BOB], by: ALICE, hash: hash2 }]);
    // The edit also took back the vote cast for the old copy: nothing leads until someone votes again.
    expect(notes('copy_edited')).toEqual([{ kind: 'copy_edited', label: 'B', by: ALICE, votesReset: 1 }]);
    expect(lastTally()?.approval?.leader).toBeUndefined();
    await r.voted(await rounds.buttonVote(b.id, DAVE), { user: DAVE, channel: C });
    expect(lastTally()?.approval).toMatchObject({ leader: { label: 'B', hash: hash2 }, approvedBy: [] });
    // Carol still has the old button: her click is refused, not counted for the new content.
    expect(await r.approve({ variantId: b.id, hash: hash1, user: CAROL })).toMatchObject({ kind: 'refused', reason: 'changed' });

    expect(await r.approve({ variantId: b.id, hash: hash2, user: CAROL })).toMatchObject({ kind: 'approved', count: 1 });
    expect((await rounds.round(round.id))?.status).toBe('open');
    expect(await r.approve({ variantId: b.id, hash: hash2, user: BOB })).toMatchObject({ kind: 'approved', count: 2, met: true });

    // The quorum closed the round with B, its files went up, and it went into the library.
    const closed = await rounds.round(round.id);
    expect(closed).toMatchObject({ status: 'closed', closedBy: 'quorum', winnerVariantId: b.id });
    const final = view.of('closed').at(-1)?.snapshot;
    expect(final?.result).toMatchObject({ by: 'quorum', approvedBy: [CAROL, BOB], winner: { label: 'B' } });
    expect(view.of('files').at(-1)?.caption).toEqual({ kind: 'winner', label: 'B', round: 1 });
    expect(lib.items.some((i) => i.source === `winner:${round.id}`)).toBe(true);

    // Everything is on record: versions with who made them, approvals with voids.
    expect((await rounds.contentVersions(round.id)).filter((v) => v.variantId === b.id).map((v) => [v.seq, v.by])).toEqual([
      [1, null],
      [2, ALICE],
    ]);
    const record = await rounds.approvals(round.id);
    expect(record.map((a) => [a.user, a.hash === hash1 ? 'v1' : 'v2', a.voidedAt !== null])).toEqual([
      [BOB, 'v1', true],
      [CAROL, 'v2', false],
      [BOB, 'v2', false],
    ]);
    // After the close nothing more is approved.
    expect(await r.approve({ variantId: b.id, hash: hash2, user: BOB })).toMatchObject({ kind: 'refused', reason: 'closed' });

    // A restart reads the same record.
    await store.close();
    store = await openSqliteStore(join(dir, 'state.sqlite'));
    rounds = new RoundService({ store, settings });
    expect((await rounds.approvals(round.id)).length).toBe(3);
    expect((await runner().snapshot(round.id)).result).toMatchObject({ by: 'quorum', approvedBy: [CAROL, BOB] });
  });

  it('approves only the variant leading now', async () => {
    const r = runner();
    const round = await start(r, { approvers: [BOB, CAROL], quorum: 1 });
    const [a, b] = await rounds.variants(round.id);
    await r.voted(await rounds.buttonVote(a.id, DAVE), { user: DAVE, channel: C });
    const hashB = (await rounds.currentContent(round.id)).get(b.id)?.hash as string;
    expect(await r.approve({ variantId: b.id, hash: hashB, user: BOB })).toMatchObject({
      kind: 'refused',
      reason: 'not_leader',
      leader: 'A',
    });
    expect(told(BOB).at(-1)).toMatchObject({ kind: 'approve_refused', reason: 'not_leader', label: 'B', leader: 'A' });
    // Quorum 1: the first approval of the leader closes the round.
    const hashA = lastTally()?.approval?.leader?.hash as string;
    expect(await r.approve({ variantId: a.id, hash: hashA, user: CAROL })).toMatchObject({ kind: 'approved', met: true });
    expect(await rounds.round(round.id)).toMatchObject({ status: 'closed', winnerVariantId: a.id, closedBy: 'quorum' });
  });

  it('a round without approvers shows no approval and refuses an approval', async () => {
    const r = runner();
    const round = await start(r, {});
    const [a] = await rounds.variants(round.id);
    await r.voted(await rounds.buttonVote(a.id, DAVE), { user: DAVE, channel: C });
    expect(lastTally()?.approval).toBeUndefined();
    const hash = (await rounds.currentContent(round.id)).get(a.id)?.hash as string;
    expect(await r.approve({ variantId: a.id, hash, user: BOB })).toMatchObject({ kind: 'refused', reason: 'no_approvers' });
    // Closing by the author works as before.
    await r.close({ roundId: round.id, user: ALICE });
    expect((await rounds.round(round.id))?.status).toBe('closed');
  });
});
