/**
 * Novelty against the library: 1 − the highest cosine similarity of the image to any library
 * image. An empty library (no similarity to report) makes everything fully novel.
 */
export function novelty(maxSimilarities: number[]): number[] {
  return maxSimilarities.map((s) => (Number.isFinite(s) ? 1 - s : 1));
}
