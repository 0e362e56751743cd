/**
 * The round's rules, run by the real runner over the real RoundService on SQLite, shown through
 * a recording RoundView: no Slack, fake or real, anywhere.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { DEFAULT_BRAND } from '../../../src/generate/brands.ts';
import { createOfflineCopywriter } from '../../../src/generate/offline-copy.ts';
import { createPipeline } from '../../../src/generate/pipeline.ts';
import { attachCost, chatUsage, createCostMeter, priceTable } from '../../../src/generate/pricing.ts';
import { createRoundPricing } from '../../../src/generate/providers.ts';
import { createStudioImages } from '../../../src/generate/studio.ts';
import type { Generator } from '../../../src/generate/types.ts';
import { createLogger } from '../../../src/log.ts';
import { DEFAULT_WEIGHTS } from '../../../src/rank/score.ts';
import { createFileAssetStore } from '../../../src/rounds/assets.ts';
import { RoundRunner, type RunnerDeps } from '../../../src/rounds/runner.ts';
import { RoundService, type RoundSettings } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import type { Round, RoundOptions } from '../../../src/rounds/types.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { type FakeEncoder, fakeEncoder, textVector } from '../../helpers/fake-encoder.ts';
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
const options: RoundOptions = { variants: 3, formats: ['square', 'story'], channel: 'meta', anonymous: false, hideTally: false };
const ALICE = 'U0ALICE'; // writes the briefs
const BOB = 'U0BOB';
const ADA = 'U0ADA'; // a workspace admin
const C = 'C1';

let dir: string;
let store: SqliteRoundStore;
let rounds: RoundService;
let view: RecordingView;
let gen: FakeGenerator;
let lib: FakeLibrary;
let encoder: FakeEncoder;
let logLines: Record<string, unknown>[];

function runner(over: { generator?: Generator; rs?: Partial<RoundSettings>; translator?: RunnerDeps['translator'] } = {}) {
  if (over.rs) rounds = new RoundService({ store, settings: { ...settings, ...over.rs } });
  return new RoundRunner({
    rounds,
    generator: over.generator ?? gen,
    library: async () => lib,
    encoder,
    translator: over.translator,
    assets: createFileAssetStore(join(dir, 'variants')),
    view,
    isAdmin: async (u) => u === ADA,
    synthetic: true,
    settings: { inspirationCount: 3, maxConcurrentRounds: 2 },
    logger: createLogger({ write: (l) => logLines.push(JSON.parse(l)) }),
  });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runner-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  rounds = new RoundService({ store, settings });
  view = recordingView();
  gen = fakeGenerator();
  lib = fakeLibrary([
    { headline: 'Past winner', brand: 'acme' },
    { headline: 'Other brand', brand: 'northwind' },
  ]);
  encoder = fakeEncoder();
  logLines = [];
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function firstRound(r: RoundRunner, brief = 'Cold brew for nurses', o: Partial<RoundOptions> = {}): Promise<Round> {
  await r.start({ user: ALICE, channel: C, brief, options: { ...options, ...o }, replyTo: { user: ALICE, channel: C, replyUrl: 'reply' } });
  const thread = view.of('openThread').at(-1);
  const latest = await rounds.latestInThread(C, `T${view.of('openThread').length}`);
  if (!thread || !latest) throw new Error('no round was started');
  return latest;
}

describe('starting a round', () => {
  it('opens a thread, shows inspiration, every variant with its image, the notes and the tally, then opens voting', async () => {
    const r = runner();
    const round = await firstRound(r, 'Cold brew for nurses', { brand: 'acme' });
    expect(round).toMatchObject({
      number: 1,
      status: 'open',
      threadTs: 'T1',
      permalink: 'https://example.test/T1',
      tallyTs: expect.any(String),
    });
    // The parent showed the estimate before anything was made: one copy call and one image per variant.
    expect(view.of('openThread')[0].cost).toEqual({ usd: 0.002 + 3 * 0.04, textCalls: 1, imageCalls: 3, offline: false, estimate: true });
    // The brand's own past creative first.
    expect(view.of('inspiration')[0].shown).toMatchObject({ state: 'ok', items: [{ headline: 'Past winner', brand: 'acme' }] });
    // One id/label rule: the round's id and the label; each variant's message is where reactions vote.
    const variants = await rounds.variants(round.id);
    expect(variants.map((v) => [v.id, v.label])).toEqual(['A', 'B', 'C'].map((l) => [`${round.id}-${l}`, l]));
    const posted = view.of('variant');
    expect(posted.map((p) => p.variant.label)).toEqual(['A', 'B', 'C']);
    for (const [i, v] of variants.entries()) expect(v.messageTs).toBe(posted[i].posted.messageTs);
    expect(view.of('notes')[0].notes.map((n) => n.kind)).toEqual(['offline', 'synthetic']);
    const tally = view.of('tally')[0];
    expect(tally).toMatchObject({ post: true, snapshot: { total: 0, pendingFeedback: 0 } });
    expect(view.of('status').at(-1)?.line).toEqual({ stage: 'ready', variants: 3 });
    // The brief went to the generator with the inspiration and no feedback.
    expect(gen.requests[0]).toMatchObject({ brief: 'Cold brew for nurses', brand: 'acme', count: 3, feedback: [] });
    expect(gen.requests[0].inspiration.map((i) => i.headline)).toEqual(['Past winner']);
  });

  it('searches the library with the translation of a Chinese brief, says so in the inspiration, and writes copy from the brief', async () => {
    const asked: string[] = [];
    const translation = {
      model: 'gpt-4o-mini',
      endpoint: 'chat' as const,
      text: { input: 40, cachedInput: 0, output: 8 },
      image: { input: 0, cachedInput: 0, output: 0 },
    };
    const translator = {
      async translate(text: string) {
        asked.push(text);
        return { text: 'Cold brew for nurses', from: 'zh', cached: false, billed: translation };
      },
    };
    await firstRound(runner({ translator }), '给护士的冷萃咖啡', { brand: 'acme' });
    expect(asked).toEqual(['给护士的冷萃咖啡']);
    expect(view.of('inspiration')[0].shown.note).toBe('translated from zh: Cold brew for nurses');
    expect(gen.requests[0].brief).toBe('给护士的冷萃咖啡');
    // The translation is billed to the round.
    expect(gen.requests[0].billedBefore).toEqual([translation]);
    expect(Array.from(gen.requests[0].briefEmbedding ?? [])).toEqual(Array.from(textVector('Cold brew for nurses', encoder.dims)));
  });

  it('says nothing about the search path for an English brief', async () => {
    await firstRound(runner(), 'Cold brew for nurses', { brand: 'acme' });
    expect(view.of('inspiration')[0].shown.note).toBeUndefined();
  });

  it('falls back to the whole library when the brand has no past creatives of its own', async () => {
    await firstRound(runner(), 'Tea', { brand: 'newbrand' });
    expect(view.of('inspiration')[0].shown.items.map((i) => i.headline)).toEqual(['Past winner', 'Other brand']);
  });

  it('embeds the brief once per round: the library search and the ranking share the embedding', async () => {
    const generator = createPipeline({
      copywriter: createOfflineCopywriter(),
      images: createStudioImages({ size: 128 }),
      encoder,
      maxSimilarity: async (e) => e.map(() => 0.2),
      brand: () => DEFAULT_BRAND,
      limits: (ch) => limitsFor(ch),
      weights: DEFAULT_WEIGHTS,
      candidateFactor: 1,
      concurrency: 2,
      prices: priceTable(),
      logger: createLogger({ write: () => {} }),
    });
    const r = runner({ generator });
    const round = await firstRound(r, 'Trail-running sunscreen', { variants: 2, formats: ['square'] });
    expect(round.status).toBe('open');
    expect(encoder.calls.texts).toBe(1);
    await rounds.addFeedback({ channel: C, threadTs: 'T1', messageTs: '5.5', user: BOB, text: 'warmer colours' });
    await r.next({ channel: C, threadTs: 'T1', user: BOB });
    expect((await rounds.latestInThread(C, 'T1'))?.number).toBe(2);
    expect(encoder.calls.texts).toBe(2);
  }, 60_000);

  it('refuses a brief past the rate limit, telling the author where they asked', async () => {
    const r = runner({ rs: { ratePerHour: 1 } });
    await firstRound(r);
    await r.start({ user: ALICE, channel: C, brief: 'Second', options, replyTo: { user: ALICE, channel: C, replyUrl: 'reply' } });
    expect(view.of('openThread')).toHaveLength(1);
    expect(view.of('tell').at(-1)).toMatchObject({ to: { replyUrl: 'reply' }, notice: { kind: 'refused', code: 'RATE_LIMITED' } });
  });

  it('a thread that cannot be opened fails the round and says why', async () => {
    view.refuseThread = { reason: 'not_in_channel', detail: 'not_in_channel' };
    const r = runner();
    await r.start({ user: ALICE, channel: C, brief: 'Pens', options, replyTo: { user: ALICE, channel: C } });
    expect(view.of('tell')[0].notice).toEqual({ kind: 'cannot_post', channel: C, reason: 'not_in_channel', detail: 'not_in_channel' });
    expect((await rounds.withStatus(['failed'])).map((x) => x.brief)).toEqual(['Pens']);
    expect(gen.requests).toHaveLength(0);
  });
});

describe('a round that cannot be made', () => {
  it('fails, shows the failure on the parent and in the thread, and writes a log line', async () => {
    gen.throwNext = new Error('OpenAI returned 500 three times');
    const r = runner();
    await r.start({ user: ALICE, channel: C, brief: 'Lamps', options, replyTo: { user: ALICE } });
    const round = await rounds.latestInThread(C, 'T1');
    expect(round?.status).toBe('failed');
    expect(round?.error).toContain('500 three times');
    expect(view.of('failed')[0].failure).toEqual({ kind: 'generation', why: 'generation failed: OpenAI returned 500 three times' });
    expect(logLines.find((l) => l.msg === 'round failed')).toMatchObject({
      level: 'warn',
      round: round?.id,
      why: expect.stringContaining('500'),
    });
  });

  it('goes on with what was made and names what failed', async () => {
    gen.failLabels = ['B'];
    const round = await firstRound(runner());
    expect((await rounds.variants(round.id)).map((v) => v.label)).toEqual(['A', 'C']);
    expect(view.of('notes')[0].notes[0]).toMatchObject({ kind: 'partial', made: 2, failures: [{ label: 'B', stage: 'image' }] });
  });

  it('after a restart, a round cut off while generating is failed and says so; open tallies are written again', async () => {
    const r = runner();
    const open = await firstRound(r);
    const cut = await rounds.createRound({ channel: C, threadTs: 'T9', number: 1, brief: 'pens', author: ALICE, options });
    const before = view.of('tally').length;
    await runner().resume();
    expect((await rounds.round(cut.id))?.status).toBe('failed');
    expect(view.of('failed').map((f) => [f.round.id, f.failure.kind])).toEqual([[cut.id, 'restarted']]);
    expect(
      view
        .of('tally')
        .slice(before)
        .map((t) => t.roundId),
    ).toEqual([open.id]);
  });
});

describe('votes and feedback', () => {
  it('a vote refreshes the tally; a voter of an anonymous round hears their vote privately', async () => {
    const r = runner();
    const round = await firstRound(r, 'Socks', { anonymous: true });
    const [a] = await rounds.variants(round.id);
    await r.voted(await rounds.buttonVote(a.id, BOB), { user: BOB, channel: C });
    expect(view.of('tally').at(-1)?.snapshot.entries[0]).toMatchObject({ label: 'A', votes: 1, voters: [BOB] });
    expect(view.of('tell').at(-1)).toMatchObject({
      to: { user: BOB, threadTs: 'T1' },
      notice: { kind: 'your_vote', label: 'A', retracted: false },
    });
  });

  it('feedback waits for the next round; a mention starts it, superseding the open round and using all feedback so far', async () => {
    const r = runner();
    const round = await firstRound(r);
    const [a, b] = await rounds.variants(round.id);
    await rounds.buttonVote(b.id, BOB);
    await rounds.buttonVote(b.id, ADA);
    await rounds.buttonVote(a.id, ALICE);
    expect(await r.feedback({ channel: C, threadTs: 'T1', ts: '2.1', user: BOB, text: 'warmer colours', mentioned: false })).toBe('noted');
    // A redelivered reply is not feedback twice.
    expect(await r.feedback({ channel: C, threadTs: 'T1', ts: '2.1', user: BOB, text: 'warmer colours', mentioned: false })).toBe(
      'duplicate',
    );
    expect(view.of('tally').at(-1)?.snapshot.pendingFeedback).toBe(1);
    expect(await r.feedback({ channel: C, threadTs: 'NOT-A-ROUND', ts: '2.2', user: BOB, text: 'hi', mentioned: false })).toBe(
      'not_a_round',
    );
    await r.feedback({ channel: C, threadTs: 'T1', ts: '2.3', user: ADA, text: '  shorter   headline ', mentioned: true });
    await r.work.idle();
    const [r1, r2] = await rounds.inThread(C, 'T1');
    expect(r1.status).toBe('superseded');
    expect(r2).toMatchObject({ number: 2, status: 'open', brief: r1.brief, author: ALICE });
    // The leader is the vote leader of round 1; all feedback so far goes in, and none is pending any more.
    expect(gen.requests[1].feedback).toEqual(['warmer colours', 'shorter headline']);
    expect(gen.requests[1].leader?.headline).toBe(b.headline);
    expect(await rounds.pendingFeedback(C, 'T1')).toEqual([]);
    expect(view.of('notes').find((n) => n.notes[0].kind === 'next')?.notes[0]).toEqual({
      kind: 'next',
      number: 2,
      by: ADA,
      feedback: 2,
      leader: 'B',
    });
    // Round 1's tally was written once more, showing it no longer takes votes.
    expect(view.of('tally').find((t) => t.roundId === r1.id && t.snapshot.round.status === 'superseded')).toBeDefined();
  });

  it('asking for the next round while one is being made keeps the feedback for the round after', async () => {
    const r = runner();
    await firstRound(r);
    let release = () => {};
    gen.gate = new Promise<void>((res) => {
      release = res;
    });
    const making = r.next({ channel: C, threadTs: 'T1', user: BOB });
    await new Promise((res) => setTimeout(res, 50));
    await r.next({ channel: C, threadTs: 'T1', user: ADA });
    expect(view.of('tell').at(-1)).toMatchObject({ to: { user: ADA }, notice: { kind: 'still_generating', round: 2 } });
    release();
    await making;
    expect((await rounds.inThread(C, 'T1')).map((x) => x.number)).toEqual([1, 2]);
  });

  it('a button of an older round does not replace the round people vote on now', async () => {
    const r = runner();
    const one = await firstRound(r);
    await r.retry({ roundId: one.id, user: BOB });
    expect((await rounds.latestInThread(C, 'T1'))?.number).toBe(2);
    await r.retry({ roundId: one.id, user: BOB });
    expect(view.of('tell').at(-1)?.notice).toEqual({ kind: 'stale_button', round: 1, latest: 2 });
    expect((await rounds.inThread(C, 'T1')).map((x) => x.status)).toEqual(['superseded', 'open']);
  });
});

describe('more like this', () => {
  it("from someone else is kept as feedback and does not end the round's voting", async () => {
    const r = runner();
    const round = await firstRound(r);
    const [a] = await rounds.variants(round.id);
    await r.moreLikeThis({ variantId: a.id, user: BOB });
    await r.moreLikeThis({ variantId: a.id, user: BOB });
    expect((await rounds.round(round.id))?.status).toBe('open');
    expect(gen.requests).toHaveLength(1);
    expect((await rounds.pendingFeedback(C, 'T1')).map((f) => f.text)).toEqual([`More like variant A: "${a.headline}"`]);
    expect(view.of('tell').at(-1)).toMatchObject({
      to: { user: BOB },
      notice: { kind: 'more_noted', label: 'A', round: 1, author: ALICE },
    });
    expect(view.of('tally').at(-1)?.snapshot.pendingFeedback).toBe(1);
  });

  it('from the author, or an admin, starts the next round at once, built on that variant', async () => {
    const r = runner();
    const round = await firstRound(r);
    const [, b] = await rounds.variants(round.id);
    await r.moreLikeThis({ variantId: b.id, user: ALICE });
    expect((await rounds.round(round.id))?.status).toBe('superseded');
    expect(gen.requests[1].leader?.headline).toBe(b.headline);
    expect(gen.requests[1].feedback).toEqual([`More like variant B: "${b.headline}"`]);
    const two = (await rounds.latestInThread(C, 'T1')) as Round;
    const [a2] = await rounds.variants(two.id);
    await r.moreLikeThis({ variantId: a2.id, user: ADA });
    expect((await rounds.latestInThread(C, 'T1'))?.number).toBe(3);
  });
});

describe('closing', () => {
  it('only the author or an admin may close; the winner goes to the library with its provenance, after its files', async () => {
    const r = runner();
    const round = await firstRound(r);
    const [a, b] = await rounds.variants(round.id);
    await rounds.buttonVote(b.id, BOB);
    await rounds.buttonVote(b.id, ADA);
    await rounds.buttonVote(a.id, ALICE);
    await r.close({ roundId: round.id, user: BOB });
    expect(view.of('tell').at(-1)?.notice).toEqual({ kind: 'close_refused', author: ALICE });
    expect((await rounds.round(round.id))?.status).toBe('open');
    await r.close({ roundId: round.id, user: ALICE });
    const closed = (await rounds.round(round.id)) as Round;
    expect(closed).toMatchObject({ status: 'closed', closedBy: ALICE, winnerVariantId: b.id, winnerCreativeId: 'lib-2' });
    expect(view.of('closed')[0].snapshot.result).toEqual({
      by: ALICE,
      winner: { label: 'B', headline: b.headline, votes: 2, total: 3 },
      tie: null,
    });
    // The files, then the note that it is in the library.
    const order = view.shown.filter((s) => s.kind === 'files' || (s.kind === 'notes' && s.notes[0].kind === 'stored')).map((s) => s.kind);
    expect(order).toEqual(['files', 'notes']);
    expect(view.of('files')[0].files.map((f) => f.format)).toEqual(['square', 'story']);
    const stored = lib.items[2];
    expect(stored).toMatchObject({ headline: b.headline, source: `winner:${round.id}`, format: 'square', tags: ['winner'] });
    expect(JSON.parse(stored.provenance as string)).toEqual({
      brief: 'Cold brew for nurses',
      round: 1,
      roundId: round.id,
      variant: 'B',
      votes: { A: 1, B: 2, C: 0 },
      total: 3,
      tie: false,
      closedBy: ALICE,
      channel: C,
      thread: 'T1',
    });
    await r.close({ roundId: round.id, user: ALICE });
    expect(view.of('tell').at(-1)?.notice).toEqual({ kind: 'already_closed', round: 1 });
    // A vote after the close is refused with a reason.
    await r.voted(await rounds.buttonVote(a.id, BOB), { user: BOB, channel: C });
    expect(view.of('tell').at(-1)?.notice).toEqual({ kind: 'voting_closed', round: 1 });
  });

  it('a tie is broken and said; no votes store no winner; an admin may close anyone’s round', async () => {
    const r = runner();
    const round = await firstRound(r);
    const [a, b] = await rounds.variants(round.id);
    await rounds.buttonVote(b.id, BOB);
    await rounds.buttonVote(a.id, ALICE);
    await r.close({ roundId: round.id, user: ADA });
    expect(view.of('closed')[0].snapshot.result).toMatchObject({
      by: ADA,
      winner: { label: 'A' },
      tie: { labels: ['A', 'B'], votes: 1, brokenBy: 'position' },
    });
    const two = await firstRound(r, 'Umbrellas');
    await r.autoClose(two);
    expect(view.of('closed')[1].snapshot.result).toEqual({ by: 'auto', winner: null, tie: null });
    expect(lib.items).toHaveLength(3);
  });
});

describe('editing copy', () => {
  it('re-renders in place while the round is open, and not once it closed', async () => {
    const r = runner();
    const round = await firstRound(r);
    const [a] = await rounds.variants(round.id);
    // Only the brief's author (Alice) or an admin (Ada) edits.
    await r.editCopy({ variantId: a.id, user: BOB, copy: { headline: 'Mine', body: 'Body', cta: 'Go' } });
    expect(view.of('tell').at(-1)?.notice).toEqual({ kind: 'edit_refused', author: ALICE });
    await r.editCopy({ variantId: a.id, user: ALICE, copy: { headline: 'New', body: 'Body', cta: 'Go' } });
    const edited = view.of('variant').at(-1);
    expect(edited?.replace?.messageTs).toBe(a.messageTs);
    expect(edited?.variant).toMatchObject({ headline: 'New', body: 'Body', cta: 'Go', flags: [`copy edited by <@${ALICE}>`] });
    expect((await rounds.variant(a.id))?.fileId).toBe(edited?.posted.fileId);
    await r.autoClose(round);
    await r.editCopy({ variantId: a.id, user: ADA, copy: { headline: 'Later', body: 'b', cta: 'c' } });
    expect(view.of('tell').at(-1)?.notice).toEqual({ kind: 'edit_closed', round: 1 });
    expect((await rounds.variant(a.id))?.headline).toBe('New');
  });
});

describe('editing copy when Slack cannot show it', () => {
  it('keeps the copy, the images and the message as they were, and says why', async () => {
    const r = runner();
    const round = await firstRound(r);
    const [a] = await rounds.variants(round.id);
    view.failReplace = new Error('the re-rendered image did not show in Slack in time');
    await r.editCopy({ variantId: a.id, user: ALICE, copy: { headline: 'Never seen', body: 'b', cta: 'c' } });
    expect(view.of('tell').at(-1)?.notice).toMatchObject({
      kind: 'rerender_failed',
      label: 'A',
      detail: expect.stringContaining('did not show'),
    });
    expect(await rounds.variant(a.id)).toEqual(a);
    expect(gen.rerenders).toHaveLength(1);
    const assets = await createFileAssetStore(join(dir, 'variants')).load(round.id, a.id);
    // The stored images are still the ones shown first (variant A's original preview).
    expect(Buffer.from(assets?.preview ?? []).equals(Buffer.from(view.of('variant')[0].image))).toBe(true);
  });
});

describe('cost: the one place prices live', () => {
  it("records the generator's figure, priced from the usage the API reported, and estimates with the price table", () => {
    expect(rounds.spentUsd({ textCalls: 1, imageCalls: 3, usd: 0.5 })).toBe(0.5);
    // Nothing billed (offline drafts), or a model without a price: nothing is made up.
    expect(rounds.spentUsd({ textCalls: 1, imageCalls: 3, usd: 0 })).toBe(0);
    expect(rounds.estimateCost({ variants: 2 }, false)).toEqual({ usd: 0.002 + 0.04 * 2, textCalls: 1, imageCalls: 2 });
    expect(rounds.estimateCost({ variants: 2 }, true)).toEqual({ usd: 0, textCalls: 0, imageCalls: 0 });
  });

  it('a generation that failed after billed requests records what they cost', async () => {
    const meter = createCostMeter(priceTable());
    meter.record(chatUsage('gpt-4o-mini', { prompt_tokens: 1000, completion_tokens: 100 }));
    const refused = new Error('the text model declined to write this copy');
    attachCost(refused, meter.cost());
    gen.throwNext = refused;
    await runner().start({ user: ALICE, channel: C, brief: 'Vapes', options, replyTo: { user: ALICE } });
    const round = await rounds.latestInThread(C, 'T1');
    expect(round).toMatchObject({ status: 'failed', textCalls: 1, imageCalls: 0 });
    expect(round?.costUsd).toBeCloseTo((1000 * 0.15 + 100 * 0.6) / 1e6, 12);
  });

  it('the estimate on the parent counts the call that writes copy per locale (--locales de,fr,ja), per audience', async () => {
    const pricing = createRoundPricing(loadConfig({ OPENAI_API_KEY: 'sk-test-1234567890', IMAGE_PROVIDER: 'studio' }));
    await firstRound(runner({ rs: { pricing } }), 'Cold brew for nurses', { locales: ['de', 'fr', 'ja'] });
    const withLocales = view.of('openThread')[0].cost;
    await firstRound(runner({ rs: { pricing } }), 'Cold brew for nurses');
    const without = view.of('openThread')[1].cost;
    expect(without).toMatchObject({ textCalls: 1, estimate: true });
    expect(withLocales).toMatchObject({ textCalls: 2, estimate: true });
    expect(withLocales.usd).toBeGreaterThan(without.usd);
    expect(rounds.estimateCost({ variants: 3, locales: ['de', 'fr', 'ja'], audiences: ['a', 'b'] }, false)).toMatchObject({ textCalls: 4 });
  });

  /** A translator whose one call was billed 1000 tokens in, 100 out (gpt-4o-mini). */
  function billedTranslator() {
    const billed = chatUsage('gpt-4o-mini', { prompt_tokens: 1000, completion_tokens: 100 });
    const meter = createCostMeter(priceTable());
    meter.record(billed);
    const cost = meter.cost();
    return {
      async translate() {
        return { text: 'Vapes for nurses', from: 'zh', cached: false, billed, cost };
      },
    };
  }
  const TRANSLATION_USD = (1000 * 0.15 + 100 * 0.6) / 1e6;

  it('a round whose brief was translated and then could not be embedded records the translation it paid for', async () => {
    encoder.embedTexts = async () => {
      throw new Error('CLIP server unreachable');
    };
    await runner({ translator: billedTranslator() }).start({
      user: ALICE,
      channel: C,
      brief: '给护士的电子烟',
      options,
      replyTo: { user: ALICE },
    });
    const round = await rounds.latestInThread(C, 'T1');
    expect(round).toMatchObject({ status: 'failed', textCalls: 1, imageCalls: 0 });
    expect(round?.costUsd).toBeCloseTo(TRANSLATION_USD, 12);
    // The failure message on the parent shows it too.
    expect(view.of('failed')[0].round.costUsd).toBeCloseTo(TRANSLATION_USD, 12);
  });

  it('a generation that failed without a cost of its own still records the translation made before it', async () => {
    gen.throwNext = new Error('the image worker crashed');
    await runner({ translator: billedTranslator() }).start({
      user: ALICE,
      channel: C,
      brief: '给护士的电子烟',
      options,
      replyTo: { user: ALICE },
    });
    const round = await rounds.latestInThread(C, 'T1');
    expect(round).toMatchObject({ status: 'failed', textCalls: 1 });
    expect(round?.costUsd).toBeCloseTo(TRANSLATION_USD, 12);
  });

  it('a round made but not saved records what its generation spent', async () => {
    const meter = createCostMeter(priceTable());
    meter.record(chatUsage('gpt-4o-mini', { prompt_tokens: 1000, completion_tokens: 100 }));
    const inner = gen;
    const billedGen: Generator = {
      rerender: (...a) => inner.rerender(...a),
      generate: async (req) => ({ ...(await inner.generate(req)), cost: meter.cost() }),
    };
    const r = runner({ generator: billedGen });
    rounds.recordVariants = async () => {
      throw new Error('database is locked');
    };
    await r.start({ user: ALICE, channel: C, brief: 'Vapes', options, replyTo: { user: ALICE } });
    const round = await rounds.latestInThread(C, 'T1');
    expect(round).toMatchObject({ status: 'failed', textCalls: 1 });
    expect(round?.costUsd).toBeCloseTo(TRANSLATION_USD, 12);
  });
});
