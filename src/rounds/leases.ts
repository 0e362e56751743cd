/**
 * Round ownership between replicas. A replica that starts generating a round (or runs its
 * timers) holds a lease on it and renews it while it lives; when the owner dies its leases
 * expire and another replica claims the round and finishes what was left (fails a round cut
 * off mid-generation with a message in the thread, closes a round whose time is up).
 *
 * With a single process (SQLite) there is nobody to compete with: `soleOwnerLeases` grants
 * every claim. Where replicas share the database (PostgreSQL), `sqlLeases` keeps the leases
 * in the `round_leases` table, on the database's own clock so replicas' clock skew does not
 * matter.
 */
import type { Logger } from '../log.ts';
import type { SqlQuery } from './sql.ts';

/**
 * The lease table, created (idempotently) beside the migrations where the dialect is shared.
 * PostgreSQL SQL: TIMESTAMPTZ and now() are the database's clock.
 */
export const LEASES_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS round_leases (round_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)',
];

export interface RoundLeases {
  /** This replica's id as written into leases. */
  readonly owner: string;
  /** True where other replicas compete for rounds (PostgreSQL); false for a single process. */
  readonly shared: boolean;
  /** Takes the round if it is free, already ours, or its owner's lease expired. */
  claim(roundId: string): Promise<boolean>;
  /** Extends every lease this replica holds; returns how many. */
  renewAll(): Promise<number>;
  release(roundId: string): Promise<void>;
  /** Of these rounds, the ones nobody holds a live lease on. */
  unowned(roundIds: string[]): Promise<string[]>;
}

export function soleOwnerLeases(owner = 'local'): RoundLeases {
  return {
    owner,
    shared: false,
    claim: async () => true,
    renewAll: async () => 0,
    release: async () => {},
    unowned: async () => [],
  };
}

/** Round leases for replica `owner` in the shared database, each valid `ttlMs` after its last claim or renewal. */
export function sqlLeases(db: SqlQuery, owner: string, ttlMs: number): RoundLeases {
  const ttl = `${Math.max(1, Math.round(ttlMs))} milliseconds`;
  return {
    owner,
    shared: true,
    // Insert, keep (ours) or steal (expired), in one statement: a row comes back only when we hold it.
    claim: async (roundId) =>
      (
        await db.query(
          `INSERT INTO round_leases (round_id, owner, expires_at) VALUES (?, ?, now() + ?::interval)
           ON CONFLICT (round_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
           WHERE round_leases.owner = EXCLUDED.owner OR round_leases.expires_at < now()
           RETURNING round_id`,
          [roundId, owner, ttl],
        )
      ).count === 1,
    // Only rounds still in progress keep a lease; leases of finished rounds are dropped here.
    renewAll: async () => {
      const n = (
        await db.query(
          `UPDATE round_leases l SET expires_at = now() + ?::interval FROM rounds r
           WHERE l.owner = ? AND r.id = l.round_id AND r.status IN ('generating', 'open')`,
          [ttl, owner],
        )
      ).count;
      await db.query(
        `DELETE FROM round_leases l USING rounds r WHERE l.owner = ? AND r.id = l.round_id AND r.status NOT IN ('generating', 'open')`,
        [owner],
      );
      return n;
    },
    release: async (roundId) => {
      await db.query('DELETE FROM round_leases WHERE round_id = ? AND owner = ?', [roundId, owner]);
    },
    unowned: async (roundIds) => {
      if (!roundIds.length) return [];
      const held = new Set(
        (
          await db.query(
            `SELECT round_id FROM round_leases WHERE round_id IN (${roundIds.map(() => '?').join(', ')}) AND expires_at >= now()`,
            roundIds,
          )
        ).rows.map((r) => String(r.round_id)),
      );
      return roundIds.filter((id) => !held.has(id));
    },
  };
}

/** Renews this replica's leases every third of their lifetime until stopped. */
export function startLeaseRenewal(leases: RoundLeases, ttlMs: number, logger?: Logger): { stop(): void } {
  const timer = setInterval(
    () => {
      leases.renewAll().catch((e: unknown) => logger?.warn('round lease renewal failed', { error: e, owner: leases.owner }));
    },
    Math.max(500, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
