/**
 * The SQLite implementation of RoundStore (the only module importing better-sqlite3).
 * better-sqlite3 is synchronous, so each method's statements run without interleaving;
 * multi-statement changes still go through `transaction()` so a crash never leaves half.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { RoundError, StoreError } from '../errors.ts';
import { MIGRATIONS } from './migrations.ts';
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

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
const date = (v: unknown): Date | null => (typeof v === 'string' && v ? new Date(v) : null);

export function roundFromRow(r: Row): Round {
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
    closedBy: (r.closed_by as string | null) ?? null,
    winnerVariantId: (r.winner_variant_id as string | null) ?? null,
    winnerCreativeId: (r.winner_creative_id as string | null) ?? null,
    tie: Number(r.tie) === 1,
    tallyTs: (r.tally_ts as string | null) ?? null,
    permalink: (r.permalink as string | null) ?? null,
    imagesPlanned: Number(r.images_planned),
    costUsd: Number(r.cost_usd),
    textCalls: Number(r.text_calls),
    imageCalls: Number(r.image_calls),
    offline: Number(r.offline) === 1,
    synthetic: Number(r.synthetic) === 1,
    error: (r.error as string | null) ?? null,
  };
}

/** The `variants` INSERT's parameters, in column order (shared with the PostgreSQL store). */
export function variantParams(v: VariantRecord, channel: string): (string | number | null)[] {
  return [
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
    v.offline ? 1 : 0,
    JSON.stringify(v.flags),
    JSON.stringify(v.formats),
    v.messageTs,
    v.fileId,
    channel,
  ];
}

export function variantFromRow(r: Row): VariantRecord {
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
    messageTs: (r.message_ts as string | null) ?? null,
    fileId: (r.file_id as string | null) ?? null,
  };
}

const ROUND_COLUMNS: Record<keyof RoundPatch, [string, (v: never) => unknown]> = {
  threadTs: ['thread_ts', (v: string) => v],
  status: ['status', (v: string) => v],
  closesAt: ['closes_at', (v: Date | null) => iso(v)],
  reminded: ['reminded', (v: boolean) => (v ? 1 : 0)],
  closedAt: ['closed_at', (v: Date | null) => iso(v)],
  closedBy: ['closed_by', (v: string | null) => v],
  winnerVariantId: ['winner_variant_id', (v: string | null) => v],
  winnerCreativeId: ['winner_creative_id', (v: string | null) => v],
  tie: ['tie', (v: boolean) => (v ? 1 : 0)],
  tallyTs: ['tally_ts', (v: string | null) => v],
  permalink: ['permalink', (v: string | null) => v],
  costUsd: ['cost_usd', (v: number) => v],
  textCalls: ['text_calls', (v: number) => v],
  imageCalls: ['image_calls', (v: number) => v],
  offline: ['offline', (v: boolean) => (v ? 1 : 0)],
  synthetic: ['synthetic', (v: boolean) => (v ? 1 : 0)],
  error: ['error', (v: string | null) => v],
};

export function patchSql(patch: RoundPatch): { sets: string[]; values: unknown[] } {
  const sets: string[] = [];
  const values: unknown[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const col = ROUND_COLUMNS[k as keyof RoundPatch];
    if (!col) throw new StoreError('STORE_BAD_PATCH', `unknown round field ${k}`);
    sets.push(`${col[0]} = ?`);
    values.push((col[1] as (x: unknown) => unknown)(v));
  }
  return { sets, values };
}

