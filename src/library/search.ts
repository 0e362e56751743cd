/**
 * Searching the library: the query embedding (text, image, vector, or their normalised sum), both
 * embedding columns queried, candidates fused with past performance (rank.ts), and the novelty
 * probe (the closest library image to each new one).
 */
import type { Encoder } from '../clip/types.ts';
import { l2normalize } from '../clip/types.ts';
import { InputError } from '../errors.ts';
import { vectorQuery } from './ann.ts';
import { type CtrPrior, estimatePrior } from './ctr.ts';
import { filtersToSql } from './filters.ts';
import { type LiveTable, requireEncoder } from './live-table.ts';
import { type FusionWeights, rankCandidates } from './rank.ts';
import { creativeFromRow, IMAGE_VECTOR, META_COLUMNS, type Row, type StoredCreative, TEXT_VECTOR } from './schema.ts';
import type { SearchHit, SearchQuery } from './types.ts';

export const SEARCH_COLUMNS = [...META_COLUMNS, 'thumbnail', IMAGE_VECTOR, TEXT_VECTOR];
const MAX_K = 200;
const MAX_FETCH = 2000;

export interface SearchSettings {
  weights: FusionWeights;
  ctrPriorStrength: number | 'auto';
  nearDuplicate: number;
}

/** The Beta prior behind smoothed CTRs, estimated from every row once and kept until the table changes. */
export async function ctrPrior(live: LiveTable, strength: number | 'auto'): Promise<CtrPrior> {
  if (live.prior) return live.prior;
  const rows: { clicks: number; impressions: number }[] = [];
  if (live.table) {
    const t = await live.table.query().select(['impressions', 'clicks']).toArrow();
    const imp = t.getChild('impressions')?.toArray() as ArrayLike<bigint | number> | undefined;
    const clk = t.getChild('clicks')?.toArray() as ArrayLike<bigint | number> | undefined;
    for (let i = 0; i < t.numRows; i++) rows.push({ impressions: Number(imp?.[i] ?? 0), clicks: Number(clk?.[i] ?? 0) });
  }
  live.prior = estimatePrior(rows, strength);
  return live.prior;
}

async function queryVector(q: SearchQuery, encoder: Encoder | undefined): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  if (q.vector) parts.push(l2normalize(Float32Array.from(q.vector)));
  if (q.text !== undefined) {
    if (q.text.trim() === '') throw new InputError('QUERY_EMPTY', 'the search text is empty');
    parts.push((await requireEncoder(encoder, 'searching by text').embedTexts([q.text]))[0]);
  }
  if (q.image) parts.push((await requireEncoder(encoder, 'searching by image').embedImages([q.image]))[0]);
  if (parts.length === 0) throw new InputError('QUERY_EMPTY', 'a search needs text, an image or a vector');
  if (parts.length === 1) return parts[0];
  const sum = new Float32Array(parts[0].length);
  for (const p of parts) for (let i = 0; i < sum.length; i++) sum[i] += p[i];
  return l2normalize(sum);
}

export async function searchTable(
  live: LiveTable,
  q: SearchQuery,
  encoder: Encoder | undefined,
  settings: SearchSettings,
): Promise<SearchHit[]> {
  const k = Math.max(1, Math.min(MAX_K, Math.floor(q.k ?? 10)));
  const vector = await queryVector(q, encoder);
  if (!live.table) return [];
  if (live.dims && vector.length !== live.dims) {
    throw new InputError('QUERY_DIMS', `the query vector has ${vector.length} dimensions; the library's embeddings have ${live.dims}`);
  }
  const where = filtersToSql(q.filters);
  const prior = await ctrPrior(live, settings.ctrPriorStrength);
  // Over-fetch from both embeddings: fusion and near-duplicate collapsing need spare candidates.
  // If collapsing left fewer than k while more rows exist, fetch wider.
  let hits: SearchHit[] = [];
  for (let fetch = Math.min(MAX_FETCH, Math.max(20, k * 4)); ; fetch = Math.min(MAX_FETCH, fetch * 4)) {
    const [byImage, byCaption] = await Promise.all(
      [IMAGE_VECTOR, TEXT_VECTOR].map((col) =>
        vectorQuery(live.table!, col, vector, { k: fetch, where, ann: live.ann, select: SEARCH_COLUMNS }).toArray(),
      ),
    );
    const seen = new Map<string, StoredCreative>();
    for (const r of [...byImage, ...byCaption]) {
      const c = creativeFromRow(r as Row);
      if (!seen.has(c.id)) seen.set(c.id, c);
    }
    hits = rankCandidates([...seen.values()], vector, {
      k,
      weights: settings.weights,
      prior,
      nearDuplicate: settings.nearDuplicate,
    });
    const exhausted = byImage.length < fetch && byCaption.length < fetch;
    if (hits.length >= k || exhausted || fetch >= MAX_FETCH) return hits;
  }
}

/** For each image embedding, the highest cosine similarity to any library image. */
export async function maxImageSimilarity(live: LiveTable, imageEmbeddings: Float32Array[]): Promise<number[]> {
  const table = live.table;
  if (!table) return imageEmbeddings.map(() => 0);
  return Promise.all(
    imageEmbeddings.map(async (v) => {
      const rows = await vectorQuery(table, IMAGE_VECTOR, l2normalize(Float32Array.from(v)), {
        k: 1,
        ann: live.ann,
        select: ['id'],
      }).toArray();
      return rows.length ? 1 - Number((rows[0] as Row)._distance) : 0;
    }),
  );
}
