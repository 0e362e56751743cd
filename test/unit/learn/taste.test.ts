import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainPreference, type VoteRecord } from '../../../src/learn/preference.ts';
import { featuresOf, TasteModel } from '../../../src/learn/taste.ts';
import { fitTaste } from '../../../src/learn/taste-fit.ts';
import { ctrDirection, isPastWinner, tasteInput, winnersDirection } from '../../../src/learn/taste-prior.ts';
import { createWorld, finalVotes, type SimWorld } from '../../../src/learn/taste-sim.ts';
import { pairwiseAccuracy } from '../../../src/learn/taste-trial.ts';
import { createRng, dot, shuffle } from '../../../src/linalg.ts';

const small = { dims: 64, latent: 8, library: 240, pastRounds: 20 };

/** Rounds showing four random candidates of a brief, voted by the team. */
function simulateVotes(w: SimWorld, rounds: number, seed: number, from = 0): VoteRecord[] {
  const rng = createRng(seed);
  const out: VoteRecord[] = [];
  for (let r = from; r < from + rounds; r++) {
    const b = w.brief(r);
    const cs = [...b.candidates];
    shuffle(cs, rng);
    const shown = cs.slice(0, 4);
    const sv = shown.map((c) => ({ variantId: c.id, imageEmbedding: c.imageEmbedding, textEmbedding: c.textEmbedding }));
    for (const [user, id] of finalVotes(
      w.vote(
        b,
        shown.map((c) => c.id),
        rng,
      ),
    )) {
      out.push({ roundId: b.id, chosenVariantId: id, shown: sv, userId: user });
    }
  }
  return out;
}

const heldOut = (w: SimWorld) => Array.from({ length: 25 }, (_, i) => w.heldOutBrief(i));
const meanAccuracy = (w: SimWorld, m: TasteModel) => pairwiseAccuracy(heldOut(w), (c) => m.predict(c).mean);

describe('the priors', () => {
  const world = createWorld({ seed: 21, ...small, ctrAlignment: 0.8 });
  const input = tasteInput({ votes: [], library: world.library, model: 'sim' }, { rank: 24 });

  it('read past winners from the bot ("winner:…") and from ingest tags', () => {
    expect(isPastWinner({ source: 'winner:round-7' })).toBe(true);
    expect(isPastWinner({ source: 'ingest:meta.csv', tags: ['summer', 'winner'] })).toBe(true);
    expect(isPastWinner({ source: 'ingest:meta.csv', tags: ['summer'] })).toBe(false);
  });

  it("lean toward what the team likes: the CTR direction and the winners' direction each order unseen creatives better than chance", () => {
    const ctr = input.directions.find((d) => d.name === 'ctr');
    const win = input.directions.find((d) => d.name === 'winners');
    expect(ctr?.support).toBe(world.library.length);
    expect(win?.support).toBeGreaterThanOrEqual(15);
    for (const d of [ctr, win]) {
      const acc = pairwiseAccuracy(heldOut(world), (c) => dot(d!.weights, featuresOf(input.basis, c)));
      expect(acc).toBeGreaterThan(0.6);
    }
  });

  it('are left out when the library cannot support them', () => {
    expect(ctrDirection(input.basis, world.library.slice(0, 19))).toBeNull();
    expect(
      ctrDirection(
        input.basis,
        world.library.map((r) => ({ ...r, impressions: 0, clicks: 0 })),
      ),
    ).toBeNull();
    const noWinners = world.library.map((r) => ({ ...r, source: 'ingest:x', tags: [] }));
    expect(winnersDirection(input.basis, noWinners, input.reference)).toBeNull();
  });

  it('make the model useful before the first vote, with wide intervals that narrow as votes arrive', () => {
    const before = fitTaste(input);
    expect(before.meta.votes).toBe(0);
    expect(before.shows(10)).toBe(true);
    expect(meanAccuracy(world, before)).toBeGreaterThan(0.62);
    const votes = simulateVotes(world, 60, 3);
    const after = fitTaste(tasteInput({ votes, library: world.library, model: 'sim' }, { rank: 24 }));
    expect(meanAccuracy(world, after)).toBeGreaterThan(meanAccuracy(world, before));
    const probe = world.heldOutBrief(99).candidates;
    const width = (m: TasteModel) => {
      const e = m.estimate(probe, { draws: 0, rng: createRng(1) });
      return e.reduce((s, x) => s + (x.high - x.low), 0) / e.length;
    };
    expect(width(after)).toBeLessThan(width(before) * 0.8);
  });

  it('give way to the votes when they are wrong (CTR that runs against the team)', () => {
    const contrary = createWorld({ seed: 22, ...small, ctrAlignment: -0.8, pastRounds: 0 });
    const start = tasteInput({ votes: [], library: contrary.library, model: 'sim' }, { rank: 24 });
    const prior = fitTaste(start);
    expect(meanAccuracy(contrary, prior)).toBeLessThan(0.45);
    const votes = simulateVotes(contrary, 60, 4);
    const fitted = fitTaste(tasteInput({ votes, library: contrary.library, model: 'sim' }, { basis: { basis: start.basis, items: 0 } }));
    expect(meanAccuracy(contrary, fitted)).toBeGreaterThan(0.7);
    // The prior leaned along the CTR direction; the votes turned the weight on it round.
    const ctr = start.directions.find((d) => d.name === 'ctr')!;
    expect(dot(prior.mean(), ctr.weights)).toBeGreaterThan(0);
    expect(dot(fitted.mean(), ctr.weights)).toBeLessThan(0);
  });
});

