/**
 * Vector index settings and vector queries, shared by the library and its benchmark so the
 * benchmark measures exactly what the library runs.
 *
 * Flat (exact) search below `LIBRARY_INDEX_MIN_ROWS`; past it IVF_PQ with settings picked from the
 * row count (see `annSettingsFor`), always queried with a refine step that re-reads the full
 * vectors of the best candidates, so the distances of returned rows are exact.
 */
import { Index, type Table, type VectorQuery } from '@lancedb/lancedb';

export interface AnnSettings {
  partitions: number;
  subVectors: number;
  nprobes: number;
  refineFactor: number;
}

/** IVF_PQ needs at least this many rows to train its 256-centroid codebooks. */
export const ANN_MIN_ROWS = 256;

/**
 * Settings from the benchmark (bench/library.ts): ~√rows partitions (1,000 at 1M rows), 16-dim
 * PQ sub-vectors (32 for 512-d), enough probes to visit ~1 % of partitions (never fewer than 10),
 * and a refine factor of 20. At 1M structured rows (bench/results/library-1m.json) this gave p95
 * 8.6 ms at recall@10 0.982, 9.4 ms at 1.000 with a brand filter. Recall is bound by the refine
 * step's PQ shortlist, not by nprobes: refine 5 fell to 0.835. 64 sub-vectors helped only the
 * near-tie isotropic data, for +2 ms p95 and 1.8× the build time.
 */
export function annSettingsFor(rows: number, dims: number): AnnSettings {
  const partitions = Math.max(8, Math.min(4096, Math.round(Math.sqrt(Math.max(rows, 1)))));
  let subVectors = Math.max(1, Math.round(dims / 16));
  while (dims % subVectors !== 0) subVectors--;
  const nprobes = Math.min(partitions, Math.max(10, Math.ceil(partitions * 0.01)));
  return { partitions, subVectors, nprobes, refineFactor: 20 };
}

export async function buildVectorIndex(table: Table, column: string, settings: AnnSettings): Promise<void> {
  await table.createIndex(column, {
    config: Index.ivfPq({ numPartitions: settings.partitions, numSubVectors: settings.subVectors, distanceType: 'cosine' }),
    replace: true,
  });
}

export type ScalarKind = 'bitmap' | 'btree';

export async function buildScalarIndex(table: Table, column: string, kind: ScalarKind): Promise<void> {
  await table.createIndex(column, { config: kind === 'bitmap' ? Index.bitmap() : Index.btree(), replace: true });
}

/** Which columns carry a vector index, from the table's index list. */
export async function vectorIndexedColumns(table: Table): Promise<Set<string>> {
  const out = new Set<string>();
  for (const ix of await table.listIndices()) {
    if (/ivf|hnsw|pq/i.test(ix.indexType)) for (const c of ix.columns) out.add(c);
  }
  return out;
}

/**
 * A cosine vector query on `column`: exact (flat) when `ann` is undefined, else IVF_PQ with
 * nprobes and refinement. Filters are applied before the search (prefilter), so a filtered query
 * still returns `k` rows when `k` rows match.
 */
export function vectorQuery(
  table: Table,
  column: string,
  vector: Float32Array,
  opts: { k: number; where?: string; ann?: AnnSettings; select?: string[] },
): VectorQuery {
  let q = table.vectorSearch(vector).column(column).distanceType('cosine').limit(opts.k);
  if (opts.ann) q = q.nprobes(opts.ann.nprobes).refineFactor(opts.ann.refineFactor);
  else q = q.bypassVectorIndex();
  if (opts.where) q = q.where(opts.where);
  // Naming _distance keeps LanceDB from warning that it will stop adding it by itself.
  if (opts.select) q = q.select(opts.select.includes('_distance') ? opts.select : [...opts.select, '_distance']);
  return q;
}
