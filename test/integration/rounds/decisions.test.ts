/**
 * The decision log end to end: a round with approvers played by the real runner on state opened
 * by openState (SQLite, and PostgreSQL when it is installed), then `adcreative decisions` reading
 * it back after the process's store was closed: votes, the approval of exact content, the one an
 * edit voided, the quorum close and the winner's content hash, as JSON and as CSV.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../../src/config.ts';
import { readCsvRecords } from '../../../src/library/csv.ts';
import { silentLogger } from '../../../src/log.ts';
import { makeDecisionsCommand } from '../../../src/rounds/commands.ts';
import type { DecisionRound } from '../../../src/rounds/decisions.ts';
import { RoundRunner } from '../../../src/rounds/runner.ts';
import { RoundService } from '../../../src/rounds/service.ts';
import { openState } from '../../../src/rounds/state.ts';
import type { RoundOptions } from '../../../src/rounds/types.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { fakeGenerator, fakeLibrary } from '../../helpers/fakes.ts';
import { type PgCluster, postgresAvailable, startPostgres } from '../../helpers/postgres.ts';
import { recordingView } from '../../helpers/recording-view.ts';
import { runCommand } from '../../helpers/run-command.ts';

const pgOk = postgresAvailable();
let cluster: PgCluster | undefined;
let tmp: string;
let seq = 0;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'decisions-'));
  if (pgOk) cluster = await startPostgres();
}, 90_000);
afterAll(() => {
  cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const CAROL = 'U0CAROL';
const DAVE = 'U0DAVE';

/** Plays two rounds in one state: an approved one and an anonymous one; returns the state's config. */
async function play(cfg: Config): Promise<{ roundId: string; anonId: string; winnerHash: string; firstHash: string }> {
  const state = await openState(cfg);
  const rounds = new RoundService({
    store: state.store,
    settings: {
      ratePerHour: 50,
      dailyImageCap: 1000,
      monthlyUsdCap: 0,
      autoCloseMinutes: 0,
      reminderMinutes: 0,
      doubleClickMs: 0,
      pricing: { estimate: (n: number) => ({ usd: 0, textCalls: 0, imageCalls: n }) },
    },
  });
  const view = recordingView();
  const lib = fakeLibrary([]);
  const r = new RoundRunner({
    rounds,
    generator: fakeGenerator(),
    library: async () => lib,
    encoder: fakeEncoder(),
    assets: state.assets,
    view,
    isAdmin: async () => false,
    synthetic: false,
    settings: { inspirationCount: 1, maxConcurrentRounds: 1 },
    logger: silentLogger,
  });
  const options: RoundOptions = { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false };
  try {
    await r.start({
      user: ALICE,
      channel: 'C1',
      brief: '=HYPERLINK("x") trail sunscreen',
      options: { ...options, approvers: [BOB, CAROL], quorum: 2 },
      replyTo: { user: ALICE },
    });
    const round = (await rounds.latestInThread('C1', 'T1'))!;
    const [a] = await rounds.variants(round.id);
    await r.voted(await rounds.buttonVote(a.id, DAVE), { user: DAVE });
    const h1 = (await rounds.currentContent(round.id)).get(a.id)!.hash;
    await r.approve({ variantId: a.id, hash: h1, user: BOB });
    await r.editCopy({ variantId: a.id, user: ALICE, copy: { headline: 'Edited headline', body: a.body, cta: a.cta } });
    const h2 = (await rounds.currentContent(round.id)).get(a.id)!.hash;
    // The edit took back the vote cast for the old copy; Dave votes for the new one.
    await r.voted(await rounds.buttonVote(a.id, DAVE), { user: DAVE });
    await r.approve({ variantId: a.id, hash: h2, user: CAROL });
    await r.approve({ variantId: a.id, hash: h2, user: BOB });
    await r.start({ user: BOB, channel: 'C1', brief: 'anonymous brief', options: { ...options, anonymous: true }, replyTo: { user: BOB } });
    const anon = (await rounds.latestInThread('C1', 'T2'))!;
    const [x] = await rounds.variants(anon.id);
    await r.voted(await rounds.buttonVote(x.id, CAROL), { user: CAROL });
    return { roundId: round.id, anonId: anon.id, winnerHash: h2, firstHash: h1 };
  } finally {
    await state.close();
  }
}

