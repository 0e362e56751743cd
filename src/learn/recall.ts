/**
 * Retrieval recall@k in both directions over paired embeddings: row i of `text` belongs
 * with row i of `image`, every other row is a distractor. Ties count against the pair, so
 * degenerate embeddings (all equal) score zero rather than perfect.
 */
import type { RecallReport } from '../clip/adapter.ts';
import { gemmNT } from '../linalg.ts';

export type { RecallReport } from '../clip/adapter.ts';

const ROWS = 256;

export function recallAtK(text: Float32Array, image: Float32Array, n: number, d: number): RecallReport {
  if (text.length < n * d || image.length < n * d) throw new RangeError(`recall: expected ${n}×${d} matrices`);
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) s += text[o + j] * image[o + j];
    diag[i] = s;
  }
  // Ranks by counting distractors at least as similar; blocks of rows keep memory at ROWS × n.
  const rowRank = new Int32Array(n);
  const colRank = new Int32Array(n);
  const S = new Float32Array(Math.min(ROWS, n) * n);
  for (let r0 = 0; r0 < n; r0 += ROWS) {
    const rows = Math.min(ROWS, n - r0);
    gemmNT(text.subarray(r0 * d, (r0 + rows) * d), image, S, rows, d, n);
    for (let a = 0; a < rows; a++) {
      const i = r0 + a;
      const o = a * n;
      // Compare against the float32 value of the diagonal as stored in S, so rounding cannot flip a tie.
      const dii = S[o + i];
      let rr = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const v = S[o + j];
        if (v >= dii) rr++;
        if (v >= Math.fround(diag[j])) colRank[j]++;
      }
      rowRank[i] = rr;
    }
  }
  const at = (ranks: Int32Array, k: number) => {
    let c = 0;
    for (let i = 0; i < n; i++) if (ranks[i] < k) c++;
    return n ? c / n : 0;
  };
  return {
    n,
    textToImage: { r1: at(rowRank, 1), r5: at(rowRank, 5), r10: at(rowRank, 10) },
    imageToText: { r1: at(colRank, 1), r5: at(colRank, 5), r10: at(colRank, 10) },
  };
}

/** The single number early stopping watches: mean recall@1 over both directions. */
export function meanRecall1(r: RecallReport): number {
  return (r.textToImage.r1 + r.imageToText.r1) / 2;
}

export function formatRecall(r: RecallReport): string {
  const p = (x: number) => `${(100 * x).toFixed(1)}%`;
  return (
    `text→image R@1 ${p(r.textToImage.r1)} R@5 ${p(r.textToImage.r5)} R@10 ${p(r.textToImage.r10)}; ` +
    `image→text R@1 ${p(r.imageToText.r1)} R@5 ${p(r.imageToText.r5)} R@10 ${p(r.imageToText.r10)} (among ${r.n})`
  );
}
