/**
 * The library's handle on its `creatives` table, which follows rewrites: a re-embed or
 * re-projection (another process, or the learning loop in this one) replaces the table, and this
 * handle notices (the generation marker, see rewrite.ts), reopens it and reads its model, width
 * and index state again. Every write goes through its one queue; a write waits out a rewrite
 * running now and refuses to commit what it read from the table the rewrite replaced.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type * as lancedb from '@lancedb/lancedb';
import type { Encoder } from '../clip/types.ts';
import { diskProblem } from '../disk.ts';
import { describeError, LibraryError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type AnnSettings, annSettingsFor, vectorIndexedColumns } from './ann.ts';
import { connectLance } from './connect.ts';
import type { CtrPrior } from './ctr.ts';
import { WriteQueue } from './queue.ts';
import { interruptedRewriteError, interruptedRewrites, rewriteGeneration, rewriteRunning, rewriteRunningError } from './rewrite.ts';
import {
  creativesSchema,
  IMAGE_VECTOR,
  META_DIMS,
  META_INDEX_ROWS,
  META_MODEL,
  storedTextModel,
  TABLE,
  TEXT_VECTOR,
  textModelOf,
} from './schema.ts';
import { libraryStorageError } from './storage-error.ts';

/** Thrown inside a queued write when a rewrite replaced the table after the write read from it. */
const TABLE_REPLACED = Symbol('table replaced');

/** How often a write waiting for a rewrite checks whether it is done. */
const REWRITE_POLL_MS = 250;
/** The longest a write waits for a rewrite (a re-embed of a large library takes longer: it fails, saying so). */
const REWRITE_WAIT_MS = 10 * 60_000;

/** The encoder, or a clear error naming what needed it. */
export function requireEncoder(encoder: Encoder | undefined, what: string): Encoder {
  if (!encoder) throw new LibraryError('LIBRARY_NO_ENCODER', `${what} needs the CLIP encoder, and this library was opened without one`);
  return encoder;
}

/**
 * Runs a read-then-write `op` again from the start when a rewrite replaced the table after it
 * read (what it read is stale), at most three times.
 */
export async function retryReplaced<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (e !== TABLE_REPLACED) throw e;
    }
  }
  throw new LibraryError('LIBRARY_REWRITE_BUSY', 'the creative library kept being rewritten during this write; try again');
}

export class LiveTable {
  /** One writer: every write and compaction runs through here, one at a time. */
  // Every write goes through the queue, so every write failure is explained there (a full disk in words).
  readonly queue = new WriteQueue((e) => libraryStorageError(e, this.uri));
  /** Whether both embedding columns carry an ANN index, and the query settings it was built with. */
  annIndexed = false;
  ann: AnnSettings | undefined;
  /** Rows the ANN index's settings were picked for (undefined: no index, or built before this was kept). */
  indexRows: number | undefined;
  /** The CTR prior estimated from the table's rows; dropped on every write and reopen. */
  prior: CtrPrior | undefined;
  closed = false;
  /** Set when closing starts: no new index builds, and writes stop waiting for a rewrite. */
  closing = false;
  /** The rewrite generation this handle's table belongs to (see syncGeneration). */
  private generationSeen = '';
  private syncing: Promise<boolean> | undefined;

  private constructor(
    readonly uri: string,
    readonly db: lancedb.Connection,
    public table: lancedb.Table | undefined,
    public model: string,
    public dims: number,
    private readonly logger: Logger,
    /** The text encoder that embedded the captions (META_TEXT_MODEL). */
    public textModel: string = model,
  ) {}

