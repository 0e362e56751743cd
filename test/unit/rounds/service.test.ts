import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RoundService, type RoundSettings, type VoteChange } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import { createRoundTimer } from '../../../src/rounds/timer.ts';
import type { RoundOptions, VariantRecord } from '../../../src/rounds/types.ts';

const settings: RoundSettings = {
  ratePerHour: 3,
  dailyImageCap: 10,
  monthlyUsdCap: 1,
  autoCloseMinutes: 60,
  reminderMinutes: 10,
  doubleClickMs: 800,
  pricing: { estimate: (n: number) => ({ usd: 0.01 + 0.04 * n, textCalls: 1, imageCalls: n }) },
};
const options: RoundOptions = { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false };

let dir: string;
let store: SqliteRoundStore;
let now: Date;
let svc: RoundService;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rounds-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  now = new Date('2026-03-10T12:00:00Z');
  svc = new RoundService({ store, settings, clock: () => now });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openRound(author = 'U1', threadTs = '1.1', number = 1) {
  const r = await svc.createRound({ channel: 'C1', threadTs, number, brief: 'coffee', author, options });
  const variants: VariantRecord[] = ['A', 'B'].map((label, i) => ({
    id: `${r.id}-${label}`,
    roundId: r.id,
    label,
    position: i,
    headline: `h${label}`,
    body: 'b',
    cta: 'c',
    concept: 'x',
    reason: 'y',
    scores: { relevance: 0.3, novelty: 0.5, diversity: 0.5, preference: i === 0 ? 0.1 : 0.8, total: 0.5 },
    offline: true,
    flags: [],
    formats: ['square'],
    messageTs: `${threadTs}${label}`,
    fileId: null,
  }));
  await store.insertVariants(variants);
  await svc.open(r.id, { costUsd: 0.09, textCalls: 1, imageCalls: 2, offline: false, synthetic: true });
  return { round: await svc.mustRound(r.id), a: variants[0], b: variants[1] };
}

