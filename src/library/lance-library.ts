/**
 * The creative library on LanceDB: one connection and one table handle per opened library,
 * every write through one queue, batched; search fuses cross-modal (brief → image) and caption
 * similarity with past performance; indexes and compaction are kept up by the library itself.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as lancedb from '@lancedb/lancedb';
import type { Encoder } from '../clip/types.ts';
import { l2normalize } from '../clip/types.ts';
import { describeError, InputError, LibraryError } from '../errors.ts';
import { type ImageLimits, makeThumbnail } from '../image/thumbnail.ts';
import { type Logger, silentLogger } from '../log.ts';
import {
  ANN_MIN_ROWS,
  type AnnSettings,
  annSettingsFor,
  buildScalarIndex,
  buildVectorIndex,
  vectorIndexedColumns,
  vectorQuery,
} from './ann.ts';
import { connectLance } from './connect.ts';
import { type CtrPrior, estimatePrior } from './ctr.ts';
import { filtersToSql } from './filters.ts';
import { WriteQueue } from './queue.ts';
import { type FusionWeights, rankCandidates } from './rank.ts';
import {
  interruptedRewriteError,
  interruptedRewrites,
  markBuild,
  rewriteGeneration,
  rewriteRunning,
  rewriteRunningError,
} from './rewrite.ts';
import {
  creativeFromRow,
  creativesSchema,
  IMAGE_VECTOR,
  META_COLUMNS,
  META_DIMS,
  META_INDEX_ROWS,
  META_MODEL,
  type Row,
  rowFromCreative,
  type StoredCreative,
  sqlString,
  TABLE,
  TEXT_VECTOR,
} from './schema.ts';
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

/** Thrown inside a queued write when a rewrite replaced the table after the write read from it. */
const TABLE_REPLACED = Symbol('table replaced');

/** How often a write waiting for a rewrite checks whether it is done. */
const REWRITE_POLL_MS = 250;
/** The longest a write waits for a rewrite (a re-embed of a large library takes longer: it fails, saying so). */
const REWRITE_WAIT_MS = 10 * 60_000;

/** After an automatic index build fails, the next automatic try waits this long. */
const BUILD_RETRY_AFTER_MS = 10 * 60_000;

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

