/**
 * The point-estimate preference model (version 1 files), kept as the baseline the taste model
 * (taste.ts) is measured against in `npm run bench -- taste`, and for the shared pieces: the
 * vote records, the copy-text rule, percentiles, accuracy and calibration of margins.
 *
 * A Bradley–Terry model on CLIP image
 * and copy embeddings: utility u(x) = w · x with x = [image; copy], and
 * P(a preferred to b) = σ(u(a) − u(b)). Each vote gives one comparison per other variant
 * shown in its round (chosen ≻ each shown); CTR from metrics adds comparisons between
 * creatives whose click rates differ clearly. Fitted by L2-regularised logistic regression
 * (the strength picked on a validation slice), with accuracy measured on held-out rounds.
 *
 * Below a configured number of votes the model's score is `null` ("insufficient data"):
 * a handful of votes would rank confidently on noise. Scores are shown as a 0–100
 * percentile against the utilities of the team's own past creatives.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError, ModelError } from '../errors.ts';
import { base64ToFloats, createRng, floatsToBase64, type Rng, shuffle, sigmoid } from '../linalg.ts';

export const PREFERENCE_FORMAT = 'adcreative-preference';
const VERSION = 1;

export interface Embedded {
  imageEmbedding: Float32Array;
  textEmbedding: Float32Array;
}

export interface ShownVariant extends Embedded {
  variantId: string;
  /** The audience segment it was made for (rounds with --audiences): a vote chooses only among its own segment. */
  audience?: string;
}

/** One person's (current) vote in a round: the variant chosen among those shown. */
export interface VoteRecord {
  roundId: string;
  chosenVariantId: string;
  shown: ShownVariant[];
  /** Optional: lets the reports count distinct voters. */
  userId?: string;
}

/** A creative with delivery figures (library rows with metrics imported). */
export interface CtrObservation extends Embedded {
  id: string;
  impressions: number;
  clicks: number;
}

export interface CalibrationBin {
  /** Mean predicted probability in the bin. */
  predicted: number;
  /** Share of those comparisons that went the predicted way. */
  observed: number;
  count: number;
}

export interface PreferenceMeta {
  model: string;
  /**
   * The text encoder the copy and caption embeddings came from, where it is not `model`'s own text
   * tower (CLIP_TEXT_MODEL_DIR); absent: CLIP's own. Text embeddings of another encoder lie in
   * another space, so the model is refused with them (assertSameModel).
   */
  textModel?: string;
  /** Width of each embedding (the feature vector is twice this). */
  dims: number;
  /** Adapter id the embeddings were made under, or null for raw CLIP. */
  adapter: string | null;
  trainedAt: string;
  votes: number;
  rounds: number;
  comparisons: { votes: number; ctr: number };
  l2: number;
  heldOut: { rounds: number; comparisons: number; accuracy: number | null };
  calibration: CalibrationBin[];
  /** Sorted utilities of past creatives (≤ 1001 quantiles): the percentile scale. */
  reference: number[];
}

export interface PreferenceScore {
  utility: number;
  /** 0–100 against the team's own past creatives. */
  percentile: number;
}

export type PreferenceStatus =
  | { state: 'untrained' }
  | { state: 'insufficient'; votes: number; needed: number }
  | { state: 'ready'; votes: number; accuracy: number | null };

export class PreferenceModel {
  constructor(
    readonly meta: PreferenceMeta,
    /** Weights over [image; copy], 2·dims. */
    readonly weights: Float32Array,
  ) {
    if (weights.length !== 2 * meta.dims) {
      throw new ModelError('PREFERENCE_INVALID', `preference weights have ${weights.length} values, expected 2×${meta.dims}`);
    }
  }

  utility(x: Embedded): number {
    const d = this.meta.dims;
    if (x.imageEmbedding.length !== d || x.textEmbedding.length !== d) {
      throw new ModelError(
        'PREFERENCE_MODEL_MISMATCH',
        `embeddings have ${x.imageEmbedding.length}/${x.textEmbedding.length} dimensions; the preference model expects ${d}`,
      );
    }
    return featureDot(this.weights, x, d);
  }

  /** P(a is preferred to b). */
  probabilityBetter(a: Embedded, b: Embedded): number {
    return sigmoid(this.utility(a) - this.utility(b));
  }

  percentileOf(utility: number): number {
    return percentileIn(this.meta.reference, utility);
  }

