/**
 * `npm run bench -- library [--rows 100000,1000000] [--queries 100] [--variants structured,isotropic] [--quick]`
 *
 * Loads seeded 512-d vectors into LanceDB through the library's own vector code (src/library/ann.ts,
 * vector-table.ts) and measures: add throughput; search latency p50/p95 and recall@10 against exact
 * results, flat and indexed (IVF_PQ with the settings the library picks from its row count), with
 * and without a brand filter (with and without the brand bitmap index); an nprobes/refine sweep;
 * and the peer: exact brute-force search over the same vectors in plain TypeScript, in this run.
 *
 * Data: 1,000 cluster centres; each row = centre + noise in a random 16-d subspace of its cluster
 * (norm 0.55) + isotropic noise (norm 0.15), L2-normalised ("structured"); and the harder
 * "isotropic" variant, centre + isotropic noise of norm 0.6. Generated in chunks and written in
 * batches, so 1M rows need ~2 GB for the peer's copy of the vectors and nothing more.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AnnSettings } from '../src/library/ann.ts';
import type { VectorTable as VectorTableType } from '../src/library/vector-table.ts';

// LanceDB reads LANCEDB_LOG when it loads: set it first, then load the library's vector code.
process.env.LANCEDB_LOG ??= 'error';
const { annSettingsFor } = await import('../src/library/ann.ts');
const { VectorTable } = (await import('../src/library/vector-table.ts')) as { VectorTable: typeof VectorTableType };

const K = 10;
const CLUSTERS = 1000;
const SUBSPACE = 16;
const BRANDS = 10;
const CHUNK = 20_000;

type Variant = 'structured' | 'isotropic';

class Rng {
  private a: number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  gauss(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const th = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
}

interface Clusters {
  centres: Float32Array;
  bases: Float32Array; // CLUSTERS × SUBSPACE × dims, orthonormal rows per cluster
}

function makeClusters(dims: number, rng: Rng): Clusters {
  const centres = new Float32Array(CLUSTERS * dims);
  const bases = new Float32Array(CLUSTERS * SUBSPACE * dims);
  for (let c = 0; c < CLUSTERS; c++) {
    const centre = centres.subarray(c * dims, (c + 1) * dims);
    let n = 0;
    for (let i = 0; i < dims; i++) {
      centre[i] = rng.gauss();
      n += centre[i] * centre[i];
    }
    n = Math.sqrt(n);
    for (let i = 0; i < dims; i++) centre[i] /= n;
    for (let j = 0; j < SUBSPACE; j++) {
      const b = bases.subarray((c * SUBSPACE + j) * dims, (c * SUBSPACE + j + 1) * dims);
      for (let i = 0; i < dims; i++) b[i] = rng.gauss();
      for (let p = 0; p < j; p++) {
        const prev = bases.subarray((c * SUBSPACE + p) * dims, (c * SUBSPACE + p + 1) * dims);
        let d = 0;
        for (let i = 0; i < dims; i++) d += b[i] * prev[i];
        for (let i = 0; i < dims; i++) b[i] -= d * prev[i];
      }
      let bn = 0;
      for (let i = 0; i < dims; i++) bn += b[i] * b[i];
      bn = Math.sqrt(bn);
      for (let i = 0; i < dims; i++) b[i] /= bn;
    }
  }
  return { centres, bases };
}

/** Writes `count` rows into `out` (row-major) and their brand indexes into `brands`. */
function generate(variant: Variant, cl: Clusters, dims: number, rng: Rng, count: number, out: Float32Array, brands?: Uint8Array): void {
  const z = new Float64Array(SUBSPACE);
  const g = new Float64Array(dims);
  for (let r = 0; r < count; r++) {
    const c = Math.floor(rng.next() * CLUSTERS);
    const v = out.subarray(r * dims, (r + 1) * dims);
    const centre = cl.centres.subarray(c * dims, (c + 1) * dims);
    let gn = 0;
    for (let i = 0; i < dims; i++) {
      g[i] = rng.gauss();
      gn += g[i] * g[i];
    }
    gn = Math.sqrt(gn);
    if (variant === 'isotropic') {
      const s = 0.6 / gn;
      for (let i = 0; i < dims; i++) v[i] = centre[i] + s * g[i];
    } else {
      let zn = 0;
      for (let j = 0; j < SUBSPACE; j++) {
        z[j] = rng.gauss();
        zn += z[j] * z[j];
      }
      const zs = 0.55 / Math.sqrt(zn);
      const gs = 0.15 / gn;
      for (let i = 0; i < dims; i++) v[i] = centre[i] + gs * g[i];
      for (let j = 0; j < SUBSPACE; j++) {
        const b = cl.bases.subarray((c * SUBSPACE + j) * dims, (c * SUBSPACE + j + 1) * dims);
        const w = z[j] * zs;
        for (let i = 0; i < dims; i++) v[i] += w * b[i];
      }
    }
    let n = 0;
    for (let i = 0; i < dims; i++) n += v[i] * v[i];
    n = Math.sqrt(n);
    for (let i = 0; i < dims; i++) v[i] /= n;
    if (brands) brands[r] = Math.floor(rng.next() * BRANDS);
  }
}

