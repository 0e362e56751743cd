/**
 * The PostgreSQL driver (the only module importing `pg`), for several bot replicas sharing
 * one state. The store's `?` placeholders become `$n` here; each transaction runs on one
 * pooled client, other statements on any client.
 */
import pg from 'pg';
import { StoreError } from '../errors.ts';
import type { SqlDialect, SqlDriver, SqlParam, SqlQuery, SqlResult } from './sql.ts';
import { openSqlStore, type SqlRoundStore } from './sql-store.ts';

const DIALECT: SqlDialect = {
  name: 'postgres',
  xactLock: 'SELECT pg_advisory_xact_lock(?)',
  forShare: ' FOR SHARE',
  shared: true,
};

// Connection refused, host unknown, admin shutdown, bad password, no such database.
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', '57P01', '28P01', '28000', '3D000']);
const UNIQUE_VIOLATION = '23505';

/** `?` placeholders (the store's style) → `$1, $2, …`. No `?` appears inside the store's literals. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The connection string with its password hidden, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the configured DATABASE_URL';
  }
}

class PostgresDriver implements SqlDriver {
  readonly dialect = DIALECT;
  readonly where: string;
  private readonly pool: pg.Pool;

  constructor(url: string, max: number) {
    this.where = safeUrl(url);
    this.pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 10_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
  }

  private error(e: unknown): StoreError {
    const code = String((e as { code?: unknown }).code ?? '');
    const message = e instanceof Error ? e.message : String(e);
    if (code === UNIQUE_VIOLATION) return new StoreError('STORE_CONFLICT', `PostgreSQL refused a duplicate: ${message}`, { cause: e });
    if (UNAVAILABLE.has(code) || /timeout exceeded when trying to connect/i.test(message)) {
      return new StoreError('STORE_UNAVAILABLE', `PostgreSQL at ${this.where} is not reachable: ${message}`, { cause: e });
    }
    return new StoreError('STORE_QUERY', `PostgreSQL query failed: ${message}`, { cause: e });
  }

  private async run(c: pg.Pool | pg.PoolClient, sql: string, params: readonly SqlParam[] = []): Promise<SqlResult> {
    try {
      const r = await c.query<SqlResult['rows'][number]>(numbered(sql), params as SqlParam[]);
      return { rows: r.rows, count: r.rowCount ?? 0 };
    } catch (e) {
      throw this.error(e);
    }
  }

  query(sql: string, params?: readonly SqlParam[]): Promise<SqlResult> {
    return this.run(this.pool, sql, params);
  }

  async transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw new StoreError(
        'STORE_UNAVAILABLE',
        `PostgreSQL at ${this.where} is not reachable: ${e instanceof Error ? e.message : String(e)}`,
        {
          cause: e,
        },
      );
    }
    try {
      await this.run(c, 'BEGIN');
      const out = await fn({ query: (sql, params) => this.run(c, sql, params) });
      await this.run(c, 'COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

/** The round store in PostgreSQL. */
export type PostgresRoundStore = SqlRoundStore;

/** Connects (a pool of `max` per replica) and brings the schema up to date. */
export async function openPostgresStore(url: string, opts: { max?: number } = {}): Promise<SqlRoundStore> {
  return openSqlStore(new PostgresDriver(url, opts.max ?? 10));
}