  /** The score shown on a variant, or null ("insufficient data") below `minVotes`. */
  score(x: Embedded, minVotes: number): PreferenceScore | null {
    if (this.meta.votes < minVotes) return null;
    const u = this.utility(x);
    return { utility: u, percentile: this.percentileOf(u) };
  }

  status(minVotes: number): PreferenceStatus {
    if (this.meta.votes < minVotes) return { state: 'insufficient', votes: this.meta.votes, needed: minVotes };
    return { state: 'ready', votes: this.meta.votes, accuracy: this.meta.heldOut.accuracy };
  }

  assertCompatible(info: { model: string; dims: number; textModel?: string }): void {
    assertSameModel(this.meta, info);
  }

  toJSON() {
    return { format: PREFERENCE_FORMAT, version: VERSION, ...this.meta, weights: floatsToBase64(this.weights) };
  }

  save(path: string): void {
    writePreferenceFile(path, this.toJSON());
  }

  static load(path: string): PreferenceModel {
    return PreferenceModel.parse(readPreferenceFile(path), path);
  }

  static parse(text: string, source = 'preference model'): PreferenceModel {
    const raw = parsePreferenceJson(text, source);
    if (raw.version !== VERSION)
      throw new ModelError('PREFERENCE_INVALID', `${source} has version ${raw.version}; this build reads ${VERSION}`);
    if (typeof raw.weights !== 'string' || typeof raw.model !== 'string' || typeof raw.dims !== 'number') {
      throw new ModelError('PREFERENCE_INVALID', `${source} lacks model, dims or weights`);
    }
    const { format: _f, version: _v, weights, ...meta } = raw;
    return new PreferenceModel(meta as unknown as PreferenceMeta, base64ToFloats(weights as string));
  }
}

/**
 * Refuses embeddings from another model than the one a preference model was trained on: another
 * CLIP model, or the same one with another text encoder (CLIP_TEXT_MODEL_DIR set or changed since).
 */
export function assertSameModel(
  meta: { model: string; dims: number; textModel?: string },
  info: { model: string; dims: number; textModel?: string },
): void {
  if (info.model !== meta.model || info.dims !== meta.dims) {
    throw new ModelError(
      'PREFERENCE_MODEL_MISMATCH',
      `the preference model was trained on ${meta.model} (${meta.dims}-d) embeddings but the encoder is ${info.model} (${info.dims}-d)`,
      { hint: 'retrain it with `adcreative train preference`' },
    );
  }
  const trained = meta.textModel ?? meta.model;
  const now = info.textModel ?? info.model;
  if (trained !== now) {
    throw new ModelError(
      'PREFERENCE_TEXT_MODEL_MISMATCH',
      `the preference model was trained on copy embedded by ${trained === meta.model ? `${trained}'s own text tower` : trained}, but texts are now embedded by ${now === info.model ? `${now}'s own text tower` : `${now} (CLIP_TEXT_MODEL_DIR)`}: its scores would be read in another text space`,
      { hint: 'retrain it with `adcreative train preference`, or set CLIP_TEXT_MODEL_DIR back as it was when it was trained' },
    );
  }
}

/** A preference model file written whole or not at all (a reader never sees half a file). */
export function writePreferenceFile(path: string, json: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(json));
  renameSync(tmp, path);
}

export function readPreferenceFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ModelError('PREFERENCE_MISSING', `cannot read the preference model ${path}: ${(e as Error).message}`, {
      cause: e,
      hint: 'train one with `adcreative train preference`',
    });
  }
}

