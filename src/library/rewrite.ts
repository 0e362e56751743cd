/**
 * Rewriting the whole `creatives` table (re-embedding after a model change, re-projection after an
 * adapter is trained), safely across crashes. Local LanceDB cannot rename tables, so:
 *
 *   1. every row goes through `transform` into a staging table; the live table is untouched. When
 *      all rows are in, the staging table is marked complete (metadata on its `id` field).
 *   2. the live table is replaced by a copy of the complete staging table, which is then dropped.
 *
 * A run that finds a complete staging table (a crash in step 2) finishes step 2 from it before
 * anything else: the live table may be gone or half copied then, and the staging table is the only
 * whole copy. A run that finds an incomplete one (a crash in step 1) resumes it when `resumable`
 * says its rows are still good (same target model), skipping the rows already staged; otherwise it
 * starts step 1 again.
 */
import type * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { LibraryError } from '../errors.ts';
import { type Logger, silentLogger } from '../log.ts';
import { creativeFromRow, type Row, rowFromCreative, TABLE, withoutFieldMetadata } from './schema.ts';

/** On the staging table's `id` field once step 1 is done: the row count staged. */
const COMPLETE = 'adcreative.staging_complete';

/**
 * Copies every row of `from` into `to` in batches through `transform` (which may drop rows by
 * returning fewer). Resolves to the rows read.
 */
export async function copyRows(
  from: lancedb.Table,
  to: lancedb.Table,
  batch: number,
  transform: (rows: Row[]) => Row[] | Promise<Row[]>,
  onBatch: (n: number) => void = () => {},
): Promise<number> {
  let n = 0;
  let buf: Row[] = [];
  const flush = async () => {
    if (!buf.length) return;
    const out = await transform(buf);
    if (out.length) await to.add(out);
    n += buf.length;
    onBatch(n);
    buf = [];
  };
  for await (const b of from.query()) {
    for (let i = 0; i < b.numRows; i++) {
      const r = b.get(i);
      if (r) buf.push(r.toJSON() as Row);
      if (buf.length >= batch) await flush();
    }
  }
  await flush();
  return n;
}

async function isComplete(t: lancedb.Table): Promise<boolean> {
  const id = (await t.schema()).fields.find((f) => f.name === 'id');
  return id?.metadata.get(COMPLETE) !== undefined;
}

/** Step 2: the live table becomes a copy of the complete staging table. */
async function restoreFrom(
  db: lancedb.Connection,
  staging: lancedb.Table,
  stagingName: string,
  batch = 256,
  onRestore?: (n: number) => void,
): Promise<number> {
  const schema = await staging.schema();
  if ((await db.tableNames()).includes(TABLE)) await db.dropTable(TABLE);
  const fresh = await db.createEmptyTable(TABLE, withoutFieldMetadata(schema, 'id', COMPLETE));
  const rows = await copyRows(staging, fresh, batch, (rs) => rs.map((r) => rowFromCreative(creativeFromRow(r))), onRestore);
  fresh.close();
  staging.close();
  await db.dropTable(stagingName);
  return rows;
}

/**
 * Finishes a rewrite that crashed after its staging table was complete. Resolves to the rows
 * restored, or undefined when there was nothing to finish.
 */
export async function finishInterruptedRewrite(
  db: lancedb.Connection,
  stagingName: string,
  logger: Logger = silentLogger,
): Promise<number | undefined> {
  if (!(await db.tableNames()).includes(stagingName)) return undefined;
  const staging = await db.openTable(stagingName);
  if (!(await isComplete(staging))) {
    staging.close();
    return undefined;
  }
  logger.info('library: finishing a rewrite that stopped while copying back', { staging: stagingName });
  return restoreFrom(db, staging, stagingName);
}

export interface RewriteOptions {
  /** The staging table's name (one per kind of rewrite). */
  staging: string;
  /** Schema of the rewritten table (model name and width in its metadata). */
  schema: Schema;
  /** Rows already staged may be kept (same target): the rewrite skips them. */
  resumable: (stagingSchema: Schema) => boolean;
  transform: (rows: Row[]) => Row[] | Promise<Row[]>;
  batch: number;
  onProgress?: (done: number, total: number) => void;
  /** Rows copied back in step 2 (crash tests throw from here). */
  onRestore?: (n: number) => void;
  logger?: Logger;
}

/** Rewrites the live table (which must exist) through `transform`. Resolves to the rows written. */
export async function rewriteTable(db: lancedb.Connection, opts: RewriteOptions): Promise<number> {
  const logger = opts.logger ?? silentLogger;
  const live = await db.openTable(TABLE);
  const total = await live.countRows();
  let staging: lancedb.Table | undefined;
  const done = new Set<string>();
  if ((await db.tableNames()).includes(opts.staging)) {
    const old = await db.openTable(opts.staging);
    if (opts.resumable(await old.schema())) {
      staging = old;
      for (const r of await old.query().select(['id']).toArray()) done.add(String((r as Row).id));
      logger.info('library: resuming an interrupted rewrite', { staged: done.size, total });
    } else {
      old.close();
      await db.dropTable(opts.staging);
    }
  }
  staging ??= await db.createEmptyTable(opts.staging, opts.schema);
  await copyRows(
    live,
    staging,
    opts.batch,
    (rows) => {
      const todo = rows.filter((r) => !done.has(String(r.id)));
      return todo.length ? opts.transform(todo) : [];
    },
    (n) => opts.onProgress?.(n, total),
  );
  live.close();
  await staging.updateFieldMetadata([{ path: 'id', metadata: { [COMPLETE]: String(await staging.countRows()) } }]);
  return restoreFrom(db, staging, opts.staging, Math.max(opts.batch, 8), opts.onRestore);
}

/** The error for a staging table left without a live table by an older version's crash. */
export function orphanedStaging(code: string, what: string, staging: string): LibraryError {
  return new LibraryError(code, `a previous ${what} stopped half-way; the rows are in table ${staging}`, {
    hint: 'restore it by hand or ingest again',
  });
}
