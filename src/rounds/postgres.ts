/**
 * The PostgreSQL implementation of RoundStore (the only module importing `pg`), for
 * several bot replicas sharing one state. It runs the very same migrations as SQLite
 * (portable SQL; `?` placeholders become `$n` here), plus the `round_leases` table that
 * only replicas need.
 *
 * Concurrency: every multi-statement change runs in one transaction on one pooled client.
 * insertRound serialises on a transaction-scoped advisory lock so two replicas cannot both
 * pass the same rate limit or cap; swapVote locks the round row (FOR SHARE) so a vote and
 * a close cannot interleave, and its compare-and-set statements re-check their WHERE after
 * any row lock, as in SQLite.
 */
import pg from 'pg';
import { RoundError, StoreError } from '../errors.ts';
import type { RoundLeases } from './leases.ts';
import { MIGRATIONS } from './migrations.ts';
import { patchSql, roundExists, roundFromRow, variantFromRow, variantParams, voteEventFromRow, voteFromRow } from './sqlite.ts';
import type {
  CapCheck,
  Feedback,
  NewRound,
  Round,
  RoundPatch,
  RoundStatus,
  RoundStore,
  Usage,
  VariantPatch,
  VariantRecord,
  Vote,
  VoteEvent,
  VoteSource,
} from './types.ts';

type Row = Record<string, unknown>;
type Queryable = Pick<pg.PoolClient, 'query'>;

// Arbitrary constants naming the advisory locks this store takes.
const LOCK_MIGRATE = 0x61647201;
const LOCK_INSERT_ROUND = 0x61647202;

/** `?` placeholders (the migrations' and SQLite's style) → `$1, $2, …`. No `?` appears inside our literals. */
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

function pgMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export interface PostgresStoreOptions {
  url: string;
  /** Pool size per replica. */
  max?: number;
}

export class PostgresRoundStore implements RoundStore {
  readonly pool: pg.Pool;
  private readonly where: string;

  constructor(opts: PostgresStoreOptions) {
    this.where = safeUrl(opts.url);
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.max ?? 10, connectionTimeoutMillis: 10_000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
  }

