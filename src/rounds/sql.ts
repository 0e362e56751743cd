/**
 * The seam under the one SQL round store: a driver runs portable SQL (`?` placeholders,
 * ISO-8601 timestamps as TEXT, booleans as INTEGER 0/1) and says, in its dialect, the few
 * things SQLite and PostgreSQL really do differently. `sqlite.ts` (better-sqlite3) and
 * `postgres.ts` (pg) are the only drivers and the only modules importing those libraries.
 *
 * Drivers turn their library's failures into StoreErrors with one set of codes, so the
 * store and its callers branch the same way on both:
 *   STORE_CONFLICT     a unique or primary-key constraint refused the row
 *   STORE_UNAVAILABLE  the database cannot be reached, opened or locked
 *   STORE_QUERY        any other failed statement
 */
export type SqlRow = Record<string, unknown>;

export interface SqlResult {
  rows: SqlRow[];
  /** Rows an INSERT, UPDATE or DELETE changed (with RETURNING: the rows returned). */
  count: number;
}

/** Strings, numbers and null only: what both drivers bind alike. */
export type SqlParam = string | number | null;

export interface SqlQuery {
  query(sql: string, params?: readonly SqlParam[]): Promise<SqlResult>;
}

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * A statement taking lock `?` until the transaction ends, or null when the driver's
   * transactions already exclude each other (SQLite's BEGIN IMMEDIATE takes the write lock).
   */
  readonly xactLock: string | null;
  /** Appended to a SELECT to hold its rows against concurrent UPDATEs until commit ('' where transactions are serial). */
  readonly forShare: string;
  /** Whether several processes share this database with a common clock: replicas then coordinate with leases. */
  readonly shared: boolean;
}

export interface SqlDriver extends SqlQuery {
  readonly dialect: SqlDialect;
  /** Where the data lives, for messages: a file path or the URL without its password. */
  readonly where: string;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * Statements inside must go through `tx`; other callers' statements wait or run beside it
   * as the database's isolation allows, never inside it.
   */
  transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