/** A preference model file's JSON, checked to be one (any version). */
export function parsePreferenceJson(text: string, source: string): Record<string, unknown> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelError('PREFERENCE_INVALID', `${source} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!raw || raw.format !== PREFERENCE_FORMAT) {
    throw new ModelError(
      'PREFERENCE_INVALID',
      `${source} is not an adcreative preference model (expected "format": "${PREFERENCE_FORMAT}")`,
    );
  }
  return raw;
}

function featureDot(w: Float32Array, x: Embedded, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += w[j] * x.imageEmbedding[j];
  for (let j = 0; j < d; j++) s += w[d + j] * x.textEmbedding[j];
  return s * Math.sqrt(d);
}

/** Percentile (0–100) of u among sorted values; ties count half. */
export function percentileIn(sorted: number[], u: number): number {
  const n = sorted.length;
  if (!n) return 50;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (sorted[m] < u) lo = m + 1;
    else hi = m;
  }
  let eq = lo;
  while (eq < n && sorted[eq] === u) eq++;
  return Math.round((100 * (lo + (eq - lo) / 2)) / n);
}

/** A comparison: features of winner minus loser, weighted. */
interface Comparison {
  diff: Float32Array;
  weight: number;
}

/** One choice: the chosen item's features minus each alternative's. */
interface ChoiceSet {
  diffs: Float32Array[];
  weight: number;
}

function voteChoiceSets(votes: VoteRecord[], d: number): ChoiceSet[] {
  const out: ChoiceSet[] = [];
  for (const v of votes) {
    const chosen = v.shown.find((s) => s.variantId === v.chosenVariantId);
    if (!chosen) continue;
    const diffs = v.shown.filter((s) => s.variantId !== v.chosenVariantId).map((s) => diffOf(chosen, s, d));
    if (diffs.length) out.push({ diffs, weight: 1 });
  }
  return out;
}

const asChoice = (c: Comparison): ChoiceSet => ({ diffs: [c.diff], weight: c.weight });

function diffOf(a: Embedded, b: Embedded, d: number): Float32Array {
  const out = new Float32Array(2 * d);
  // Scaled by √d so coordinates of unit embeddings are O(1) and one l2 grid fits all widths.
  const s = Math.sqrt(d);
  for (let j = 0; j < d; j++) out[j] = (a.imageEmbedding[j] - b.imageEmbedding[j]) * s;
  for (let j = 0; j < d; j++) out[d + j] = (a.textEmbedding[j] - b.textEmbedding[j]) * s;
  return out;
}

function voteComparisons(votes: VoteRecord[], d: number): Comparison[] {
  const out: Comparison[] = [];
  for (const v of votes) {
    const chosen = v.shown.find((s) => s.variantId === v.chosenVariantId);
    if (!chosen) continue;
    for (const s of v.shown) if (s.variantId !== v.chosenVariantId) out.push({ diff: diffOf(chosen, s, d), weight: 1 });
  }
  return out;
}

/**
 * Comparisons between creatives whose smoothed CTRs differ by more than two standard
 * errors; sampled (seeded) so a big library does not drown the votes.
 */
export function ctrComparisons(
  obs: CtrObservation[],
  d: number,
  rng: Rng,
  opts: { minImpressions?: number; maxPairs?: number; weight?: number } = {},
): Comparison[] {
  const minImp = opts.minImpressions ?? 100;
  const usable = obs.filter((o) => o.impressions >= minImp && o.clicks >= 0 && o.clicks <= o.impressions);
  if (usable.length < 2) return [];
  const totalImp = usable.reduce((s, o) => s + o.impressions, 0);
  const prior = usable.reduce((s, o) => s + o.clicks, 0) / totalImp;
  const alpha = 100;
  const rate = (o: CtrObservation) => (o.clicks + alpha * prior) / (o.impressions + alpha);
  const maxPairs = opts.maxPairs ?? 2000;
  const out: Comparison[] = [];
  const tries = maxPairs * 4;
  for (let t = 0; t < tries && out.length < maxPairs; t++) {
    const a = usable[rng.int(usable.length)];
    const b = usable[rng.int(usable.length)];
    if (a === b) continue;
    const pa = rate(a);
    const pb = rate(b);
    const p = (pa + pb) / 2;
    const se = Math.sqrt(Math.max(p * (1 - p), 1e-9) * (1 / a.impressions + 1 / b.impressions));
    if (Math.abs(pa - pb) <= 2 * se) continue;
    const [win, lose] = pa > pb ? [a, b] : [b, a];
    out.push({ diff: diffOf(win, lose, d), weight: opts.weight ?? 0.5 });
  }
  return out;
}

/**
 * Weighted L2-regularised choice likelihood, full-batch Adam. A vote is a choice among
 * everything shown (conditional logit: P(c) = e^u(c) / Σ e^u(s)); with two options this
 * is exactly Bradley–Terry. Using the whole choice set rather than independent pairs
 * keeps one vote from counting as several independent wins.
 */
function fitChoices(sets: ChoiceSet[], dim: number, l2: number, iterations: number): Float32Array {
  const w = new Float64Array(dim);
  const g = new Float64Array(dim);
  const m = new Float64Array(dim);
  const v = new Float64Array(dim);
  const totalW = sets.reduce((s, c) => s + c.weight, 0) || 1;
  const lr = 0.05;
  let q = new Float64Array(8);
  for (let t = 1; t <= iterations; t++) {
    for (let j = 0; j < dim; j++) g[j] = l2 * w[j];
    for (const c of sets) {
      // −log P(chosen) = log(1 + Σ_s e^{−z_s}), z_s = w·(x_chosen − x_s).
      if (q.length < c.diffs.length) q = new Float64Array(c.diffs.length);
      let mx = 0;
      for (let s = 0; s < c.diffs.length; s++) {
        let z = 0;
        const diff = c.diffs[s];
        for (let j = 0; j < dim; j++) z += w[j] * diff[j];
        q[s] = -z;
        if (-z > mx) mx = -z;
      }
      let den = Math.exp(-mx);
      for (let s = 0; s < c.diffs.length; s++) {
        q[s] = Math.exp(q[s] - mx);
        den += q[s];
      }
      for (let s = 0; s < c.diffs.length; s++) {
        const k = (-(q[s] / den) * c.weight) / totalW;
        const diff = c.diffs[s];
        for (let j = 0; j < dim; j++) g[j] += k * diff[j];
      }
    }
    const c1 = 1 / (1 - 0.9 ** t);
    const c2 = 1 / (1 - 0.999 ** t);
    for (let j = 0; j < dim; j++) {
      m[j] = 0.9 * m[j] + 0.1 * g[j];
      v[j] = 0.999 * v[j] + 0.001 * g[j] * g[j];
      w[j] -= (lr * m[j] * c1) / (Math.sqrt(v[j] * c2) + 1e-8);
    }
  }
  return Float32Array.from(w);
}

function margin(w: Float32Array, diff: Float32Array): number {
  let z = 0;
  for (let j = 0; j < diff.length; j++) z += w[j] * diff[j];
  return z;
}

function margins(w: Float32Array, comps: Comparison[]): number[] {
  return comps.map((c) => margin(w, c.diff));
}

/**
 * Pairwise accuracy of predicted margins (u(chosen) − u(other), one per comparison): the share
 * the model orders the way the vote went; a tie counts half. Null with no comparisons.
 */
export function marginAccuracy(z: ArrayLike<number>): number | null {
  if (!z.length) return null;
  let ok = 0;
  for (let i = 0; i < z.length; i++) ok += z[i] > 0 ? 1 : z[i] === 0 ? 0.5 : 0;
  return ok / z.length;
}

/** Calibration of predicted margins (as probabilities σ(z)) against the votes, in `bins` bins. */
export function marginCalibration(z: ArrayLike<number>, bins = 10): CalibrationBin[] {
  const sum = new Float64Array(bins);
  const hit = new Float64Array(bins);
  const cnt = new Float64Array(bins);
  for (let i = 0; i < z.length; i++) {
    const p = sigmoid(z[i]);
    // Each comparison both ways round: (p, went that way) and (1 − p, did not).
    for (const [q, y] of [
      [p, 1],
      [1 - p, 0],
    ]) {
      const b = Math.min(bins - 1, Math.floor(q * bins));
      sum[b] += q;
      hit[b] += y;
      cnt[b]++;
    }
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) if (cnt[b]) out.push({ predicted: sum[b] / cnt[b], observed: hit[b] / cnt[b], count: cnt[b] });
  return out;
}

export interface TrainPreferenceInput {
  votes: VoteRecord[];
  ctr?: CtrObservation[];
  /** Past creatives the percentile is measured against (default: every variant shown). */
  reference?: Embedded[];
  model: string;
  /** The text encoder, where it is not `model`'s own (PreferenceMeta.textModel). */
  textModel?: string;
  adapter?: string | null;
}

export interface TrainPreferenceOptions {
  seed?: number;
  /** Share of rounds held out for the reported accuracy. */
  heldOutShare?: number;
  iterations?: number;
  /** L2 strengths tried on a validation slice of the training rounds. */
  l2Grid?: number[];
  ctr?: { minImpressions?: number; maxPairs?: number; weight?: number };
}

export function trainPreference(input: TrainPreferenceInput, opts: TrainPreferenceOptions = {}): PreferenceModel {
  const first = input.votes.find((v) => v.shown.length)?.shown[0] ?? input.ctr?.[0] ?? input.reference?.[0];
  if (!first) {
    throw new InputError('NO_PREFERENCE_DATA', 'no votes and no CTR observations to learn preferences from', {
      hint: 'run some rounds and vote, or import metrics for the library',
    });
  }
  const d = first.imageEmbedding.length;
  for (const v of input.votes) {
    for (const s of v.shown) {
      if (s.imageEmbedding.length !== d || s.textEmbedding.length !== d) {
        throw new InputError(
          'PREFERENCE_DATA_INVALID',
          `round ${v.roundId}: variant ${s.variantId} has embeddings of another width than ${d}`,
        );
      }
    }
  }
  const seed = opts.seed ?? 42;
  const rng = createRng(seed);
  const iterations = opts.iterations ?? 300;

  // Held out by round, so the several votes of one round never sit on both sides.
  const roundIds = [...new Set(input.votes.map((v) => v.roundId))].sort();
  shuffle(roundIds, rng);
  const share = opts.heldOutShare ?? 0.2;
  const nHeld = roundIds.length >= 5 ? Math.max(1, Math.round(roundIds.length * share)) : 0;
  const held = new Set(roundIds.slice(0, nHeld));
  const trainVotes = input.votes.filter((v) => !held.has(v.roundId));
  const heldVotes = input.votes.filter((v) => held.has(v.roundId));
  const trainComps = voteComparisons(trainVotes, d);
  const heldComps = voteComparisons(heldVotes, d);
  const ctrComps = input.ctr?.length ? ctrComparisons(input.ctr, d, rng, opts.ctr) : [];
  const all = [...trainComps, ...ctrComps];
  if (!all.length) {
    throw new InputError('NO_PREFERENCE_DATA', 'the votes and metrics give no comparisons (each vote needs at least two variants shown)');
  }

  // Pick the L2 strength on a validation slice of the training rounds' votes, then refit on all.
  const trainSets = voteChoiceSets(trainVotes, d);
  const ctrSets = ctrComps.map(asChoice);
  const grid = opts.l2Grid ?? [1e-3, 1e-2, 1e-1, 1];
  let l2 = grid[Math.floor(grid.length / 2)];
  if (trainSets.length >= 20 && grid.length > 1) {
    const order = trainSets.map((_, i) => i);
    shuffle(order, rng);
    const cut = Math.floor(order.length * 0.8);
    const fitSet = [...order.slice(0, cut).map((i) => trainSets[i]), ...ctrSets];
    const valSet = order.slice(cut).flatMap((i) => trainSets[i].diffs.map((diff) => ({ diff, weight: 1 })));
    let bestAcc = -1;
    for (const lam of grid) {
      const acc = marginAccuracy(margins(fitChoices(fitSet, 2 * d, lam, Math.ceil(iterations / 2)), valSet)) ?? 0;
      if (acc > bestAcc + 1e-9) {
        bestAcc = acc;
        l2 = lam;
      }
    }
  }
  const w = fitChoices([...trainSets, ...ctrSets], 2 * d, l2, iterations);
  const probe = new PreferenceModel(emptyMeta(input, d), w);
  const refs = input.reference?.length ? input.reference : input.votes.flatMap((v) => v.shown);
  const meta: PreferenceMeta = {
    ...emptyMeta(input, d),
    votes: input.votes.length,
    rounds: roundIds.length,
    comparisons: { votes: trainComps.length, ctr: ctrComps.length },
    l2,
    heldOut: { rounds: held.size, comparisons: heldComps.length, accuracy: marginAccuracy(margins(w, heldComps)) },
    calibration: marginCalibration(margins(w, heldComps.length ? heldComps : trainComps)),
    reference: quantiles(
      refs.map((r) => probe.utility(r)),
      1001,
    ),
  };
  return new PreferenceModel(meta, w);
}

function emptyMeta(input: TrainPreferenceInput, d: number): PreferenceMeta {
  return {
    model: input.model,
    ...(input.textModel ? { textModel: input.textModel } : {}),
    dims: d,
    adapter: input.adapter ?? null,
    trainedAt: new Date().toISOString(),
    votes: 0,
    rounds: 0,
    comparisons: { votes: 0, ctr: 0 },
    l2: 0,
    heldOut: { rounds: 0, comparisons: 0, accuracy: null },
    calibration: [],
    reference: [],
  };
}

function quantiles(xs: number[], max: number): number[] {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length <= max) return s;
  return Array.from({ length: max }, (_, i) => s[Math.round((i * (s.length - 1)) / (max - 1))]);
}

/** The copy text a variant's text embedding is made from: the library's caption rule (headline — body). */
export function copyText(c: { headline: string; body: string }): string {
  return [c.headline, c.body].filter(Boolean).join(' — ');
}
