/**
 * The taste model: what this team tends to pick, as a posterior rather than a point.
 *
 * Utility u(x) = w · φ(x), where φ projects a creative's CLIP image and copy embeddings onto
 * the leading principal directions of the library (and of the variants shown so far): the
 * few dozen directions along which creatives actually differ, so a handful of votes can
 * pin a taste down. A vote is a choice among the variants shown (conditional logit:
 * P(c) = e^u(c) / Σ e^u(s)). The weights have a Gaussian posterior N(μ, Σ):
 *
 * - the prior comes from what the team had before its first vote (taste-prior.ts): the
 *   library's CTR-weighted creatives and its past winners, each a direction the prior
 *   leans along, with as much doubt along it as lean, so votes can confirm, scale or
 *   overturn it; shrinkage toward the prior fades as votes arrive;
 * - each vote updates it at once (`observe`: one Laplace step, a rank-(k−1) Woodbury
 *   update, well under a millisecond in these dimensions), and a moved or retracted vote
 *   takes its contribution back exactly (natural parameters add and subtract);
 * - the periodic full retrain (`fitTaste`) refits the basis, the priors and the
 *   hyperparameters (empirical Bayes: the Laplace evidence) and the MAP on every vote.
 *
 * Scores are percentiles among the team's past creatives, with an interval from posterior
 * samples; the same samples are the Thompson draws that choose what to show
 * (rank/score.ts).
 */
import { InputError, ModelError } from '../errors.ts';
import {
  base64ToFloats,
  choleskyJittered,
  dot,
  floatsToBase64,
  invertSpd,
  matVec,
  principalComponents,
  type Rng,
  solveDense,
} from '../linalg.ts';
import {
  assertSameModel,
  type Embedded,
  PREFERENCE_FORMAT,
  type PreferenceMeta,
  parsePreferenceJson,
  percentileIn,
  readPreferenceFile,
  writePreferenceFile,
} from './preference.ts';

/** Preference files of this version hold a taste model; version 1 was the point-estimate model. */
export const TASTE_VERSION = 2;

/** Where a creative sits: its projection onto the library's principal directions. */
export interface TasteBasis {
  /** Embedding width. */
  dims: number;
  /** Directions kept for the image and for the copy embedding. */
  ri: number;
  rt: number;
  imageMean: Float32Array;
  textMean: Float32Array;
  /** ri × dims and rt × dims, orthonormal rows. */
  image: Float32Array;
  text: Float32Array;
}

export interface TasteMeta extends PreferenceMeta {
  basis: { image: number; text: number };
  /** Creatives the basis was built from (a retrain rebuilds it once they have grown enough). */
  basisItems: number;
  prior: {
    /** Library creatives with delivery figures behind the CTR direction (0: none). */
    ctrRows: number;
    /** Past winners behind the winners' direction (0: none). */
    winners: number;
    /** Prior spread of utility among creatives (logits) and the lean on each prior direction, as chosen. */
    spread: number;
    leans: Record<string, number>;
  };
  /** Rounds whose votes the fit includes: the online learner re-applies the others after a reload. */
  trainedRounds: string[];
  /** Comparisons added online since the fit (0 in a file). */
  online: number;
}

export type TasteStatus =
  | { state: 'insufficient'; votes: number; needed: number }
  | { state: 'ready'; votes: number; accuracy: number | null; priors: boolean };

/** A variant's predicted preference as the ranking and the message show it. */
export interface PreferenceEstimate {
  /** Percentile among the team's past creatives under the posterior mean, 0–1. */
  value: number;
  /** 80 % interval of that percentile over the posterior, 0–1. */
  low: number;
  high: number;
  /** Percentiles under independent posterior draws (Thompson sampling), one per pick. */
  draws: number[];
}

/** Every this many online updates Σ is recomputed from the precision, so Woodbury round-off cannot build up. */
const REFRESH_EVERY = 64;

export function featureCount(b: TasteBasis): number {
  return b.ri + b.rt;
}

