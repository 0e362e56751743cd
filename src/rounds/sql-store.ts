/**
 * The one RoundStore: portable SQL over a driver (`sql.ts`), the same statements on SQLite
 * and PostgreSQL. The schema is `migrations.ts`, shared too.
 *
 * Concurrency: every multi-statement change runs in one driver transaction. insertRound
 * serialises on the dialect's transaction lock (PostgreSQL: an advisory lock; SQLite: the
 * write lock BEGIN IMMEDIATE already holds) so two replicas cannot both pass the same rate
 * limit or cap. swapVote holds the round row (FOR SHARE on PostgreSQL) so a vote and a close
 * cannot interleave, and its compare-and-set statements re-check their WHERE after any row
 * lock.
 */
import { RoundError, StoreError } from '../errors.ts';
import { LEASES_SCHEMA } from './leases.ts';
import { MIGRATIONS } from './migrations.ts';
import type { SqlDriver, SqlParam, SqlQuery, SqlRow } from './sql.ts';
import type {
  Approval,
  ApproveResult,
  CapCheck,
  ContentVersion,
  ExportRecord,
  Feedback,
  NewRound,
  ResultRow,
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

// Arbitrary constants naming the transaction locks this store takes.
const LOCK_MIGRATE = 0x61647201;
const LOCK_INSERT_ROUND = 0x61647202;

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
const date = (v: unknown): Date | null => (typeof v === 'string' && v ? new Date(v) : null);
const bit = (v: boolean): number => (v ? 1 : 0);
const str = (v: unknown): string | null => (v as string | null) ?? null;

function roundFromRow(r: SqlRow): Round {
  return {
    id: String(r.id),
    channel: String(r.channel),
    threadTs: String(r.thread_ts),
    number: Number(r.number),
    brief: String(r.brief),
    author: String(r.author),
    options: JSON.parse(String(r.options)),
    status: r.status as RoundStatus,
    createdAt: new Date(String(r.created_at)),
    closesAt: date(r.closes_at),
    reminded: Number(r.reminded) === 1,
    closedAt: date(r.closed_at),
    closedBy: str(r.closed_by),
    winnerVariantId: str(r.winner_variant_id),
    winnerCreativeId: str(r.winner_creative_id),
    tie: Number(r.tie) === 1,
    tallyTs: str(r.tally_ts),
    permalink: str(r.permalink),
    imagesPlanned: Number(r.images_planned),
    costUsd: Number(r.cost_usd),
    textCalls: Number(r.text_calls),
    imageCalls: Number(r.image_calls),
    offline: Number(r.offline) === 1,
    synthetic: Number(r.synthetic) === 1,
    error: str(r.error),
  };
}

function variantFromRow(r: SqlRow): VariantRecord {
  return {
    id: String(r.id),
    roundId: String(r.round_id),
    label: String(r.label),
    position: Number(r.position),
    headline: String(r.headline),
    body: String(r.body),
    cta: String(r.cta),
    concept: String(r.concept),
    reason: String(r.reason),
    scores: JSON.parse(String(r.scores)),
    offline: Number(r.offline) === 1,
    flags: JSON.parse(String(r.flags)),
    formats: JSON.parse(String(r.formats)),
    messageTs: str(r.message_ts),
    fileId: str(r.file_id),
    ...(typeof r.audience === 'string' ? { audience: r.audience } : {}),
    ...(r.locales ? { locales: JSON.parse(String(r.locales)) } : {}),
  };
}

function voteFromRow(r: SqlRow): Vote {
  return {
    roundId: String(r.round_id),
    user: String(r.user_id),
    audience: String(r.audience ?? ''),
    variantId: String(r.variant_id),
    source: r.source as VoteSource,
    at: new Date(String(r.at)),
  };
}

function voteEventFromRow(r: SqlRow): VoteEvent {
  return {
    roundId: String(r.round_id),
    user: String(r.user_id),
    variantId: str(r.variant_id),
    previous: str(r.previous_id),
    source: r.source as VoteSource,
    at: new Date(String(r.at)),
  };
}

function feedbackFromRow(r: SqlRow): Feedback {
  return {
    id: String(r.id),
    channel: String(r.channel),
    threadTs: String(r.thread_ts),
    messageTs: String(r.message_ts),
    user: String(r.user_id),
    text: String(r.text),
    createdAt: new Date(String(r.created_at)),
    usedBy: str(r.used_by),
  };
}

function versionFromRow(r: SqlRow): ContentVersion {
  return {
    variantId: String(r.variant_id),
    roundId: String(r.round_id),
    seq: Number(r.seq),
    hash: String(r.content_hash),
    headline: String(r.headline),
    body: String(r.body),
    cta: String(r.cta),
    formats: JSON.parse(String(r.formats)),
    by: str(r.by_user),
    at: new Date(String(r.at)),
  };
}

function approvalFromRow(r: SqlRow): Approval {
  return {
    roundId: String(r.round_id),
    variantId: String(r.variant_id),
    user: String(r.user_id),
    hash: String(r.content_hash),
    at: new Date(String(r.at)),
    voidedAt: date(r.voided_at),
    voidedReason: str(r.voided_reason),
  };
}

function exportFromRow(r: SqlRow): ExportRecord {
  return {
    id: String(r.id),
    adKey: String(r.ad_key),
    roundId: str(r.round_id),
    variantId: str(r.variant_id),
    label: String(r.label),
    hash: String(r.content_hash),
    role: r.role as ExportRecord['role'],
    platforms: JSON.parse(String(r.platforms)),
    creativeId: str(r.creative_id),
    by: String(r.by_user),
    at: new Date(String(r.at)),
    published: r.published ? JSON.parse(String(r.published)) : null,
  };
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function resultFromRow(r: SqlRow): ResultRow {
  return {
    importId: String(r.import_id),
    line: Number(r.line),
    platform: r.platform as ResultRow['platform'],
    source: String(r.source),
    adKey: str(r.ad_key),
    platformAdId: str(r.platform_ad_id),
    adName: str(r.ad_name),
    impressions: numOrNull(r.impressions),
    clicks: numOrNull(r.clicks),
    conversions: numOrNull(r.conversions),
    raw: JSON.parse(String(r.raw)),
    reason: str(r.reason),
    importedAt: new Date(String(r.imported_at)),
  };
}

type Columns<P> = { [K in keyof Required<P>]: [string, (v: Exclude<P[K], undefined>) => SqlParam] };

const ROUND_COLUMNS: Columns<RoundPatch> = {
  threadTs: ['thread_ts', (v) => v],
  status: ['status', (v) => v],
  closesAt: ['closes_at', iso],
  reminded: ['reminded', bit],
  closedAt: ['closed_at', iso],
  closedBy: ['closed_by', (v) => v],
  winnerVariantId: ['winner_variant_id', (v) => v],
  winnerCreativeId: ['winner_creative_id', (v) => v],
  tie: ['tie', bit],
  tallyTs: ['tally_ts', (v) => v],
  permalink: ['permalink', (v) => v],
  costUsd: ['cost_usd', (v) => v],
  textCalls: ['text_calls', (v) => v],
  imageCalls: ['image_calls', (v) => v],
  offline: ['offline', bit],
  synthetic: ['synthetic', bit],
  error: ['error', (v) => v],
};

const VARIANT_COLUMNS: Columns<VariantPatch> = {
  headline: ['headline', (v) => v],
  body: ['body', (v) => v],
  cta: ['cta', (v) => v],
  messageTs: ['message_ts', (v) => v],
  fileId: ['file_id', (v) => v],
  flags: ['flags', (v) => JSON.stringify(v)],
  scores: ['scores', (v) => JSON.stringify(v)],
  locales: ['locales', (v) => JSON.stringify(localeWords(v ?? []))],
};

/**
 * The words of a variant's locales as the `locales` column keeps them: the generator's entries also
 * carry their images, which a round does not keep; `outdated` (a translation of copy edited since)
 * is kept so a restart still says so.
 */
function localeWords(locales: NonNullable<VariantPatch['locales']>): unknown[] {
  return locales.map(({ locale, status, headline, body, cta, flags, outdated }) => ({
    locale,
    status,
    headline,
    body,
    cta,
    flags,
    ...(outdated ? { outdated } : {}),
  }));
}

/** `col = ?` assignments and their values for the fields a patch sets; an unknown field is a bug, refused. */
function assignments<P extends object>(table: string, columns: Columns<P>, patch: P): { sets: string; values: SqlParam[] } {
  const sets: string[] = [];
  const values: SqlParam[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const col = (columns as Record<string, [string, (x: unknown) => SqlParam]>)[k];
    if (!col) throw new StoreError('STORE_BAD_PATCH', `unknown ${table} field ${k}`);
    sets.push(`${col[0]} = ?`);
    values.push(col[1](v));
  }
  return { sets: sets.join(', '), values };
}

const marks = (xs: readonly unknown[]): string => xs.map(() => '?').join(', ');

/** Long IN lists in parts, under both databases' limits on bound parameters. */
function chunk<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Two clicks on "New round" race for the same round number: the loser is told, not crashed. */
function roundExists(n: number): RoundError {
  return new RoundError('ROUND_EXISTS', `round ${n} of this thread already exists`);
}

export class SqlRoundStore implements RoundStore {
  constructor(readonly db: SqlDriver) {}

  private async one(sql: string, params: SqlParam[] = [], q: SqlQuery = this.db): Promise<SqlRow | undefined> {
    return (await q.query(sql, params)).rows[0];
  }

  private async all(sql: string, params: SqlParam[] = []): Promise<SqlRow[]> {
    return (await this.db.query(sql, params)).rows;
  }

  private async changed(sql: string, params: SqlParam[] = [], q: SqlQuery = this.db): Promise<number> {
    return (await q.query(sql, params)).count;
  }

  /** The dialect's transaction lock `key`, where it needs one. */
  private async lock(tx: SqlQuery, key: number): Promise<void> {
    if (this.db.dialect.xactLock) await tx.query(this.db.dialect.xactLock, [key]);
  }

  async migrate(): Promise<void> {
    await this.db.transaction(async (tx) => {
      // Two replicas starting together: one migrates, the other waits and then finds it done.
      await this.lock(tx, LOCK_MIGRATE);
      await tx.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
      );
      const done = new Set((await tx.query('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const sql of m.sql) await tx.query(sql);
        await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
          m.version,
          m.name,
          new Date().toISOString(),
        ]);
      }
      // Replica leases exist only where replicas share the database (see leases.ts).
      if (this.db.dialect.shared) for (const sql of LEASES_SCHEMA) await tx.query(sql);
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async markProcessed(key: string, at: Date): Promise<boolean> {
    return (
      (await this.changed('INSERT INTO processed_events (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING', [key, at.toISOString()])) === 1
    );
  }

  async pruneProcessed(before: Date): Promise<number> {
    return this.changed('DELETE FROM processed_events WHERE at < ?', [before.toISOString()]);
  }

  async insertRound(r: NewRound, caps: CapCheck): Promise<Round> {
    return this.db.transaction(async (tx) => {
      await this.lock(tx, LOCK_INSERT_ROUND);
      // Every round a person starts counts, first or next: five mentions in a thread are five rounds.
      const mine = await this.one(
        "SELECT COUNT(*) AS n FROM rounds WHERE started_by = ? AND created_at >= ? AND status <> 'failed'",
        [r.startedBy, caps.perUserSince.toISOString()],
        tx,
      );
      if (Number(mine?.n) >= caps.perUserLimit) {
        throw new RoundError('RATE_LIMITED', `rate limit: ${caps.perUserLimit} rounds per hour per person`);
      }
      const images = Number(
        (
          await this.one(
            "SELECT COALESCE(SUM(images_planned), 0) AS n FROM rounds WHERE created_at >= ? AND status <> 'failed'",
            [caps.daySince.toISOString()],
            tx,
          )
        )?.n,
      );
      if (images + r.imagesPlanned > caps.dailyImageCap) {
        throw new RoundError('DAILY_IMAGE_CAP', `daily image cap of ${caps.dailyImageCap} reached (${images} used today)`);
      }
      if (caps.monthlyUsdCap > 0) {
        const spent = Number(
          (
            await this.one(
              'SELECT COALESCE(SUM(cost_usd), 0) AS usd FROM rounds WHERE created_at >= ?',
              [caps.monthSince.toISOString()],
              tx,
            )
          )?.usd,
        );
        if (spent >= caps.monthlyUsdCap) {
          throw new RoundError('SPEND_CAP', `monthly spend cap of $${caps.monthlyUsdCap.toFixed(2)} reached ($${spent.toFixed(2)} spent)`);
        }
      }
      try {
        const row = await this.one(
          `INSERT INTO rounds (id, channel, thread_ts, number, brief, author, started_by, options, status, created_at, images_planned)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'generating', ?, ?) RETURNING *`,
          [
            r.id,
            r.channel,
            r.threadTs,
            r.number,
            r.brief,
            r.author,
            r.startedBy,
            JSON.stringify(r.options),
            r.createdAt.toISOString(),
            r.imagesPlanned,
          ],
          tx,
        );
        return roundFromRow(row as SqlRow);
      } catch (e) {
        // Two clicks on "New round" race for the same number: the second is told, not crashed.
        if (e instanceof StoreError && e.code === 'STORE_CONFLICT') throw roundExists(r.number);
        throw e;
      }
    });
  }

  async getRound(id: string): Promise<Round | undefined> {
    const r = await this.one('SELECT * FROM rounds WHERE id = ?', [id]);
    return r ? roundFromRow(r) : undefined;
  }

  async latestRoundInThread(channel: string, threadTs: string): Promise<Round | undefined> {
    const r = await this.one('SELECT * FROM rounds WHERE channel = ? AND thread_ts = ? ORDER BY number DESC LIMIT 1', [channel, threadTs]);
    return r ? roundFromRow(r) : undefined;
  }

  async roundsInThread(channel: string, threadTs: string): Promise<Round[]> {
    return (await this.all('SELECT * FROM rounds WHERE channel = ? AND thread_ts = ? ORDER BY number', [channel, threadTs])).map(
      roundFromRow,
    );
  }

  async updateRound(id: string, patch: RoundPatch): Promise<void> {
    const { sets, values } = assignments('round', ROUND_COLUMNS, patch);
    if (sets) await this.db.query(`UPDATE rounds SET ${sets} WHERE id = ?`, [...values, id]);
  }

  async transitionRound(id: string, from: RoundStatus[], to: RoundStatus, patch: RoundPatch = {}): Promise<boolean> {
    const { sets, values } = assignments('round', ROUND_COLUMNS, { ...patch, status: to });
    return (await this.changed(`UPDATE rounds SET ${sets} WHERE id = ? AND status IN (${marks(from)})`, [...values, id, ...from])) === 1;
  }

  async roundsWithStatus(statuses: RoundStatus[]): Promise<Round[]> {
    return (await this.all(`SELECT * FROM rounds WHERE status IN (${marks(statuses)}) ORDER BY created_at`, statuses)).map(roundFromRow);
  }

  async roundsByAuthor(user: string, statuses: RoundStatus[], limit: number): Promise<Round[]> {
    return (
      await this.all(`SELECT * FROM rounds WHERE author = ? AND status IN (${marks(statuses)}) ORDER BY created_at DESC LIMIT ?`, [
        user,
        ...statuses,
        limit,
      ])
    ).map(roundFromRow);
  }

  async recentWinners(limit: number): Promise<Round[]> {
    // NULLS LAST: PostgreSQL sorts NULL first when descending; SQLite (3.30+) takes the same words.
    return (
      await this.all('SELECT * FROM rounds WHERE winner_variant_id IS NOT NULL ORDER BY closed_at DESC NULLS LAST LIMIT ?', [limit])
    ).map(roundFromRow);
  }

  async insertVariants(variants: VariantRecord[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const v of variants) {
        const ch = await this.one('SELECT channel FROM rounds WHERE id = ?', [v.roundId], tx);
        if (!ch) throw new StoreError('STORE_NO_ROUND', `no round ${v.roundId} for variant ${v.label}`);
        await tx.query(
          `INSERT INTO variants (id, round_id, label, position, headline, body, cta, concept, reason, scores, offline, flags, formats, message_ts, file_id, channel, audience)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            v.id,
            v.roundId,
            v.label,
            v.position,
            v.headline,
            v.body,
            v.cta,
            v.concept,
            v.reason,
            JSON.stringify(v.scores),
            bit(v.offline),
            JSON.stringify(v.flags),
            JSON.stringify(v.formats),
            v.messageTs,
            v.fileId,
            String(ch.channel),
            v.audience ?? null,
          ],
        );
        // A statement of its own: rounds without locales never touch the column.
        if (v.locales) await tx.query('UPDATE variants SET locales = ? WHERE id = ?', [JSON.stringify(localeWords(v.locales)), v.id]);
      }
    });
  }

  async getVariant(id: string): Promise<VariantRecord | undefined> {
    const r = await this.one('SELECT * FROM variants WHERE id = ?', [id]);
    return r ? variantFromRow(r) : undefined;
  }

  async variantByMessage(channel: string, ts: string): Promise<{ round: Round; variant: VariantRecord } | undefined> {
    const v = await this.one('SELECT * FROM variants WHERE channel = ? AND message_ts = ?', [channel, ts]);
    if (!v) return undefined;
    const round = await this.getRound(String(v.round_id));
    return round ? { round, variant: variantFromRow(v) } : undefined;
  }

  async listVariants(roundId: string): Promise<VariantRecord[]> {
    return (await this.all('SELECT * FROM variants WHERE round_id = ? ORDER BY position', [roundId])).map(variantFromRow);
  }

  async updateVariant(id: string, patch: VariantPatch): Promise<void> {
    const { sets, values } = assignments('variant', VARIANT_COLUMNS, patch);
    if (sets) await this.db.query(`UPDATE variants SET ${sets} WHERE id = ?`, [...values, id]);
  }

  async swapVote(p: Parameters<RoundStore['swapVote']>[0]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // FOR SHARE: votes run side by side, but a close (UPDATE of the row) waits for them, and they for it.
      const open = await this.one(`SELECT 1 FROM rounds WHERE id = ? AND status = 'open'${this.db.dialect.forShare}`, [p.roundId], tx);
      if (!open) return false;
      // The key holds one vote per segment only if each vote sits in its variant's own segment.
      if (
        p.next !== null &&
        !(await this.one(
          "SELECT 1 FROM variants WHERE id = ? AND round_id = ? AND COALESCE(audience, '') = ?",
          [p.next, p.roundId, p.audience],
          tx,
        ))
      ) {
        throw new StoreError(
          'STORE_BAD_VOTE',
          `variant ${p.next} is not a variant of round ${p.roundId} for audience "${p.audience}"; a vote names the segment of the variant it is for`,
        );
      }
      const at = p.at.toISOString();
      let changes = 0;
      if (p.expected === null && p.next !== null) {
        changes = await this.changed(
          'INSERT INTO votes (round_id, user_id, audience, variant_id, source, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          [p.roundId, p.user, p.audience, p.next, p.source, at],
          tx,
        );
      } else if (p.expected !== null && p.next !== null) {
        changes = await this.changed(
          'UPDATE votes SET variant_id = ?, source = ?, at = ? WHERE round_id = ? AND user_id = ? AND audience = ? AND variant_id = ?',
          [p.next, p.source, at, p.roundId, p.user, p.audience, p.expected],
          tx,
        );
      } else if (p.expected !== null && p.next === null) {
        changes = await this.changed(
          'DELETE FROM votes WHERE round_id = ? AND user_id = ? AND audience = ? AND variant_id = ?',
          [p.roundId, p.user, p.audience, p.expected],
          tx,
        );
      }
      if (changes !== 1) return false;
      const seq = await this.one(
        'SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM vote_events WHERE round_id = ? AND user_id = ?',
        [p.roundId, p.user],
        tx,
      );
      await tx.query('INSERT INTO vote_events (round_id, user_id, variant_id, previous_id, source, at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        p.roundId,
        p.user,
        p.next,
        p.expected,
        p.source,
        at,
        Number(seq?.n),
      ]);
      return true;
    });
  }

  async currentVote(roundId: string, user: string, audience: string): Promise<Vote | undefined> {
    const r = await this.one('SELECT * FROM votes WHERE round_id = ? AND user_id = ? AND audience = ?', [roundId, user, audience]);
    return r ? voteFromRow(r) : undefined;
  }

  async listVotes(roundId: string): Promise<Vote[]> {
    return (await this.all('SELECT * FROM votes WHERE round_id = ? ORDER BY at, user_id, audience', [roundId])).map(voteFromRow);
  }

  async lastVoteEvent(roundId: string, user: string): Promise<VoteEvent | undefined> {
    const r = await this.one('SELECT * FROM vote_events WHERE round_id = ? AND user_id = ? ORDER BY seq DESC LIMIT 1', [roundId, user]);
    return r ? voteEventFromRow(r) : undefined;
  }

  async voteEvents(roundId: string): Promise<VoteEvent[]> {
    return (await this.all('SELECT * FROM vote_events WHERE round_id = ? ORDER BY at, user_id, seq', [roundId])).map(voteEventFromRow);
  }

  async addFeedback(f: Omit<Feedback, 'id' | 'usedBy'>): Promise<boolean> {
    return (
      (await this.changed(
        'INSERT INTO feedback (id, channel, thread_ts, message_ts, user_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        [`${f.channel}:${f.messageTs}`, f.channel, f.threadTs, f.messageTs, f.user, f.text, f.createdAt.toISOString()],
      )) === 1
    );
  }

  async feedbackInThread(channel: string, threadTs: string): Promise<Feedback[]> {
    return (
      await this.all('SELECT * FROM feedback WHERE channel = ? AND thread_ts = ? ORDER BY created_at, message_ts', [channel, threadTs])
    ).map(feedbackFromRow);
  }

  async markFeedbackUsed(ids: string[], roundId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const id of ids) await tx.query('UPDATE feedback SET used_by = ? WHERE id = ? AND used_by IS NULL', [roundId, id]);
    });
  }

  async usageSince(since: Date): Promise<Usage> {
    const r = (await this.one(
      `SELECT COUNT(*) AS rounds, COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
              COALESCE(SUM(image_calls), 0) AS images, COALESCE(SUM(cost_usd), 0) AS usd
       FROM rounds WHERE created_at >= ?`,
      [since.toISOString()],
    )) as SqlRow;
    return { rounds: Number(r.rounds), failed: Number(r.failed), images: Number(r.images), usd: Number(r.usd) };
  }

  async roundsSince(since: Date): Promise<Round[]> {
    const at = since.toISOString();
    return (await this.all('SELECT * FROM rounds WHERE created_at >= ? OR closed_at >= ? ORDER BY created_at, number', [at, at])).map(
      roundFromRow,
    );
  }

  async addContentVersion(v: Omit<ContentVersion, 'seq'>): Promise<ContentVersion> {
    return this.db.transaction(async (tx) => {
      const seq = Number(
        (await this.one('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM variant_versions WHERE variant_id = ?', [v.variantId], tx))?.n,
      );
      await tx.query(
        `INSERT INTO variant_versions (variant_id, round_id, seq, content_hash, headline, body, cta, formats, by_user, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [v.variantId, v.roundId, seq, v.hash, v.headline, v.body, v.cta, JSON.stringify(v.formats), v.by, v.at.toISOString()],
      );
      return { ...v, seq };
    });
  }

  async contentVersions(roundId: string): Promise<ContentVersion[]> {
    return (await this.all('SELECT * FROM variant_versions WHERE round_id = ? ORDER BY variant_id, seq', [roundId])).map(versionFromRow);
  }

  async approve(a: { roundId: string; variantId: string; user: string; hash: string; at: Date }): Promise<ApproveResult> {
    return this.db.transaction(async (tx) => {
      // As for votes: a close waits for an approval being written, and the approval for the close.
      const open = await this.one(`SELECT 1 FROM rounds WHERE id = ? AND status = 'open'${this.db.dialect.forShare}`, [a.roundId], tx);
      if (!open) return 'closed';
      const n = await this.changed(
        'INSERT INTO approvals (round_id, variant_id, user_id, content_hash, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        [a.roundId, a.variantId, a.user, a.hash, a.at.toISOString()],
        tx,
      );
      return n === 1 ? 'recorded' : 'duplicate';
    });
  }

  async listApprovals(roundId: string): Promise<Approval[]> {
    return (await this.all('SELECT * FROM approvals WHERE round_id = ? ORDER BY at, user_id', [roundId])).map(approvalFromRow);
  }

  async voidApprovals(variantId: string, keepHash: string, at: Date, reason: string): Promise<Approval[]> {
    const r = await this.db.query(
      `UPDATE approvals SET voided_at = ?, voided_reason = ?
       WHERE variant_id = ? AND content_hash <> ? AND voided_at IS NULL RETURNING *`,
      [at.toISOString(), reason, variantId, keepHash],
    );
    return r.rows.map(approvalFromRow).sort((x, y) => x.at.getTime() - y.at.getTime() || x.user.localeCompare(y.user));
  }

  async recordExports(records: ExportRecord[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const e of records) {
        await tx.query(
          `INSERT INTO exports (id, ad_key, round_id, variant_id, label, content_hash, role, platforms, creative_id, by_user, at, published)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            e.id,
            e.adKey,
            e.roundId,
            e.variantId,
            e.label,
            e.hash,
            e.role,
            JSON.stringify(e.platforms),
            e.creativeId,
            e.by,
            e.at.toISOString(),
            e.published ? JSON.stringify(e.published) : null,
          ],
        );
      }
    });
  }

  async exports(filter: { roundId?: string; adKeys?: string[] } = {}): Promise<ExportRecord[]> {
    let rows: SqlRow[];
    // One export's records share a time: the winner first, then by label, then by id.
    const order = "ORDER BY at, CASE role WHEN 'winner' THEN 0 ELSE 1 END, label, id";
    if (filter.roundId) rows = await this.all(`SELECT * FROM exports WHERE round_id = ? ${order}`, [filter.roundId]);
    else if (filter.adKeys) {
      if (!filter.adKeys.length) return [];
      rows = [];
      for (const part of chunk(filter.adKeys, 500)) {
        rows.push(...(await this.all(`SELECT * FROM exports WHERE ad_key IN (${marks(part)})`, part)));
      }
      const rank = (r: SqlRow) => (r.role === 'winner' ? 0 : 1);
      rows.sort(
        (a, b) =>
          String(a.at).localeCompare(String(b.at)) ||
          rank(a) - rank(b) ||
          String(a.label).localeCompare(String(b.label)) ||
          String(a.id).localeCompare(String(b.id)),
      );
    } else rows = await this.all(`SELECT * FROM exports ${order}`);
    return rows.map(exportFromRow);
  }

  async addResultRows(rows: ResultRow[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const r of rows) {
        await tx.query(
          `INSERT INTO result_rows (import_id, line, platform, source, ad_key, platform_ad_id, ad_name, impressions, clicks, conversions, raw, reason, imported_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            r.importId,
            r.line,
            r.platform,
            r.source,
            r.adKey,
            r.platformAdId,
            r.adName,
            r.impressions,
            r.clicks,
            r.conversions,
            JSON.stringify(r.raw),
            r.reason,
            r.importedAt.toISOString(),
          ],
        );
      }
    });
  }

  async resultRows(filter: { adKeys?: string[]; importId?: string }): Promise<ResultRow[]> {
    const order = ' ORDER BY imported_at, import_id, line';
    if (filter.importId)
      return (await this.all(`SELECT * FROM result_rows WHERE import_id = ?${order}`, [filter.importId])).map(resultFromRow);
    const keys = filter.adKeys ?? [];
    const rows: SqlRow[] = [];
    for (const part of chunk(keys, 500)) rows.push(...(await this.all(`SELECT * FROM result_rows WHERE ad_key IN (${marks(part)})`, part)));
    return rows
      .map(resultFromRow)
      .sort((a, b) => a.importedAt.getTime() - b.importedAt.getTime() || a.importId.localeCompare(b.importId) || a.line - b.line);
  }
}

/** The store over `db` with its schema brought up to date; the driver is closed again if that fails. */
export async function openSqlStore(db: SqlDriver): Promise<SqlRoundStore> {
  const store = new SqlRoundStore(db);
  try {
    await store.migrate();
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
  return store;
}
