/**
 * The SQLite driver (the only module importing better-sqlite3): state in one file under
 * DATA_DIR for a single bot process.
 *
 * better-sqlite3 runs each statement synchronously on one connection, so a transaction
 * that awaits between its statements would let another caller's statements land inside it.
 * Transactions therefore take turns (one queue), and a statement from outside waits while
 * one is open. BEGIN IMMEDIATE takes the write lock at the start, so a transaction's reads
 * (the caps in insertRound) cannot go stale under another process's writes either.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../errors.ts';
import type { SqlDialect, SqlDriver, SqlParam, SqlQuery, SqlResult } from './sql.ts';
import { openSqlStore, type SqlRoundStore } from './sql-store.ts';

const DIALECT: SqlDialect = { name: 'sqlite', xactLock: null, forShare: '', shared: false };

function storeError(e: unknown, path: string): StoreError {
  const code = String((e as { code?: unknown }).code ?? '');
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new StoreError('STORE_CONFLICT', `the state database refused a duplicate: ${message}`, { cause: e });
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY') {
    return new StoreError('STORE_UNAVAILABLE', `the state database ${path} is not usable: ${message}`, { cause: e });
  }
  return new StoreError('STORE_QUERY', `SQLite statement failed: ${message}`, { cause: e });
}

class SqliteDriver implements SqlDriver {
  readonly dialect = DIALECT;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** The end of the transaction queue, and how many transactions are open or waiting in it. */
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private readonly inside: SqlQuery = { query: async (sql, params) => this.run(sql, params) };

  constructor(readonly where: string) {
    if (where !== ':memory:') mkdirSync(dirname(where), { recursive: true });
    try {
      this.db = new Database(where);
      // WAL lets readers (another process inspecting state) run beside the bot's writes.
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
      // WAL + NORMAL: a commit survives the process dying (what restarts need) without an fsync
      // on the event loop per vote; only an OS crash or power loss can drop the last commits.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
    } catch (e) {
      throw new StoreError('STORE_OPEN', `cannot open the state database ${where}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }

  private run(sql: string, params: readonly SqlParam[] = []): SqlResult {
    try {
      let stmt = this.statements.get(sql);
      if (!stmt) {
        // Bounded: the statements are the store's own, varying only in how many `?` a list takes.
        if (this.statements.size >= 500) this.statements.clear();
        stmt = this.db.prepare(sql);
        this.statements.set(sql, stmt);
      }
      if (stmt.reader) {
        const rows = stmt.all(...params) as SqlResult['rows'];
        return { rows, count: rows.length };
      }
      return { rows: [], count: stmt.run(...params).changes };
    } catch (e) {
      throw storeError(e, this.where);
    }
  }

  async query(sql: string, params?: readonly SqlParam[]): Promise<SqlResult> {
    if (this.pending === 0) return this.run(sql, params);
    await this.queued(async () => {});
    return this.query(sql, params);
  }

  private queued<T>(fn: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(fn);
    this.tail = turn.catch(() => {});
    return turn;
  }

  async transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T> {
    this.pending++;
    try {
      return await this.queued(async () => {
        this.run('BEGIN IMMEDIATE');
        try {
          const out = await fn(this.inside);
          this.run('COMMIT');
          return out;
        } catch (e) {
          if (this.db.inTransaction) this.run('ROLLBACK');
          throw e;
        }
      });
    } finally {
      this.pending--;
    }
  }

  async close(): Promise<void> {
    // Whatever is queued finishes first; nothing is cut off mid-transaction.
    await this.tail;
    if (this.db.open) this.db.close();
  }
}

/** The round store in SQLite. */
export type SqliteRoundStore = SqlRoundStore;

/** Opens (creating if needed) the SQLite state at `path` and brings its schema up to date. */
export async function openSqliteStore(path: string): Promise<SqlRoundStore> {
  return openSqlStore(new SqliteDriver(path));
}
