/**
 * Index and compaction upkeep, kept up by the library itself: the first ANN index once the table
 * passes its threshold, a rebuild once it has grown past the size the index was built for, and
 * compaction every few writes. An index build runs beside the write queue (minutes at a million
 * rows); compaction runs in it and never under a build.
 */
import type { Logger } from '../log.ts';
import { ANN_MIN_ROWS, annSettingsFor, buildScalarIndex, buildVectorIndex } from './ann.ts';
import type { LiveTable } from './live-table.ts';
import { markBuild, rewriteGeneration, rewriteRunning, rewriteRunningError } from './rewrite.ts';
import { IMAGE_VECTOR, META_INDEX_ROWS, TEXT_VECTOR } from './schema.ts';
import type { IndexReport } from './types.ts';

/** After an automatic index build fails, the next automatic try waits this long. */
const BUILD_RETRY_AFTER_MS = 10 * 60_000;

const SCALAR_INDEXES: [string, 'bitmap' | 'btree'][] = [
  ['brand', 'bitmap'],
  ['channel', 'bitmap'],
  ['format', 'bitmap'],
  ['demo', 'bitmap'],
  ['created_at', 'btree'],
  ['impressions', 'btree'],
  ['sha256', 'btree'],
  ['id', 'btree'],
];

export interface UpkeepSettings {
  indexMinRows: number;
  optimizeEvery: number;
  reindexGrowth: number;
}

export class Upkeep {
  /** The index build in flight, if any: it runs beside the write queue, not in it. */
  private indexing: Promise<IndexReport> | undefined;
  private writes = 0;
  private lastBuildFailedAt: number | undefined;

  constructor(
    private readonly live: LiveTable,
    private readonly settings: UpkeepSettings,
    private readonly logger: Logger,
  ) {}

  /** Whether an index build is running now (for `library stats` and health). */
  get building(): boolean {
    return this.indexing !== undefined;
  }

  /**
   * Upkeep after a write: the first ANN index past the threshold (built beside the queue, so
   * writes go on meanwhile), else periodic compaction, queued behind the write.
   */
  afterWrite(): void {
    const live = this.live;
    live.prior = undefined;
    this.writes++;
    const every = this.settings.optimizeEvery;
    void live.queue
      .run(async () => {
        if (!live.table || live.closed) return;
        if (this.indexing) return; // compaction rewrites fragments under a build: wait for the next write
        if (rewriteRunning(live.uri)) return; // the table is about to be replaced: upkeep after it
        if (await live.syncGeneration()) return; // it was just replaced: upkeep on the next write
        // Closing (a CLI that just ingested, a bot shutting down) starts no minutes-long build: the
        // ingest command builds a due index itself, the bot's next start does.
        if (!live.closing && (await this.indexDue())) {
          this.startIndexBuild(live.annIndexed).catch(() => undefined);
        } else if (every > 0 && this.writes % every === 0) {
          await this.optimizeNow();
        }
      })
      .catch((e) => this.logger.warn('library: upkeep after write failed', { error: e }));
  }

  /**
   * Whether an index build is due: the first one past `indexMinRows`, or a rebuild once the library
   * holds `reindexGrowth` × the rows the index was built for. Not within ten minutes of a failed
   * automatic build, so a failing build does not cost minutes of CPU after every write.
   */
  private async indexDue(): Promise<'first' | 'grown' | undefined> {
    const live = this.live;
    if (!live.table || this.indexing) return undefined;
    if (this.lastBuildFailedAt !== undefined && Date.now() - this.lastBuildFailedAt < BUILD_RETRY_AFTER_MS) return undefined;
    const rows = await live.table.countRows();
    if (!live.annIndexed && rows >= Math.max(this.settings.indexMinRows, ANN_MIN_ROWS)) {
      this.logger.info('library: row count passed LIBRARY_INDEX_MIN_ROWS, building indexes', { rows });
      return 'first';
    }
    if (live.annIndexed && live.indexRows && rows >= live.indexRows * this.settings.reindexGrowth) {
      this.logger.info('library: grown past the size its ANN index was built for, rebuilding', { rows, builtFor: live.indexRows });
      return 'grown';
    }
    return undefined;
  }

  /**
   * Builds the indexes now if they are due (see `indexDue`), after any build already running;
   * `ingest` calls this before it exits. Returns the last build's report, if one ran.
   */
  async indexIfDue(onBuild?: (why: 'running' | 'first' | 'grown') => void): Promise<IndexReport | undefined> {
    const live = this.live;
    if (live.closing) return undefined;
    await live.queue.drain(); // upkeep queued behind the last write may start a build
    let report: IndexReport | undefined;
    if (this.indexing) {
      onBuild?.('running');
      report = await this.indexing.catch(() => undefined);
    }
    const why = live.closing ? undefined : await this.indexDue(); // a build started mid-ingest may leave a rebuild due
    if (!why) return report;
    onBuild?.(why);
    return this.startIndexBuild(live.annIndexed);
  }

