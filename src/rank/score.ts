/**
 * A variant's scores and the reason it was picked: relevance, novelty and predicted
 * preference weighted into a total; MMR over the candidates picks the shown set in order;
 * diversity is 1 − the highest similarity to any other shown variant.
 *
 * When the preference comes with posterior draws (learn/taste.ts), each pick is made on a
 * fresh draw (Thompson sampling inside MMR): a candidate the model is unsure about gets
 * shown now and then, so the team's votes teach the model where it knows least, while
 * variety is kept as before. The scores shown stay the posterior mean, and a variant the
 * mean alone would not have shown says so ("shown to learn").
 */
import { cosine } from '../clip/types.ts';
import { mmr } from './mmr.ts';
import { novelty } from './novelty.ts';
import { relevance } from './relevance.ts';

export interface RankWeights {
  relevance: number;
  novelty: number;
  preference: number;
  /** MMR λ: 1 ranks by total alone. */
  lambda: number;
}

export const DEFAULT_WEIGHTS: RankWeights = { relevance: 1, novelty: 0.3, preference: 0, lambda: 0.7 };

export interface CandidateScores {
  relevance: number;
  novelty: number;
  diversity: number;
  preference: number | null;
  /** 80 % interval of the preference (same scale), when the model gives one. */
  preferenceLow?: number | null;
  preferenceHigh?: number | null;
  /** Shown on a posterior draw though the posterior mean alone would not have shown it: shown to learn. */
  shownToLearn?: boolean;
  total: number;
}

/** A predicted preference on the 0–1 percentile scale, with its 80 % interval and posterior draws (learn/taste.ts). */
export interface PreferenceInput {
  value: number;
  low?: number;
  high?: number;
  /** Percentiles under independent posterior draws, one per pick. */
  draws?: number[];
}

/** An 80 % interval this wide (of the 0–1 scale) says little: the preference is shown as "uncertain". */
export const UNCERTAIN_WIDTH = 0.5;

export function preferenceUncertain(s: Pick<CandidateScores, 'preferenceLow' | 'preferenceHigh'>): boolean {
  return (
    typeof s.preferenceLow === 'number' && typeof s.preferenceHigh === 'number' && s.preferenceHigh - s.preferenceLow >= UNCERTAIN_WIDTH
  );
}

export interface Ranked {
  /** Index into the candidates. */
  index: number;
  scores: CandidateScores;
  reason: string;
}

export interface RankInput {
  brief: Float32Array;
  images: Float32Array[];
  /** Highest similarity of each image to the library. */
  librarySimilarity: number[];
  /** Predicted preference per candidate (null: no model / nothing learned yet). */
  preference?: (PreferenceInput | number | null)[];
  count: number;
  weights: RankWeights;
}

const pct = (x: number) => x.toFixed(2);

export function rank(input: RankInput): Ranked[] {
  const { weights: w } = input;
  const rel = relevance(input.brief, input.images);
  const nov = novelty(input.librarySimilarity);
  const est = (input.preference ?? input.images.map(() => null)).map((p) =>
    p === null || p === undefined ? null : typeof p === 'number' ? { value: p } : p,
  );
  const pref = est.map((p) => (p ? p.value : null));
  const base = rel.map((r, i) => w.relevance * r + w.novelty * nov[i]);
  const total = base.map((b, i) => b + (pref[i] !== null ? w.preference * (pref[i] as number) : 0));
  // Thompson sampling: pick j ranks on the j-th posterior draw where there is one.
  const sampled = w.preference > 0 && est.some((p) => p?.draws?.length);
  const stepQuality = sampled
    ? (j: number) => base.map((b, i) => b + (est[i] ? w.preference * (est[i]?.draws?.[j] ?? (est[i]?.value as number)) : 0))
    : undefined;
  const picks = mmr(total, input.images, input.count, w.lambda, stepQuality);
  // What the posterior mean alone would have shown: a pick outside it was shown to learn.
  const byMean = new Set((stepQuality ? mmr(total, input.images, input.count, w.lambda) : picks).map((p) => p.index));

  const shown = picks.map((p) => p.index);
  const n = input.images.length;
  const order = [...total.keys()].sort((a, b) => total[b] - total[a]);
  return picks.map((p, pos) => {
    const i = p.index;
    let maxOther = Number.NEGATIVE_INFINITY;
    for (const j of shown) if (j !== i) maxOther = Math.max(maxOther, cosine(input.images[i], input.images[j]));
    const diversity = shown.length > 1 ? 1 - maxOther : 1;
    const byTotal = order.indexOf(i) + 1;
    const e = est[i];
    const parts = [`relevance ${pct(rel[i])}`, `novelty ${pct(nov[i])}`];
    if (e) {
      const range = e.low !== undefined && e.high !== undefined ? ` (80% interval ${pct(e.low)}–${pct(e.high)})` : '';
      parts.push(`preference ${pct(e.value)}${range}${w.preference === 0 ? ' (weight 0)' : ''}`);
    }
    const toLearn = !byMean.has(i);
    let why: string;
    if (toLearn)
      why = `shown to learn: #${byTotal} of ${n} by score, below the cut, but the team may like it more than the model can yet tell, so a vote on it teaches the most`;
    else if (pos === 0) why = `highest score of ${n} candidates`;
    else if (byTotal === pos + 1)
      why = `#${byTotal} of ${n} by score, not too close to the ones above (max similarity ${pct(p.maxSimilarity)})`;
    else why = `#${byTotal} of ${n} by score, picked for variety: least like the ones above (max similarity ${pct(p.maxSimilarity)})`;
    const scores: CandidateScores = { relevance: rel[i], novelty: nov[i], diversity, preference: pref[i], total: total[i] };
    if (e?.low !== undefined && e.high !== undefined) {
      scores.preferenceLow = e.low;
      scores.preferenceHigh = e.high;
    }
    if (toLearn) scores.shownToLearn = true;
    return { index: i, scores, reason: `${why}; ${parts.join(', ')}, total ${pct(total[i])}` };
  });
}
