/**
 * Rewriting the whole `creatives` table (re-embedding after a model change, re-projection after an
 * adapter is trained), safely across crashes. Local LanceDB cannot rename tables, so:
 *
 *   1. every row goes through `transform` into a staging table; the live table is untouched. When
 *      all rows are in, the staging table is marked complete (metadata on its `id` field).
 *   2. the live table is overwritten (a new version; readers of the old one keep its files) with a
 *      copy of the complete staging table, which is then dropped.
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
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
    const name = STAGING[kind].table;
    if (!names.includes(name)) continue;
    let marks: Map<string, string>;
    try {
      const t = await db.openTable(name);
      try {
        marks = await idMetadata(t);
      } finally {
        t.close();
      }
    } catch (e) {
      // Dropped since it was listed: its rewrite has just finished (no lock is held here).
      if (!(await db.tableNames()).includes(name)) continue;
      throw e;
    }
    if (marks.has(COMPLETE)) out.push(kind);
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

/** The error for a library being copied back by a rewrite that is running now. */
export function rewriteRunningError(kind?: RewriteKind): LibraryError {
  const what = kind ? `a ${STAGING[kind].what}` : 'a re-embed or re-projection';
  return new LibraryError('LIBRARY_REWRITE_RUNNING', `${what} of the creative library is rewriting it right now`, {
    hint: 'it opens again when that finishes (usually seconds to minutes)',
  });
}

/** Step 2: the live table becomes a copy of the complete staging table. */
async function restoreFrom(
  db: lancedb.Connection,
  staging: lancedb.Table,
  stagingName: string,
  opts: { batch?: number; onRestore?: (n: number) => void; beforeDrop?: (marks: Map<string, string>) => void | Promise<void> } = {},
): Promise<number> {
  const marks = await idMetadata(staging);
  const schema = withFieldMetadata(await staging.schema(), 'id', {}, (k) => k.startsWith(MARK));
  // Overwritten, never dropped: an overwrite is one more version of the table, and a read still on
  // the version before it (a search, scan or the dedupe read of an add, in this process or another
  // one) goes on reading that version's files, which Lance deletes only when compaction cleans up
  // old versions (upkeep.ts). Dropping deleted them under such reads ("Not found" mid-stream).
  const exists = (await db.tableNames()).includes(TABLE);
  const fresh = await db.createEmptyTable(TABLE, schema, { mode: exists ? 'overwrite' : 'create' });
  const rows = await copyRows(
    staging,
    fresh,
    opts.batch ?? 256,
    (rs) => rs.map((r) => rowFromCreative(creativeFromRow(r))),
    opts.onRestore,
  );
  fresh.close();
  // Whatever must agree with the new table (the adapter space file) is written while the staging
  // table still exists: a crash before this line is finished by the next run, which writes it again.
  await opts.beforeDrop?.(marks);
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
  beforeDrop?: (marks: Map<string, string>) => void | Promise<void>,
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
  return { rows: await restoreFrom(db, staging, name, { beforeDrop }), marks };
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
  /** Runs once the live table is whole again, before the staging table is dropped. */
  beforeDropStaging?: () => void | Promise<void>;
  logger?: Logger;
  /** Internal: how many times the live table changed under step 1. */
  attempt?: number;
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
      const pending = rows.filter((r) => !done.has(String(r.id)));
      return pending.length ? opts.transform(pending) : [];
    },
    (n) => opts.onProgress?.(n, total),
  );
  // A write that checked for the lock just before it was taken may have committed since: the
  // staged copy would drop it. Writers wait for the lock now, so a second pass sees a still table.
  await live.checkoutLatest();
  const changed = String(await live.version()) !== version;
  live.close();
  if (changed) {
    if ((opts.attempt ?? 0) >= 2)
      throw new LibraryError('LIBRARY_REWRITE_BUSY', 'the library kept changing during the rewrite; run it again');
    logger.info('library: the table changed during the rewrite; staging it again');
    staging.close();
    await db.dropTable(name);
    return rewriteTable(db, { ...opts, attempt: (opts.attempt ?? 0) + 1 });
  }
  await staging.updateFieldMetadata([{ path: 'id', metadata: { [COMPLETE]: String(await staging.countRows()) } }]);
  return restoreFrom(db, staging, name, { batch: Math.max(opts.batch, 8), onRestore: opts.onRestore, beforeDrop: opts.beforeDropStaging });
}