/** Features already computed, per basis and image-embedding array (arrays are replaced, never edited, when re-projected). */
const featureCache = new WeakMap<TasteBasis, WeakMap<Float32Array, { text: Float32Array; f: Float64Array }>>();

/** φ(x): the creative's coordinates in the basis, scaled by √d so unit embeddings give O(1) values. */
export function featuresOf(b: TasteBasis, x: Embedded): Float64Array {
  const d = b.dims;
  if (x.imageEmbedding.length !== d || x.textEmbedding.length !== d) {
    throw new ModelError(
      'PREFERENCE_MODEL_MISMATCH',
      `embeddings have ${x.imageEmbedding.length}/${x.textEmbedding.length} dimensions; the taste model expects ${d}`,
    );
  }
  let cache = featureCache.get(b);
  if (!cache) {
    cache = new WeakMap();
    featureCache.set(b, cache);
  }
  const hit = cache.get(x.imageEmbedding);
  if (hit && hit.text === x.textEmbedding) return hit.f;
  const out = new Float64Array(b.ri + b.rt);
  const s = Math.sqrt(d);
  for (let r = 0; r < b.ri; r++) {
    let t = 0;
    const o = r * d;
    for (let j = 0; j < d; j++) t += b.image[o + j] * (x.imageEmbedding[j] - b.imageMean[j]);
    out[r] = t * s;
  }
  for (let r = 0; r < b.rt; r++) {
    let t = 0;
    const o = r * d;
    for (let j = 0; j < d; j++) t += b.text[o + j] * (x.textEmbedding[j] - b.textMean[j]);
    out[b.ri + r] = t * s;
  }
  cache.set(x.imageEmbedding, { text: x.textEmbedding, f: out });
  return out;
}

/** The basis from creatives' embeddings: principal directions of images and of copy, `rank` of each at most. */
export function buildBasis(items: Embedded[], rank: number, rng: Rng): TasteBasis {
  if (!items.length) throw new InputError('NO_PREFERENCE_DATA', 'no creatives to build the taste basis from');
  const d = items[0].imageEmbedding.length;
  const img = new Float32Array(items.length * d);
  const txt = new Float32Array(items.length * d);
  items.forEach((x, i) => {
    img.set(x.imageEmbedding, i * d);
    txt.set(x.textEmbedding, i * d);
  });
  const pi = principalComponents(img, items.length, d, rank, rng);
  const pt = principalComponents(txt, items.length, d, rank, rng);
  return { dims: d, ri: pi.k, rt: pt.k, imageMean: pi.mean, textMean: pt.mean, image: pi.components, text: pt.components };
}

// ------------------------------------------------------------------ choice algebra

/** One vote in feature space: the chosen variant's features and the others'. */
interface Choice {
  chosen: Float64Array;
  others: Float64Array[];
}

/**
 * The second-order expansion of log P(choice) at w: gradient g = −Zᵀq and curvature
 * Zᵀ(diag q − q qᵀ)Z, with Z the rows φ(other) − φ(chosen) and q their choice
 * probabilities. diag q − qqᵀ is positive definite because Σq < 1, so no direction is lost.
 */
interface Expansion {
  Z: Float64Array[];
  /** (k−1)×(k−1) curvature weights. */
  M: Float64Array;
  g: Float64Array;
}

function expand(w: Float64Array, c: Choice): Expansion {
  const D = w.length;
  const k = c.others.length;
  const Z: Float64Array[] = [];
  const z = new Float64Array(k);
  let mx = 0;
  for (let s = 0; s < k; s++) {
    const row = new Float64Array(D);
    let m = 0;
    for (let j = 0; j < D; j++) {
      row[j] = c.others[s][j] - c.chosen[j];
      m += w[j] * row[j];
    }
    Z.push(row);
    z[s] = m;
    if (m > mx) mx = m;
  }
  // p_s = e^{z_s} / (1 + Σ e^{z}), the chosen one at utility 0 (relative).
  let den = Math.exp(-mx);
  const q = new Float64Array(k);
  for (let s = 0; s < k; s++) {
    q[s] = Math.exp(z[s] - mx);
    den += q[s];
  }
  for (let s = 0; s < k; s++) q[s] /= den;
  const M = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) M[a * k + b] = (a === b ? q[a] : 0) - q[a] * q[b];
  const g = new Float64Array(D);
  for (let s = 0; s < k; s++) {
    const f = -q[s];
    const row = Z[s];
    for (let j = 0; j < D; j++) g[j] += f * row[j];
  }
  return { Z, M, g };
}