  static async open(opts: {
    uri: string;
    encoder?: Encoder;
    logger: Logger;
    allowModelMismatch?: boolean;
    storageOptions?: Record<string, string>;
  }): Promise<LiveTable> {
    let db: lancedb.Connection;
    try {
      // Other processes (an `ingest` beside the running bot) write too: see their rows within seconds.
      db = await connectLance(opts.uri, { storageOptions: opts.storageOptions, readConsistencyInterval: 5 });
    } catch (e) {
      throw new LibraryError(
        'LIBRARY_UNAVAILABLE',
        `cannot open the creative library at ${opts.uri}: ${diskProblem(e) ?? describeError(e)}`,
        {
          cause: e,
          hint: 'check LANCEDB_URI',
        },
      );
    }
    // Read before the table is opened: a rewrite finishing in between then shows as a change.
    const generation = rewriteGeneration(opts.uri);
    let table: lancedb.Table | undefined;
    let model = opts.encoder?.info().model ?? '';
    let dims = opts.encoder?.dims ?? 0;
    let textModel = opts.encoder ? textModelOf(opts.encoder.info()) : model;
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
        const mixed = textMismatch(opts.uri, storedTextModel(meta), textModelOf(info));
        if (mixed) {
          table.close();
          db.close();
          throw mixed;
        }
      }
      model = storedModel;
      dims = storedDims;
      textModel = storedTextModel(meta);
    }
    const live = new LiveTable(opts.uri, db, table, model, dims, opts.logger, textModel);
    live.generationSeen = generation;
    await live.refreshIndexState();
    return live;
  }

  /** The rewrite generation of the table this handle holds now. */
  get generation(): string {
    return this.generationSeen;
  }

  assertOpen(): void {
    if (this.closed) throw new LibraryError('LIBRARY_CLOSED', 'the creative library was closed');
  }

  async refreshIndexState(): Promise<void> {
    if (!this.table) return;
    const cols = await vectorIndexedColumns(this.table);
    this.annIndexed = cols.has(IMAGE_VECTOR) && cols.has(TEXT_VECTOR);
    const field = (await this.table.schema()).fields.find((f) => f.name === IMAGE_VECTOR);
    const recorded = Number(field?.metadata.get(META_INDEX_ROWS) ?? Number.NaN);
    this.indexRows = this.annIndexed && Number.isFinite(recorded) && recorded > 0 ? recorded : undefined;
    // Query settings follow the index as built (its partition count), not today's row count.
    this.ann = this.annIndexed ? annSettingsFor(this.indexRows ?? (await this.table.countRows()), this.dims) : undefined;
  }

  /** Inside a queued write: waits out a rewrite, and refuses to commit reads made before one. */
  async assertSameTable(generation: string): Promise<void> {
    await this.waitForRewrite();
    if (this.generationSeen !== generation) throw TABLE_REPLACED;
  }

  /**
   * A re-embed or re-projection (another process, or the learning loop in this one) replaces the
   * table: a write made meanwhile would be lost when it restores. Writes wait for it (not past
   * closing, nor past REWRITE_WAIT_MS), then use the new table. Resolves true when the table was
   * replaced since this handle last looked: reads made before it are stale.
   */
  async waitForRewrite(): Promise<boolean> {
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
   * Reopens the table when a rewrite replaced it since this handle looked (the old handle holds
   * the version before it): index state, model and width are read again. Resolves true if it did.
   */
  syncGeneration(): Promise<boolean> {
    const g = rewriteGeneration(this.uri);
    if (g === this.generationSeen) return Promise.resolve(false);
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
      this.textModel = storedTextModel(meta);
    }
    // The old handle is not closed: a search may still be reading through it; it is let go.
    this.table = table;
    this.annIndexed = false;
    this.ann = undefined;
    this.indexRows = undefined;
    this.prior = undefined;
    await this.refreshIndexState();
    this.generationSeen = g;
    this.logger.info('library: the table was rewritten; reopened it', { model: this.model, dims: this.dims, indexed: this.annIndexed });
    return true;
  }

  /** After a re-embed by another process, this encoder's embeddings no longer fit the table. */
  assertModel(encoder: Encoder | undefined): void {
    const info = encoder?.info();
    if (!info || !this.table) return;
    if (info.model === this.model && info.dims === this.dims) {
      const mixed = textMismatch(this.uri, this.textModel, textModelOf(info));
      if (mixed) throw mixed;
      return;
    }
    throw new LibraryError(
      'LIBRARY_MODEL_MISMATCH',
      `the creative library at ${this.uri} was re-embedded with ${this.model} (${this.dims}-d) but the encoder is ${info.model} (${info.dims}-d)`,
      { hint: 'restart the bot with CLIP_MODEL_DIR pointing at the model the library was re-embedded with' },
    );
  }

  /** The table, created (empty, for the encoder's model and width) if the library has none yet. */
  async ensureTable(encoder: Encoder | undefined): Promise<lancedb.Table> {
    if (this.table) return this.table;
    const enc = requireEncoder(encoder, 'creating the library');
    this.model = enc.info().model;
    this.dims = enc.dims;
    this.textModel = textModelOf(enc.info());
    this.table = await this.db.createEmptyTable(TABLE, creativesSchema(this.model, this.dims, this.textModel), { existOk: true });
    this.logger.info('library: created table', { uri: this.uri, model: this.model, dims: this.dims, textModel: this.textModel });
    return this.table;
  }

  close(): void {
    this.closed = true;
    this.table?.close();
    this.db.close();
  }
}

/**
 * Captions embedded by one text encoder cannot be searched with, nor mixed with, another's:
 * the caption column would compare unlike embeddings. Undefined when they match.
 */
function textMismatch(uri: string, stored: string, current: string): LibraryError | undefined {
  if (stored === current) return undefined;
  return new LibraryError(
    'LIBRARY_TEXT_MODEL_MISMATCH',
    `the creative library at ${uri} has captions embedded by the text encoder ${stored}, but texts are now embedded by ${current}; searching or adding with it would mix two text encoders in one table`,
    {
      hint: 'run `adcreative library reembed` to re-embed the captions with the current text encoder, or set CLIP_TEXT_MODEL_DIR back as it was when the library was filled',
    },
  );
}