/** The peer: exact top-k by dot product (= cosine on unit vectors), as fast as plain TypeScript goes. */
function bruteForce(
  chunks: Float32Array[],
  brandChunks: Uint8Array[],
  dims: number,
  q: Float32Array,
  k: number,
  brand?: number,
  scores?: number[],
): number[] {
  const topS = new Float64Array(k).fill(Number.NEGATIVE_INFINITY);
  const topI = new Int32Array(k).fill(-1);
  let base = 0;
  for (let ch = 0; ch < chunks.length; ch++) {
    const data = chunks[ch];
    const br = brandChunks[ch];
    const rows = br.length;
    for (let r = 0; r < rows; r++) {
      if (brand !== undefined && br[r] !== brand) continue;
      let o = r * dims;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < dims; i += 4, o += 4) {
        s0 += data[o] * q[i];
        s1 += data[o + 1] * q[i + 1];
        s2 += data[o + 2] * q[i + 2];
        s3 += data[o + 3] * q[i + 3];
      }
      const s = s0 + s1 + s2 + s3;
      if (s <= topS[k - 1]) continue;
      let j = k - 1;
      while (j > 0 && topS[j - 1] < s) {
        topS[j] = topS[j - 1];
        topI[j] = topI[j - 1];
        j--;
      }
      topS[j] = s;
      topI[j] = base + r;
    }
    base += rows;
  }
  if (scores) scores.push(topS[k - 1]);
  return Array.from(topI).filter((i) => i >= 0);
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

interface ModeResult {
  queries: number;
  /** Mean rows returned per query (k unless fewer rows match). */
  returned: number;
  p50Ms: number;
  p95Ms: number;
  recallAt10: number;
}

function summarise(lat: number[], recalls: number[], returned = K): ModeResult {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    queries: lat.length,
    returned: r(returned),
    p50Ms: r(pct(lat, 0.5)),
    p95Ms: r(pct(lat, 0.95)),
    recallAt10: r(recalls.reduce((a, b) => a + b, 0) / Math.max(1, recalls.length)),
  };
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/**
 * Times `run` over every query after a warm-up: `warmup` queries, or with `'pass'` one whole pass
 * over the set whose latencies are kept as `firstPass`. Right after an index build the first pass
 * reads the index and the refine step's full vectors from disk; a bot serving briefs runs warm.
 */
