/**
 * What the taste model knows before the first vote, from the library:
 *
 * - the CTR direction: a ridge regression of each creative's performance lift (log2 of its
 *   smoothed CTR over the library's, the empirical-Bayes smoothing of library/ctr.ts) on its
 *   features, each creative weighted by how much its impressions can be trusted;
 * - the winners' direction: the team's past winners (rows promoted by the bot, source
 *   "winner:…", or ingested with the tag "winner") as pseudo-preferences over other
 *   creatives of their brand, fitted at half the weight of a vote, since those others were
 *   not really on the ballot.
 *
 * Both are directions the prior leans along (taste.ts `makePrior`), with as much doubt as
 * lean, so the team's votes decide how far to follow them.
 */
import { cosine } from '../clip/types.ts';
import { estimatePrior, performanceLift, smoothedCtr } from '../library/ctr.ts';
import { cholesky, choleskySolve, createRng, shuffle } from '../linalg.ts';
import type { Embedded, VoteRecord } from './preference.ts';
import { buildBasis, featureCount, featuresOf, type TasteBasis } from './taste.ts';
import { type ChoiceSet, type FitTasteInput, fitPosterior, makePrior, type PriorDirection, tauFor } from './taste-fit.ts';

/** A library creative as the priors read it. */
export interface PriorRow extends Embedded {
  id: string;
  impressions: number;
  clicks: number;
  brand?: string;
  /** "winner:<round>" for the bot's winners. */
  source?: string;
  tags?: string[];
}

const MIN_CTR_ROWS = 20;
const MIN_WINNERS = 3;
const PSEUDO_WEIGHT = 0.5;
const PSEUDO_OPPONENTS = 3;
/** Principal directions per embedding: the few dozen along which ads differ most. */
export const DEFAULT_RANK = 48;

export function isPastWinner(r: Pick<PriorRow, 'source' | 'tags'>): boolean {
  return (r.source?.startsWith('winner:') ?? false) || (r.tags?.includes('winner') ?? false);
}

/** The CTR direction, or null with fewer than 20 creatives with impressions. */
export function ctrDirection(basis: TasteBasis, rows: PriorRow[]): PriorDirection | null {
  const usable = rows.filter((r) => r.impressions > 0 && r.clicks >= 0);
  if (usable.length < MIN_CTR_ROWS) return null;
  const prior = estimatePrior(usable, 'auto');
  const D = featureCount(basis);
  const X = usable.map((r) => featuresOf(basis, r));
  const y = usable.map((r) => performanceLift(smoothedCtr(r.clicks, r.impressions, prior), prior));
  const wt = usable.map((r) => r.impressions / (r.impressions + prior.strength));
  const sw = wt.reduce((s, v) => s + v, 0);
  if (!(sw > 0)) return null;
  const mx = new Float64Array(D);
  let my = 0;
  X.forEach((x, i) => {
    for (let j = 0; j < D; j++) mx[j] += (wt[i] * x[j]) / sw;
    my += (wt[i] * y[i]) / sw;
  });
  const A = new Float64Array(D * D);
  const b = new Float64Array(D);
  const xc = new Float64Array(D);
  X.forEach((x, i) => {
    for (let j = 0; j < D; j++) xc[j] = x[j] - mx[j];
    const yi = y[i] - my;
    for (let a = 0; a < D; a++) {
      const f = wt[i] * xc[a];
      b[a] += f * yi;
      for (let c = 0; c < D; c++) A[a * D + c] += f * xc[c];
    }
  });
  // Ridge at the mean feature variance: enough to keep noise out of the small directions.
  let tr = 0;
  for (let j = 0; j < D; j++) tr += A[j * D + j];
  const lambda = Math.max(tr / D, 1e-9);
  for (let j = 0; j < D; j++) A[j * D + j] += lambda;
  const L = cholesky(A, D);
  if (!L) return null;
  const beta = choleskySolve(L, b, D);
  return { name: 'ctr', weights: beta, support: usable.length };
}