  async optimize(): Promise<void> {
    // Compaction must not run under an index build (Lance would refuse the build's commit); a build
    // may start from upkeep queued ahead of this, so check again inside the queue.
    for (;;) {
      await this.indexing?.catch(() => undefined);
      const done = await this.live.queue.run(async () => {
        if (this.indexing) return false;
        await this.optimizeNow();
        return true;
      });
      if (done) return;
    }
  }

  private async optimizeNow(): Promise<void> {
    if (!this.live.table) return;
    // Old versions are kept ten minutes for readers in other processes still on them.
    await this.live.table.optimize({ cleanupOlderThan: new Date(Date.now() - 10 * 60_000) });
  }

  /**
   * Builds the ANN and filter indexes. At a million rows the IVF_PQ build takes minutes, so it
   * runs beside the write queue: Lance commits an index build alongside appends, updates and
   * deletes made meanwhile (their rows stay searchable, unindexed, until the next compaction folds
   * them in). Only compaction conflicts with it, and compaction waits for it. One build at a time.
   */
  startIndexBuild(force: boolean): Promise<IndexReport> {
    const previous = this.indexing?.catch(() => undefined) ?? Promise.resolve();
    const run: Promise<IndexReport> = previous
      // A barrier: a compaction already queued or running finishes before the build starts (Lance
      // would refuse the build's commit after it); compactions queued later wait for the build.
      .then(() => this.live.queue.run(async () => undefined))
      .then(() => this.buildIndexNow(force))
      .then(
        (r) => {
          this.lastBuildFailedAt = undefined;
          return r;
        },
        (e) => {
          this.lastBuildFailedAt = Date.now();
          this.logger.warn('library: index build failed', { error: e });
          throw e;
        },
      )
      .finally(() => {
        if (this.indexing === run) this.indexing = undefined;
      });
    this.indexing = run;
    return run;
  }

  private async buildIndexNow(force: boolean): Promise<IndexReport> {
    const live = this.live;
    const t0 = Date.now();
    await live.syncGeneration();
    const table = live.table;
    const generation = live.generation;
    if (!table) return { rows: 0, vector: { built: false, reason: 'the library is empty' }, scalar: [], seconds: 0 };
    // Every step commits to this table: none may land on one a rewrite has replaced meanwhile.
    const replaced = () => rewriteRunning(live.uri) || rewriteGeneration(live.uri) !== generation;
    if (replaced()) throw rewriteRunningError();
    markBuild(live.uri, +1);
    try {
      const rows = await table.countRows();
      const report: IndexReport = { rows, vector: { built: false, reason: '' }, scalar: [], seconds: 0 };
      if (rows < ANN_MIN_ROWS) {
        report.vector.reason = `IVF_PQ needs at least ${ANN_MIN_ROWS} rows; search stays exact (flat) at ${rows}`;
      } else if (live.annIndexed && !force) {
        report.vector.reason = 'already indexed (use --force to rebuild)';
      } else {
        const s = annSettingsFor(rows, live.dims);
        await buildVectorIndex(table, IMAGE_VECTOR, s);
        await buildVectorIndex(table, TEXT_VECTOR, s);
        await live.queue.run(async () => {
          if (!replaced()) await table.updateFieldMetadata([{ path: IMAGE_VECTOR, metadata: { [META_INDEX_ROWS]: String(rows) } }]);
        });
        report.vector = { built: true, partitions: s.partitions, subVectors: s.subVectors, reason: `IVF_PQ for ${rows} rows` };
      }
      for (const [col, kind] of SCALAR_INDEXES) {
        await buildScalarIndex(table, col, kind);
        report.scalar.push(`${col} (${kind})`);
      }
      // Rows written during the build are folded into the new indexes by compaction, in the queue.
      await live.queue.run(async () => {
        if (!replaced()) await this.optimizeNow();
      });
      await live.refreshIndexState();
      report.seconds = (Date.now() - t0) / 1000;
      this.logger.info('library: indexes built', { ...report });
      return report;
    } finally {
      markBuild(live.uri, -1);
    }
  }

  /**
   * Waits for an index build in flight (LanceDB cannot cancel one, and leaving mid-build only
   * wastes it), until `deadline` (epoch ms) if one is given.
   */
  async waitForBuild(deadline: number | undefined, waitedMs: number | undefined): Promise<void> {
    if (!this.indexing) return;
    this.logger.info('library: waiting for the index build to finish before closing');
    const build = this.indexing.then(
      () => undefined,
      () => undefined,
    );
    if (deadline === undefined) return build;
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((r) => {
      timer = setTimeout(
        () => {
          this.logger.warn('library: closing with the index build unfinished', { waitedMs });
          r();
        },
        Math.max(0, deadline - Date.now()),
      );
    });
    await Promise.race([build, cut]);
    clearTimeout(timer);
  }
}
