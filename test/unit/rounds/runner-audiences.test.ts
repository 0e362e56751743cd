/**
 * A round with audience segments, run by the real runner over the real RoundService on SQLite
 * and shown through a recording view: variants per audience, the thread grouped by audience,
 * each segment's leader on the tally, one winner per segment into the library with its tag.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.ts';
import { createFileAssetStore } from '../../../src/rounds/assets.ts';
import { type BriefDefaults, parseCommand } from '../../../src/rounds/brief.ts';
import { RoundRunner } from '../../../src/rounds/runner.ts';
import { RoundService, type RoundSettings } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import type { Round } from '../../../src/rounds/types.ts';
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
  pricing: { estimate: (n: number) => ({ usd: 0.002 + 0.04 * n, textCalls: 1, imageCalls: n }) },
};
const defaults: BriefDefaults = { variants: 4, maxVariants: 10, formats: ['square', 'story'], channel: 'meta', maxChars: 500, brands: [] };
const [ALICE, BOB, CAROL, DAN] = ['U0ALICE', 'U0BOB', 'U0CAROL', 'U0DAN'];
const C = 'C1';

let dir: string;
let store: SqliteRoundStore;
let rounds: RoundService;
let view: RecordingView;
let gen: FakeGenerator;
let lib: FakeLibrary;

function runner(): RoundRunner {
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
    logger: createLogger({ write: () => {} }),
  });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audiences-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  rounds = new RoundService({ store, settings });
  view = recordingView();
  gen = fakeGenerator();
  lib = fakeLibrary();
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(r: RoundRunner, text: string): Promise<Round> {
  const cmd = parseCommand(text, defaults);
  if (cmd.kind !== 'brief') throw new Error(`not a brief: ${cmd.kind}`);
  await r.start({ user: ALICE, channel: C, brief: cmd.brief, options: cmd.options, replyTo: { user: ALICE, channel: C } });
  const round = await rounds.latestInThread(C, 'T1');
  if (!round) throw new Error('no round was started');
  return round;
}

describe('a brief with --audiences', () => {
  it('parses the segments and keeps --variants per audience', () => {
    const cmd = parseCommand('Cold brew --audiences "students; parents" --variants 2', defaults);
    expect(cmd).toMatchObject({ kind: 'brief', brief: 'Cold brew', options: { variants: 2, audiences: ['students', 'parents'] } });
    // Without --variants the default is lowered to fit the round: 4 × 3 would be 12 of at most 10.
    const fit = parseCommand('Cold brew --audiences "a; b; c"', defaults);
    expect(fit).toMatchObject({ options: { variants: 3, audiences: ['a', 'b', 'c'] } });
    expect(() => parseCommand('Cold brew --audiences "a; b; c" --variants 4', defaults)).toThrow(/--variants is per audience/);
    expect(() => parseCommand('Cold brew --audiences "students;;parents"', defaults)).toThrow(/audience 2 of "students;;parents" is empty/);
    // Unquoted, the list stops at the first space: the person is told to quote it.
    expect(() => parseCommand('Cold brew --audiences students; parents', defaults)).toThrow(/put the whole list in quotes/);
    // The Slack clients' curly quotes work too.
    expect(parseCommand('Cold brew --audiences “students; parents”', defaults)).toMatchObject({
      options: { audiences: ['students', 'parents'] },
    });
  });

  it('writes variants per audience, groups the thread by audience, and estimates every segment', async () => {
    const round = await start(runner(), 'Cold brew concentrate --audiences "students; parents" --variants 2');
    expect(round.options).toMatchObject({ variants: 2, audiences: ['students', 'parents'] });
    // Two generations: the copywriter got each segment; relevance is scored against brief + segment.
    expect(gen.requests.map((q) => [q.fields?.audience, q.relevanceText, q.count])).toEqual([
      ['students', 'Cold brew concentrate — for students', 2],
      ['parents', 'Cold brew concentrate — for parents', 2],
    ]);
    // The estimate counts both segments: two copy calls and four images; so does the image cap.
    expect(view.of('openThread')[0].cost).toMatchObject({ textCalls: 2, imageCalls: 4, usd: 2 * (0.002 + 2 * 0.04) });
    expect(round.imagesPlanned).toBe(4);
    const stored = await rounds.variants(round.id);
    expect(stored.map((v) => [v.label, v.audience])).toEqual([
      ['A', 'students'],
      ['B', 'students'],
      ['C', 'parents'],
      ['D', 'parents'],
    ]);
    // Posted in that order: each audience's variants together.
    expect(view.of('variant').map((p) => [p.variant.label, p.variant.audience])).toEqual(stored.map((v) => [v.label, v.audience]));
    // The tally names each segment, nobody leading yet.
    expect(view.of('tally')[0].snapshot.segments).toEqual([
      { audience: 'students', labels: ['A', 'B'], votes: 0, leader: null },
      { audience: 'parents', labels: ['C', 'D'], votes: 0, leader: null },
    ]);
  });

  it("shows each segment's leader, and closing promotes one winner per segment tagged with its audience", async () => {
    const r = runner();
    const round = await start(r, 'Cold brew concentrate --audiences "students; parents" --variants 2');
    const [a, b, c, d] = await rounds.variants(round.id);
    await r.voted(await rounds.buttonVote(b.id, BOB), { user: BOB, channel: C });
    await r.voted(await rounds.buttonVote(b.id, CAROL), { user: CAROL, channel: C });
    await r.voted(await rounds.buttonVote(c.id, DAN), { user: DAN, channel: C });
    const live = await r.snapshot(round.id);
    expect(live.segments?.map((s) => [s.audience, s.leader?.label, s.leader?.votes, s.votes])).toEqual([
      ['students', 'B', 2, 2],
      ['parents', 'C', 1, 1],
    ]);
    expect(a.audience).toBe('students');
    expect(d.audience).toBe('parents');

    await r.close({ roundId: round.id, user: ALICE });
    const closed = view.of('closed')[0].snapshot;
    expect(closed.result?.winner?.label).toBe('B');
    expect(closed.segments?.map((s) => [s.audience, s.leader?.label])).toEqual([
      ['students', 'B'],
      ['parents', 'C'],
    ]);
    // One library row per segment, each tagged with its audience and naming it in its provenance.
    const winners = lib.items.filter((i) => i.tags?.includes('winner'));
    expect(winners.map((w) => [w.headline, w.tags])).toEqual([
      [b.headline, ['winner', 'audience:students']],
      [c.headline, ['winner', 'audience:parents']],
    ]);
    expect(JSON.parse(winners[1].provenance ?? '{}')).toMatchObject({ variant: 'C', audience: 'parents', roundId: round.id });
    // Each winner's files are shared with its audience; the notes say where each went.
    expect(view.of('files').map((f) => f.caption)).toEqual([
      { kind: 'winner', label: 'B', round: 1, audience: 'students' },
      { kind: 'winner', label: 'C', round: 1, audience: 'parents' },
    ]);
    expect(view.of('notes').at(-1)?.notes).toEqual([
      { kind: 'stored', label: 'B', audience: 'students' },
      { kind: 'stored', label: 'C', audience: 'parents' },
    ]);
    // The round's own winner is the overall leader's row.
    expect((await rounds.round(round.id))?.winnerCreativeId).toBe(lib.items.find((i) => i.headline === b.headline)?.id);
  });

  it('a person votes once in each audience: a second vote in one audience replaces only that one', async () => {
    const r = runner();
    const round = await start(r, 'Cold brew concentrate --audiences "students; parents" --variants 2');
    const [a, b, c, d] = await rounds.variants(round.id);
    const standings = async () => (await r.snapshot(round.id)).segments?.map((s) => [s.audience, s.leader?.label ?? null, s.votes]);
    // Bob backs a students variant and a parents variant: both count.
    expect(await rounds.buttonVote(b.id, BOB)).toMatchObject({ kind: 'voted', previous: null });
    expect(await rounds.buttonVote(c.id, BOB)).toMatchObject({ kind: 'voted', previous: null });
    expect(await standings()).toEqual([
      ['students', 'B', 1],
      ['parents', 'C', 1],
    ]);
    expect((await rounds.tally(round.id)).tally).toMatchObject({ total: 2 });
    // His second students vote moves that vote only; his parents vote stays.
    expect(await rounds.buttonVote(a.id, BOB)).toMatchObject({ kind: 'moved', previous: b.id, current: a.id });
    expect(await standings()).toEqual([
      ['students', 'A', 1],
      ['parents', 'C', 1],
    ]);
    // A reaction moves the parents vote the same way, and taking it back leaves the students vote.
    expect(await rounds.reactionAdded(C, d.messageTs as string, BOB)).toMatchObject({ kind: 'moved', previous: c.id });
    expect(await rounds.reactionRemoved(C, c.messageTs as string, BOB)).toMatchObject({ kind: 'ignored', reason: 'not_current' });
    expect((await rounds.votes(round.id)).map((v) => [v.user, v.audience, v.variantId])).toEqual([
      [BOB, 'students', a.id],
      [BOB, 'parents', d.id],
    ]);
    // Carol's one vote makes D the overall leader; each segment still promotes its own winner.
    await rounds.buttonVote(d.id, CAROL);
    await r.close({ roundId: round.id, user: ALICE });
    expect(view.of('closed')[0].snapshot.segments?.map((s) => [s.audience, s.leader?.label, s.leader?.votes])).toEqual([
      ['students', 'A', 1],
      ['parents', 'D', 2],
    ]);
    expect(lib.items.filter((i) => i.tags?.includes('winner')).map((w) => [w.headline, w.tags])).toEqual([
      [a.headline, ['winner', 'audience:students']],
      [d.headline, ['winner', 'audience:parents']],
    ]);
  });

  it('a voter of an anonymous round with audiences hears which audience their vote is in', async () => {
    const r = runner();
    const round = await start(r, 'Cold brew --audiences "students; parents" --variants 2 --anonymous');
    const [, , c] = await rounds.variants(round.id);
    await r.voted(await rounds.buttonVote(c.id, BOB), { user: BOB, channel: C });
    expect(view.of('tell').at(-1)?.notice).toEqual({ kind: 'your_vote', label: 'C', retracted: false, audience: 'parents' });
  });

  it('a segment nobody voted for has no winner and stores nothing', async () => {
    const r = runner();
    const round = await start(r, 'Cold brew --audiences "students; parents" --variants 2');
    const [, , , d] = await rounds.variants(round.id);
    await rounds.buttonVote(d.id, BOB);
    await r.close({ roundId: round.id, user: ALICE });
    expect(lib.items.map((i) => i.tags)).toEqual([['winner', 'audience:parents']]);
    expect(view.of('closed')[0].snapshot.segments?.map((s) => [s.audience, s.leader?.label ?? null])).toEqual([
      ['students', null],
      ['parents', 'D'],
    ]);
  });

  it('a round without --audiences is unchanged: one winner, no segment tag', async () => {
    const r = runner();
    const round = await start(r, 'Cold brew --variants 2');
    expect(gen.requests).toHaveLength(1);
    const [a] = await rounds.variants(round.id);
    expect(a.audience).toBeUndefined();
    await rounds.buttonVote(a.id, BOB);
    await r.close({ roundId: round.id, user: ALICE });
    expect(view.of('tally')[0].snapshot.segments).toBeUndefined();
    expect(lib.items.map((i) => i.tags)).toEqual([['winner']]);
  });

  it("a next round gives each segment its own leader, never another segment's", async () => {
    const r = runner();
    // Headlines that say whose they are.
    const inner = gen.generate.bind(gen);
    gen.generate = async (req) => {
      const out = await inner(req);
      return { ...out, variants: out.variants.map((v) => ({ ...v, headline: `${req.fields?.audience} ${v.label}` })) };
    };
    const round = await start(r, 'Cold brew --audiences "students; parents; night owls" --variants 2');
    const [, b, c] = await rounds.variants(round.id);
    expect([b.headline, c.headline]).toEqual(['students B', 'parents A']);
    await rounds.buttonVote(b.id, BOB);
    await rounds.buttonVote(b.id, CAROL);
    await rounds.buttonVote(c.id, DAN);
    await r.feedback({ channel: C, threadTs: 'T1', ts: '2.1', user: BOB, text: 'warmer colours', mentioned: true });
    await r.work.idle();
    const second = gen.requests.slice(3);
    expect(second.map((q) => [q.fields?.audience, q.leader?.headline])).toEqual([
      ['students', 'students B'],
      ['parents', 'parents A'],
      // Nobody voted for the night owls: no leader rather than another audience's copy.
      ['night owls', undefined],
    ]);
    expect(second.every((q) => q.feedback.includes('warmer colours'))).toBe(true);
    const r2 = (await rounds.inThread(C, 'T1'))[1];
    expect(r2.options.audiences).toEqual(['students', 'parents', 'night owls']);
    // "More like this" on a night-owls variant of round 2: it leads its segment; no votes yet elsewhere.
    const owl = (await rounds.variants(r2.id)).find((v) => v.audience === 'night owls' && v.label === 'F');
    if (!owl) throw new Error('no night owls variant');
    await r.next({ channel: C, threadTs: 'T1', user: ALICE, leaderId: owl.id });
    await r.work.idle();
    expect(gen.requests.slice(6).map((q) => [q.fields?.audience, q.leader?.headline])).toEqual([
      ['students', undefined],
      ['parents', undefined],
      ['night owls', owl.headline],
    ]);
  });
});
