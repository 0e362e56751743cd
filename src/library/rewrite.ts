/**
 * Rewriting the whole `creatives` table (re-embedding after a model change, re-projection after an
 * adapter is trained), safely across crashes. Local LanceDB cannot rename tables, so:
 *
 *   1. every row goes through `transform` into a staging table; the live table is untouched. When
 *      all rows are in, the staging table is marked complete (metadata on its `id` field).
 *   2. the live table is replaced by a copy of the complete staging table, which is then dropped.
 *
 * A complete staging table is the only whole copy while step 2 runs, so after a crash there the
 * library refuses to open (writes to a half-copied table would be lost when it is restored) until
 * the rewrite's own command finishes step 2. After a crash in step 1 the live table is intact; the
 * next run resumes the staging table only if the live table has not changed since (its version is
 * recorded) and the rows are for the same target, else it starts step 1 again.
 *
 * One rewrite at a time per library folder (a lock directory beside the tables); object-store
 * libraries (s3://…) have no such lock: run one rewrite at a time there.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { LibraryError } from '../errors.ts';
import { type Logger, silentLogger } from '../log.ts';
import { creativeFromRow, type Row, rowFromCreative, TABLE, withFieldMetadata } from './schema.ts';

const MARK = 'adcreative.rewrite.';
/** Set once step 1 is done: the row count staged. */
const COMPLETE = `${MARK}complete`;
/** The live table's version when step 1 began: resuming is safe only while it is unchanged. */
const SOURCE_VERSION = `${MARK}source_version`;

/** The staging tables of the two kinds of rewrite, and the command that finishes each. */
export const STAGING = {
  reembed: { table: `${TABLE}_reembed`, what: 're-embed', finish: 'adcreative library reembed' },
  reproject: { table: `${TABLE}_reproject`, what: 're-projection', finish: 'adcreative train reproject' },
} as const;
export type RewriteKind = keyof typeof STAGING;

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

async function idMetadata(t: lancedb.Table): Promise<Map<string, string>> {
  return (await t.schema()).fields.find((f) => f.name === 'id')?.metadata ?? new Map();
}

/** Which kinds of rewrite left a complete staging table (the library must not be written then). */
export async function interruptedRewrites(db: lancedb.Connection): Promise<RewriteKind[]> {
  const names = await db.tableNames();
  const out: RewriteKind[] = [];
  for (const kind of Object.keys(STAGING) as RewriteKind[]) {
    if (!names.includes(STAGING[kind].table)) continue;
    const t = await db.openTable(STAGING[kind].table);
    if ((await idMetadata(t)).has(COMPLETE)) out.push(kind);
    t.close();
  }
  return out;
}

/** The error for a library whose rewrite stopped while copying back. */
export function interruptedRewriteError(kind: RewriteKind): LibraryError {
  const s = STAGING[kind];
  return new LibraryError(
    'LIBRARY_REWRITE_INTERRUPTED',
    `a ${s.what} of the creative library stopped while copying back; the whole library is in table ${s.table}`,
    { hint: `run \`${s.finish}\` to finish it (nothing is lost)` },
  );
}

/** Step 2: the live table becomes a copy of the complete staging table. */
async function restoreFrom(
  db: lancedb.Connection,
  staging: lancedb.Table,
  stagingName: string,
  batch = 256,
  onRestore?: (n: number) => void,
): Promise<number> {
  const schema = withFieldMetadata(await staging.schema(), 'id', {}, (k) => k.startsWith(MARK));
  if ((await db.tableNames()).includes(TABLE)) await db.dropTable(TABLE);
  const fresh = await db.createEmptyTable(TABLE, schema);
  const rows = await copyRows(staging, fresh, batch, (rs) => rs.map((r) => rowFromCreative(creativeFromRow(r))), onRestore);
  fresh.close();
  staging.close();
  await db.dropTable(stagingName);
  return rows;
}

/**
 * Finishes a rewrite of `kind` that crashed after its staging table was complete. Resolves to the
 * rows restored and the marks the rewrite recorded, or undefined when there was nothing to finish.
 */
export async function finishInterruptedRewrite(
  db: lancedb.Connection,
  kind: RewriteKind,
  logger: Logger = silentLogger,
): Promise<{ rows: number; marks: Map<string, string> } | undefined> {
  const name = STAGING[kind].table;
  if (!(await db.tableNames()).includes(name)) return undefined;
  const staging = await db.openTable(name);
  const marks = await idMetadata(staging);
  if (!marks.has(COMPLETE)) {
    staging.close();
    return undefined;
  }
  logger.info('library: finishing a rewrite that stopped while copying back', { staging: name });
  return { rows: await restoreFrom(db, staging, name), marks };
}

export interface RewriteOptions {
  kind: RewriteKind;
  /** Schema of the rewritten table (model name and width in its metadata). */
  schema: Schema;
  /** Recorded on the staging table (e.g. the adapter it projects into); read back by `finishInterruptedRewrite`. */
  marks?: Record<string, string>;
  /** Whether rows an interrupted run staged are still good for this one (same target). */
  resumable: (stagingMarks: Map<string, string>, stagingSchema: Schema) => boolean;
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
  const name = STAGING[opts.kind].table;
  const live = await db.openTable(TABLE);
  const total = await live.countRows();
  const version = String(await live.version());
  let staging: lancedb.Table | undefined;
  const done = new Set<string>();
  if ((await db.tableNames()).includes(name)) {
    const old = await db.openTable(name);
    const marks = await idMetadata(old);
    // Rows deleted or updated since would come back stale: resume only an unchanged live table.
    if (marks.get(SOURCE_VERSION) === version && opts.resumable(marks, await old.schema())) {
      staging = old;
      for (const r of await old.query().select(['id']).toArray()) done.add(String((r as Row).id));
      logger.info('library: resuming an interrupted rewrite', { staged: done.size, total });
    } else {
      old.close();
      await db.dropTable(name);
    }
  }
  staging ??= await db.createEmptyTable(name, withFieldMetadata(opts.schema, 'id', { ...opts.marks, [SOURCE_VERSION]: version }));
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
  return restoreFrom(db, staging, name, Math.max(opts.batch, 8), opts.onRestore);
}

/**
 * Runs `fn` holding the library folder's rewrite lock: two rewrites at once would both restore,
 * one dropping the staging table the other still copies from. A lock left by a dead process is
 * taken over. URIs with a scheme (s3://, db://) are not locked.
 */
export async function withRewriteLock<T>(uri: string, fn: () => Promise<T>): Promise<T> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) return fn();
  const dir = uri.replace(/^file:\/\//, '');
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '.adcreative-rewrite.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw busy(lock, e);
      let pid = 0;
      try {
        pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // Created but its pid not written yet, or written by hand: treat as held.
      }
      if (pid > 0 && !alive(pid)) rmSync(lock, { recursive: true, force: true });
      else throw busy(lock);
    }
  }
  writeFileSync(join(lock, 'pid'), String(process.pid));
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function busy(lock: string, cause?: unknown): LibraryError {
  return new LibraryError('LIBRARY_REWRITE_BUSY', 'another re-embed or re-projection of this library is running', {
    cause,
    hint: `wait for it to finish (its lock is ${lock}; remove it only if no such process runs)`,
  });
}