/** The winners' direction, or null with fewer than three past winners (or nothing to beat). */
export function winnersDirection(basis: TasteBasis, rows: PriorRow[], reference: Float32Array): PriorDirection | null {
  const winners = rows.filter(isPastWinner);
  const others = rows.filter((r) => !isPastWinner(r));
  if (winners.length < MIN_WINNERS || others.length < 1) return null;
  const byBrand = new Map<string, PriorRow[]>();
  for (const o of others) {
    const k = o.brand ?? '';
    if (!byBrand.has(k)) byBrand.set(k, []);
    byBrand.get(k)?.push(o);
  }
  const choices: ChoiceSet[] = [];
  for (const w of winners) {
    const pool = byBrand.get(w.brand ?? '') ?? [];
    const from = pool.length ? pool : others;
    // Its nearest creatives of the brand: most likely the campaign siblings the team passed over.
    const near = from
      .map((o) => ({ o, sim: cosine(o.imageEmbedding, w.imageEmbedding) + cosine(o.textEmbedding, w.textEmbedding) }))
      .sort((a, b) => b.sim - a.sim)
      .slice(0, PSEUDO_OPPONENTS)
      .map((x) => x.o);
    choices.push({
      options: [w, ...near].map((x) => featuresOf(basis, x)),
      counts: [1, ...near.map(() => 0)],
      weight: PSEUDO_WEIGHT,
    });
  }
  const D = featureCount(basis);
  const fit = fitPosterior(makePrior(D, tauFor(1, reference, D), [], []), choices);
  return { name: 'winners', weights: fit.mean, support: winners.length };
}

function utilitySd(w: Float64Array, reference: Float32Array, D: number): number {
  const n = reference.length / D;
  if (n < 2) return Math.sqrt(w.reduce((s, x) => s + x * x, 0));
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    let u = 0;
    for (let j = 0; j < D; j++) u += w[j] * reference[i * D + j];
    s += u;
    s2 += u * u;
  }
  return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
}

export interface TasteInputOptions {
  /** Principal directions kept per embedding (image, copy). */
  rank?: number;
  /** Keep this basis (the last fit's) instead of building one: scores stay on one scale between rebuilds. */
  basis?: { basis: TasteBasis; items: number };
  seed?: number;
  /** Past creatives sampled for the percentile scale. */
  referenceRows?: number;
}

/**
 * Everything the full fit needs from the library and the votes: the basis (principal
 * directions of the library's and the shown variants' embeddings), the prior directions
 * and the reference creatives.
 */
export function tasteInput(
  p: { votes: VoteRecord[]; library: PriorRow[]; model: string; textModel?: string; adapter?: string | null },
  opts: TasteInputOptions = {},
): FitTasteInput {
  const rng = createRng(opts.seed ?? 42);
  const shown = new Map<string, Embedded>();
  for (const v of p.votes) for (const s of v.shown) shown.set(s.variantId, s);
  const lib = [...p.library];
  shuffle(lib, rng);
  const items: Embedded[] = [...lib.slice(0, 3000), ...[...shown.values()].slice(-2000)];
  const basis = opts.basis?.basis ?? buildBasis(items, opts.rank ?? DEFAULT_RANK, rng);
  const D = featureCount(basis);
  const refItems: Embedded[] = lib.length
    ? lib.slice(0, opts.referenceRows ?? 500)
    : [...shown.values()].slice(-(opts.referenceRows ?? 500));
  const reference = new Float32Array(refItems.length * D);
  for (const [i, x] of refItems.entries()) reference.set(featuresOf(basis, x), i * D);
  const directions: PriorDirection[] = [];
  const ctr = ctrDirection(basis, p.library);
  const win = winnersDirection(basis, p.library, reference);
  for (const dir of [ctr, win]) {
    // Unit s.d. of utility over the past creatives, so a lean means the same for each direction.
    const sd = dir ? utilitySd(dir.weights, reference, D) : 0;
    if (dir && sd > 0) directions.push({ ...dir, weights: dir.weights.map((w) => w / sd) });
  }
  return {
    votes: p.votes,
    basis,
    directions,
    reference,
    model: p.model,
    ...(p.textModel ? { textModel: p.textModel } : {}),
    adapter: p.adapter ?? null,
    support: { ctrRows: ctr?.support ?? 0, winners: win?.support ?? 0 },
    basisItems: opts.basis?.items ?? p.library.length + shown.size,
  };
}