describe('votes', () => {
  it('votes, moves, retracts; one vote per person', async () => {
    const { round, a, b } = await openRound();
    expect((await svc.buttonVote(a.id, 'U2')).kind).toBe('voted');
    now = new Date(now.getTime() + 5000);
    expect((await svc.buttonVote(b.id, 'U2')).kind).toBe('moved');
    expect((await svc.buttonVote(a.id, 'U3')).kind).toBe('voted');
    now = new Date(now.getTime() + 5000);
    expect((await svc.buttonVote(a.id, 'U3')).kind).toBe('retracted');
    const t = (await svc.tally(round.id)).tally;
    expect(t.entries.map((e) => e.votes)).toEqual([0, 1]);
    // All of it is kept for training.
    expect((await store.voteEvents(round.id)).map((e) => [e.user, e.previous, e.variantId])).toEqual([
      ['U2', null, a.id],
      ['U2', a.id, b.id],
      ['U3', null, a.id],
      ['U3', a.id, null],
    ]);
  });

  it('with audiences, one vote per person in each segment: the listener, edits and double clicks keep to the segment', async () => {
    const changes: VoteChange[] = [];
    svc = new RoundService({ store, settings, clock: () => now, onVote: (c) => changes.push(c) });
    const r = await svc.createRound({ channel: 'C1', threadTs: '7.1', number: 1, brief: 'coffee', author: 'U1', options });
    const seg = (label: string, position: number, audience: string): VariantRecord => ({
      id: `${r.id}-${label}`,
      roundId: r.id,
      label,
      position,
      headline: `h${label}`,
      body: 'b',
      cta: 'c',
      concept: 'x',
      reason: 'y',
      scores: { relevance: 0.3, novelty: 0.5, diversity: 0.5, preference: null, total: 0.5 },
      offline: true,
      flags: [],
      formats: ['square'],
      messageTs: `7.1${label}`,
      fileId: null,
      audience,
    });
    const [a, b, c] = [seg('A', 0, 'students'), seg('B', 1, 'students'), seg('C', 2, 'parents')];
    await store.insertVariants([a, b, c]);
    await svc.open(r.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });
    expect((await svc.buttonVote(a.id, 'U2')).kind).toBe('voted');
    // A click in the other segment at once is a vote there, not a double click.
    now = new Date(now.getTime() + 100);
    expect((await svc.buttonVote(c.id, 'U2')).kind).toBe('voted');
    now = new Date(now.getTime() + 5000);
    expect((await svc.buttonVote(b.id, 'U2')).kind).toBe('moved');
    expect(changes.map((x) => [x.audience, x.kind, x.previous, x.current])).toEqual([
      ['students', 'voted', null, a.id],
      ['parents', 'voted', null, c.id],
      ['students', 'moved', a.id, b.id],
    ]);
    // Editing B's copy takes back the votes for B only: U2's parents vote stands.
    expect(await svc.resetVotes(b)).toBe(1);
    expect((await svc.votes(r.id)).map((v) => [v.user, v.audience, v.variantId])).toEqual([['U2', 'parents', c.id]]);
    expect(t(await svc.tally(r.id))).toEqual([0, 0, 1]);
  });

  it('treats a quick second click as a double click, not a retraction', async () => {
    const { a } = await openRound();
    await svc.buttonVote(a.id, 'U2');
    now = new Date(now.getTime() + 300);
    expect(await svc.buttonVote(a.id, 'U2')).toMatchObject({ kind: 'ignored', reason: 'double_click' });
    expect((await store.currentVote(a.roundId, 'U2', ''))?.variantId).toBe(a.id);
  });

  it('reactions vote; removing one retracts only the current vote', async () => {
    const { round, a, b } = await openRound();
    expect((await svc.reactionAdded('C1', a.messageTs as string, 'U2'))?.kind).toBe('voted');
    expect((await svc.reactionAdded('C1', b.messageTs as string, 'U2'))?.kind).toBe('moved');
    // The reaction on A is still there but is no longer the vote: removing it changes nothing.
    expect(await svc.reactionRemoved('C1', a.messageTs as string, 'U2')).toMatchObject({ kind: 'ignored', reason: 'not_current' });
    expect((await store.currentVote(round.id, 'U2', ''))?.variantId).toBe(b.id);
    expect((await svc.reactionRemoved('C1', b.messageTs as string, 'U2'))?.kind).toBe('retracted');
    expect(await store.currentVote(round.id, 'U2', '')).toBeUndefined();
    expect(await svc.reactionAdded('C1', 'nope', 'U2')).toBeUndefined();
  });

  it('refuses votes once closed, and concurrent votes stay exact', async () => {
    const { round, a, b } = await openRound();
    await Promise.all(Array.from({ length: 40 }, (_, i) => svc.buttonVote(i % 3 ? a.id : b.id, `U${i % 10}`)));
    const votes = await store.listVotes(round.id);
    expect(new Set(votes.map((v) => v.user)).size).toBe(votes.length);
    const closed = await svc.close(round.id, 'U1');
    expect(closed?.round.status).toBe('closed');
    expect(await svc.close(round.id, 'U1')).toBeUndefined();
    expect((await svc.buttonVote(a.id, 'U77')).kind).toBe('closed');
  });
});

describe('close', () => {
  it('names the winner; a tie goes to preference and says so; no votes, no winner', async () => {
    const one = await openRound('U1', '1.1');
    await svc.buttonVote(one.a.id, 'U2');
    await svc.buttonVote(one.b.id, 'U3');
    const c = await svc.close(one.round.id, 'U1');
    expect(c?.winner?.label).toBe('B');
    expect(c?.decision.tie).toBe(true);
    expect(c?.round).toMatchObject({ winnerVariantId: one.b.id, tie: true, closedBy: 'U1' });

    const two = await openRound('U1', '2.2');
    const c2 = await svc.close(two.round.id, 'auto');
    expect(c2?.winner).toBeNull();
    expect(c2?.round.winnerVariantId).toBeNull();
  });

  it('only the author or an admin may close', async () => {
    const { round } = await openRound('U1');
    expect(svc.mayClose(round, 'U1', false)).toBe(true);
    expect(svc.mayClose(round, 'U2', false)).toBe(false);
    expect(svc.mayClose(round, 'U2', true)).toBe(true);
  });
});

