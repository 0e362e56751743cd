import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.ts';
import {
  type CtrObservation,
  type Embedded,
  PreferenceModel,
  percentileIn,
  trainPreference,
  type VoteRecord,
} from '../../../src/learn/preference.ts';
import { createRng, normalizeRows, type Rng } from '../../../src/linalg.ts';

const D = 64;

function unit(rng: Rng, d = D): Float32Array {
  const v = Float32Array.from({ length: d }, () => rng.normal());
  normalizeRows(v, 1, d);
  return v;
}

/** Voters who pick by a hidden linear utility over [image; copy], with Gumbel noise (logit choice). */
function simulate(opts: { votes: number; perRound?: number; shown?: number; seed?: number; beta?: number }) {
  const rng = createRng(opts.seed ?? 1);
  const hidden = Float32Array.from({ length: 2 * D }, () => rng.normal());
  const utility = (x: Embedded) => {
    let s = 0;
    for (let j = 0; j < D; j++) s += hidden[j] * x.imageEmbedding[j] + hidden[D + j] * x.textEmbedding[j];
    return s;
  };
  const beta = opts.beta ?? 4;
  const votes: VoteRecord[] = [];
  const perRound = opts.perRound ?? 4;
  for (let r = 0; votes.length < opts.votes; r++) {
    const shown = Array.from({ length: opts.shown ?? 4 }, (_, i) => ({
      variantId: `r${r}v${i}`,
      imageEmbedding: unit(rng),
      textEmbedding: unit(rng),
    }));
    for (let u = 0; u < perRound && votes.length < opts.votes; u++) {
      let best = shown[0];
      let bestScore = Number.NEGATIVE_INFINITY;
      for (const s of shown) {
        const g = -Math.log(-Math.log(rng.next() || 1e-12));
        const sc = beta * utility(s) + g;
        if (sc > bestScore) {
          bestScore = sc;
          best = s;
        }
      }
      votes.push({ roundId: `round-${r}`, chosenVariantId: best.variantId, shown, userId: `u${u}` });
    }
  }
  return { votes, utility, rng };
}

