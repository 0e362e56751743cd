/**
 * The taste model's full fit (the periodic retrain): the prior from its directions, the
 * hyperparameters by empirical Bayes (the Laplace evidence over a small grid), the MAP by
 * damped Newton on every vote, the Laplace posterior there, and the held-out accuracy
 * reported the way the point-estimate model reports it.
 *
 * Votes are fitted per round: the votes of one round share the variants shown, and the
 * curvature of a choice among them does not depend on which was chosen, so a round costs
 * one curvature however many people voted.
 */

import { ModelError } from '../errors.ts';
import { choleskyInverse, choleskyJittered, choleskyLogDet, choleskySolve, createRng, dot, matVec, shuffle } from '../linalg.ts';
import { marginAccuracy, marginCalibration, type VoteRecord } from './preference.ts';
import { featureCount, featuresOf, type TasteBasis, type TasteMeta, TasteModel } from './taste.ts';

/** Choices among one set of options: how many picked each (a round's votes, or a pseudo-preference). */
export interface ChoiceSet {
  options: Float64Array[];
  counts: number[];
  /** Likelihood weight (1 for votes; pseudo-preferences less). */
  weight?: number;
}

/** A Gaussian prior over the weights: N(Σ_j lean_j w_j, τ²I + Σ_j lean_j² w_j w_jᵀ). */
export interface TastePrior {
  mean: Float64Array;
  precision: Float64Array;
  logDetPrecision: number;
}

/** A direction the prior leans along (weights in feature space). */
export interface PriorDirection {
  name: 'ctr' | 'winners';
  /** Scaled so the utility it gives past creatives has unit s.d.: leans on different directions compare. */
  weights: Float64Array;
  /** Rows behind it. */
  support: number;
}

export function makePrior(D: number, tau: number, directions: PriorDirection[], leans: number[]): TastePrior {
  const mean = new Float64Array(D);
  const cov = new Float64Array(D * D);
  for (let i = 0; i < D; i++) cov[i * D + i] = tau * tau;
  for (const [k, dir] of directions.entries()) {
    const lean = leans[k] ?? 0;
    if (!(dot(dir.weights, dir.weights) > 0) || !lean) continue;
    // As much doubt along the direction as lean: votes may double it, or take it away.
    for (let j = 0; j < D; j++) mean[j] += lean * dir.weights[j];
    const s2 = lean * lean;
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) cov[i * D + j] += s2 * dir.weights[i] * dir.weights[j];
  }
  const L = choleskyJittered(cov, D);
  if (!L) throw new ModelError('PREFERENCE_INVALID', 'the taste prior is not positive definite');
  return { mean, precision: choleskyInverse(L, D), logDetPrecision: -choleskyLogDet(L, D) };
}

/**
 * log-likelihood of a set's choices at w; adds its gradient to `grad` and its curvature
 * N·Σ p_s (x_s − x̄)(x_s − x̄)ᵀ to `H` when given.
 */
function accumulate(w: Float64Array, set: ChoiceSet, grad?: Float64Array, H?: Float64Array): number {
  const D = w.length;
  const k = set.options.length;
  const wt = set.weight ?? 1;
  const n = set.counts.reduce((s, c) => s + c, 0);
  if (!n) return 0;
  const u = set.options.map((x) => dot(w, x));
  const mx = Math.max(...u);
  const e = u.map((v) => Math.exp(v - mx));
  const z = e.reduce((s, v) => s + v, 0);
  const p = e.map((v) => v / z);
  let ll = 0;
  for (let s = 0; s < k; s++) if (set.counts[s]) ll += set.counts[s] * (u[s] - mx - Math.log(z));
  if (grad || H) {
    const xbar = new Float64Array(D);
    for (let s = 0; s < k; s++) for (let j = 0; j < D; j++) xbar[j] += p[s] * set.options[s][j];
    if (grad) {
      for (let s = 0; s < k; s++) {
        const c = set.counts[s];
        if (c) for (let j = 0; j < D; j++) grad[j] += wt * c * set.options[s][j];
      }
      for (let j = 0; j < D; j++) grad[j] -= wt * n * xbar[j];
    }
    if (H) {
      const dv = new Float64Array(D);
      for (let s = 0; s < k; s++) {
        const f = wt * n * p[s];
        for (let j = 0; j < D; j++) dv[j] = set.options[s][j] - xbar[j];
        for (let i = 0; i < D; i++) {
          const fi = f * dv[i];
          if (fi === 0) continue;
          const o = i * D;
          for (let j = 0; j < D; j++) H[o + j] += fi * dv[j];
        }
      }
    }
  }
  return wt * ll;
}

/**
 * The MAP weights under the prior and the choices, by damped Newton; with the posterior
 * precision there, η = Λμ, and the Laplace log evidence (for choosing hyperparameters).
 */
