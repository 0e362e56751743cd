import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShownVariant } from '../../../src/learn/preference.ts';
import type { TasteModel } from '../../../src/learn/taste.ts';
import { fitTaste } from '../../../src/learn/taste-fit.ts';
import { cachingTextEncoder, createTasteLearner, makeTasteScorer } from '../../../src/learn/taste-learner.ts';
import { tasteInput } from '../../../src/learn/taste-prior.ts';
import { createWorld } from '../../../src/learn/taste-sim.ts';
import { createRng } from '../../../src/linalg.ts';
import { RoundService, type VoteChange } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import { simVariantRecords } from '../../helpers/taste.ts';

const world = createWorld({ seed: 51, dims: 64, latent: 8, library: 200, pastRounds: 12 });
const fitted = fitTaste(tasteInput({ votes: [], library: world.library, model: 'sim' }, { rank: 16 }));
const settings = {
  ratePerHour: 100,
  dailyImageCap: 1000,
  monthlyUsdCap: 0,
  autoCloseMinutes: 0,
  reminderMinutes: 0,
  doubleClickMs: 800,
  pricing: { estimate: (n: number) => ({ usd: 0, textCalls: 0, imageCalls: n }) },
};

let store: SqliteRoundStore;
let now: number;
let current: TasteModel | null;
let shownByRound: Map<string, ShownVariant[]>;
const changes: VoteChange[] = [];

beforeEach(async () => {
  store = await openSqliteStore(':memory:');
  now = Date.UTC(2026, 2, 10, 12);
  current = fitted;
  shownByRound = new Map();
  changes.length = 0;
});
afterEach(async () => {
  await store.close();
});

/** The clock moves 5 s per reading: clicks are never double clicks. */
function tick(): Date {
  now += 5000;
  return new Date(now);
}

async function round(rounds: RoundService, brief: number, thread: string) {
  const r = await rounds.createRound({
    channel: 'C1',
    threadTs: thread,
    number: 1,
    brief: 'b',
    author: 'U0',
    options: { variants: 3, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false },
  });
  const cands = world.brief(brief).candidates.slice(0, 3);
  const records = simVariantRecords(r.id, cands, (i) => `${thread}${i}`);
  await store.insertVariants(records);
  shownByRound.set(
    r.id,
    cands.map((c, i) => ({ variantId: records[i].id, imageEmbedding: c.imageEmbedding, textEmbedding: c.textEmbedding })),
  );
  await rounds.open(r.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });
  return { id: r.id, ids: records.map((x) => x.id), shown: shownByRound.get(r.id) as ShownVariant[] };
}

function setup() {
  const learner = createTasteLearner({ fitted: () => current, shown: async (id) => shownByRound.get(id) ?? [] });
  const rounds = new RoundService({
    store,
    settings,
    clock: () => tick(),
    onVote: (c) => {
      changes.push(c);
      learner.observe(c);
    },
  });
  return { learner, rounds };
}