const LOCK = '.adcreative-rewrite.lock';
/** Rewritten when a rewrite ends: open handles compare it to know the table was replaced under them. */
const GENERATION = '.adcreative-rewrite.generation';
/** Lock directories this process holds: a lock naming our pid that is not in here is a dead namesake's. */
const held = new Set<string>();

interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

function lockDir(uri: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) return undefined;
  return uri.replace(/^file:\/\//, '');
}

function readOwner(lock: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(lock, 'owner.json'), 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * Whether a lock's owner is gone: its process is dead, or it names this process's pid without this
 * process holding it (a container restarted with the same pid, usually 1). An owner on another
 * host cannot be checked and counts as alive.
 */
function stale(lock: string, owner: LockOwner | undefined): boolean {
  if (!owner) return false;
  if (owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return !held.has(lock);
  return !alive(owner.pid);
}

/**
 * Which rewrite the library at `uri` last went through ('' for none, or for object-store URIs,
 * which keep no such marker). A handle opened before a change still reads the version the rewrite replaced.
 */
export function rewriteGeneration(uri: string): string {
  const dir = lockDir(uri);
  if (!dir) return '';
  try {
    return readFileSync(join(dir, GENERATION), 'utf8');
  } catch {
    return '';
  }
}

/** Index builds running in this process, by library folder: a rewrite waits for them to end. */
const builds = new Map<string, number>();

/** Called by the library around an index build (which commits to the table a rewrite would replace). */
export function markBuild(uri: string, delta: 1 | -1): void {
  const dir = lockDir(uri);
  if (!dir) return;
  const n = (builds.get(dir) ?? 0) + delta;
  if (n > 0) builds.set(dir, n);
  else builds.delete(dir);
}

/** Whether another live process is rewriting the library at `uri` now. */
export function rewriteRunning(uri: string): boolean {
  const dir = lockDir(uri);
  if (!dir) return false;
  const lock = join(dir, LOCK);
  if (held.has(lock)) return true;
  // Our locks appear with their owner written (see withRewriteLock): one without is not ours.
  const owner = readOwner(lock);
  return owner !== undefined && !stale(lock, owner);
}

/**
 * Runs `fn` holding the library folder's rewrite lock: two rewrites at once would both restore,
 * one dropping the staging table the other still copies from. The lock is a directory made whole
 * under a temporary name and renamed into place (atomic: never seen without its owner); a stale
 * one is renamed aside first, so two takers cannot both win. URIs with a scheme (s3://, db://)
 * are not locked.
 */
export async function withRewriteLock<T>(uri: string, fn: () => Promise<T>): Promise<T> {
  const dir = lockDir(uri);
  if (!dir) return fn();
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, LOCK);
  // An index build in this process commits to the table the rewrite replaces: let it finish first.
  // The lock is let go while waiting, so the library's writes (which the build's last steps queue
  // behind) are not held up. Builds in other processes are not seen: run `library index` and
  // rewrites one at a time.
  for (;;) {
    acquire(lock);
    if (!builds.has(dir)) break;
    held.delete(lock);
    rmSync(lock, { recursive: true, force: true });
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    try {
      // Before the lock goes: a handle that sees the lock gone must also see the table changed.
      writeFileSync(join(dir, GENERATION), randomUUID());
    } finally {
      held.delete(lock);
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

function acquire(lock: string): void {
  const me: LockOwner = { pid: process.pid, host: hostname(), token: randomUUID() };
  const mine = `${lock}.${me.token}`;
  mkdirSync(mine);
  writeFileSync(join(mine, 'owner.json'), JSON.stringify(me));
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(mine, lock);
      held.add(lock);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const owner = code === 'ENOTEMPTY' || code === 'EEXIST' ? readOwner(lock) : undefined;
      if (attempt === 0 && owner && stale(lock, owner)) {
        const aside = `${lock}.stale.${me.token}`;
        try {
          renameSync(lock, aside);
          rmSync(aside, { recursive: true, force: true });
        } catch {
          // Another process moved it first; the next attempt sees its lock.
        }
        continue;
      }
      rmSync(mine, { recursive: true, force: true });
      throw busy(lock, owner, code === 'ENOTEMPTY' || code === 'EEXIST' ? undefined : e);
    }
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

function busy(lock: string, owner?: LockOwner, cause?: unknown): LibraryError {
  const who = owner ? ` (pid ${owner.pid} on ${owner.host})` : '';
  return new LibraryError('LIBRARY_REWRITE_BUSY', `another re-embed or re-projection of this library is running${who}`, {
    cause,
    hint: `wait for it to finish (its lock is ${lock}; remove it only if no such process runs)`,
  });
}