const backends: [string, (() => Config) | undefined][] = [
  ['sqlite', () => loadConfig({ DATA_DIR: join(tmp, `s${++seq}`) })],
  [
    'postgres',
    pgOk
      ? () => loadConfig({ DATA_DIR: join(tmp, `p${++seq}`), DATABASE_URL: (cluster as PgCluster).createDatabase(`dec${seq}`) })
      : undefined,
  ],
];

describe.each(backends)('decision log on %s', (_name, make) => {
  it('lists the brief, votes, approvals (voided ones too), the quorum close and the winner’s content hash', async (ctx) => {
    if (!make) return ctx.skip();
    const cfg = make();
    const played = await play(cfg);
    const cmd = [makeDecisionsCommand({ config: () => cfg })];

    const json = await runCommand(cmd, ['decisions', '--since', '2000-01-01', '--json']);
    expect(json.code).toBe(0);
    const log = JSON.parse(json.stdout) as DecisionRound[];
    const r = log.find((x) => x.roundId === played.roundId)!;
    expect(r).toMatchObject({
      number: 1,
      author: ALICE,
      status: 'closed',
      closedBy: 'quorum',
      approvers: [BOB, CAROL],
      quorum: 2,
      winner: { label: 'A', headline: 'Edited headline', hash: played.winnerHash },
    });
    expect(r.votes.map((v) => [v.user, v.label, v.previous, v.source])).toEqual([
      [DAVE, 'A', null, 'button'],
      [DAVE, null, 'A', 'edit'],
      [DAVE, 'A', null, 'button'],
    ]);
    expect(r.approvals.map((a) => [a.user, a.hash, a.voidedAt !== null])).toEqual([
      [BOB, played.firstHash, true],
      [CAROL, played.winnerHash, false],
      [BOB, played.winnerHash, false],
    ]);
    expect(r.versions.filter((v) => v.label === 'A').map((v) => [v.seq, v.by, v.hash])).toEqual([
      [1, null, played.firstHash],
      [2, ALICE, played.winnerHash],
    ]);
    // An anonymous round's votes are counted, never named.
    const anon = log.find((x) => x.roundId === played.anonId)!;
    expect(anon.votes).toMatchObject([{ user: '(anonymous)', label: 'A' }]);
    expect(JSON.stringify(anon)).not.toContain(CAROL);

    const csv = await runCommand(cmd, ['decisions', '--since', '2000-01-01', '--csv']);
    const rows = readCsvRecords('decisions.csv', csv.stdout).map((x) => x.record);
    const mine = rows.filter((x) => x.round_id === played.roundId);
    const count = (e: string) => mine.filter((x) => x.event === e).length;
    expect(mine[0].event).toBe('round_started');
    expect(mine.at(-1)?.event).toBe('closed');
    expect([count('content'), count('vote'), count('approval'), count('approval_voided')]).toEqual([3, 3, 3, 1]);
    // In time order: the first approval before the edit's new content, the voiding with it, the quorum after.
    const at = (e: string, n = 0) => mine.findIndex((x, i) => x.event === e && mine.slice(0, i).filter((y) => y.event === e).length === n);
    expect(at('approval', 0)).toBeLessThan(at('content', 2));
    expect(at('approval_voided')).toBeGreaterThan(at('approval', 0));
    expect(at('approval', 1)).toBeGreaterThan(at('content', 2));
    expect(mine.at(-1)).toMatchObject({ user: 'quorum', variant: 'A', content_hash: played.winnerHash });
    // The brief starts with "=": written neutralised, read back as typed.
    expect(csv.stdout).toContain(`'=HYPERLINK`);
    expect(mine[0].brief).toBe('=HYPERLINK("x") trail sunscreen');
    // --since after everything: nothing.
    expect((await runCommand(cmd, ['decisions', '--since', '2999-01-01'])).stdout).toBe('no rounds in that period\n');
  }, 60_000);
});

describe('decisions command', () => {
  it('asks for --since and refuses a bad date, naming it', async () => {
    const cmd = [makeDecisionsCommand({ config: () => loadConfig({ DATA_DIR: join(tmp, 'none') }) })];
    expect((await runCommand(cmd, ['decisions'])).stderr).toMatch(/--since is required/);
    const bad = await runCommand(cmd, ['decisions', '--since', 'last tuesday']);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toMatch(/--since must be a date like 2026-05-01.*"last tuesday"/);
    const empty = await runCommand(cmd, ['decisions', '--since', '2020-01-01', '--csv']);
    expect(empty).toMatchObject({ code: 0, stdout: 'at,round_id,round,brief,event,user,variant,content_hash,detail\n' });
  });
});