/** H ±= Zᵀ M Z (symmetric, full). */
function addCurvature(H: Float64Array, e: Expansion, sign: 1 | -1): void {
  const D = Math.round(Math.sqrt(H.length));
  const k = e.Z.length;
  const Y: Float64Array[] = [];
  for (let a = 0; a < k; a++) {
    const y = new Float64Array(D);
    for (let b = 0; b < k; b++) {
      const m = e.M[a * k + b] * sign;
      if (m === 0) continue;
      const zb = e.Z[b];
      for (let j = 0; j < D; j++) y[j] += m * zb[j];
    }
    Y.push(y);
  }
  for (let a = 0; a < k; a++) {
    const za = e.Z[a];
    const ya = Y[a];
    for (let i = 0; i < D; i++) {
      const zi = za[i];
      if (zi === 0) continue;
      const oi = i * D;
      for (let j = 0; j < D; j++) H[oi + j] += zi * ya[j];
    }
  }
}

function posteriorCovariance(precision: Float64Array, D: number): Float64Array {
  try {
    return invertSpd(precision, D);
  } catch (e) {
    throw new ModelError('PREFERENCE_INVALID', 'the taste posterior is not positive definite', { cause: e });
  }
}

/** A stored online contribution, so a moved or retracted vote can be taken back exactly. */
interface Contribution {
  e: Expansion;
  dEta: Float64Array;
}

export class TasteModel {
  /** Posterior precision Λ, η = Λμ, covariance Σ = Λ⁻¹ and mean μ. */
  private readonly precision: Float64Array;
  private readonly eta: Float64Array;
  private cov: Float64Array;
  private mu: Float64Array;
  private readonly live = new Map<string, Contribution>();
  private sinceRefresh = 0;
  private refCache: { version: number; sorted: number[] } | undefined;
  /** Bumped by every update; caches key on it. */
  version = 0;

  constructor(
    readonly meta: TasteMeta,
    readonly basis: TasteBasis,
    /** Prior mean and precision (kept for refits and the report). */
    readonly prior: { mean: Float64Array; precision: Float64Array },
    posterior: { precision: Float64Array; eta: Float64Array },
    /** Features of past creatives (n × D): the percentile scale. */
    readonly reference: Float32Array,
  ) {
    const D = featureCount(basis);
    if (posterior.precision.length !== D * D || posterior.eta.length !== D || reference.length % Math.max(1, D) !== 0) {
      throw new ModelError('PREFERENCE_INVALID', `the taste model's arrays do not fit its ${D} features`);
    }
    this.precision = Float64Array.from(posterior.precision);
    this.eta = Float64Array.from(posterior.eta);
    this.cov = posteriorCovariance(this.precision, D);
    this.mu = matVec(this.cov, this.eta, D);
  }

  get features(): number {
    return featureCount(this.basis);
  }

  /** True when the prior leans on something the team had before voting (CTR, past winners). */
  get hasPriors(): boolean {
    return this.meta.prior.ctrRows > 0 || this.meta.prior.winners > 0;
  }

  /** Votes behind it: those fitted and those applied since. */
  get votes(): number {
    return this.meta.votes + this.live.size;
  }

  /** Whether scores are shown: with priors from the start, without them from `minVotes` votes. */
  shows(minVotes: number): boolean {
    return this.hasPriors || this.votes >= minVotes;
  }