describe('the taste model in the bot', () => {
  it('learns from each stored vote as the flow makes it: voted, moved, taken back', async () => {
    const { learner, rounds } = setup();
    const r = await round(rounds, 0, '1.1');
    await rounds.buttonVote(r.ids[0], 'U1');
    await rounds.buttonVote(r.ids[2], 'U1'); // moved
    await rounds.buttonVote(r.ids[1], 'U2');
    await rounds.buttonVote(r.ids[1], 'U2'); // taken back (after the double-click window)
    await rounds.reactionAdded('C1', '1.10', 'U3');
    await rounds.buttonVote(r.ids[1], 'U3'); // moved by button
    expect(changes.map((c) => c.kind)).toEqual(['voted', 'moved', 'voted', 'retracted', 'voted', 'moved']);
    await learner.settled();
    const m = learner.current() as TasteModel;
    expect(m.votes).toBe(2);
    // The same as a copy of the fitted model told only the final votes.
    const expected = fitted.clone();
    expected.observe('a', r.shown, 2);
    expected.observe('b', r.shown, 1);
    const probe = world.brief(9).candidates[0];
    expect(m.predict(probe).mean).toBeCloseTo(expected.predict(probe).mean, 9);
    // The fitted model itself is untouched.
    expect(fitted.votes).toBe(0);
  });

  it('with audiences, a vote in each segment is a choice of its own, among that segment only', async () => {
    const { learner, rounds } = setup();
    const r = await rounds.createRound({
      channel: 'C1',
      threadTs: '3.1',
      number: 1,
      brief: 'b',
      author: 'U0',
      options: {
        variants: 2,
        formats: ['square'],
        channel: 'meta',
        anonymous: false,
        hideTally: false,
        audiences: ['students', 'parents'],
      },
    });
    const cands = world.brief(2).candidates.slice(0, 4);
    const audience = (i: number) => (i < 2 ? 'students' : 'parents');
    const records = simVariantRecords(r.id, cands, (i) => `3.1${i}`).map((v, i) => ({ ...v, audience: audience(i) }));
    await store.insertVariants(records);
    const shown = cands.map((c, i) => ({
      variantId: records[i].id,
      imageEmbedding: c.imageEmbedding,
      textEmbedding: c.textEmbedding,
      audience: audience(i),
    }));
    shownByRound.set(r.id, shown);
    await rounds.open(r.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });
    await rounds.buttonVote(records[0].id, 'U1');
    await rounds.buttonVote(records[3].id, 'U1');
    await learner.settled();
    const m = learner.current() as TasteModel;
    expect(m.votes).toBe(2);
    const expected = fitted.clone();
    expected.observe('s', shown.slice(0, 2), 0);
    expected.observe('p', shown.slice(2), 1);
    const probe = world.brief(9).candidates[0];
    expect(m.predict(probe).mean).toBeCloseTo(expected.predict(probe).mean, 9);
  });

  it('carries the live votes over to a retrained model, except those the retrain already counted', async () => {
    const { learner, rounds } = setup();
    const a = await round(rounds, 0, '1.1');
    const b = await round(rounds, 1, '2.1');
    await rounds.buttonVote(a.ids[0], 'U1');
    await rounds.buttonVote(b.ids[1], 'U1');
    await learner.settled();
    expect(learner.current()?.votes).toBe(2);
    // A retrain that counted round a (closed meanwhile): only b's vote is applied on top.
    const retrained = fitTaste(
      tasteInput(
        { votes: [{ roundId: a.id, chosenVariantId: a.ids[0], shown: a.shown }], library: world.library, model: 'sim' },
        { basis: { basis: fitted.basis, items: 0 } },
      ),
    );
    current = retrained;
    const m = learner.current() as TasteModel;
    expect(m).not.toBe(retrained);
    expect(m.votes).toBe(2);
    const expected = retrained.clone();
    expected.observe('b', b.shown, 1);
    const probe = world.brief(9).candidates[1];
    expect(m.predict(probe).mean).toBeCloseTo(expected.predict(probe).mean, 9);
  });

  it('never holds up or fails a vote: the update is queued, and its failure is logged', async () => {
    const warnings: string[] = [];
    const learner = createTasteLearner({
      fitted: () => current,
      shown: async () => {
        throw new Error('assets unavailable');
      },
      logger: { warn: (m: string) => warnings.push(m) } as never,
    });
    const rounds = new RoundService({ store, settings, clock: () => tick(), onVote: (c) => learner.observe(c) });
    const r = await round(rounds, 0, '1.1');
    expect((await rounds.buttonVote(r.ids[0], 'U1')).kind).toBe('voted');
    await learner.settled();
    expect(warnings[0]).toMatch(/online update failed/);
    const throwing = new RoundService({
      store,
      settings,
      clock: () => tick(),
      onVote: () => {
        throw new Error('listener broke');
      },
    });
    expect((await throwing.buttonVote(r.ids[1], 'U2')).kind).toBe('voted');
  });
});

describe('the taste scorer', () => {
  const encoder = () => {
    let calls = 0;
    const texts = new Map<string, Float32Array>();
    const rng = createRng(3);
    const base = {
      info: () => ({ model: 'sim', dims: 64, synthetic: true, device: 'cpu', precision: 'fp32' as const }),
      embedTexts: async (xs: string[]) => {
        calls++;
        return xs.map((t) => {
          if (!texts.has(t)) {
            const v = Float32Array.from({ length: 64 }, () => rng.normal());
            const n = Math.hypot(...v);
            texts.set(
              t,
              v.map((x) => x / n),
            );
          }
          return texts.get(t) as Float32Array;
        });
      },
    };
    return { base, calls: () => calls };
  };
  const variants = world
    .brief(4)
    .candidates.slice(0, 5)
    .map((c) => ({ headline: c.headline, body: c.body, imageEmbedding: c.imageEmbedding }));

  it('gives each candidate its percentile, interval and draws; embeds each copy once for ranking and votes', async () => {
    const e = encoder();
    const copy = cachingTextEncoder(e.base);
    const score = makeTasteScorer({ model: () => fitted, encoder: copy, minVotes: 10, rng: createRng(1) });
    const out = await score(variants, { draws: 3 });
    expect(out).toHaveLength(5);
    for (const p of out) {
      expect(p?.draws).toHaveLength(3);
      expect(p!.low).toBeLessThanOrEqual(p!.value);
    }
    expect(e.calls()).toBe(1);
    await copy.embedTexts([`${variants[0].headline} — ${variants[0].body}`]);
    expect(e.calls()).toBe(1);
  });

  it('says nothing while the model knows nothing, and refuses embeddings from another space', async () => {
    const e = encoder();
    expect(await makeTasteScorer({ model: () => null, encoder: e.base, minVotes: 10 })(variants)).toEqual([null, null, null, null, null]);
    const bare = fitTaste(
      tasteInput(
        { votes: [], library: world.library.map((r) => ({ ...r, impressions: 0, clicks: 0, source: 'x' })), model: 'sim' },
        { rank: 8 },
      ),
    );
    expect(await makeTasteScorer({ model: () => bare, encoder: e.base, minVotes: 10 })(variants)).toEqual([null, null, null, null, null]);
    await expect(
      makeTasteScorer({ model: () => fitted, encoder: { ...e.base, adapter: { id: 'abc' } }, minVotes: 10 })(variants),
    ).rejects.toThrow(/trained on raw CLIP embeddings but the encoder gives adapter abc/);
    await expect(
      makeTasteScorer({ model: () => fitted, encoder: { ...e.base, info: () => ({ ...e.base.info(), model: 'other' }) }, minVotes: 10 })(
        variants,
      ),
    ).rejects.toThrow(/trained on sim \(64-d\)/);
  });
});