export class SqliteRoundStore implements RoundStore {
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
    } catch (e) {
      throw new StoreError('STORE_OPEN', `cannot open the state database ${path}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    // WAL lets readers (another process inspecting state) run beside the bot's writes.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    // WAL + NORMAL: a commit survives the process dying (what restarts need) without an fsync
    // on the event loop per vote; only an OS crash or power loss can drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
  }

  async migrate(): Promise<void> {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        for (const sql of m.sql) this.db.exec(sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, new Date().toISOString());
      })();
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async markProcessed(key: string, at: Date): Promise<boolean> {
    return (
      this.db.prepare('INSERT INTO processed_events (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING').run(key, at.toISOString()).changes ===
      1
    );
  }

  async pruneProcessed(before: Date): Promise<number> {
    return this.db.prepare('DELETE FROM processed_events WHERE at < ?').run(before.toISOString()).changes;
  }

  async insertRound(r: NewRound, caps: CapCheck): Promise<Round> {
    return this.db.transaction(() => {
      const mine = this.db
        .prepare("SELECT COUNT(*) AS n FROM rounds WHERE author = ? AND number = 1 AND created_at >= ? AND status <> 'failed'")
        .get(r.author, caps.perUserSince.toISOString()) as Row;
      if (r.number === 1 && Number(mine.n) >= caps.perUserLimit) {
        throw new RoundError('RATE_LIMITED', `rate limit: ${caps.perUserLimit} briefs per hour per person`);
      }
      const images = this.db
        .prepare("SELECT COALESCE(SUM(images_planned), 0) AS n FROM rounds WHERE created_at >= ? AND status <> 'failed'")
        .get(caps.daySince.toISOString()) as Row;
      if (Number(images.n) + r.imagesPlanned > caps.dailyImageCap) {
        throw new RoundError('DAILY_IMAGE_CAP', `daily image cap of ${caps.dailyImageCap} reached (${Number(images.n)} used today)`);
      }
      if (caps.monthlyUsdCap > 0) {
        const spent = this.db
          .prepare('SELECT COALESCE(SUM(cost_usd), 0) AS usd FROM rounds WHERE created_at >= ?')
          .get(caps.monthSince.toISOString()) as Row;
        if (Number(spent.usd) >= caps.monthlyUsdCap) {
          throw new RoundError(
            'SPEND_CAP',
            `monthly spend cap of $${caps.monthlyUsdCap.toFixed(2)} reached ($${Number(spent.usd).toFixed(2)} spent)`,
          );
        }
      }
      try {
        this.db
          .prepare(
            `INSERT INTO rounds (id, channel, thread_ts, number, brief, author, options, status, created_at, images_planned)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'generating', ?, ?)`,
          )
          .run(
            r.id,
            r.channel,
            r.threadTs,
            r.number,
            r.brief,
            r.author,
            JSON.stringify(r.options),
            r.createdAt.toISOString(),
            r.imagesPlanned,
          );
      } catch (e) {
        // Two clicks on "New round" race for the same number: the second is told, not crashed.
        if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw roundExists(r.number);
        throw e;
      }
      return roundFromRow(this.db.prepare('SELECT * FROM rounds WHERE id = ?').get(r.id) as Row);
    })();
  }

  async getRound(id: string): Promise<Round | undefined> {
    const r = this.db.prepare('SELECT * FROM rounds WHERE id = ?').get(id) as Row | undefined;
    return r ? roundFromRow(r) : undefined;
  }

  async latestRoundInThread(channel: string, threadTs: string): Promise<Round | undefined> {
    const r = this.db
      .prepare('SELECT * FROM rounds WHERE channel = ? AND thread_ts = ? ORDER BY number DESC LIMIT 1')
      .get(channel, threadTs) as Row | undefined;
    return r ? roundFromRow(r) : undefined;
  }

  async roundsInThread(channel: string, threadTs: string): Promise<Round[]> {
    return (
      this.db.prepare('SELECT * FROM rounds WHERE channel = ? AND thread_ts = ? ORDER BY number').all(channel, threadTs) as Row[]
    ).map(roundFromRow);
  }

  async updateRound(id: string, patch: RoundPatch): Promise<void> {
    const { sets, values } = patchSql(patch);
    if (!sets.length) return;
    this.db.prepare(`UPDATE rounds SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  async transitionRound(id: string, from: RoundStatus[], to: RoundStatus, patch: RoundPatch = {}): Promise<boolean> {
    const { sets, values } = patchSql({ ...patch, status: to });
    const marks = from.map(() => '?').join(', ');
    return (
      this.db.prepare(`UPDATE rounds SET ${sets.join(', ')} WHERE id = ? AND status IN (${marks})`).run(...values, id, ...from).changes ===
      1
    );
  }

  async roundsWithStatus(statuses: RoundStatus[]): Promise<Round[]> {
    const marks = statuses.map(() => '?').join(', ');
    return (this.db.prepare(`SELECT * FROM rounds WHERE status IN (${marks}) ORDER BY created_at`).all(...statuses) as Row[]).map(
      roundFromRow,
    );
  }

  async roundsByAuthor(user: string, statuses: RoundStatus[], limit: number): Promise<Round[]> {
    const marks = statuses.map(() => '?').join(', ');
    return (
      this.db
        .prepare(`SELECT * FROM rounds WHERE author = ? AND status IN (${marks}) ORDER BY created_at DESC LIMIT ?`)
        .all(user, ...statuses, limit) as Row[]
    ).map(roundFromRow);
  }

  async recentWinners(limit: number): Promise<Round[]> {
    return (
      this.db.prepare('SELECT * FROM rounds WHERE winner_variant_id IS NOT NULL ORDER BY closed_at DESC LIMIT ?').all(limit) as Row[]
    ).map(roundFromRow);
  }

  async insertVariants(variants: VariantRecord[]): Promise<void> {
    const channelOf = this.db.prepare('SELECT channel FROM rounds WHERE id = ?');
    const ins = this.db.prepare(
      `INSERT INTO variants (id, round_id, label, position, headline, body, cta, concept, reason, scores, offline, flags, formats, message_ts, file_id, channel)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const v of variants) {
        const ch = channelOf.get(v.roundId) as Row | undefined;
        if (!ch) throw new StoreError('STORE_NO_ROUND', `no round ${v.roundId} for variant ${v.label}`);
        ins.run(...variantParams(v, String(ch.channel)));
      }
    })();
  }

  async getVariant(id: string): Promise<VariantRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM variants WHERE id = ?').get(id) as Row | undefined;
    return r ? variantFromRow(r) : undefined;
  }

  async variantByMessage(channel: string, ts: string): Promise<{ round: Round; variant: VariantRecord } | undefined> {
    const v = this.db.prepare('SELECT * FROM variants WHERE channel = ? AND message_ts = ?').get(channel, ts) as Row | undefined;
    if (!v) return undefined;
    const round = await this.getRound(String(v.round_id));
    return round ? { round, variant: variantFromRow(v) } : undefined;
  }

  async listVariants(roundId: string): Promise<VariantRecord[]> {
    return (this.db.prepare('SELECT * FROM variants WHERE round_id = ? ORDER BY position').all(roundId) as Row[]).map(variantFromRow);
  }

  async updateVariant(id: string, patch: VariantPatch): Promise<void> {
    const cols: Record<string, (v: never) => unknown> = {
      headline: (v: string) => v,
      body: (v: string) => v,
      cta: (v: string) => v,
      messageTs: (v: string | null) => v,
      fileId: (v: string | null) => v,
      flags: (v: string[]) => JSON.stringify(v),
    };
    const names: Record<string, string> = { messageTs: 'message_ts', fileId: 'file_id' };
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || !cols[k]) continue;
      sets.push(`${names[k] ?? k} = ?`);
      values.push((cols[k] as (x: unknown) => unknown)(v));
    }
    if (sets.length) this.db.prepare(`UPDATE variants SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  async swapVote(p: {
    roundId: string;
    user: string;
    expected: string | null;
    next: string | null;
    source: VoteSource;
    at: Date;
  }): Promise<boolean> {
    return this.db.transaction(() => {
      const open = this.db.prepare("SELECT 1 FROM rounds WHERE id = ? AND status = 'open'").get(p.roundId);
      if (!open) return false;
      const at = p.at.toISOString();
      let changes = 0;
      if (p.expected === null && p.next !== null) {
        changes = this.db
          .prepare('INSERT INTO votes (round_id, user_id, variant_id, source, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
          .run(p.roundId, p.user, p.next, p.source, at).changes;
      } else if (p.expected !== null && p.next !== null) {
        changes = this.db
          .prepare('UPDATE votes SET variant_id = ?, source = ?, at = ? WHERE round_id = ? AND user_id = ? AND variant_id = ?')
          .run(p.next, p.source, at, p.roundId, p.user, p.expected).changes;
      } else if (p.expected !== null && p.next === null) {
        changes = this.db
          .prepare('DELETE FROM votes WHERE round_id = ? AND user_id = ? AND variant_id = ?')
          .run(p.roundId, p.user, p.expected).changes;
      }
      if (changes !== 1) return false;
      const seq = this.db
        .prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM vote_events WHERE round_id = ? AND user_id = ?')
        .get(p.roundId, p.user) as Row;
      this.db
        .prepare('INSERT INTO vote_events (round_id, user_id, variant_id, previous_id, source, at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(p.roundId, p.user, p.next, p.expected, p.source, at, Number(seq.n));
      return true;
    })();
  }

  async currentVote(roundId: string, user: string): Promise<Vote | undefined> {
    const r = this.db.prepare('SELECT * FROM votes WHERE round_id = ? AND user_id = ?').get(roundId, user) as Row | undefined;
    return r ? voteFromRow(r) : undefined;
  }

  async listVotes(roundId: string): Promise<Vote[]> {
    return (this.db.prepare('SELECT * FROM votes WHERE round_id = ? ORDER BY at, user_id').all(roundId) as Row[]).map(voteFromRow);
  }

  async lastVoteEvent(roundId: string, user: string): Promise<VoteEvent | undefined> {
    const r = this.db
      .prepare('SELECT * FROM vote_events WHERE round_id = ? AND user_id = ? ORDER BY seq DESC LIMIT 1')
      .get(roundId, user) as Row | undefined;
    return r ? voteEventFromRow(r) : undefined;
  }

  async voteEvents(roundId: string): Promise<VoteEvent[]> {
    return (this.db.prepare('SELECT * FROM vote_events WHERE round_id = ? ORDER BY at, user_id, seq').all(roundId) as Row[]).map(
      voteEventFromRow,
    );
  }

  async addFeedback(f: Omit<Feedback, 'id' | 'usedBy'>): Promise<boolean> {
    return (
      this.db
        .prepare(
          'INSERT INTO feedback (id, channel, thread_ts, message_ts, user_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        )
        .run(`${f.channel}:${f.messageTs}`, f.channel, f.threadTs, f.messageTs, f.user, f.text, f.createdAt.toISOString()).changes === 1
    );
  }

  async feedbackInThread(channel: string, threadTs: string): Promise<Feedback[]> {
    return (
      this.db
        .prepare('SELECT * FROM feedback WHERE channel = ? AND thread_ts = ? ORDER BY created_at, message_ts')
        .all(channel, threadTs) as Row[]
    ).map((r) => ({
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
    const upd = this.db.prepare('UPDATE feedback SET used_by = ? WHERE id = ? AND used_by IS NULL');
    this.db.transaction(() => {
      for (const id of ids) upd.run(roundId, id);
    })();
  }

  async usageSince(since: Date): Promise<Usage> {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS rounds, COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
                COALESCE(SUM(image_calls), 0) AS images, COALESCE(SUM(cost_usd), 0) AS usd
         FROM rounds WHERE created_at >= ?`,
      )
      .get(since.toISOString()) as Row;
    return { rounds: Number(r.rounds), failed: Number(r.failed), images: Number(r.images), usd: Number(r.usd) };
  }
}

/** Two clicks on "New round" race for the same round number: the loser is told, not crashed. */
export function roundExists(n: number): RoundError {
  return new RoundError('ROUND_EXISTS', `round ${n} of this thread already exists`);
}

export function voteFromRow(r: Row): Vote {
  return {
    roundId: String(r.round_id),
    user: String(r.user_id),
    variantId: String(r.variant_id),
    source: r.source as VoteSource,
    at: new Date(String(r.at)),
  };
}

export function voteEventFromRow(r: Row): VoteEvent {
  return {
    roundId: String(r.round_id),
    user: String(r.user_id),
    variantId: (r.variant_id as string | null) ?? null,
    previous: (r.previous_id as string | null) ?? null,
    source: r.source as VoteSource,
    at: new Date(String(r.at)),
  };
}

export async function openSqliteStore(path: string): Promise<SqliteRoundStore> {
  const store = new SqliteRoundStore(path);
  await store.migrate();
  return store;
}