  status(minVotes: number): TasteStatus {
    if (!this.shows(minVotes)) return { state: 'insufficient', votes: this.votes, needed: minVotes };
    return { state: 'ready', votes: this.votes, accuracy: this.meta.heldOut.accuracy, priors: this.hasPriors };
  }

  mean(): Float64Array {
    return Float64Array.from(this.mu);
  }

  /** Posterior mean and standard deviation of u(x). */
  predict(x: Embedded | Float64Array): { mean: number; sd: number } {
    const f = x instanceof Float64Array ? x : featuresOf(this.basis, x);
    const D = this.features;
    const sf = matVec(this.cov, f, D);
    return { mean: dot(this.mu, f), sd: Math.sqrt(Math.max(0, dot(f, sf))) };
  }

  /** P(a preferred to b) under the posterior mean. */
  probabilityBetter(a: Embedded, b: Embedded): number {
    const d = this.predict(a).mean - this.predict(b).mean;
    return 1 / (1 + Math.exp(-d));
  }

  /** Utilities of the reference creatives under the posterior mean, sorted (cached per version). */
  referenceUtilities(): number[] {
    if (this.refCache?.version === this.version) return this.refCache.sorted;
    const sorted = utilitiesOf(this.reference, this.mu).sort((a, b) => a - b);
    this.refCache = { version: this.version, sorted };
    return sorted;
  }

  /** n independent draws of w from the posterior. */
  sample(n: number, rng: Rng): Float64Array[] {
    const D = this.features;
    const L = choleskyJittered(this.cov, D);
    if (!L) throw new ModelError('PREFERENCE_INVALID', 'the taste posterior covariance is not positive definite');
    const out: Float64Array[] = [];
    const e = new Float64Array(D);
    for (let s = 0; s < n; s++) {
      for (let j = 0; j < D; j++) e[j] = rng.normal();
      const w = Float64Array.from(this.mu);
      for (let i = 0; i < D; i++) {
        let t = 0;
        const o = i * D;
        for (let j = 0; j <= i; j++) t += L[o + j] * e[j];
        w[i] += t;
      }
      out.push(w);
    }
    return out;
  }

  /**
   * Predicted preference of each creative: its percentile among the reference creatives under
   * the posterior mean, an 80 % interval over `samples` posterior draws, and the first `draws`
   * of those as Thompson draws.
   */
  estimate(xs: Embedded[], opts: { draws: number; rng: Rng; samples?: number }): PreferenceEstimate[] {
    if (!xs.length) return [];
    const feats = xs.map((x) => featuresOf(this.basis, x));
    const sorted = this.referenceUtilities();
    const nSamples = Math.max(opts.samples ?? 100, opts.draws);
    const ws = this.sample(nSamples, opts.rng);
    // Reference utilities under each draw: a subsample keeps this cheap without moving the percentiles much.
    const D = this.features;
    const nRef = this.reference.length / D;
    const step = Math.max(1, Math.floor(nRef / 200));
    const refIdx: number[] = [];
    for (let i = 0; i < nRef; i += step) refIdx.push(i);
    const perDraw: number[][] = feats.map(() => []);
    for (const w of ws) {
      const ref = refIdx.map((i) => rowDot(this.reference, i, D, w)).sort((a, b) => a - b);
      for (const [c, f] of feats.entries()) perDraw[c].push(percentileIn(ref, dot(w, f)) / 100);
    }
    return feats.map((f, c) => {
      const p = perDraw[c];
      const q = [...p].sort((a, b) => a - b);
      const at = (t: number) => q[Math.min(q.length - 1, Math.max(0, Math.round(t * (q.length - 1))))];
      const value = percentileIn(sorted, dot(this.mu, f)) / 100;
      return { value, low: Math.min(at(0.1), value), high: Math.max(at(0.9), value), draws: p.slice(0, opts.draws) };
    });
  }

