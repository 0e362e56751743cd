/**
 * The seams the learning loop reads through. The library (LanceDB) and the round store
 * (SQL) implement these; tests and the benchmark use the in-memory versions below, so
 * training never depends on how the data is stored.
 */
import type { VoteRecord } from './preference.ts';

/** One library row as training needs it: both embeddings as stored, and delivery figures. */
export interface PairRow {
  id: string;
  textEmbedding: Float32Array;
  imageEmbedding: Float32Array;
  impressions: number;
  clicks: number;
  /** What the taste model's priors read: past winners are "winner:…" or tagged "winner". */
  brand?: string;
  source?: string;
  tags?: string[];
}

/** What `train adapter`/`train preference` need from the library. */
export interface PairSource {
  /** Rows with both a caption and an image embedding. */
  pairs(): AsyncIterable<PairRow>;
  count(): Promise<number>;
}

/** Optional: lets training re-project the stored embeddings into a new adapter's space in place. */
export interface EmbeddingRewriter {
  /**
   * Calls `fn` for every row and stores what it returns, moving the library into `target`'s space
   * (an adapter id; null for raw CLIP); resolves to the number of rows rewritten.
   */
  rewriteEmbeddings(
    fn: (row: { id: string; textEmbedding: Float32Array; imageEmbedding: Float32Array }) => {
      textEmbedding: Float32Array;
      imageEmbedding: Float32Array;
    },
    target: string | null,
  ): Promise<number>;
}

/** Votes for preference training: one record per person per round (their current vote). */
export interface VoteSource {
  votes(): Promise<VoteRecord[]>;
  /** The embedding model the votes' embeddings come from, when the library cannot say (it is empty). */
  model?(): Promise<{ name: string; dims: number; textModel?: string }>;
}

/** A round as the reports see it. */
export interface RoundSummary {
  roundId: string;
  /** Groups the rounds of one brief (its thread). */
  briefId: string;
  /** The brief as typed and the round's number in its thread: how people name a round (charts label by these). */
  brief?: string;
  number?: number;
  status: 'open' | 'closed';
  closedAt?: Date;
  variants: {
    variantId: string;
    label: string;
    /** As ranked: preference is the percentile among past creatives as a fraction 0–1 (null: not scored). */
    scores: { relevance?: number | null; novelty?: number | null; preference?: number | null };
    votes: number;
    winner: boolean;
  }[];
}

export interface RoundStatsSource {
  rounds(): Promise<RoundSummary[]>;
}

/** Everything the learning commands read, opened from the configuration. */
export interface LearningSources {
  /**
   * The embedding model the stored embeddings come from; `textModel`: the text encoder of the
   * caption and copy embeddings where it is not the model's own text tower (CLIP_TEXT_MODEL_DIR).
   */
  model: { name: string; dims: number; textModel?: string };
  library?: PairSource & Partial<EmbeddingRewriter>;
  votes?: VoteSource;
  rounds?: RoundStatsSource;
  close(): Promise<void>;
}

/** An in-memory library for tests and benchmarks. */
export function memoryPairSource(rows: PairRow[]): PairSource & EmbeddingRewriter {
  return {
    async *pairs() {
      for (const r of rows) yield r;
    },
    count: async () => rows.length,
    async rewriteEmbeddings(fn) {
      for (const r of rows) {
        const out = fn(r);
        r.textEmbedding = out.textEmbedding;
        r.imageEmbedding = out.imageEmbedding;
      }
      return rows.length;
    },
  };
}

/** Collects a source into row-major matrices, skipping rows of another width. */
export async function collectPairs(
  source: PairSource,
  dims: number,
): Promise<{ rows: PairRow[]; text: Float32Array; image: Float32Array; skipped: number }> {
  const rows: PairRow[] = [];
  let skipped = 0;
  for await (const r of source.pairs()) {
    if (r.textEmbedding?.length !== dims || r.imageEmbedding?.length !== dims) {
      skipped++;
      continue;
    }
    rows.push(r);
  }
  const text = new Float32Array(rows.length * dims);
  const image = new Float32Array(rows.length * dims);
  rows.forEach((r, i) => {
    text.set(r.textEmbedding, i * dims);
    image.set(r.imageEmbedding, i * dims);
  });
  return { rows, text, image, skipped };
}