const SEARCH_COLUMNS = [...META_COLUMNS, 'thumbnail', IMAGE_VECTOR, TEXT_VECTOR];
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
const MAX_K = 200;
const MAX_FETCH = 2000;
const IN_CHUNK = 500;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Library ids are the image's sha256 prefix: the same picture is the same creative. */
export function idForSha(sha: string): string {
  return sha.slice(0, 16);
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

function norm(v: string | undefined): string | undefined {
  return v === undefined ? undefined : v.trim().toLowerCase();
}

function countInto(m: Record<string, number>, k: string): void {
  m[k || '(none)'] = (m[k || '(none)'] ?? 0) + 1;
}

export class LanceLibrary implements Library {
  private readonly queue = new WriteQueue();
  private prior: CtrPrior | undefined;
  private annIndexed = false;
  private ann: AnnSettings | undefined;
  /** The index build in flight, if any: it runs beside the write queue, not in it. */
  private indexing: Promise<IndexReport> | undefined;
  /** Rows the ANN index's settings were picked for (undefined: no index, or built before this was kept). */
  private indexRows: number | undefined;
  /** The rewrite generation this handle's table belongs to (see syncGeneration). */
  private generation = '';
  private syncing: Promise<boolean> | undefined;
  private writes = 0;
  private closed = false;
  private closing = false;
  private lastBuildFailedAt: number | undefined;

  private constructor(
    readonly uri: string,
    private readonly db: lancedb.Connection,
    private table: lancedb.Table | undefined,
    private model: string,
    private dims: number,
    private readonly encoder: Encoder | undefined,
    private readonly logger: Logger,
    private readonly settings: LibrarySettings,
  ) {}

  static async open(opts: OpenOptions): Promise<LanceLibrary> {
    const logger = opts.logger ?? silentLogger;
    const settings = { ...DEFAULT_LIBRARY_SETTINGS, ...opts.settings };
    let db: lancedb.Connection;
    try {
      // Other processes (an `ingest` beside the running bot) write too: see their rows within seconds.
      db = await connectLance(opts.uri, { storageOptions: opts.storageOptions, readConsistencyInterval: 5 });
    } catch (e) {
      throw new LibraryError('LIBRARY_UNAVAILABLE', `cannot open the creative library at ${opts.uri}: ${describeError(e)}`, {
        cause: e,
        hint: 'check LANCEDB_URI',
      });
    }
    // Read before the table is opened: a rewrite finishing in between then shows as a change.
    const generation = rewriteGeneration(opts.uri);
    let table: lancedb.Table | undefined;
    let model = opts.encoder?.info().model ?? '';
    let dims = opts.encoder?.dims ?? 0;
    // A rewrite that crashed while copying back left the only whole copy in its staging table;
    // rows written to the half-copied live table now would be lost when it is restored.
    const stuck = await interruptedRewrites(db);
    if (stuck.length) {
      db.close();
      throw rewriteRunning(opts.uri) ? rewriteRunningError(stuck[0]) : interruptedRewriteError(stuck[0]);
    }
    const names = await db.tableNames();
    if (names.includes(TABLE)) {
      table = await db.openTable(TABLE);
      const meta = (await table.schema()).metadata;
      const storedModel = meta.get(META_MODEL) ?? '(unknown)';
      const storedDims = Number(meta.get(META_DIMS) ?? 0);
      if (opts.encoder && !opts.allowModelMismatch) {
        const info = opts.encoder.info();
        if (info.model !== storedModel || info.dims !== storedDims) {
          table.close();
          db.close();
          throw new LibraryError(
            'LIBRARY_MODEL_MISMATCH',
            `the creative library at ${opts.uri} was embedded with ${storedModel} (${storedDims}-d) but the encoder is ${info.model} (${info.dims}-d)`,
            { hint: 'run `adcreative library reembed` to re-embed it with the current model, or point CLIP_MODEL_DIR back at the old one' },
          );
        }
      }
      model = storedModel;
      dims = storedDims;
    }
    const lib = new LanceLibrary(opts.uri, db, table, model, dims, opts.encoder, logger, settings);
    lib.generation = generation;
    await lib.refreshIndexState();
    return lib;
  }

  info(): { uri: string; model: string; dims: number } {
    return { uri: this.uri, model: this.model, dims: this.dims };
  }

  private async refreshIndexState(): Promise<void> {
    if (!this.table) return;
    const cols = await vectorIndexedColumns(this.table);
    this.annIndexed = cols.has(IMAGE_VECTOR) && cols.has(TEXT_VECTOR);
    const field = (await this.table.schema()).fields.find((f) => f.name === IMAGE_VECTOR);
    const recorded = Number(field?.metadata.get(META_INDEX_ROWS) ?? Number.NaN);
    this.indexRows = this.annIndexed && Number.isFinite(recorded) && recorded > 0 ? recorded : undefined;
    // Query settings follow the index as built (its partition count), not today's row count.
    this.ann = this.annIndexed ? annSettingsFor(this.indexRows ?? (await this.table.countRows()), this.dims) : undefined;
  }

  private needEncoder(what: string): Encoder {
    if (!this.encoder)
      throw new LibraryError('LIBRARY_NO_ENCODER', `${what} needs the CLIP encoder, and this library was opened without one`);
    return this.encoder;
  }

  private assertOpen(): void {
    if (this.closed) throw new LibraryError('LIBRARY_CLOSED', 'the creative library was closed');
  }

  async count(filters?: SearchFilters): Promise<number> {
    this.assertOpen();
    await this.syncGeneration();
    return this.table ? this.table.countRows(filtersToSql(filters)) : 0;
  }

  async get(id: string): Promise<Creative | undefined> {
    this.assertOpen();
    await this.syncGeneration();
    if (!this.table) return undefined;
    const rows = await this.table
      .query()
      .where(`id = ${sqlString(id)}`)
      .limit(1)
      .toArray();
    return rows.length ? creativeFromRow(rows[0] as Row) : undefined;
  }

  private async bySha(shas: string[], columns: string[]): Promise<Map<string, StoredCreative>> {
    const out = new Map<string, StoredCreative>();
    if (!this.table || shas.length === 0) return out;
    for (const part of chunks(shas, IN_CHUNK)) {
      const rows = await this.table
        .query()
        .where(`sha256 IN (${part.map(sqlString).join(', ')})`)
        .select(columns)
        .toArray();
      for (const r of rows) {
        const c = creativeFromRow(r as Row);
        out.set(c.sha256, c);
      }
    }
    return out;
  }

  async add(items: NewCreative[]): Promise<AddResult> {
    // The table was rewritten while this add ran: what it read before (existing rows and their
    // embeddings) is stale. Again from the start, against the new table.
    return this.retryReplaced(() => this.addOnce(items));
  }

  private async retryReplaced<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await op();
      } catch (e) {
        if (e !== TABLE_REPLACED) throw e;
      }
    }
    throw new LibraryError('LIBRARY_REWRITE_BUSY', 'the creative library kept being rewritten during this write; try again');
  }

  /** Inside a queued write: waits out a rewrite, and refuses to commit reads made before one. */
  private async assertSameTable(generation: string): Promise<void> {
    await this.waitForRewrite();
    if (this.generation !== generation) throw TABLE_REPLACED;
  }

  private async addOnce(items: NewCreative[]): Promise<AddResult> {
    this.assertOpen();
    await this.syncGeneration();
    this.assertModel();
    const generation = this.generation;
    const encoder = this.needEncoder('adding creatives');
    const result: AddResult = { ingested: 0, updated: 0, ids: [], failed: [] };
    if (items.length === 0) return result;

    // 1. Hash and check every image; the thumbnail step sorts bad files into reasons.
    interface Prepared {
      item: NewCreative;
      name: string;
      sha: string;
      thumb: Uint8Array;
    }
    const bySha = new Map<string, Prepared>();
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const name = item.fileName ?? `item ${i + 1}`;
      try {
        if (!(item.image instanceof Uint8Array)) throw new InputError('IMAGE_MISSING', `${name}: no image bytes`);
        const thumb = await makeThumbnail(item.image, this.settings.imageLimits, name);
        const sha = sha256Hex(item.image);
        const prev = bySha.get(sha);
        // The same picture twice in one batch: one creative, later metadata wins.
        bySha.set(sha, { item: prev ? { ...prev.item, ...stripUndefined(item) } : item, name, sha, thumb: thumb.webp });
      } catch (e) {
        result.failed.push({ path: name, reason: describeError(e) });
      }
    }
    const prepared = [...bySha.values()];
    if (prepared.length === 0) return result;

    // 2. Merge with what the library already holds for these images.
    const existing = await this.bySha(
      prepared.map((p) => p.sha),
      [...META_COLUMNS, IMAGE_VECTOR, TEXT_VECTOR],
    );
    const now = new Date();
    const drafts = prepared.map((p) => {
      const old = existing.get(p.sha);
      const it = p.item;
      const headline = it.headline ?? old?.headline ?? '';
      const body = it.body ?? old?.body ?? '';
      const brand = norm(it.brand) ?? old?.brand ?? '';
      const channel = norm(it.channel) ?? old?.channel ?? '';
      const format = norm(it.format) ?? old?.format ?? '';
      const tags = it.tags ?? old?.tags ?? [];
      const derived = [headline, body].filter(Boolean).join(' — ');
      const caption =
        it.caption ??
        (it.headline !== undefined || it.body !== undefined ? derived : undefined) ??
        old?.caption ??
        (derived || fallbackCaption(p.item.fileName, brand, tags));
      const c: StoredCreative = {
        id: old?.id ?? idForSha(p.sha),
        sha256: p.sha,
        source: it.source ?? old?.source ?? (it.fileName ? `ingest:${it.fileName}` : 'api'),
        brand,
        channel,
        format,
        headline,
        body,
        cta: it.cta ?? old?.cta ?? '',
        caption,
        tags,
        image: it.image,
        thumbnail: p.thumb,
        fileName: it.fileName ?? old?.fileName ?? '',
        imageEmbedding: old?.imageEmbedding ?? new Float32Array(0),
        textEmbedding: old?.caption === caption && old ? old.textEmbedding : new Float32Array(0),
        impressions: it.impressions ?? old?.impressions ?? 0,
        clicks: it.clicks ?? old?.clicks ?? 0,
        conversions: it.conversions ?? old?.conversions ?? 0,
        createdAt: it.createdAt ?? old?.createdAt ?? now,
        demo: it.demo ?? old?.demo ?? false,
        provenance: it.provenance ?? old?.provenance,
      };
      return { c, name: p.name, isNew: !old };
    });

    // 3. Embed what is new: images never seen, captions that changed.
    const failedNames = new Set<string>();
    const needImage = drafts.filter((d) => d.c.imageEmbedding.length === 0);
    const imageVecs = await this.embedEach(
      needImage.map((d) => ({ name: d.name, input: d.c.image })),
      (xs) => encoder.embedImages(xs),
      result,
      failedNames,
    );
    needImage.forEach((d, i) => {
      if (imageVecs[i]) d.c.imageEmbedding = imageVecs[i]!;
    });
    const needText = drafts.filter((d) => d.c.textEmbedding.length === 0 && !failedNames.has(d.name));
    const textVecs = await this.embedEach(
      needText.map((d) => ({ name: d.name, input: d.c.caption })),
      (xs) => encoder.embedTexts(xs),
      result,
      failedNames,
    );
    needText.forEach((d, i) => {
      if (textVecs[i]) d.c.textEmbedding = textVecs[i]!;
    });
    const ready = drafts.filter((d) => !failedNames.has(d.name));
    if (ready.length === 0) return result;
    for (const d of ready) {
      if (d.c.imageEmbedding.length !== this.encoderDims() || d.c.textEmbedding.length !== this.encoderDims()) {
        throw new LibraryError(
          'LIBRARY_BAD_EMBEDDING',
          `${d.name}: the encoder returned a ${d.c.imageEmbedding.length}-d embedding; the library expects ${this.encoderDims()}`,
        );
      }
    }

    // 4. One write for the whole batch.
    await this.queue.run(async () => {
      await this.assertSameTable(generation);
      const table = await this.ensureTable();
      await table
        .mergeInsert('id')
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute(ready.map((d) => rowFromCreative(d.c)));
    });
    this.afterWrite();
    for (const d of ready) {
      if (d.isNew) result.ingested++;
      else result.updated++;
      result.ids.push(d.c.id);
    }
    return result;
  }

  /**
   * A re-embed or re-projection (another process, or the learning loop in this one) replaces the
   * table: a write made meanwhile would be lost when it restores. Writes wait for it (not past
   * closing, nor past REWRITE_WAIT_MS), then use the new table. Resolves true when the table was
   * replaced since this handle last looked: reads made before it are stale.
   */
  private async waitForRewrite(): Promise<boolean> {
    if (rewriteRunning(this.uri)) {
      this.logger.info('library: a re-embed or re-projection is running; writes wait for it to finish');
      const until = Date.now() + REWRITE_WAIT_MS;
      while (rewriteRunning(this.uri)) {
        if (this.closing || Date.now() > until) throw rewriteRunningError();
        await sleep(REWRITE_POLL_MS);
      }
    }
    return this.syncGeneration();
  }

  /**
   * Reopens the table when a rewrite replaced it since this handle looked (the old handle points
   * at dropped files): index state, model and width are read again. Resolves true if it did.
   */
  private syncGeneration(): Promise<boolean> {
    const g = rewriteGeneration(this.uri);
    if (g === this.generation) return Promise.resolve(false);
    // One reopen at a time; callers arriving meanwhile wait for it.
    this.syncing ??= this.reopen(g).finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async reopen(g: string): Promise<boolean> {
    const table = (await this.db.tableNames()).includes(TABLE) ? await this.db.openTable(TABLE) : undefined;
    if (table) {
      const meta = (await table.schema()).metadata;
      this.model = meta.get(META_MODEL) ?? this.model;
      this.dims = Number(meta.get(META_DIMS) ?? this.dims);
    }
    // The old handle is not closed: a search may still be reading through it; it is let go.
    this.table = table;
    this.annIndexed = false;
    this.ann = undefined;
    this.indexRows = undefined;
    this.prior = undefined;
    await this.refreshIndexState();
    this.generation = g;
    this.logger.info('library: the table was rewritten; reopened it', { model: this.model, dims: this.dims, indexed: this.annIndexed });
    return true;
  }

  /** After a re-embed by another process, this encoder's embeddings no longer fit the table. */
  private assertModel(): void {
    const info = this.encoder?.info();
    if (!info || !this.table || (info.model === this.model && info.dims === this.dims)) return;
    throw new LibraryError(
      'LIBRARY_MODEL_MISMATCH',
      `the creative library at ${this.uri} was re-embedded with ${this.model} (${this.dims}-d) but the encoder is ${info.model} (${info.dims}-d)`,
      { hint: 'restart the bot with CLIP_MODEL_DIR pointing at the model the library was re-embedded with' },
    );
  }

  private encoderDims(): number {
    return this.dims || this.needEncoder('adding creatives').dims;
  }

  /** Embeds in one call; when that fails, one by one, so a bad input costs only itself. */
  private async embedEach<T>(
    inputs: { name: string; input: T }[],
    embed: (xs: T[]) => Promise<Float32Array[]>,
    result: AddResult,
    failedNames: Set<string>,
  ): Promise<(Float32Array | undefined)[]> {
    if (inputs.length === 0) return [];
    try {
      const v = await embed(inputs.map((x) => x.input));
      if (v.length === inputs.length) return v;
    } catch (e) {
      this.logger.debug('library: batch embedding failed, retrying one by one', { error: e });
    }
    const out: (Float32Array | undefined)[] = [];
    for (const x of inputs) {
      try {
        out.push((await embed([x.input]))[0]);
      } catch (e) {
        failedNames.add(x.name);
        result.failed.push({ path: x.name, reason: describeError(e) });
        out.push(undefined);
      }
    }
    return out;
  }

  private async ensureTable(): Promise<lancedb.Table> {
    if (this.table) return this.table;
    const enc = this.needEncoder('creating the library');
    this.model = enc.info().model;
    this.dims = enc.dims;
    this.table = await this.db.createEmptyTable(TABLE, creativesSchema(this.model, this.dims), { existOk: true });
    this.logger.info('library: created table', { uri: this.uri, model: this.model, dims: this.dims });
    return this.table;
  }

  /**
   * Upkeep after a write: the first ANN index past the threshold (built beside the queue, so
   * writes go on meanwhile), else periodic compaction, queued behind the write.
   */
  private afterWrite(): void {
    this.prior = undefined;
    this.writes++;
    const every = this.settings.optimizeEvery;
    void this.queue
      .run(async () => {
        if (!this.table || this.closed) return;
        if (this.indexing) return; // compaction rewrites fragments under a build: wait for the next write
        if (rewriteRunning(this.uri)) return; // the table is about to be replaced: upkeep after it
        if (await this.syncGeneration()) return; // it was just replaced: upkeep on the next write
        // Closing (a CLI that just ingested, a bot shutting down) starts no minutes-long build: the
        // ingest command builds a due index itself, the bot's next start does.
        if (!this.closing && (await this.indexDue())) {
          this.startIndexBuild(this.annIndexed).catch(() => undefined);
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
    if (!this.table || this.indexing) return undefined;
    if (this.lastBuildFailedAt !== undefined && Date.now() - this.lastBuildFailedAt < BUILD_RETRY_AFTER_MS) return undefined;
    const rows = await this.table.countRows();
    if (!this.annIndexed && rows >= Math.max(this.settings.indexMinRows, ANN_MIN_ROWS)) {
      this.logger.info('library: row count passed LIBRARY_INDEX_MIN_ROWS, building indexes', { rows });
      return 'first';
    }
    if (this.annIndexed && this.indexRows && rows >= this.indexRows * this.settings.reindexGrowth) {
      this.logger.info('library: grown past the size its ANN index was built for, rebuilding', { rows, builtFor: this.indexRows });
      return 'grown';
    }
    return undefined;
  }

  /**
   * Builds the indexes now if they are due (see `indexDue`), after any build already running;
   * `ingest` calls this before it exits. Returns the last build's report, if one ran.
   */
  async indexIfDue(onBuild?: (why: 'running' | 'first' | 'grown') => void): Promise<IndexReport | undefined> {
    this.assertOpen();
    if (this.closing) return undefined;
    await this.queue.drain(); // upkeep queued behind the last write may start a build
    let report: IndexReport | undefined;
    if (this.indexing) {
      onBuild?.('running');
      report = await this.indexing.catch(() => undefined);
    }
    const why = this.closing ? undefined : await this.indexDue(); // a build started mid-ingest may leave a rebuild due
    if (!why) return report;
    onBuild?.(why);
    return this.startIndexBuild(this.annIndexed);
  }

  async optimize(): Promise<void> {
    this.assertOpen();
    // Compaction must not run under an index build (Lance would refuse the build's commit); a build
    // may start from upkeep queued ahead of this, so check again inside the queue.
    for (;;) {
      await this.indexing?.catch(() => undefined);
      const done = await this.queue.run(async () => {
        if (this.indexing) return false;
        await this.optimizeNow();
        return true;
      });
      if (done) return;
    }
  }

  private async optimizeNow(): Promise<void> {
    if (!this.table) return;
    // Old versions are kept ten minutes for readers in other processes still on them.
    await this.table.optimize({ cleanupOlderThan: new Date(Date.now() - 10 * 60_000) });
  }

  /**
   * Builds the ANN and filter indexes. At a million rows the IVF_PQ build takes minutes, so it
   * runs beside the write queue: Lance commits an index build alongside appends, updates and
   * deletes made meanwhile (their rows stay searchable, unindexed, until the next compaction folds
   * them in). Only compaction conflicts with it, and compaction waits for it. One build at a time.
   */
  async buildIndex(opts: { force?: boolean } = {}): Promise<IndexReport> {
    this.assertOpen();
    return this.startIndexBuild(opts.force ?? false);
  }

  /** Whether an index build is running now (for `library stats` and health). */
  get indexBuilding(): boolean {
    return this.indexing !== undefined;
  }

  private startIndexBuild(force: boolean): Promise<IndexReport> {
    const previous = this.indexing?.catch(() => undefined) ?? Promise.resolve();
    const run: Promise<IndexReport> = previous
      // A barrier: a compaction already queued or running finishes before the build starts (Lance
      // would refuse the build's commit after it); compactions queued later wait for the build.
      .then(() => this.queue.run(async () => undefined))
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
    const t0 = Date.now();
    await this.syncGeneration();
    const table = this.table;
    const generation = this.generation;
    if (!table) return { rows: 0, vector: { built: false, reason: 'the library is empty' }, scalar: [], seconds: 0 };
    // Every step commits to this table: none may land on one a rewrite has replaced meanwhile.
    const replaced = () => rewriteRunning(this.uri) || rewriteGeneration(this.uri) !== generation;
    if (replaced()) throw rewriteRunningError();
    markBuild(this.uri, +1);
    try {
      const rows = await table.countRows();
      const report: IndexReport = { rows, vector: { built: false, reason: '' }, scalar: [], seconds: 0 };
      if (rows < ANN_MIN_ROWS) {
        report.vector.reason = `IVF_PQ needs at least ${ANN_MIN_ROWS} rows; search stays exact (flat) at ${rows}`;
      } else if (this.annIndexed && !force) {
        report.vector.reason = 'already indexed (use --force to rebuild)';
      } else {
        const s = annSettingsFor(rows, this.dims);
        await buildVectorIndex(table, IMAGE_VECTOR, s);
        await buildVectorIndex(table, TEXT_VECTOR, s);
        await this.queue.run(async () => {
          if (!replaced()) await table.updateFieldMetadata([{ path: IMAGE_VECTOR, metadata: { [META_INDEX_ROWS]: String(rows) } }]);
        });
        report.vector = { built: true, partitions: s.partitions, subVectors: s.subVectors, reason: `IVF_PQ for ${rows} rows` };
      }
      for (const [col, kind] of SCALAR_INDEXES) {
        await buildScalarIndex(table, col, kind);
        report.scalar.push(`${col} (${kind})`);
      }
      // Rows written during the build are folded into the new indexes by compaction, in the queue.
      await this.queue.run(async () => {
        if (!replaced()) await this.optimizeNow();
      });
      await this.refreshIndexState();
      report.seconds = (Date.now() - t0) / 1000;
      this.logger.info('library: indexes built', { ...report });
      return report;
    } finally {
      markBuild(this.uri, -1);
    }
  }

  private async ctrPrior(): Promise<CtrPrior> {
    if (this.prior) return this.prior;
    const rows: { clicks: number; impressions: number }[] = [];
    if (this.table) {
      const t = await this.table.query().select(['impressions', 'clicks']).toArrow();
      const imp = t.getChild('impressions')?.toArray() as ArrayLike<bigint | number> | undefined;
      const clk = t.getChild('clicks')?.toArray() as ArrayLike<bigint | number> | undefined;
      for (let i = 0; i < t.numRows; i++) rows.push({ impressions: Number(imp?.[i] ?? 0), clicks: Number(clk?.[i] ?? 0) });
    }
    this.prior = estimatePrior(rows, this.settings.ctrPriorStrength);
    return this.prior;
  }

  private async queryVector(q: SearchQuery): Promise<Float32Array> {
    const parts: Float32Array[] = [];
    if (q.vector) parts.push(l2normalize(Float32Array.from(q.vector)));
    if (q.text !== undefined) {
      if (q.text.trim() === '') throw new InputError('QUERY_EMPTY', 'the search text is empty');
      parts.push((await this.needEncoder('searching by text').embedTexts([q.text]))[0]);
    }
    if (q.image) parts.push((await this.needEncoder('searching by image').embedImages([q.image]))[0]);
    if (parts.length === 0) throw new InputError('QUERY_EMPTY', 'a search needs text, an image or a vector');
    if (parts.length === 1) return parts[0];
    const sum = new Float32Array(parts[0].length);
    for (const p of parts) for (let i = 0; i < sum.length; i++) sum[i] += p[i];
    return l2normalize(sum);
  }

  async search(q: SearchQuery): Promise<SearchHit[]> {
    this.assertOpen();
    await this.syncGeneration();
    const k = Math.max(1, Math.min(MAX_K, Math.floor(q.k ?? 10)));
    const vector = await this.queryVector(q);
    if (!this.table) return [];
    if (this.dims && vector.length !== this.dims) {
      throw new InputError('QUERY_DIMS', `the query vector has ${vector.length} dimensions; the library's embeddings have ${this.dims}`);
    }
    const where = filtersToSql(q.filters);
    const prior = await this.ctrPrior();
    // Over-fetch from both embeddings: fusion and near-duplicate collapsing need spare candidates.
    // If collapsing left fewer than k while more rows exist, fetch wider.
    let hits: SearchHit[] = [];
    for (let fetch = Math.min(MAX_FETCH, Math.max(20, k * 4)); ; fetch = Math.min(MAX_FETCH, fetch * 4)) {
      const [byImage, byCaption] = await Promise.all(
        [IMAGE_VECTOR, TEXT_VECTOR].map((col) =>
          vectorQuery(this.table!, col, vector, { k: fetch, where, ann: this.ann, select: SEARCH_COLUMNS }).toArray(),
        ),
      );
      const seen = new Map<string, StoredCreative>();
      for (const r of [...byImage, ...byCaption]) {
        const c = creativeFromRow(r as Row);
        if (!seen.has(c.id)) seen.set(c.id, c);
      }
      hits = rankCandidates([...seen.values()], vector, {
        k,
        weights: this.settings.weights,
        prior,
        nearDuplicate: this.settings.nearDuplicate,
      });
      const exhausted = byImage.length < fetch && byCaption.length < fetch;
      if (hits.length >= k || exhausted || fetch >= MAX_FETCH) return hits;
    }
  }

  async maxSimilarity(imageEmbeddings: Float32Array[]): Promise<number[]> {
    this.assertOpen();
    await this.syncGeneration();
    const table = this.table;
    if (!table) return imageEmbeddings.map(() => 0);
    return Promise.all(
      imageEmbeddings.map(async (v) => {
        const rows = await vectorQuery(table, IMAGE_VECTOR, l2normalize(Float32Array.from(v)), {
          k: 1,
          ann: this.ann,
          select: ['id'],
        }).toArray();
        return rows.length ? 1 - Number((rows[0] as Row)._distance) : 0;
      }),
    );
  }

  async stats(): Promise<LibraryStats> {
    this.assertOpen();
    await this.syncGeneration();
    const s: LibraryStats = {
      uri: this.uri,
      model: this.model,
      dims: this.dims,
      rows: 0,
      demoRows: 0,
      winnerRows: 0,
      brands: {},
      channels: {},
      formats: {},
      impressions: 0,
      clicks: 0,
      conversions: 0,
      ctrPrior: await this.ctrPrior(),
      index: { vector: this.annIndexed, scalar: [], unindexedRows: 0, building: this.indexBuilding, builtForRows: this.indexRows ?? null },
      version: 0,
    };
    if (!this.table) return s;
    const t = await this.table
      .query()
      .select(['brand', 'channel', 'format', 'demo', 'source', 'impressions', 'clicks', 'conversions'])
      .toArrow();
    const col = (n: string) => t.getChild(n);
    const [brand, channel, format, demo, source, imp, clk, conv] = [
      'brand',
      'channel',
      'format',
      'demo',
      'source',
      'impressions',
      'clicks',
      'conversions',
    ].map(col);
    for (let i = 0; i < t.numRows; i++) {
      countInto(s.brands, String(brand?.get(i) ?? ''));
      countInto(s.channels, String(channel?.get(i) ?? ''));
      countInto(s.formats, String(format?.get(i) ?? ''));
      if (demo?.get(i) === true) s.demoRows++;
      else if (String(source?.get(i) ?? '').startsWith('winner:')) s.winnerRows++;
      s.impressions += Number(imp?.get(i) ?? 0);
      s.clicks += Number(clk?.get(i) ?? 0);
      s.conversions += Number(conv?.get(i) ?? 0);
    }
    s.rows = t.numRows;
    s.version = await this.table.version();
    for (const ix of await this.table.listIndices()) {
      if (!/ivf|hnsw|pq/i.test(ix.indexType)) s.index.scalar.push(`${ix.columns.join(',')} (${ix.indexType})`);
      else {
        const st = await this.table.indexStats(ix.name);
        s.index.unindexedRows = Math.max(s.index.unindexedRows, st?.numUnindexedRows ?? 0);
      }
    }
    return s;
  }

  async remove(ids: string[]): Promise<{ removed: string[]; missing: string[] }> {
    this.assertOpen();
    await this.syncGeneration();
    const wanted = [...new Set(ids)];
    if (!this.table || wanted.length === 0) return { removed: [], missing: wanted };
    const found = new Set<string>();
    for (const part of chunks(wanted, IN_CHUNK)) {
      const rows = await this.table
        .query()
        .where(`id IN (${part.map(sqlString).join(', ')})`)
        .select(['id'])
        .toArray();
      for (const r of rows) found.add(String((r as Row).id));
    }
    const removed = wanted.filter((id) => found.has(id));
    if (removed.length) {
      await this.queue.run(async () => {
        await this.waitForRewrite();
        for (const part of chunks(removed, IN_CHUNK)) await this.table!.delete(`id IN (${part.map(sqlString).join(', ')})`);
      });
      this.afterWrite();
    }
    return { removed, missing: wanted.filter((id) => !found.has(id)) };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<Creative> {
    this.assertOpen();
    await this.syncGeneration();
    if (!this.table) return;
    const where = filtersToSql(opts.filters);
    const columns = opts.images === false ? SEARCH_COLUMNS : [...SEARCH_COLUMNS, 'image'];
    let q = this.table.query().select(columns);
    if (where) q = q.where(where);
    for await (const batch of q) {
      for (let i = 0; i < batch.numRows; i++) {
        const row = batch.get(i);
        if (row) yield creativeFromRow(row.toJSON() as Row);
      }
    }
  }

  async refs(): Promise<CreativeRef[]> {
    this.assertOpen();
    await this.syncGeneration();
    if (!this.table) return [];
    const rows = await this.table.query().select(['id', 'sha256', 'file_name']).toArray();
    return rows.map((r) => {
      const row = r as Row;
      return { id: String(row.id), sha256: String(row.sha256), fileName: String(row.file_name ?? '') };
    });
  }

  async updateMetrics(updates: MetricsUpdate[]): Promise<number> {
    // Rows read before a rewrite replaced the table would write old embeddings back: read again.
    return this.retryReplaced(() => this.updateMetricsOnce(updates));
  }

  private async updateMetricsOnce(updates: MetricsUpdate[]): Promise<number> {
    this.assertOpen();
    await this.syncGeneration();
    const generation = this.generation;
    if (!this.table || updates.length === 0) return 0;
    const byId = new Map<string, MetricsUpdate>();
    for (const u of updates) byId.set(u.id, { ...byId.get(u.id), ...stripUndefined(u), id: u.id });
    let changed = 0;
    for (const part of chunks([...byId.keys()], 200)) {
      // Whole rows go back in one merge: one version per chunk instead of one per creative.
      const rows = await this.table
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
      await this.queue.run(async () => {
        await this.assertSameTable(generation);
        await this.table!.mergeInsert('id').whenMatchedUpdateAll().execute(out);
      });
      changed += out.length;
    }
    if (changed) this.afterWrite();
    return changed;
  }

  /**
   * Waits for queued writes and for an index build in flight: LanceDB cannot cancel one, and leaving
   * mid-build only wastes it. `indexWaitMs` bounds that wait (a bot shutting down within its grace
   * time); a build cut short commits nothing, and the next start builds again.
   */
  async close(opts: { indexWaitMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closing = true; // no new index builds from upkeep still queued
    // One deadline for both waits below, so the bound is the whole wait, not each part of it.
    const deadline = opts.indexWaitMs === undefined ? undefined : Date.now() + opts.indexWaitMs;
    const waitForBuild = async () => {
      if (!this.indexing) return;
      this.logger.info('library: waiting for the index build to finish before closing');
      const build = this.indexing.catch(() => undefined);
      if (deadline === undefined) return build;
      let timer: NodeJS.Timeout | undefined;
      const cut = new Promise<void>((r) => {
        timer = setTimeout(
          () => {
            this.logger.warn('library: closing with the index build unfinished', { waitedMs: opts.indexWaitMs });
            r();
          },
          Math.max(0, deadline - Date.now()),
        );
      });
      await Promise.race([build, cut]);
      clearTimeout(timer);
    };
    await waitForBuild();
    await this.queue.drain();
    await waitForBuild();
    this.closed = true;
    this.table?.close();
    this.db.close();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Something to embed as the caption of a creative that came without copy. */
function fallbackCaption(fileName: string | undefined, brand: string, tags: string[]): string {
  const stem = (fileName ?? '')
    .replace(/^.*[/\\]/, '')
    .replace(/\.[a-z0-9]+$/i, '')
    .replace(/[-_]+/g, ' ')
    .trim();
  return [brand, stem, ...tags].filter(Boolean).join(' ') || 'an advertising creative';
}