  /**
   * Records (or replaces, or with `chosen` null takes back) the vote held under `key`, e.g.
   * round + person: a person's vote is whatever they did last. Returns the comparisons added.
   */
  observe(key: string, shown: Embedded[] | Float64Array[], chosen: number | null): number {
    const D = this.features;
    const prev = this.live.get(key);
    if (prev) {
      this.apply(prev, -1);
      this.live.delete(key);
    }
    let added = 0;
    if (chosen !== null && shown.length >= 2 && chosen >= 0 && chosen < shown.length) {
      const feats = shown.map((x) => (x instanceof Float64Array ? x : featuresOf(this.basis, x as Embedded)));
      const e = expand(this.mu, { chosen: feats[chosen], others: feats.filter((_, i) => i !== chosen) });
      // One Newton step from the current mean: Λ' = Λ + H, η' = η + Hμ + g.
      const dEta = new Float64Array(D);
      const k = e.Z.length;
      const zmu = e.Z.map((z) => dot(z, this.mu));
      for (let a = 0; a < k; a++) {
        let t = 0;
        for (let b = 0; b < k; b++) t += e.M[a * k + b] * zmu[b];
        const za = e.Z[a];
        for (let j = 0; j < D; j++) dEta[j] += za[j] * t;
      }
      for (let j = 0; j < D; j++) dEta[j] += e.g[j];
      const c = { e, dEta };
      this.apply(c, 1);
      this.live.set(key, c);
      added = k;
    }
    this.meta.online += added - (prev?.e.Z.length ?? 0);
    return added;
  }

  /** Keys of the votes applied online. */
  liveKeys(): string[] {
    return [...this.live.keys()];
  }