describe('preference model', () => {
  // One simulated team of 500 votes, trained once, shared by the tests that only read it.
  let trained: { model: PreferenceModel; utility: (x: Embedded) => number; rng: Rng } | undefined;
  const fiveHundred = () => {
    if (!trained) {
      const { votes, utility, rng } = simulate({ votes: 500, seed: 7 });
      trained = { model: trainPreference({ votes, model: 'm' }, { seed: 3 }), utility, rng };
    }
    return trained;
  };

  it('reaches ≥ 0.8 held-out pairwise accuracy after 500 votes from voters with a hidden linear utility', () => {
    const { model } = fiveHundred();
    expect(model.meta.votes).toBe(500);
    expect(model.meta.heldOut.rounds).toBeGreaterThanOrEqual(20);
    expect(model.meta.heldOut.comparisons).toBeGreaterThan(200);
    expect(model.meta.heldOut.accuracy).toBeGreaterThanOrEqual(0.8);
  });

  it('ranks fresh creatives like the hidden utility does', () => {
    const { model, utility, rng } = fiveHundred();
    let agree = 0;
    for (let i = 0; i < 300; i++) {
      const a = { imageEmbedding: unit(rng), textEmbedding: unit(rng) };
      const b = { imageEmbedding: unit(rng), textEmbedding: unit(rng) };
      if (utility(a) > utility(b) === model.probabilityBetter(a, b) > 0.5) agree++;
    }
    expect(agree / 300).toBeGreaterThan(0.8);
  });

  it('says "insufficient data" (null) below the vote threshold, and scores at or above it', () => {
    const { votes, rng } = simulate({ votes: 60, seed: 9 });
    const x = { imageEmbedding: unit(rng), textEmbedding: unit(rng) };
    const few = trainPreference({ votes: votes.slice(0, 49), model: 'm' });
    expect(few.score(x, 50)).toBeNull();
    expect(few.status(50)).toEqual({ state: 'insufficient', votes: 49, needed: 50 });
    const enough = trainPreference({ votes: votes.slice(0, 50), model: 'm' });
    const s = enough.score(x, 50);
    expect(s).not.toBeNull();
    expect(s!.percentile).toBeGreaterThanOrEqual(0);
    expect(s!.percentile).toBeLessThanOrEqual(100);
    expect(enough.status(50).state).toBe('ready');
  });

  it('shows scores as percentiles against the past creatives given', () => {
    const { votes, rng } = simulate({ votes: 200, seed: 10 });
    const reference = Array.from({ length: 500 }, () => ({ imageEmbedding: unit(rng), textEmbedding: unit(rng) }));
    const model = trainPreference({ votes, reference, model: 'm' });
    const us = reference.map((r) => model.utility(r)).sort((a, b) => a - b);
    const best = reference.find((r) => model.utility(r) === us[us.length - 1])!;
    const worst = reference.find((r) => model.utility(r) === us[0])!;
    expect(model.score(best, 1)!.percentile).toBeGreaterThanOrEqual(99);
    expect(model.score(worst, 1)!.percentile).toBeLessThanOrEqual(1);
    expect(percentileIn([1, 2, 3, 4], 2.5)).toBe(50);
    expect(percentileIn([1, 2, 2, 3], 2)).toBe(50);
  });

  it('learns from CTR where there are no votes', () => {
    const rng = createRng(5);
    const hidden = Float32Array.from({ length: 2 * D }, () => rng.normal());
    const u = (x: Embedded) => {
      let s = 0;
      for (let j = 0; j < D; j++) s += hidden[j] * x.imageEmbedding[j] + hidden[D + j] * x.textEmbedding[j];
      return s;
    };
    const ctr: CtrObservation[] = Array.from({ length: 400 }, (_, i) => {
      const x = { imageEmbedding: unit(rng), textEmbedding: unit(rng) };
      const p = 0.02 * Math.exp(0.5 * u(x));
      return { id: `c${i}`, ...x, impressions: 20000, clicks: Math.round(20000 * Math.min(0.5, p)) };
    });
    const model = trainPreference({ votes: [], ctr, model: 'm' }, { seed: 2 });
    expect(model.meta.comparisons.ctr).toBeGreaterThan(500);
    expect(model.meta.votes).toBe(0);
    // No votes: the bot still says insufficient data, but the model already orders creatives by CTR.
    expect(model.score(ctr[0], 1)).toBeNull();
    let agree = 0;
    for (let i = 0; i < 200; i++) {
      const a = { imageEmbedding: unit(rng), textEmbedding: unit(rng) };
      const b = { imageEmbedding: unit(rng), textEmbedding: unit(rng) };
      if (u(a) > u(b) === model.probabilityBetter(a, b) > 0.5) agree++;
    }
    expect(agree / 200).toBeGreaterThan(0.75);
  });

  it('is calibrated on held-out comparisons: confident predictions come true more often', () => {
    const { model } = fiveHundred();
    const bins = model.meta.calibration;
    expect(bins.length).toBeGreaterThan(3);
    const high = bins.filter((b) => b.predicted > 0.7);
    const low = bins.filter((b) => b.predicted < 0.3);
    const avg = (bs: typeof bins) => bs.reduce((s, b) => s + b.observed * b.count, 0) / bs.reduce((s, b) => s + b.count, 0);
    expect(avg(high)).toBeGreaterThan(0.7);
    expect(avg(low)).toBeLessThan(0.3);
  });

  it('saves and loads with its model name, and refuses another model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pref-'));
    try {
      const { votes, rng } = simulate({ votes: 80, seed: 12 });
      const model = trainPreference({ votes, model: 'openai/clip-vit-base-patch32', adapter: 'abc123' });
      const path = join(dir, 'preference.json');
      model.save(path);
      const back = PreferenceModel.load(path);
      const x = { imageEmbedding: unit(rng), textEmbedding: unit(rng) };
      expect(back.utility(x)).toBeCloseTo(model.utility(x), 5);
      expect(back.meta.adapter).toBe('abc123');
      expect(() => back.assertCompatible({ model: 'openai/clip-vit-base-patch32', dims: D })).not.toThrow();
      expect(() => back.assertCompatible({ model: 'other', dims: D })).toThrow(/trained on openai\/clip-vit-base-patch32 \(64-d\).*other/);
      expect(() => PreferenceModel.parse('{"format":"x"}')).toThrow(/not an adcreative preference model/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to train on nothing, with a message that says what to do', () => {
    expect(() => trainPreference({ votes: [], model: 'm' })).toThrow(InputError);
    expect(() => trainPreference({ votes: [], model: 'm' })).toThrow(/no votes and no CTR/);
  });
});
