/**
 * Maximal marginal relevance: picks k of n candidates, each time the one with the best
 * λ·quality − (1−λ)·(max similarity to those already picked), so near-duplicates of an
 * earlier pick fall behind a slightly weaker but different candidate.
 *
 * With `stepQuality`, pick j is made on that step's quality instead (Thompson sampling: a
 * fresh posterior draw per pick).
 */
import { cosine } from '../clip/types.ts';

export interface MmrPick {
  index: number;
  /** Highest cosine similarity to the candidates picked before it (0 for the first). */
  maxSimilarity: number;
  /** The MMR objective it won with. */
  marginal: number;
}

function best(q: number[], left: Set<number>, maxSim: Float64Array, picked: number, lambda: number): { i: number; score: number } {
  let bi = -1;
  let bs = Number.NEGATIVE_INFINITY;
  for (const i of left) {
    const s = lambda * q[i] - (1 - lambda) * (picked ? maxSim[i] : 0);
    if (s > bs || (s === bs && i < bi)) {
      bi = i;
      bs = s;
    }
  }
  return { i: bi, score: bs };
}

export function mmr(
  quality: number[],
  embeddings: Float32Array[],
  k: number,
  lambda: number,
  stepQuality?: (step: number) => number[],
): MmrPick[] {
  const n = quality.length;
  const picked: MmrPick[] = [];
  const left = new Set(Array.from({ length: n }, (_, i) => i));
  const maxSim = new Float64Array(n); // to the picked set, updated as it grows
  while (picked.length < Math.min(k, n)) {
    const chosen = best(stepQuality ? stepQuality(picked.length) : quality, left, maxSim, picked.length, lambda);
    const b = chosen.i;
    picked.push({ index: b, maxSimilarity: picked.length ? maxSim[b] : 0, marginal: chosen.score });
    left.delete(b);
    for (const i of left) {
      const c = cosine(embeddings[i], embeddings[b]);
      if (picked.length === 1 || c > maxSim[i]) maxSim[i] = c;
    }
  }
  return picked;
}