async function measure(
  queries: Float32Array[],
  truth: number[][],
  run: (q: Float32Array, i: number) => Promise<string[]>,
  warmup: number | 'pass' = 3,
): Promise<ModeResult & { firstPass?: { p50Ms: number; p95Ms: number } }> {
  let firstPass: { p50Ms: number; p95Ms: number } | undefined;
  if (warmup === 'pass') {
    const cold: number[] = [];
    for (let i = 0; i < queries.length; i++) {
      const t0 = process.hrtime.bigint();
      await run(queries[i], i);
      cold.push(ms(t0));
    }
    const r = (x: number) => Math.round(x * 1000) / 1000;
    firstPass = { p50Ms: r(pct(cold, 0.5)), p95Ms: r(pct(cold, 0.95)) };
  } else {
    for (let i = 0; i < Math.min(warmup, queries.length); i++) await run(queries[i], i);
  }
  const lat: number[] = [];
  const rec: number[] = [];
  let got = 0;
  for (let i = 0; i < queries.length; i++) {
    const t0 = process.hrtime.bigint();
    const ids = await run(queries[i], i);
    lat.push(ms(t0));
    got += ids.length;
    const want = new Set(truth[i].map((x) => `r${x}`));
    rec.push(ids.slice(0, K).filter((id) => want.has(id)).length / Math.max(1, Math.min(K, truth[i].length)));
  }
  const out = summarise(lat, rec, got / Math.max(1, queries.length));
  return firstPass ? { ...out, firstPass } : out;
}

interface SizeResult {
  rows: number;
  variant: Variant;
  generateSeconds: number;
  add: { rowsPerSecond: number; seconds: number; batchRows: number };
  ann: AnnSettings;
  indexBuildSeconds: { ivfPq: number; brandBitmap: number };
  peer: ModeResult;
  peerFiltered: ModeResult;
  flat: ModeResult;
  flatFiltered: ModeResult;
  indexed: ModeResult & { firstPass?: { p50Ms: number; p95Ms: number } };
  indexedFilteredNoScalarIndex: ModeResult & { firstPass?: { p50Ms: number; p95Ms: number } };
  indexedFiltered: ModeResult & { firstPass?: { p50Ms: number; p95Ms: number } };
  sweep: (ModeResult & { nprobes: number; refineFactor: number })[];
  /** The same sweep with the brand filter (bitmap index present). */
  sweepFiltered: (ModeResult & { nprobes: number; refineFactor: number })[];
  /**
   * Mean cosine of the exact 10th neighbour. Near 0 means the 10th neighbour is outside the query's
   * cluster, a near-tie with thousands of rows that no ANN index recovers (small tables, filters).
   */
  tenthNeighbourCosine: { unfiltered: number; brandFiltered: number };
  ratios: {
    peerP50OverIndexedP50: number;
    peerP95OverIndexedP95: number;
    peerFilteredP50OverIndexedFilteredP50: number;
    flatP50OverIndexedP50: number;
  };
  targets: { unfilteredP95Le10msRecallGe095: boolean; filteredP95Le15msRecallGe095: boolean; atLeast20xPeer: boolean };
}