  private apply(c: Contribution, sign: 1 | -1): void {
    const D = this.features;
    const { Z, M } = c.e;
    const k = Z.length;
    addCurvature(this.precision, c.e, sign);
    for (let j = 0; j < D; j++) this.eta[j] += sign * c.dEta[j];
    if (++this.sinceRefresh >= REFRESH_EVERY) {
      this.cov = posteriorCovariance(this.precision, D);
      this.sinceRefresh = 0;
    } else {
      // Woodbury: (Λ ± ZᵀMZ)⁻¹ = Σ ∓ ΣZᵀ M (I ± ZΣZᵀ M)⁻¹ ZΣ.
      const SZ = Z.map((z) => matVec(this.cov, z, D));
      const A = new Float64Array(k * k);
      const G = new Float64Array(k * k);
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) G[a * k + b] = dot(Z[a], SZ[b]);
      for (let a = 0; a < k; a++) {
        for (let b = 0; b < k; b++) {
          let t = 0;
          for (let m = 0; m < k; m++) t += G[a * k + m] * M[m * k + b];
          A[a * k + b] = (a === b ? 1 : 0) + sign * t;
        }
      }
      // K = M A⁻¹, i.e. Kᵀ solves Aᵀ Kᵀ = Mᵀ (M is symmetric).
      const At = new Float64Array(k * k);
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) At[a * k + b] = A[b * k + a];
      const Kt = solveDense(At, M, k, k);
      // Σ ∓= Σ_a SZ_a ⊗ T_a with T_a = Σ_b K_ab SZ_b.
      for (let a = 0; a < k; a++) {
        const T = new Float64Array(D);
        for (let b = 0; b < k; b++) {
          const f = Kt[b * k + a];
          if (f === 0) continue;
          const sb = SZ[b];
          for (let j = 0; j < D; j++) T[j] += f * sb[j];
        }
        const sa = SZ[a];
        for (let i = 0; i < D; i++) {
          const fi = -sign * sa[i];
          if (fi === 0) continue;
          const o = i * D;
          for (let j = 0; j < D; j++) this.cov[o + j] += fi * T[j];
        }
      }
      // Keep it exactly symmetric.
      for (let i = 0; i < D; i++) {
        for (let j = i + 1; j < D; j++) {
          const v = (this.cov[i * D + j] + this.cov[j * D + i]) / 2;
          this.cov[i * D + j] = v;
          this.cov[j * D + i] = v;
        }
      }
    }
    this.mu = matVec(this.cov, this.eta, D);
    this.version++;
  }

  /** A copy with the same posterior and no online history (the learner's working model). */
  clone(): TasteModel {
    return new TasteModel(
      { ...this.meta, online: 0 },
      this.basis,
      this.prior,
      { precision: this.precision, eta: this.eta },
      this.reference,
    );
  }

  assertCompatible(info: { model: string; dims: number; textModel?: string }): void {
    assertSameModel(this.meta, info);
  }

  toJSON() {
    const b = this.basis;
    const f32 = (a: ArrayLike<number>) => floatsToBase64(Float32Array.from(a));
    return {
      format: PREFERENCE_FORMAT,
      version: TASTE_VERSION,
      ...this.meta,
      online: 0,
      basisData: {
        dims: b.dims,
        ri: b.ri,
        rt: b.rt,
        imageMean: f32(b.imageMean),
        textMean: f32(b.textMean),
        image: f32(b.image),
        text: f32(b.text),
      },
      priorData: { mean: f32(this.prior.mean), precision: f32(this.prior.precision) },
      posteriorData: { precision: f32(this.precision), eta: f32(this.eta) },
      referenceData: f32(this.reference),
    };
  }

  save(path: string): void {
    writePreferenceFile(path, this.toJSON());
  }

  static load(path: string): TasteModel {
    return TasteModel.parse(readPreferenceFile(path), path);
  }

  static parse(text: string, source = 'preference model'): TasteModel {
    const raw = parsePreferenceJson(text, source);
    if (raw.version === 1) {
      throw new ModelError(
        'PREFERENCE_OUTDATED',
        `${source} is a version 1 preference model (a point estimate without priors or intervals)`,
        {
          hint: 'retrain it with `adcreative train preference`',
        },
      );
    }
    if (raw.version !== TASTE_VERSION)
      throw new ModelError('PREFERENCE_INVALID', `${source} has version ${raw.version}; this build reads ${TASTE_VERSION}`);
    const bd = raw.basisData as Record<string, unknown> | undefined;
    const pd = raw.priorData as Record<string, string> | undefined;
    const qd = raw.posteriorData as Record<string, string> | undefined;
    if (!bd || !pd || !qd || typeof raw.referenceData !== 'string' || typeof raw.model !== 'string') {
      throw new ModelError('PREFERENCE_INVALID', `${source} lacks its basis, prior, posterior or reference`);
    }
    const f64 = (s: string) => Float64Array.from(base64ToFloats(s));
    const basis: TasteBasis = {
      dims: Number(bd.dims),
      ri: Number(bd.ri),
      rt: Number(bd.rt),
      imageMean: base64ToFloats(String(bd.imageMean)),
      textMean: base64ToFloats(String(bd.textMean)),
      image: base64ToFloats(String(bd.image)),
      text: base64ToFloats(String(bd.text)),
    };
    if (basis.image.length !== basis.ri * basis.dims || basis.text.length !== basis.rt * basis.dims) {
      throw new ModelError('PREFERENCE_INVALID', `${source} has a basis that does not fit its ${basis.dims}-d embeddings`);
    }
    const { format: _f, version: _v, basisData: _b, priorData: _p, posteriorData: _q, referenceData, ...meta } = raw;
    return new TasteModel(
      meta as unknown as TasteMeta,
      basis,
      { mean: f64(pd.mean), precision: f64(pd.precision) },
      { precision: f64(qd.precision), eta: f64(qd.eta) },
      base64ToFloats(referenceData as string),
    );
  }
}

function rowDot(M: Float32Array, i: number, D: number, w: ArrayLike<number>): number {
  let s = 0;
  const o = i * D;
  for (let j = 0; j < D; j++) s += M[o + j] * w[j];
  return s;
}

function utilitiesOf(M: Float32Array, w: ArrayLike<number>): number[] {
  const D = w.length;
  const n = D ? M.length / D : 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(rowDot(M, i, D, w));
  return out;
}