  private async q(sql: string, params: unknown[] = [], c: Queryable = this.pool): Promise<pg.QueryResult<Row>> {
    try {
      return await c.query<Row>(numbered(sql), params);
    } catch (e) {
      if (e instanceof RoundError || e instanceof StoreError) throw e;
      const code = (e as { code?: string }).code;
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '57P01' || code === '28P01' || code === '3D000') {
        throw new StoreError('STORE_UNAVAILABLE', `PostgreSQL at ${this.where} is not reachable: ${pgMessage(e)}`, { cause: e });
      }
      throw new StoreError('STORE_QUERY', `PostgreSQL query failed: ${pgMessage(e)}`, { cause: e });
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw new StoreError('STORE_UNAVAILABLE', `PostgreSQL at ${this.where} is not reachable: ${pgMessage(e)}`, { cause: e });
    }
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async migrate(): Promise<void> {
    await this.tx(async (c) => {
      // Two replicas starting together: one migrates, the other waits and then finds it done.
      await this.q('SELECT pg_advisory_xact_lock(?)', [LOCK_MIGRATE], c);
      await this.q(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
        [],
        c,
      );
      const done = new Set((await this.q('SELECT version FROM schema_migrations', [], c)).rows.map((r) => Number(r.version)));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const sql of m.sql) await this.q(sql, [], c);
        await this.q(
          'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
          [m.version, m.name, new Date().toISOString()],
          c,
        );
      }
      // Replica leases exist only here: a single SQLite process has nobody to share with.
      // Lease times are the database's own clock, so replicas' clock skew does not matter.
      await this.q(
        'CREATE TABLE IF NOT EXISTS round_leases (round_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)',
        [],
        c,
      );
    });
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  async markProcessed(key: string, at: Date): Promise<boolean> {
    return (
      (await this.q('INSERT INTO processed_events (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING', [key, at.toISOString()])).rowCount === 1
    );
  }

  async pruneProcessed(before: Date): Promise<number> {
    return (await this.q('DELETE FROM processed_events WHERE at < ?', [before.toISOString()])).rowCount ?? 0;
  }

  async insertRound(r: NewRound, caps: CapCheck): Promise<Round> {
    return this.tx(async (c) => {
      await this.q('SELECT pg_advisory_xact_lock(?)', [LOCK_INSERT_ROUND], c);
      const mine = (
        await this.q(
          "SELECT COUNT(*) AS n FROM rounds WHERE author = ? AND number = 1 AND created_at >= ? AND status <> 'failed'",
          [r.author, caps.perUserSince.toISOString()],
          c,
        )
      ).rows[0];
      if (r.number === 1 && Number(mine.n) >= caps.perUserLimit) {
        throw new RoundError('RATE_LIMITED', `rate limit: ${caps.perUserLimit} briefs per hour per person`);
      }
      const images = (
        await this.q(
          "SELECT COALESCE(SUM(images_planned), 0) AS n FROM rounds WHERE created_at >= ? AND status <> 'failed'",
          [caps.daySince.toISOString()],
          c,
        )
      ).rows[0];
      if (Number(images.n) + r.imagesPlanned > caps.dailyImageCap) {
        throw new RoundError('DAILY_IMAGE_CAP', `daily image cap of ${caps.dailyImageCap} reached (${Number(images.n)} used today)`);
      }
      if (caps.monthlyUsdCap > 0) {
        const spent = (
          await this.q('SELECT COALESCE(SUM(cost_usd), 0) AS usd FROM rounds WHERE created_at >= ?', [caps.monthSince.toISOString()], c)
        ).rows[0];
        if (Number(spent.usd) >= caps.monthlyUsdCap) {
          throw new RoundError(
            'SPEND_CAP',
            `monthly spend cap of $${caps.monthlyUsdCap.toFixed(2)} reached ($${Number(spent.usd).toFixed(2)} spent)`,
          );
        }
      }
      let inserted: Awaited<ReturnType<typeof this.q>>;
      try {
        inserted = await this.q(
          `INSERT INTO rounds (id, channel, thread_ts, number, brief, author, options, status, created_at, images_planned)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'generating', ?, ?) RETURNING *`,
          [r.id, r.channel, r.threadTs, r.number, r.brief, r.author, JSON.stringify(r.options), r.createdAt.toISOString(), r.imagesPlanned],
          c,
        );
      } catch (e) {
        // Two clicks on "New round" race for the same number (unique_violation): told, as with SQLite.
        if ((e as { cause?: { code?: string } }).cause?.code === '23505') throw roundExists(r.number);
        throw e;
      }
      return roundFromRow(inserted.rows[0]);
    });
  }

  async getRound(id: string): Promise<Round | undefined> {
    const r = (await this.q('SELECT * FROM rounds WHERE id = ?', [id])).rows[0];
    return r ? roundFromRow(r) : undefined;
  }

  async latestRoundInThread(channel: string, threadTs: string): Promise<Round | undefined> {
    const r = (await this.q('SELECT * FROM rounds WHERE channel = ? AND thread_ts = ? ORDER BY number DESC LIMIT 1', [channel, threadTs]))
      .rows[0];
    return r ? roundFromRow(r) : undefined;
  }

  async roundsInThread(channel: string, threadTs: string): Promise<Round[]> {
    return (await this.q('SELECT * FROM rounds WHERE channel = ? AND thread_ts = ? ORDER BY number', [channel, threadTs])).rows.map(
      roundFromRow,
    );
  }

  async updateRound(id: string, patch: RoundPatch): Promise<void> {
    const { sets, values } = patchSql(patch);
    if (!sets.length) return;
    await this.q(`UPDATE rounds SET ${sets.join(', ')} WHERE id = ?`, [...values, id]);
  }

  async transitionRound(id: string, from: RoundStatus[], to: RoundStatus, patch: RoundPatch = {}): Promise<boolean> {
    const { sets, values } = patchSql({ ...patch, status: to });
    const marks = from.map(() => '?').join(', ');
    return (
      (await this.q(`UPDATE rounds SET ${sets.join(', ')} WHERE id = ? AND status IN (${marks})`, [...values, id, ...from])).rowCount === 1
    );
  }

  async roundsWithStatus(statuses: RoundStatus[]): Promise<Round[]> {
    const marks = statuses.map(() => '?').join(', ');
    return (await this.q(`SELECT * FROM rounds WHERE status IN (${marks}) ORDER BY created_at`, statuses)).rows.map(roundFromRow);
  }

  async roundsByAuthor(user: string, statuses: RoundStatus[], limit: number): Promise<Round[]> {
    const marks = statuses.map(() => '?').join(', ');
    return (
      await this.q(`SELECT * FROM rounds WHERE author = ? AND status IN (${marks}) ORDER BY created_at DESC LIMIT ?`, [
        user,
        ...statuses,
        limit,
      ])
    ).rows.map(roundFromRow);
  }

  async recentWinners(limit: number): Promise<Round[]> {
    // NULLS LAST: SQLite sorts NULL first ascending, hence last descending; PostgreSQL needs telling.
    return (
      await this.q('SELECT * FROM rounds WHERE winner_variant_id IS NOT NULL ORDER BY closed_at DESC NULLS LAST LIMIT ?', [limit])
    ).rows.map(roundFromRow);
  }

  async insertVariants(variants: VariantRecord[]): Promise<void> {
    await this.tx(async (c) => {
      for (const v of variants) {
        const ch = (await this.q('SELECT channel FROM rounds WHERE id = ?', [v.roundId], c)).rows[0];
        if (!ch) throw new StoreError('STORE_NO_ROUND', `no round ${v.roundId} for variant ${v.label}`);
        await this.q(
          `INSERT INTO variants (id, round_id, label, position, headline, body, cta, concept, reason, scores, offline, flags, formats, message_ts, file_id, channel)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          variantParams(v, String(ch.channel)),
          c,
        );
      }
    });
  }

  async getVariant(id: string): Promise<VariantRecord | undefined> {
    const r = (await this.q('SELECT * FROM variants WHERE id = ?', [id])).rows[0];
    return r ? variantFromRow(r) : undefined;
  }

  async variantByMessage(channel: string, ts: string): Promise<{ round: Round; variant: VariantRecord } | undefined> {
    const v = (await this.q('SELECT * FROM variants WHERE channel = ? AND message_ts = ?', [channel, ts])).rows[0];
    if (!v) return undefined;
    const round = await this.getRound(String(v.round_id));
    return round ? { round, variant: variantFromRow(v) } : undefined;
  }

  async listVariants(roundId: string): Promise<VariantRecord[]> {
    return (await this.q('SELECT * FROM variants WHERE round_id = ? ORDER BY position', [roundId])).rows.map(variantFromRow);
  }

  async updateVariant(id: string, patch: VariantPatch): Promise<void> {
    const cols: Record<string, [string, (v: never) => unknown]> = {
      headline: ['headline', (v: string) => v],
      body: ['body', (v: string) => v],
      cta: ['cta', (v: string) => v],
      messageTs: ['message_ts', (v: string | null) => v],
      fileId: ['file_id', (v: string | null) => v],
      flags: ['flags', (v: string[]) => JSON.stringify(v)],
    };
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || !cols[k]) continue;
      sets.push(`${cols[k][0]} = ?`);
      values.push((cols[k][1] as (x: unknown) => unknown)(v));
    }
    if (sets.length) await this.q(`UPDATE variants SET ${sets.join(', ')} WHERE id = ?`, [...values, id]);
  }

  async swapVote(p: {
    roundId: string;
    user: string;
    expected: string | null;
    next: string | null;
    source: VoteSource;
    at: Date;
  }): Promise<boolean> {
    return this.tx(async (c) => {
      // FOR SHARE: votes run side by side, but a close (UPDATE of the row) waits for them, and they for it.
      const open = (await this.q("SELECT 1 FROM rounds WHERE id = ? AND status = 'open' FOR SHARE", [p.roundId], c)).rows[0];
      if (!open) return false;
      const at = p.at.toISOString();
      let changes = 0;
      if (p.expected === null && p.next !== null) {
        changes =
          (
            await this.q(
              'INSERT INTO votes (round_id, user_id, variant_id, source, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
              [p.roundId, p.user, p.next, p.source, at],
              c,
            )
          ).rowCount ?? 0;
      } else if (p.expected !== null && p.next !== null) {
        changes =
          (
            await this.q(
              'UPDATE votes SET variant_id = ?, source = ?, at = ? WHERE round_id = ? AND user_id = ? AND variant_id = ?',
              [p.next, p.source, at, p.roundId, p.user, p.expected],
              c,
            )
          ).rowCount ?? 0;
      } else if (p.expected !== null && p.next === null) {
        changes =
          (await this.q('DELETE FROM votes WHERE round_id = ? AND user_id = ? AND variant_id = ?', [p.roundId, p.user, p.expected], c))
            .rowCount ?? 0;
      }
      if (changes !== 1) return false;
      const seq = (
        await this.q('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM vote_events WHERE round_id = ? AND user_id = ?', [p.roundId, p.user], c)
      ).rows[0];
      await this.q(
        'INSERT INTO vote_events (round_id, user_id, variant_id, previous_id, source, at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [p.roundId, p.user, p.next, p.expected, p.source, at, Number(seq.n)],
        c,
      );
      return true;
    });
  }

  async currentVote(roundId: string, user: string): Promise<Vote | undefined> {
    const r = (await this.q('SELECT * FROM votes WHERE round_id = ? AND user_id = ?', [roundId, user])).rows[0];
    return r ? voteFromRow(r) : undefined;
  }

  async listVotes(roundId: string): Promise<Vote[]> {
    return (await this.q('SELECT * FROM votes WHERE round_id = ? ORDER BY at, user_id', [roundId])).rows.map(voteFromRow);
  }

  async lastVoteEvent(roundId: string, user: string): Promise<VoteEvent | undefined> {
    const r = (await this.q('SELECT * FROM vote_events WHERE round_id = ? AND user_id = ? ORDER BY seq DESC LIMIT 1', [roundId, user]))
      .rows[0];
    return r ? voteEventFromRow(r) : undefined;
  }

  async voteEvents(roundId: string): Promise<VoteEvent[]> {
    return (await this.q('SELECT * FROM vote_events WHERE round_id = ? ORDER BY at, user_id, seq', [roundId])).rows.map(voteEventFromRow);
  }

  async addFeedback(f: Omit<Feedback, 'id' | 'usedBy'>): Promise<boolean> {
    return (
      (
        await this.q(
          'INSERT INTO feedback (id, channel, thread_ts, message_ts, user_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          [`${f.channel}:${f.messageTs}`, f.channel, f.threadTs, f.messageTs, f.user, f.text, f.createdAt.toISOString()],
        )
      ).rowCount === 1
    );
  }

  async feedbackInThread(channel: string, threadTs: string): Promise<Feedback[]> {
    return (
      await this.q('SELECT * FROM feedback WHERE channel = ? AND thread_ts = ? ORDER BY created_at, message_ts', [channel, threadTs])
    ).rows.map((r) => ({
      id: String(r.id),
      channel: String(r.channel),
      threadTs: String(r.thread_ts),
      messageTs: String(r.message_ts),
      user: String(r.user_id),
      text: String(r.text),
      createdAt: new Date(String(r.created_at)),
      usedBy: (r.used_by as string | null) ?? null,
    }));
  }

  async markFeedbackUsed(ids: string[], roundId: string): Promise<void> {
    await this.tx(async (c) => {
      for (const id of ids) await this.q('UPDATE feedback SET used_by = ? WHERE id = ? AND used_by IS NULL', [roundId, id], c);
    });
  }

  async usageSince(since: Date): Promise<Usage> {
    const r = (
      await this.q(
        `SELECT COUNT(*) AS rounds, COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
                COALESCE(SUM(image_calls), 0) AS images, COALESCE(SUM(cost_usd), 0) AS usd
         FROM rounds WHERE created_at >= ?`,
        [since.toISOString()],
      )
    ).rows[0];
    return { rounds: Number(r.rounds), failed: Number(r.failed), images: Number(r.images), usd: Number(r.usd) };
  }

  /** Round leases for replica `owner`, each valid `ttlMs` after its last claim or renewal. */
  leases(owner: string, ttlMs: number): RoundLeases {
    const ttl = `${Math.max(1, Math.round(ttlMs))} milliseconds`;
    return {
      owner,
      // Insert, keep (ours) or steal (expired), in one statement: a row comes back only when we hold it.
      claim: async (roundId) =>
        (
          await this.q(
            `INSERT INTO round_leases (round_id, owner, expires_at) VALUES (?, ?, now() + ?::interval)
             ON CONFLICT (round_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
             WHERE round_leases.owner = EXCLUDED.owner OR round_leases.expires_at < now()
             RETURNING round_id`,
            [roundId, owner, ttl],
          )
        ).rowCount === 1,
      // Only rounds still in progress keep a lease; leases of finished rounds are dropped here.
      renewAll: async () => {
        const n =
          (
            await this.q(
              `UPDATE round_leases l SET expires_at = now() + ?::interval FROM rounds r
               WHERE l.owner = ? AND r.id = l.round_id AND r.status IN ('generating', 'open')`,
              [ttl, owner],
            )
          ).rowCount ?? 0;
        await this.q(
          `DELETE FROM round_leases l USING rounds r WHERE l.owner = ? AND r.id = l.round_id AND r.status NOT IN ('generating', 'open')`,
          [owner],
        );
        return n;
      },
      release: async (roundId) => {
        await this.q('DELETE FROM round_leases WHERE round_id = ? AND owner = ?', [roundId, owner]);
      },
      unowned: async (roundIds) => {
        if (!roundIds.length) return [];
        const held = new Set(
          (await this.q('SELECT round_id FROM round_leases WHERE round_id = ANY(?) AND expires_at >= now()', [roundIds])).rows.map((r) =>
            String(r.round_id),
          ),
        );
        return roundIds.filter((id) => !held.has(id));
      },
    };
  }
}

export async function openPostgresStore(url: string): Promise<PostgresRoundStore> {
  const store = new PostgresRoundStore({ url });
  try {
    await store.migrate();
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
  return store;
}