export function fitPosterior(
  prior: TastePrior,
  sets: ChoiceSet[],
  opts: { iterations?: number } = {},
): { mean: Float64Array; precision: Float64Array; eta: Float64Array; logEvidence: number } {
  const D = prior.mean.length;
  const objective = (v: Float64Array): number => {
    let f = 0;
    for (const s of sets) f += accumulate(v, s);
    const dv = v.map((x, j) => x - prior.mean[j]);
    return f - 0.5 * dot(dv, matVec(prior.precision, dv, D));
  };
  let w = Float64Array.from(prior.mean);
  let cur = objective(w);
  for (let it = 0; it < (opts.iterations ?? 12) && sets.length; it++) {
    const H = Float64Array.from(prior.precision);
    const dv = w.map((x, j) => x - prior.mean[j]);
    const grad = matVec(prior.precision, dv, D).map((x) => -x);
    for (const s of sets) accumulate(w, s, grad, H);
    const L = choleskyJittered(H, D);
    if (!L) break;
    const step = choleskySolve(L, grad, D);
    let moved = false;
    for (let t = 1, back = 0; back < 12; back++, t /= 2) {
      const next = w.map((x, j) => x + t * step[j]);
      const f = objective(next);
      if (f >= cur - 1e-12) {
        moved = f - cur > 1e-9;
        w = next;
        cur = f;
        break;
      }
    }
    if (!moved) break;
  }
  const P = Float64Array.from(prior.precision);
  for (const s of sets) accumulate(w, s, undefined, P);
  const L = choleskyJittered(P, D);
  const logEvidence = L ? cur - 0.5 * (choleskyLogDet(L, D) - prior.logDetPrecision) : Number.NEGATIVE_INFINITY;
  return { mean: w, precision: P, eta: matVec(P, w, D), logEvidence };
}

/** Votes as choice sets in feature space, one per round (rounds whose votes name no shown variant are left out). */
export function choiceSets(b: TasteBasis, votes: VoteRecord[]): ChoiceSet[] {
  const byRound = new Map<string, VoteRecord[]>();
  for (const v of votes) {
    if (!byRound.has(v.roundId)) byRound.set(v.roundId, []);
    byRound.get(v.roundId)?.push(v);
  }
  const out: ChoiceSet[] = [];
  const feats = new Map<string, Float64Array>();
  for (const vs of byRound.values()) {
    // Votes of one round normally share the shown set; a vote that saw another set is a set of its own.
    const groups = new Map<string, VoteRecord[]>();
    for (const v of vs) {
      const key = v.shown.map((s) => s.variantId).join('\u0000');
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)?.push(v);
    }
    for (const g of groups.values()) {
      const shown = g[0].shown;
      if (shown.length < 2) continue;
      const counts = shown.map(() => 0);
      for (const v of g) {
        const i = shown.findIndex((s) => s.variantId === v.chosenVariantId);
        if (i >= 0) counts[i]++;
      }
      if (!counts.some((c) => c > 0)) continue;
      const options = shown.map((s) => {
        let f = feats.get(s.variantId);
        if (!f) {
          f = featuresOf(b, s);
          feats.set(s.variantId, f);
        }
        return f;
      });
      out.push({ options, counts });
    }
  }
  return out;
}

/** u(chosen) − u(other) for every comparison a vote makes (chosen ≻ each other shown). */
export function comparisonMargins(sets: ChoiceSet[], w: Float64Array): number[] {
  const out: number[] = [];
  for (const set of sets) {
    const u = set.options.map((x) => dot(w, x));
    set.counts.forEach((c, s) => {
      for (let r = 0; r < c; r++) for (let t = 0; t < u.length; t++) if (t !== s) out.push(u[s] - u[t]);
    });
  }
  return out;
}

/** τ for a given prior spread: the s.d. of u among creatives is about τ·√(tr Cov φ). */
export function tauFor(spread: number, reference: Float32Array, D: number): number {
  const n = D ? reference.length / D : 0;
  if (n < 2) return spread / Math.sqrt(Math.max(1, D));
  let total = 0;
  for (let j = 0; j < D; j++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = reference[i * D + j];
      s += v;
      s2 += v * v;
    }
    total += s2 / n - (s / n) ** 2;
  }
  return spread / Math.sqrt(Math.max(total, 1e-9));
}

export interface FitTasteInput {
  votes: VoteRecord[];
  basis: TasteBasis;
  /** Prior directions in this basis (taste-prior.ts). */
  directions: PriorDirection[];
  /** Features of past creatives for the percentile scale (n × D). */
  reference: Float32Array;
  model: string;
  /** The text encoder, where it is not `model`'s own (PreferenceMeta.textModel). */
  textModel?: string;
  adapter?: string | null;
  /** Library rows with metrics behind the CTR direction, winners behind theirs (for the record). */
  support?: { ctrRows: number; winners: number };
  /** Creatives the basis was built from. */
  basisItems?: number;
}

