/**
 * Vote counting, each variant's posterior probability of being the team's favourite, and
 * the winner rule (DESIGN.md §1): most votes; a tie goes to the higher predicted
 * preference, then to the earlier variant; no votes, no winner.
 *
 * Probability of being best: votes are multinomial draws from the team's preference shares
 * p ~ Dirichlet(1 + votes). P(best_i) = P(p_i is the largest), estimated by Monte Carlo with
 * a seed derived from the counts, so the same tally always shows the same numbers.
 */
import { mulberry32 } from '../random.ts';
import type { Vote } from './types.ts';

export interface TallyVariant {
  id: string;
  label: string;
  position: number;
  preference: number | null;
}

export interface TallyEntry {
  variantId: string;
  label: string;
  votes: number;
  voters: string[];
  probBest: number;
}

export interface Tally {
  total: number;
  entries: TallyEntry[];
}

function hashCounts(counts: number[]): number {
  let h = 2166136261;
  for (const c of [counts.length, ...counts]) {
    h ^= c;
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

function normal(rand: () => number): number {
  let u = 0;
  while (u === 0) u = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Gamma(shape, 1) by Marsaglia–Tsang; shape ≥ 1 here (1 + votes). */
function gamma(shape: number, rand: () => number): number {
  if (shape < 1) return gamma(shape + 1, rand) * rand() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rand);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rand();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** P(variant i has the largest preference share) under Dirichlet(prior + counts). */
export function probabilityBest(counts: number[], opts: { samples?: number; prior?: number; seed?: number } = {}): number[] {
  const n = counts.length;
  if (n === 0) return [];
  if (n === 1) return [1];
  const samples = opts.samples ?? 20_000;
  const prior = opts.prior ?? 1;
  const rand = mulberry32(opts.seed ?? hashCounts(counts));
  const wins = new Array<number>(n).fill(0);
  for (let s = 0; s < samples; s++) {
    let best = 0;
    let bestV = -1;
    for (let i = 0; i < n; i++) {
      // Normalising is unnecessary: the argmax of the gammas is the argmax of the shares.
      const g = gamma(prior + counts[i], rand);
      if (g > bestV) {
        bestV = g;
        best = i;
      }
    }
    wins[best] += 1;
  }
  // Variants with the same count have exactly the same chance (they are exchangeable): the
  // sampling noise between them (25.03 % against 24.97 %) is averaged away.
  const byCount = new Map<number, number[]>();
  counts.forEach((c, i) => {
    byCount.set(c, [...(byCount.get(c) ?? []), i]);
  });
  const p = wins.map((w) => w / samples);
  for (const group of byCount.values()) {
    const mean = group.reduce((a, i) => a + p[i], 0) / group.length;
    for (const i of group) p[i] = mean;
  }
  return p;
}

/**
 * Whole percentages for shares that sum to 1, summing to exactly 100 (largest remainder:
 * the points lost to rounding go to the shares that lost the most). Four variants with no
 * votes read 25/25/25/25, not 25/25/25/26.
 */
export function wholePercents(shares: number[]): number[] {
  const total = shares.reduce((a, b) => a + b, 0);
  if (!shares.length || total <= 0) return shares.map(() => 0);
  const exact = shares.map((s) => (100 * s) / total);
  const out = exact.map(Math.floor);
  let left = 100 - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    out[i] += 1;
    left -= 1;
  }
  return out;
}

export function tally(variants: TallyVariant[], votes: Vote[], opts: { samples?: number } = {}): Tally {
  const ordered = [...variants].sort((a, b) => a.position - b.position);
  const byId = new Map(ordered.map((v) => [v.id, { votes: 0, voters: [] as string[] }]));
  for (const v of votes) {
    const e = byId.get(v.variantId);
    if (!e) continue;
    e.votes += 1;
    e.voters.push(v.user);
  }
  const counts = ordered.map((v) => byId.get(v.id)?.votes ?? 0);
  const probs = probabilityBest(counts, opts);
  return {
    total: counts.reduce((a, b) => a + b, 0),
    entries: ordered.map((v, i) => ({
      variantId: v.id,
      label: v.label,
      votes: counts[i],
      voters: byId.get(v.id)?.voters ?? [],
      probBest: probs[i],
    })),
  };
}

export interface WinnerDecision {
  winnerId: string | null;
  tie: boolean;
  /** Labels that shared the most votes when it was a tie. */
  tiedLabels: string[];
  votes: number;
  /** What broke a tie: a higher predicted preference, or (preferences equal or unknown) the earlier variant. */
  brokenBy: 'preference' | 'position' | null;
}

export function decideWinner(variants: TallyVariant[], t: Tally): WinnerDecision {
  if (t.total === 0) return { winnerId: null, tie: false, tiedLabels: [], votes: 0, brokenBy: null };
  const max = Math.max(...t.entries.map((e) => e.votes));
  const top = variants.filter((v) => t.entries.find((e) => e.variantId === v.id)?.votes === max);
  top.sort((a, b) => (b.preference ?? Number.NEGATIVE_INFINITY) - (a.preference ?? Number.NEGATIVE_INFINITY) || a.position - b.position);
  const tie = top.length > 1;
  const pref = (v: TallyVariant) => v.preference ?? Number.NEGATIVE_INFINITY;
  const brokenBy = !tie ? null : pref(top[0]) > pref(top[1]) ? 'preference' : 'position';
  return { winnerId: top[0].id, tie, tiedLabels: top.map((v) => v.label).sort(), votes: max, brokenBy };
}
