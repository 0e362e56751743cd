/**
 * The creative library's contract: what callers (rounds, generation, training, the CLI)
 * may ask of it. The LanceDB implementation lives beside this file.
 */
export type ChannelName = 'meta' | 'google' | 'linkedin' | 'tiktok';
export type FormatName = 'square' | 'portrait' | 'story' | 'landscape';

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
  scores: { image: number; caption: number; fused: number };
  demo: boolean;
  createdAt: Date;
}

export interface AddResult {
  ingested: number;
  updated: number;
  ids: string[];
  failed: { path: string; reason: string }[];
}

export interface Library {
  count(): Promise<number>;
  search(q: SearchQuery): Promise<SearchHit[]>;
  add(items: NewCreative[]): Promise<AddResult>;
  get(id: string): Promise<Creative | undefined>;
  /** For each image embedding, the highest cosine similarity to any library image (novelty = 1 − this). */
  maxSimilarity(imageEmbeddings: Float32Array[]): Promise<number[]>;
  close(): Promise<void>;
}
