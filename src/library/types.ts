/**
 * The creative library's contract: what callers (rounds, generation, training, the CLI)
 * may ask of it. The LanceDB implementation lives beside this file.
 */

export interface CreativeMeta {
  source: string; // "ingest:<path>", "winner:<round id>", "demo", "slack:<permalink>"
  brand: string;
  channel: string;
  format: string;
  headline: string;
  body: string;
  cta: string;
  caption: string; // text embedded as the caption (headline + body when not given)
  tags: string[];
  impressions: number;
  clicks: number;
  conversions: number;
  createdAt: Date;
  demo: boolean;
  /** Free-form provenance (brief, round, votes) as JSON text. */
  provenance?: string;
}

export interface NewCreative extends Partial<CreativeMeta> {
  /** Encoded image file bytes (JPEG, PNG, WebP, GIF, AVIF). */
  image: Uint8Array;
  /** Original file name, for messages and metrics matching. */
  fileName?: string;
}

export interface Creative extends CreativeMeta {
  id: string;
  sha256: string;
  image: Uint8Array;
  thumbnail: Uint8Array; // WebP, ≤ 256 px
  imageEmbedding: Float32Array;
  textEmbedding: Float32Array;
}

export interface SearchFilters {
  brand?: string;
  channel?: string;
  format?: string;
  /** Only creatives tagged with this audience segment (audience.ts). */
  audience?: string;
  since?: Date;
  until?: Date;
  minImpressions?: number;
}

export interface SearchQuery {
  text?: string;
  image?: Uint8Array;
  /** A ready query embedding (already in the library's space). */
  vector?: Float32Array;
  k?: number;
  filters?: SearchFilters;
}

export interface SearchHit {
  id: string;
  headline: string;
  body: string;
  cta: string;
  brand: string;
  channel: string;
  format: string;
  thumbnail: Uint8Array;
  impressions: number;
  clicks: number;
  conversions: number;
  /** Raw clicks/impressions and the smoothed CTR used for ranking. */
  ctr: { raw: number; smoothed: number };
  /**
   * Cosine similarity of the query to the image and to the caption, the performance term
   * (log2 of smoothed CTR over the library CTR, clamped to ±1) and the weighted sum they rank by.
   */
  scores: { image: number; caption: number; performance: number; fused: number };
  demo: boolean;
  createdAt: Date;
  sha256: string;
  tags: string[];
  source: string;
  /** Ids of lower-ranked results collapsed into this one as near-duplicate images. */
  duplicates: string[];
}

export interface AddResult {
  /** New creatives, and existing ones (same image sha256) whose metadata was updated. */
  ingested: number;
  updated: number;
  ids: string[];
  failed: { path: string; reason: string }[];
}

export interface LibraryStats {
  uri: string;
  /** Embedding model recorded in the table, and its width. */
  model: string;
  dims: number;
  rows: number;
  demoRows: number;
  /** Rows stored as round winners (source "winner:…"). */
  winnerRows: number;
  brands: Record<string, number>;
  channels: Record<string, number>;
  formats: Record<string, number>;
  impressions: number;
  clicks: number;
  conversions: number;
  /** The Beta prior behind smoothed CTRs: its mean (library CTR) and strength in impressions. */
  ctrPrior: { mean: number; strength: number; estimated: boolean };
  /**
   * `building`: an index build is running in this process now (search stays exact until it lands).
   * `builtForRows`: the row count the ANN settings were picked for (null: unknown or no index).
   */
  index: { vector: boolean; scalar: string[]; unindexedRows: number; building: boolean; builtForRows: number | null };
  version: number;
}

/** What a creative can be found by when matching outside data (metrics CSVs). */
export interface CreativeRef {
  id: string;
  sha256: string;
  fileName: string;
}

export interface MetricsUpdate {
  id: string;
  impressions?: number;
  clicks?: number;
  conversions?: number;
}

export interface ScanOptions {
  filters?: SearchFilters;
  /** Include full image bytes (export does; training does not need them). Default true. */
  images?: boolean;
  batchSize?: number;
}

export interface IndexReport {
  rows: number;
  vector: { built: boolean; partitions?: number; subVectors?: number; reason: string };
  scalar: string[];
  seconds: number;
}

export interface Library {
  /** Rows in the library, or those matching `filters`. */
  count(filters?: SearchFilters): Promise<number>;
  search(q: SearchQuery): Promise<SearchHit[]>;
  add(items: NewCreative[]): Promise<AddResult>;
  get(id: string): Promise<Creative | undefined>;
  /** For each image embedding, the highest cosine similarity to any library image (novelty = 1 − this). */
  maxSimilarity(imageEmbeddings: Float32Array[]): Promise<number[]>;
  /** `indexWaitMs` bounds the wait for an index build in flight (default: wait for it). */
  close(opts?: { indexWaitMs?: number }): Promise<void>;
  /** Row counts, breakdowns, totals, the CTR prior and index state. */
  stats(): Promise<LibraryStats>;
  /** Deletes creatives by id; ids not in the library come back as `missing`. */
  remove(ids: string[]): Promise<{ removed: string[]; missing: string[] }>;
  /** Every creative (optionally filtered), in batches; for export and adapter training. */
  scan(opts?: ScanOptions): AsyncIterable<Creative>;
  /** Ids, hashes and file names of every creative. */
  refs(): Promise<CreativeRef[]>;
  /** Overwrites the given metrics of existing creatives; returns how many rows changed. */
  updateMetrics(updates: MetricsUpdate[]): Promise<number>;
  /** Builds the ANN index (settings from the row count) and the filter-column indexes, then compacts. */
  buildIndex(opts?: { force?: boolean }): Promise<IndexReport>;
  /** Compacts the table and folds new rows into its indexes. */
  optimize(): Promise<void>;
}