describe('the taste model', () => {
  const world = createWorld({ seed: 31, ...small });
  const base = () => fitTaste(tasteInput({ votes: [], library: world.library, model: 'sim' }, { rank: 24 }));

  it('takes a vote back exactly, and a moved vote counts once, for the new choice', () => {
    const m = base();
    const shown = world.brief(0).candidates.slice(0, 4);
    const probe = world.brief(1).candidates[0];
    const start = m.predict(probe);
    m.observe('r1/u1', shown, 0);
    expect(m.predict(probe).mean).not.toBeCloseTo(start.mean, 6);
    m.observe('r1/u1', shown, null);
    expect(m.predict(probe).mean).toBeCloseTo(start.mean, 9);
    expect(m.predict(probe).sd).toBeCloseTo(start.sd, 9);

    const moved = base();
    moved.observe('r1/u1', shown, 0);
    moved.observe('r1/u1', shown, 2);
    const direct = base();
    direct.observe('r1/u1', shown, 2);
    expect(moved.predict(probe).mean).toBeCloseTo(direct.predict(probe).mean, 9);
    expect(moved.votes).toBe(1);
  });

  it('online updates track the full refit: the same votes give nearly the same ranking', () => {
    const votes = simulateVotes(world, 40, 7);
    const online = base();
    for (const v of votes) {
      const i = v.shown.findIndex((s) => s.variantId === v.chosenVariantId);
      online.observe(`${v.roundId}/${v.userId}`, v.shown, i);
    }
    const refit = fitTaste(tasteInput({ votes, library: world.library, model: 'sim' }, { rank: 24 }), { minVotesForSearch: 1e9 });
    const probe = heldOut(world).flatMap((b) => b.candidates);
    const a = probe.map((c) => online.predict(c).mean);
    const b = probe.map((c) => refit.predict(c).mean);
    let agree = 0;
    let n = 0;
    for (let i = 0; i < a.length; i += 3) {
      for (let j = i + 1; j < a.length; j += 7) {
        agree += a[i] - a[j] > 0 === b[i] - b[j] > 0 ? 1 : 0;
        n++;
      }
    }
    expect(agree / n).toBeGreaterThan(0.9);
  });

  it("learns the team's taste from votes better than today's point estimate, before and after 200 votes", () => {
    const w = createWorld({ seed: 41, ...small });
    const votes = simulateVotes(w, 60, 11);
    const at = (n: number) => votes.slice(0, n);
    const taste = (n: number) => meanAccuracy(w, fitTaste(tasteInput({ votes: at(n), library: w.library, model: 'sim' }, { rank: 24 })));
    const today = (n: number) => {
      const m = trainPreference({ votes: at(n), model: 'sim' });
      return pairwiseAccuracy(heldOut(w), (c) => m.utility(c));
    };
    expect(taste(30)).toBeGreaterThan(today(30));
    expect(taste(200)).toBeGreaterThan(0.8);
  });

  it('estimates a percentile inside its interval, with as many Thompson draws as asked, reproducibly', () => {
    const m = base();
    const cands = world.brief(3).candidates;
    const e1 = m.estimate(cands, { draws: 4, rng: createRng(5) });
    const e2 = m.estimate(cands, { draws: 4, rng: createRng(5) });
    expect(e1).toEqual(e2);
    for (const e of e1) {
      expect(e.low).toBeLessThanOrEqual(e.value);
      expect(e.high).toBeGreaterThanOrEqual(e.value);
      expect(e.draws).toHaveLength(4);
      for (const d of e.draws) expect(d >= 0 && d <= 1).toBe(true);
    }
  });

  it('saves and loads, refuses an old point-estimate file with the fix, and shows scores only when it knows something', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taste-'));
    try {
      const m = base();
      m.observe('r/u', world.brief(0).candidates.slice(0, 3), 1);
      const path = join(dir, 'preference.json');
      m.save(path);
      const back = TasteModel.load(path);
      const probe = world.brief(2).candidates[1];
      expect(back.predict(probe).mean).toBeCloseTo(m.predict(probe).mean, 3);
      expect(back.meta.online).toBe(0);
      trainPreference({ votes: simulateVotes(world, 5, 1), model: 'sim' }).save(path);
      expect(() => TasteModel.load(path)).toThrow(
        expect.objectContaining({ code: 'PREFERENCE_OUTDATED', hint: expect.stringMatching(/train preference/) }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const bare = fitTaste(
      tasteInput(
        { votes: [], library: world.library.map((r) => ({ ...r, impressions: 0, clicks: 0, source: 'x' })), model: 'sim' },
        { rank: 24 },
      ),
    );
    expect(bare.hasPriors).toBe(false);
    expect(bare.status(10)).toEqual({ state: 'insufficient', votes: 0, needed: 10 });
    for (let i = 0; i < 10; i++) bare.observe(`r${i}`, world.brief(i).candidates.slice(0, 3), 0);
    expect(bare.status(10)).toMatchObject({ state: 'ready', votes: 10, priors: false });
  });
});
