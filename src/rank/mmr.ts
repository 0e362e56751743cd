/**
 * Maximal marginal relevance: picks k of n candidates, each time the one with the best
 * λ·quality − (1−λ)·(max similarity to those already picked), so near-duplicates of an
 * earlier pick fall behind a slightly weaker but different candidate.
 */
import { cosine } from '../clip/types.ts';

export interface MmrPick {
  index: number;
  /** Highest cosine similarity to the candidates picked before it (0 for the first). */
  maxSimilarity: number;
  /** The MMR objective it won with. */
  marginal: number;
}

export function mmr(quality: number[], embeddings: Float32Array[], k: number, lambda: number): MmrPick[] {
  const n = quality.length;
  const picked: MmrPick[] = [];
  const left = new Set(Array.from({ length: n }, (_, i) => i));
  const maxSim = new Float64Array(n); // to the picked set, updated as it grows
  while (picked.length < Math.min(k, n)) {
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const i of left) {
      const s = lambda * quality[i] - (1 - lambda) * (picked.length ? maxSim[i] : 0);
      if (s > bestScore || (s === bestScore && i < best)) {
        best = i;
        bestScore = s;
      }
    }
    picked.push({ index: best, maxSimilarity: picked.length ? maxSim[best] : 0, marginal: bestScore });
    left.delete(best);
    for (const i of left) {
      const c = cosine(embeddings[i], embeddings[best]);
      if (picked.length === 1 || c > maxSim[i]) maxSim[i] = c;
    }
  }
  return picked;
}