export interface FitTasteOptions {
  seed?: number;
  heldOutShare?: number;
  /** Prior spreads of utility among creatives (logits) searched by evidence once there are votes. */
  spreads?: number[];
  /** Leans tried on each prior direction, likewise. */
  leans?: number[];
  /** Below this many votes the defaults are kept: the evidence of a few votes says little. */
  minVotesForSearch?: number;
}

export const DEFAULT_SPREAD = 2;
export const DEFAULT_LEAN = 1;
/** Hyperparameters are chosen by evidence from this many votes: fewer say too little and pick worse than the defaults. */
export const MIN_VOTES_FOR_SEARCH = 50;

/** The periodic full retrain: hyperparameters by evidence, MAP and Laplace posterior on every vote, held-out accuracy. */
export function fitTaste(input: FitTasteInput, opts: FitTasteOptions = {}): TasteModel {
  const { basis } = input;
  const D = featureCount(basis);
  const rng = createRng(opts.seed ?? 42);
  const all = choiceSets(basis, input.votes);
  const spreads = opts.spreads ?? [1, 2, 4];
  const levels = opts.leans ?? [0.5, 1, 2];
  // Every combination of a lean per direction (one direction: three; two: nine).
  let leanSets: number[][] = [[]];
  for (const _ of input.directions) leanSets = leanSets.flatMap((ls) => levels.map((l) => [...ls, l]));
  const defaults = input.directions.map(() => DEFAULT_LEAN);
  let best = { spread: DEFAULT_SPREAD, leans: defaults, ev: Number.NEGATIVE_INFINITY };
  if (input.votes.length >= (opts.minVotesForSearch ?? MIN_VOTES_FOR_SEARCH)) {
    for (const spread of spreads) {
      for (const leans of leanSets) {
        const prior = makePrior(D, tauFor(spread, input.reference, D), input.directions, leans);
        const ev = fitPosterior(prior, all, { iterations: 8 }).logEvidence;
        if (ev > best.ev) best = { spread, leans, ev };
      }
    }
  }
  const tau = tauFor(best.spread, input.reference, D);
  const prior = makePrior(D, tau, input.directions, best.leans);

  // Held out by round, as the point-estimate model does, so the reported accuracies compare.
  const roundIds = [...new Set(input.votes.map((v) => v.roundId))].sort();
  shuffle(roundIds, rng);
  const nHeld = roundIds.length >= 5 ? Math.max(1, Math.round(roundIds.length * (opts.heldOutShare ?? 0.2))) : 0;
  const held = new Set(roundIds.slice(0, nHeld));
  let heldMargins: number[] = [];
  if (held.size) {
    const fit = fitPosterior(
      prior,
      choiceSets(
        basis,
        input.votes.filter((v) => !held.has(v.roundId)),
      ),
    );
    heldMargins = comparisonMargins(
      choiceSets(
        basis,
        input.votes.filter((v) => held.has(v.roundId)),
      ),
      fit.mean,
    );
  }
  const post = fitPosterior(prior, all);
  const meta: TasteMeta = {
    model: input.model,
    ...(input.textModel ? { textModel: input.textModel } : {}),
    dims: basis.dims,
    adapter: input.adapter ?? null,
    trainedAt: new Date().toISOString(),
    votes: input.votes.length,
    rounds: roundIds.length,
    comparisons: { votes: comparisonMargins(all, post.mean).length, ctr: input.support?.ctrRows ?? 0 },
    l2: 1 / tau ** 2,
    heldOut: { rounds: held.size, comparisons: heldMargins.length, accuracy: marginAccuracy(heldMargins) },
    calibration: marginCalibration(heldMargins.length ? heldMargins : comparisonMargins(all, post.mean)),
    reference: [],
    basis: { image: basis.ri, text: basis.rt },
    basisItems: input.basisItems ?? 0,
    prior: {
      ctrRows: input.support?.ctrRows ?? 0,
      winners: input.support?.winners ?? 0,
      spread: best.spread,
      leans: Object.fromEntries(input.directions.map((d, i) => [d.name, best.leans[i]])),
    },
    trainedRounds: roundIds.sort(),
    online: 0,
  };
  const model = new TasteModel(meta, basis, { mean: prior.mean, precision: prior.precision }, post, input.reference);
  meta.reference = quantiles(model.referenceUtilities(), 1001);
  return model;
}

function quantiles(sorted: number[], max: number): number[] {
  if (sorted.length <= max) return sorted;
  return Array.from({ length: max }, (_, i) => sorted[Math.round((i * (sorted.length - 1)) / (max - 1))]);
}