describe('limits', () => {
  it('rate-limits briefs per person per hour', async () => {
    for (let i = 0; i < 3; i++)
      await svc.createRound({
        channel: 'C1',
        threadTs: `${i}.0`,
        number: 1,
        brief: 'b',
        author: 'U1',
        options: { ...options, variants: 1 },
      });
    await expect(
      svc.createRound({ channel: 'C1', threadTs: '9.0', number: 1, brief: 'b', author: 'U1', options: { ...options, variants: 1 } }),
    ).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    // Someone else is not limited, and an hour later the author is not either.
    await svc.createRound({ channel: 'C1', threadTs: '10.0', number: 1, brief: 'b', author: 'U2', options: { ...options, variants: 1 } });
    now = new Date(now.getTime() + 3_600_001);
    await svc.createRound({ channel: 'C1', threadTs: '11.0', number: 1, brief: 'b', author: 'U1', options: { ...options, variants: 1 } });
  });

  it('caps images per UTC day and spend per month', async () => {
    await svc.createRound({ channel: 'C1', threadTs: '1.0', number: 1, brief: 'b', author: 'U1', options: { ...options, variants: 6 } });
    await expect(
      svc.createRound({ channel: 'C1', threadTs: '2.0', number: 1, brief: 'b', author: 'U2', options: { ...options, variants: 5 } }),
    ).rejects.toMatchObject({
      code: 'DAILY_IMAGE_CAP',
    });
    now = new Date('2026-03-11T00:00:01Z');
    const r = await svc.createRound({
      channel: 'C1',
      threadTs: '3.0',
      number: 1,
      brief: 'b',
      author: 'U2',
      options: { ...options, variants: 5 },
    });
    await store.updateRound(r.id, { costUsd: 1.5 });
    await expect(svc.createRound({ channel: 'C1', threadTs: '4.0', number: 1, brief: 'b', author: 'U3', options })).rejects.toMatchObject({
      code: 'SPEND_CAP',
    });
    expect((await svc.usage()).month.usd).toBeCloseTo(1.5);
  });
});

describe('timer', () => {
  it('reminds before the close and closes when time is up, once', async () => {
    const { round } = await openRound();
    const reminded: string[] = [];
    const closed: string[] = [];
    const timer = createRoundTimer({
      rounds: svc,
      onRemind: async (r) => void reminded.push(r.id),
      onClose: async (r) => {
        closed.push(r.id);
        await svc.close(r.id, 'auto');
      },
    });
    await timer.tick();
    expect(reminded).toEqual([]);
    now = new Date(now.getTime() + 51 * 60_000);
    await timer.tick();
    await timer.tick();
    expect(reminded).toEqual([round.id]);
    now = new Date(now.getTime() + 10 * 60_000);
    await Promise.all([timer.tick(), timer.tick()]);
    await timer.tick();
    expect(closed).toEqual([round.id]);
  });

  it('survives a restart: open rounds, votes and feedback are read back', async () => {
    const { round, a } = await openRound();
    await svc.buttonVote(a.id, 'U2');
    await svc.addFeedback({ channel: 'C1', threadTs: '1.1', messageTs: '5.5', user: 'U3', text: 'warmer' });
    expect(await svc.addFeedback({ channel: 'C1', threadTs: '1.1', messageTs: '5.5', user: 'U3', text: 'warmer' })).toBe(false);
    await store.close();
    store = await openSqliteStore(join(dir, 'state.sqlite'));
    svc = new RoundService({ store, settings, clock: () => now });
    expect((await store.roundsWithStatus(['open'])).map((r) => r.id)).toEqual([round.id]);
    expect((await svc.tally(round.id)).tally.total).toBe(1);
    expect((await svc.pendingFeedback('C1', '1.1')).map((f) => f.text)).toEqual(['warmer']);
    expect(await store.markProcessed('Ev1', now)).toBe(true);
    expect(await store.markProcessed('Ev1', now)).toBe(false);
  });
});

const t = (x: { tally: { entries: { votes: number }[] } }) => x.tally.entries.map((e) => e.votes);
