/**
 * The creative library on LanceDB: one connection and one table handle per opened library
 * (live-table.ts, which follows rewrites), every write through one queue, batched; adding
 * (add.ts), search that fuses cross-modal (brief → image) and caption similarity with past
 * performance (search.ts), and indexes and compaction kept up by the library itself (upkeep.ts).
 */
import type { Encoder } from '../clip/types.ts';
import type { ImageLimits } from '../image/thumbnail.ts';
import { type Logger, silentLogger } from '../log.ts';
import { addOnce, chunks, IN_CHUNK, stripUndefined } from './add.ts';
import { filtersToSql } from './filters.ts';
import { LiveTable, retryReplaced } from './live-table.ts';
import type { FusionWeights } from './rank.ts';
import { creativeFromRow, type Row, rowFromCreative, sqlString } from './schema.ts';
import { maxImageSimilarity, SEARCH_COLUMNS, searchTable } from './search.ts';
import { tableStats } from './stats.ts';
import type {
  AddResult,
  Creative,
  CreativeRef,
  IndexReport,
  Library,
  LibraryStats,
  MetricsUpdate,
  NewCreative,
  ScanOptions,
  SearchFilters,
  SearchHit,
  SearchQuery,
} from './types.ts';
import { Upkeep } from './upkeep.ts';

export { idForSha, sha256Hex } from './add.ts';

export interface LibrarySettings {
  indexMinRows: number;
  weights: FusionWeights;
  ctrPriorStrength: number | 'auto';
  nearDuplicate: number;
  optimizeEvery: number;
  imageLimits: ImageLimits;
  /**
   * Rebuild the ANN index once the library holds this many times the rows its settings were
   * picked for (partitions grow with √rows, so 4× rows wants 2× partitions).
   */
  reindexGrowth: number;
}

export const DEFAULT_LIBRARY_SETTINGS: LibrarySettings = {
  indexMinRows: 20000,
  weights: { image: 0.6, caption: 0.4, ctr: 0.05 },
  ctrPriorStrength: 'auto',
  nearDuplicate: 0.985,
  optimizeEvery: 20,
  imageLimits: { maxBytes: 26214400, maxPixels: 40000000 },
  reindexGrowth: 4,
};

export interface OpenOptions {
  uri: string;
  /** Needed to add and to search by text or image; read-only commands may leave it out. */
  encoder?: Encoder;
  logger?: Logger;
  settings?: Partial<LibrarySettings>;
  /** Skip the model check (re-embedding reads a library made with another model). */
  allowModelMismatch?: boolean;
  /** LanceDB storage options (object-storage endpoint, credentials…); unset: from the process configuration. */
  storageOptions?: Record<string, string>;
}

export class LanceLibrary implements Library {
  private readonly upkeep: Upkeep;

  private constructor(
    private readonly live: LiveTable,
    private readonly encoder: Encoder | undefined,
    private readonly logger: Logger,
    private readonly settings: LibrarySettings,
  ) {
    this.upkeep = new Upkeep(live, settings, logger);
  }

  static async open(opts: OpenOptions): Promise<LanceLibrary> {
    const logger = opts.logger ?? silentLogger;
    const settings = { ...DEFAULT_LIBRARY_SETTINGS, ...opts.settings };
    const live = await LiveTable.open({ ...opts, logger });
    return new LanceLibrary(live, opts.encoder, logger, settings);
  }

  get uri(): string {
    return this.live.uri;
  }

  /** `textModel`: the captions' text encoder where it is not `model`'s own text tower (CLIP_TEXT_MODEL_DIR). */
  info(): { uri: string; model: string; dims: number; textModel?: string } {
    const { uri, model, dims, textModel } = this.live;
    return { uri, model, dims, ...(textModel && textModel !== model && textModel !== '(unknown)' ? { textModel } : {}) };
  }

  async count(filters?: SearchFilters): Promise<number> {
    this.live.assertOpen();
    await this.live.syncGeneration();
    return this.live.table ? this.live.table.countRows(filtersToSql(filters)) : 0;
  }

  async get(id: string): Promise<Creative | undefined> {
    this.live.assertOpen();
    await this.live.syncGeneration();
    if (!this.live.table) return undefined;
    const rows = await this.live.table
      .query()
      .where(`id = ${sqlString(id)}`)
      .limit(1)
      .toArray();
    return rows.length ? creativeFromRow(rows[0] as Row) : undefined;
  }

  async add(items: NewCreative[]): Promise<AddResult> {
    // The table was rewritten while this add ran: what it read before (existing rows and their
    // embeddings) is stale. Again from the start, against the new table.
    return retryReplaced(() =>
      addOnce(this.live, items, {
        encoder: this.encoder,
        imageLimits: this.settings.imageLimits,
        logger: this.logger,
        afterWrite: () => this.upkeep.afterWrite(),
      }),
    );
  }

  async search(q: SearchQuery): Promise<SearchHit[]> {
    this.live.assertOpen();
    await this.live.syncGeneration();
    return searchTable(this.live, q, this.encoder, this.settings);
  }

  async maxSimilarity(imageEmbeddings: Float32Array[]): Promise<number[]> {
    this.live.assertOpen();
    await this.live.syncGeneration();
    return maxImageSimilarity(this.live, imageEmbeddings);
  }

  async stats(): Promise<LibraryStats> {
    this.live.assertOpen();
    await this.live.syncGeneration();
    return tableStats(this.live, { ctrPriorStrength: this.settings.ctrPriorStrength, building: this.upkeep.building });
  }

