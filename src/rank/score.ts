/**
 * A variant's scores and the reason it was picked: relevance, novelty and (once trained)
 * preference weighted into a total; MMR over the candidates picks the shown set in order;
 * diversity is 1 − the highest similarity to any other shown variant.
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
  total: number;
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
  /** Predicted preference per candidate (null: no model / not enough votes). */
  preference?: (number | null)[];
  count: number;
  weights: RankWeights;
}

const pct = (x: number) => x.toFixed(2);

export function rank(input: RankInput): Ranked[] {
  const { weights: w } = input;
  const rel = relevance(input.brief, input.images);
  const nov = novelty(input.librarySimilarity);
  const pref = input.preference ?? input.images.map(() => null);
  const total = rel.map((r, i) => w.relevance * r + w.novelty * nov[i] + (pref[i] !== null ? w.preference * (pref[i] as number) : 0));
  const picks = mmr(total, input.images, input.count, w.lambda);

  const shown = picks.map((p) => p.index);
  const n = input.images.length;
  const order = [...total.keys()].sort((a, b) => total[b] - total[a]);
  return picks.map((p, pos) => {
    const i = p.index;
    let maxOther = Number.NEGATIVE_INFINITY;
    for (const j of shown) if (j !== i) maxOther = Math.max(maxOther, cosine(input.images[i], input.images[j]));
    const diversity = shown.length > 1 ? 1 - maxOther : 1;
    const byTotal = order.indexOf(i) + 1;
    const parts = [`relevance ${pct(rel[i])}`, `novelty ${pct(nov[i])}`];
    if (pref[i] !== null) parts.push(`preference ${pct(pref[i] as number)}${w.preference === 0 ? ' (weight 0)' : ''}`);
    let why: string;
    if (pos === 0) why = `highest score of ${n} candidates`;
    else if (byTotal === pos + 1)
      why = `#${byTotal} of ${n} by score, not too close to the ones above (max similarity ${pct(p.maxSimilarity)})`;
    else why = `#${byTotal} of ${n} by score, picked for variety: least like the ones above (max similarity ${pct(p.maxSimilarity)})`;
    return {
      index: i,
      scores: { relevance: rel[i], novelty: nov[i], diversity, preference: pref[i], total: total[i] },
      reason: `${why}; ${parts.join(', ')}, total ${pct(total[i])}`,
    };
  });
}