async function runSize(
  rows: number,
  variant: Variant,
  opts: {
    dims: number;
    queries: number;
    flatQueries: number;
    seed: number;
    dir: string;
    sweep: boolean;
    log: (s: string) => void;
    /** Tuning runs only: settings other than the library's own. */
    override?: Partial<AnnSettings>;
  },
): Promise<SizeResult> {
  const { dims, log } = opts;
  const rng = new Rng(opts.seed);
  const cl = makeClusters(dims, rng);
  const table = await VectorTable.create(opts.dir, `bench_${variant}_${rows}`, dims);
  const chunks: Float32Array[] = [];
  const brandChunks: Uint8Array[] = [];
  let genMs = 0;
  let addMs = 0;
  for (let start = 0; start < rows; start += CHUNK) {
    const n = Math.min(CHUNK, rows - start);
    const t0 = process.hrtime.bigint();
    const v = new Float32Array(n * dims);
    const b = new Uint8Array(n);
    generate(variant, cl, dims, rng, n, v, b);
    genMs += ms(t0);
    chunks.push(v);
    brandChunks.push(b);
    const ids = Array.from({ length: n }, (_, i) => `r${start + i}`);
    const t1 = process.hrtime.bigint();
    await table.add({ ids, brands: Array.from(b, (x) => `brand${x}`), vectors: v });
    addMs += ms(t1);
    if ((start / CHUNK) % 10 === 0) log(`  ${variant} ${rows}: wrote ${start + n} rows`);
  }
  const qrng = new Rng(opts.seed ^ 0x9e3779b9);
  const qflat = new Float32Array(opts.queries * dims);
  generate(variant, cl, dims, qrng, opts.queries, qflat);
  const queries = Array.from({ length: opts.queries }, (_, i) => qflat.subarray(i * dims, (i + 1) * dims));
  const qBrands = queries.map(() => Math.floor(qrng.next() * BRANDS));

  log(`  ${variant} ${rows}: exact peer`);
  const truth: number[][] = [];
  const truthF: number[][] = [];
  const kth: number[] = [];
  const kthF: number[] = [];
  const peerLat: number[] = [];
  const peerLatF: number[] = [];
  for (let i = 0; i < queries.length; i++) {
    let t0 = process.hrtime.bigint();
    truth.push(bruteForce(chunks, brandChunks, dims, queries[i], K, undefined, kth));
    peerLat.push(ms(t0));
    t0 = process.hrtime.bigint();
    truthF.push(bruteForce(chunks, brandChunks, dims, queries[i], K, qBrands[i], kthF));
    peerLatF.push(ms(t0));
  }
  const ones = queries.map(() => 1);
  const peer = summarise(peerLat, ones);
  const peerFiltered = summarise(peerLatF, ones);

  log(`  ${variant} ${rows}: flat search (${opts.flatQueries} queries)`);
  const fq = queries.slice(0, opts.flatQueries);
  const flat = await measure(fq, truth, (q) => table.search(q, K), 1);
  const flatFiltered = await measure(fq, truthF, (q, i) => table.search(q, K, { brand: `brand${qBrands[i]}` }), 1);

  const ann = { ...annSettingsFor(rows, dims), ...opts.override };
  log(`  ${variant} ${rows}: building IVF_PQ (${ann.partitions} partitions, ${ann.subVectors} sub-vectors)`);
  let t0 = process.hrtime.bigint();
  await table.buildVectorIndex(ann);
  const ivfSeconds = ms(t0) / 1000;
  const indexed = await measure(queries, truth, (q) => table.search(q, K, { ann }), 'pass');
  const indexedFilteredNoScalarIndex = await measure(
    queries,
    truthF,
    (q, i) => table.search(q, K, { ann, brand: `brand${qBrands[i]}` }),
    'pass',
  );
  t0 = process.hrtime.bigint();
  await table.buildBrandIndex();
  const bitmapSeconds = ms(t0) / 1000;
  const indexedFiltered = await measure(queries, truthF, (q, i) => table.search(q, K, { ann, brand: `brand${qBrands[i]}` }), 'pass');

  const sweep: SizeResult['sweep'] = [];
  const sweepFiltered: SizeResult['sweepFiltered'] = [];
  if (opts.sweep) {
    log(`  ${variant} ${rows}: nprobes / refine sweep`);
    for (const nprobes of [5, 10, 20, 40]) {
      for (const refineFactor of [5, 20, 50]) {
        const s = { ...ann, nprobes, refineFactor };
        sweep.push({ nprobes, refineFactor, ...(await measure(queries, truth, (q) => table.search(q, K, { ann: s }), 2)) });
      }
    }
    for (const nprobes of [10, 20, 40, 80]) {
      for (const refineFactor of [20, 50]) {
        const s = { ...ann, nprobes, refineFactor };
        const run = (q: Float32Array, i: number) => table.search(q, K, { ann: s, brand: `brand${qBrands[i]}` });
        sweepFiltered.push({ nprobes, refineFactor, ...(await measure(queries, truthF, run, 2)) });
      }
    }
  }
  await table.close();
  rmSync(join(opts.dir, `bench_${variant}_${rows}.lance`), { recursive: true, force: true });

  const r2 = (x: number) => Math.round(x * 10) / 10;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    rows,
    variant,
    generateSeconds: r2(genMs / 1000),
    add: { rowsPerSecond: Math.round(rows / (addMs / 1000)), seconds: r2(addMs / 1000), batchRows: CHUNK },
    ann,
    indexBuildSeconds: { ivfPq: r2(ivfSeconds), brandBitmap: r2(bitmapSeconds) },
    peer,
    peerFiltered,
    flat,
    flatFiltered,
    indexed,
    indexedFilteredNoScalarIndex,
    indexedFiltered,
    sweep,
    sweepFiltered,
    tenthNeighbourCosine: { unfiltered: r3(mean(kth)), brandFiltered: r3(mean(kthF)) },
    ratios: {
      peerP50OverIndexedP50: r2(peer.p50Ms / indexed.p50Ms),
      peerP95OverIndexedP95: r2(peer.p95Ms / indexed.p95Ms),
      peerFilteredP50OverIndexedFilteredP50: r2(peerFiltered.p50Ms / indexedFiltered.p50Ms),
      flatP50OverIndexedP50: r2(flat.p50Ms / indexed.p50Ms),
    },
    targets: {
      unfilteredP95Le10msRecallGe095: indexed.p95Ms <= 10 && indexed.recallAt10 >= 0.95,
      filteredP95Le15msRecallGe095: indexedFiltered.p95Ms <= 15 && indexedFiltered.recallAt10 >= 0.95,
      atLeast20xPeer: peer.p50Ms / indexed.p50Ms >= 20,
    },
  };
}