  async remove(ids: string[]): Promise<{ removed: string[]; missing: string[] }> {
    const live = this.live;
    live.assertOpen();
    await live.syncGeneration();
    const wanted = [...new Set(ids)];
    if (!live.table || wanted.length === 0) return { removed: [], missing: wanted };
    const found = new Set<string>();
    for (const part of chunks(wanted, IN_CHUNK)) {
      const rows = await live.table
        .query()
        .where(`id IN (${part.map(sqlString).join(', ')})`)
        .select(['id'])
        .toArray();
      for (const r of rows) found.add(String((r as Row).id));
    }
    const removed = wanted.filter((id) => found.has(id));
    if (removed.length) {
      await live.queue.run(async () => {
        await live.waitForRewrite();
        for (const part of chunks(removed, IN_CHUNK)) await live.table!.delete(`id IN (${part.map(sqlString).join(', ')})`);
      });
      this.upkeep.afterWrite();
    }
    return { removed, missing: wanted.filter((id) => !found.has(id)) };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<Creative> {
    this.live.assertOpen();
    await this.live.syncGeneration();
    if (!this.live.table) return;
    const where = filtersToSql(opts.filters);
    const columns = opts.images === false ? SEARCH_COLUMNS : [...SEARCH_COLUMNS, 'image'];
    let q = this.live.table.query().select(columns);
    if (where) q = q.where(where);
    for await (const batch of q) {
      for (let i = 0; i < batch.numRows; i++) {
        const row = batch.get(i);
        if (row) yield creativeFromRow(row.toJSON() as Row);
      }
    }
  }

  async refs(): Promise<CreativeRef[]> {
    this.live.assertOpen();
    await this.live.syncGeneration();
    if (!this.live.table) return [];
    const rows = await this.live.table.query().select(['id', 'sha256', 'file_name']).toArray();
    return rows.map((r) => {
      const row = r as Row;
      return { id: String(row.id), sha256: String(row.sha256), fileName: String(row.file_name ?? '') };
    });
  }

  async updateMetrics(updates: MetricsUpdate[]): Promise<number> {
    // Rows read before a rewrite replaced the table would write old embeddings back: read again.
    return retryReplaced(() => this.updateMetricsOnce(updates));
  }

  private async updateMetricsOnce(updates: MetricsUpdate[]): Promise<number> {
    const live = this.live;
    live.assertOpen();
    await live.syncGeneration();
    const generation = live.generation;
    if (!live.table || updates.length === 0) return 0;
    const byId = new Map<string, MetricsUpdate>();
    for (const u of updates) byId.set(u.id, { ...byId.get(u.id), ...stripUndefined(u), id: u.id });
    let changed = 0;
    for (const part of chunks([...byId.keys()], 200)) {
      // Whole rows go back in one merge: one version per chunk instead of one per creative.
      const rows = await live.table
        .query()
        .where(`id IN (${part.map(sqlString).join(', ')})`)
        .toArray();
      const out = rows.map((r) => {
        const c = creativeFromRow(r as Row);
        const u = byId.get(c.id)!;
        return rowFromCreative({
          ...c,
          impressions: u.impressions ?? c.impressions,
          clicks: u.clicks ?? c.clicks,
          conversions: u.conversions ?? c.conversions,
        });
      });
      if (out.length === 0) continue;
      await live.queue.run(async () => {
        await live.assertSameTable(generation);
        await live.table!.mergeInsert('id').whenMatchedUpdateAll().execute(out);
      });
      changed += out.length;
    }
    if (changed) this.upkeep.afterWrite();
    return changed;
  }

  /**
   * Builds the indexes now if they are due, after any build already running; `ingest` calls this
   * before it exits. Returns the last build's report, if one ran.
   */
  async indexIfDue(onBuild?: (why: 'running' | 'first' | 'grown') => void): Promise<IndexReport | undefined> {
    this.live.assertOpen();
    return this.upkeep.indexIfDue(onBuild);
  }

  async optimize(): Promise<void> {
    this.live.assertOpen();
    return this.upkeep.optimize();
  }

  /**
   * Builds the ANN and filter indexes beside the write queue (see Upkeep.startIndexBuild). One
   * build at a time.
   */
  async buildIndex(opts: { force?: boolean } = {}): Promise<IndexReport> {
    this.live.assertOpen();
    return this.upkeep.startIndexBuild(opts.force ?? false);
  }

  /** Whether an index build is running now (for `library stats` and health). */
  get indexBuilding(): boolean {
    return this.upkeep.building;
  }

  /**
   * Waits for queued writes and for an index build in flight: LanceDB cannot cancel one, and leaving
   * mid-build only wastes it. `indexWaitMs` bounds that wait (a bot shutting down within its grace
   * time); a build cut short commits nothing, and the next start builds again.
   */
  async close(opts: { indexWaitMs?: number } = {}): Promise<void> {
    if (this.live.closed) return;
    this.live.closing = true; // no new index builds from upkeep still queued
    // One deadline for both waits below, so the bound is the whole wait, not each part of it.
    const deadline = opts.indexWaitMs === undefined ? undefined : Date.now() + opts.indexWaitMs;
    await this.upkeep.waitForBuild(deadline, opts.indexWaitMs);
    await this.live.queue.drain();
    await this.upkeep.waitForBuild(deadline, opts.indexWaitMs);
    this.live.close();
  }
}