const sweepLine = (s: ModeResult & { nprobes: number; refineFactor: number }) =>
  `      nprobes ${String(s.nprobes).padStart(3)} refine ${String(s.refineFactor).padStart(3)}: p50 ${s.p50Ms.toFixed(2)} ms p95 ${s.p95Ms.toFixed(2)} ms recall@10 ${s.recallAt10.toFixed(3)}`;

function line(r: SizeResult): string {
  const m = (name: string, x: ModeResult & { firstPass?: { p50Ms: number; p95Ms: number } }) =>
    `    ${name.padEnd(34)} p50 ${x.p50Ms.toFixed(2).padStart(8)} ms  p95 ${x.p95Ms.toFixed(2).padStart(8)} ms  recall@10 ${x.recallAt10.toFixed(3)}  (${x.queries} q, ${x.returned} rows)${x.firstPass ? `; first pass p50 ${x.firstPass.p50Ms.toFixed(2)} p95 ${x.firstPass.p95Ms.toFixed(2)} ms` : ''}`;
  return [
    `  ${r.variant} × ${r.rows.toLocaleString('en')} rows: add ${r.add.rowsPerSecond.toLocaleString('en')} rows/s; IVF_PQ ${r.ann.partitions}p/${r.ann.subVectors}sv nprobes ${r.ann.nprobes} refine ${r.ann.refineFactor} built in ${r.indexBuildSeconds.ivfPq}s`,
    m('peer: brute force (TypeScript)', r.peer),
    m('peer: brute force, brand filter', r.peerFiltered),
    m('LanceDB flat', r.flat),
    m('LanceDB flat, brand filter', r.flatFiltered),
    m('LanceDB IVF_PQ', r.indexed),
    m('IVF_PQ, brand filter, no bitmap', r.indexedFilteredNoScalarIndex),
    m('IVF_PQ, brand filter + bitmap', r.indexedFiltered),
    `    exact 10th neighbour cosine: ${r.tenthNeighbourCosine.unfiltered} unfiltered, ${r.tenthNeighbourCosine.brandFiltered} brand-filtered`,
    `    ratios: peer/indexed p50 ${r.ratios.peerP50OverIndexedP50}×, p95 ${r.ratios.peerP95OverIndexedP95}×; filtered ${r.ratios.peerFilteredP50OverIndexedFilteredP50}×; flat/indexed ${r.ratios.flatP50OverIndexedP50}×`,
    `    targets: unfiltered ${r.targets.unfilteredP95Le10msRecallGe095 ? 'met' : 'MISSED'}, filtered ${r.targets.filteredP95Le15msRecallGe095 ? 'met' : 'MISSED'}, ≥20× peer ${r.targets.atLeast20xPeer ? 'met' : 'MISSED'}`,
    ...(r.sweep.length
      ? ['    sweep (unfiltered):', ...r.sweep.map(sweepLine), '    sweep (brand filter + bitmap):', ...r.sweepFiltered.map(sweepLine)]
      : []),
  ].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: 'string' },
      queries: { type: 'string' },
      'flat-queries': { type: 'string' },
      variants: { type: 'string' },
      dims: { type: 'string' },
      seed: { type: 'string' },
      quick: { type: 'boolean' },
      'no-sweep': { type: 'boolean' },
      out: { type: 'string' },
      dir: { type: 'string' },
      // Tuning: try index settings other than the ones the library picks (results say so).
      partitions: { type: 'string' },
      'sub-vectors': { type: 'string' },
      nprobes: { type: 'string' },
      refine: { type: 'string' },
    },
    strict: true,
  });
  const sizes = (values.rows ?? (values.quick ? '20000' : '100000,1000000')).split(',').map((s) => Number(s.replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 256)) throw new Error(`--rows must be integers ≥ 256; got ${values.rows}`);
  const variants = (values.variants ?? 'structured,isotropic').split(',') as Variant[];
  if (variants.some((v) => v !== 'structured' && v !== 'isotropic')) throw new Error('--variants takes structured and/or isotropic');
  const dims = Number(values.dims ?? 512);
  const queries = Number(values.queries ?? (values.quick ? 50 : 100));
  const seed = Number(values.seed ?? 42);
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'adc-bench-library-'));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const override: Partial<AnnSettings> = {};
  for (const [flag, key] of [
    ['partitions', 'partitions'],
    ['sub-vectors', 'subVectors'],
    ['nprobes', 'nprobes'],
    ['refine', 'refineFactor'],
  ] as const) {
    const v = values[flag];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} takes a positive integer; got ${v}`);
    override[key] = n;
  }
  const results: SizeResult[] = [];
  const started = Date.now();
  const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);
  try {
    for (const rows of sizes) {
      // Flat search at 1M rows takes seconds per query: a few queries suffice for its latency.
      const flatQueries = Number(values['flat-queries'] ?? (rows > 200_000 ? Math.min(10, queries) : queries));
      for (const variant of variants) {
        log(`library bench: ${variant}, ${rows} rows × ${dims}-d`);
        const r = await runSize(rows, variant, { dims, queries, flatQueries, seed, dir, sweep: !values['no-sweep'], log, override });
        results.push(r);
        log(line(r));
      }
    }
  } finally {
    if (!values.dir) rmSync(dir, { recursive: true, force: true });
  }
  const out = {
    bench: 'library',
    command: `npm run bench -- library ${argv.join(' ')}`.trim(),
    date: new Date().toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      // 1-, 5- and 15-minute load averages when the run started and ended: a busy machine slows every mode.
      loadAverage: { before: loadBefore, after: loadavg().map((x) => Math.round(x * 100) / 100) },
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    },
    settings: {
      dims,
      k: K,
      queries,
      clusters: CLUSTERS,
      subspace: SUBSPACE,
      brands: BRANDS,
      seed,
      variants,
      rows: sizes,
      lancedb: '0.37.1',
      // Empty: the library's own settings (annSettingsFor). Anything here is a tuning run.
      annOverride: override,
    },
    peer: 'exact brute-force top-10 over the same Float32Array vectors in-process, 4-way unrolled dot products, insertion top-k',
    results,
  };
  const file = values.out ?? join('bench', 'results', 'library.json');
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(
    `\nlibrary benchmark (${out.machine.cpu}, ${out.machine.cores} cores, node ${out.machine.node})\n${results.map(line).join('\n')}\nwrote ${file}\n`,
  );
}
