/**
 * The decision log: for each round, the brief, who voted for what and when, which exact content
 * was approved by whom (and which approvals an edit voided), the winner and its content hash,
 * and what was exported — read from the store, so it survives restarts and reads the same on
 * SQLite and PostgreSQL. `adcreative decisions` prints it as JSON or as one CSV row per event.
 * Anonymous rounds stay anonymous here: their votes are logged without names.
 */
import { csvCell } from '../library/csv.ts';
import { latestVersions } from './approvals.ts';
import type { RoundService } from './service.ts';
import type { Round } from './types.ts';

export const ANONYMOUS = '(anonymous)';

export interface DecisionRound {
  roundId: string;
  channel: string;
  threadTs: string;
  permalink: string | null;
  number: number;
  brief: string;
  author: string;
  status: Round['status'];
  createdAt: string;
  closedAt: string | null;
  closedBy: string | null;
  approvers: string[];
  quorum: number | null;
  anonymous: boolean;
  variants: { variantId: string; label: string; headline: string; hash: string | null; votes: number }[];
  winner: { variantId: string; label: string; headline: string; hash: string | null; tie: boolean } | null;
  votes: { at: string; user: string; label: string | null; previous: string | null; source: string }[];
  versions: { at: string; label: string; seq: number; hash: string; by: string | null; headline: string }[];
  approvals: { at: string; user: string; label: string; hash: string; voidedAt: string | null; voidedReason: string | null }[];
  exports: { at: string; by: string; label: string; adKey: string; role: string; hash: string; platforms: string[] }[];
}

export interface DecisionEvent {
  at: string;
  roundId: string;
  round: number;
  brief: string;
  event: 'round_started' | 'content' | 'vote' | 'approval' | 'approval_voided' | 'closed' | 'export';
  user: string;
  variant: string;
  contentHash: string;
  detail: string;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export async function decisionLog(rounds: RoundService, since: Date): Promise<DecisionRound[]> {
  const out: DecisionRound[] = [];
  for (const r of await rounds.roundsSince(since)) {
    const [variants, votes, events, versions, approvals, exports] = await Promise.all([
      rounds.variants(r.id),
      rounds.votes(r.id),
      rounds.voteEvents(r.id),
      rounds.contentVersions(r.id),
      rounds.approvals(r.id),
      rounds.exportsOf(r.id),
    ]);
    const label = new Map(variants.map((v) => [v.id, v.label]));
    const current = latestVersions(versions);
    const count = new Map<string, number>();
    for (const v of votes) count.set(v.variantId, (count.get(v.variantId) ?? 0) + 1);
    const winner = variants.find((v) => v.id === r.winnerVariantId);
    const anonymous = r.options.anonymous;
    out.push({
      roundId: r.id,
      channel: r.channel,
      threadTs: r.threadTs,
      permalink: r.permalink,
      number: r.number,
      brief: r.brief,
      author: r.author,
      status: r.status,
      createdAt: r.createdAt.toISOString(),
      closedAt: iso(r.closedAt),
      closedBy: r.closedBy,
      approvers: r.options.approvers ?? [],
      quorum: r.options.quorum ?? null,
      anonymous,
      variants: variants.map((v) => ({
        variantId: v.id,
        label: v.label,
        headline: v.headline,
        hash: current.get(v.id)?.hash ?? null,
        votes: count.get(v.id) ?? 0,
      })),
      winner: winner
        ? { variantId: winner.id, label: winner.label, headline: winner.headline, hash: current.get(winner.id)?.hash ?? null, tie: r.tie }
        : null,
      votes: events.map((e) => ({
        at: e.at.toISOString(),
        user: anonymous ? ANONYMOUS : e.user,
        label: e.variantId ? (label.get(e.variantId) ?? e.variantId) : null,
        previous: e.previous ? (label.get(e.previous) ?? e.previous) : null,
        source: e.source,
      })),
      versions: versions.map((v) => ({
        at: v.at.toISOString(),
        label: label.get(v.variantId) ?? v.variantId,
        seq: v.seq,
        hash: v.hash,
        by: v.by,
        headline: v.headline,
      })),
      approvals: approvals.map((a) => ({
        at: a.at.toISOString(),
        user: a.user,
        label: label.get(a.variantId) ?? a.variantId,
        hash: a.hash,
        voidedAt: iso(a.voidedAt),
        voidedReason: a.voidedReason,
      })),
      exports: exports.map((e) => ({
        at: e.at.toISOString(),
        by: e.by,
        label: e.label,
        adKey: e.adKey,
        role: e.role,
        hash: e.hash,
        platforms: e.platforms,
      })),
    });
  }
  return out;
}

/** The log as one event per row, in time order (ties: the order things happen in a round). */
export function decisionEvents(log: DecisionRound[]): DecisionEvent[] {
  const events: (DecisionEvent & { order: number })[] = [];
  for (const r of log) {
    const base = { roundId: r.roundId, round: r.number, brief: r.brief };
    const push = (order: number, e: Omit<DecisionEvent, 'roundId' | 'round' | 'brief'>) => events.push({ ...base, ...e, order });
    const approval = r.approvers.length ? `; approvers ${r.approvers.join(' ')}, quorum ${r.quorum ?? r.approvers.length}` : '';
    push(0, {
      at: r.createdAt,
      event: 'round_started',
      user: r.author,
      variant: '',
      contentHash: '',
      detail: `status ${r.status}${approval}`,
    });
    for (const v of r.versions)
      push(1, {
        at: v.at,
        event: 'content',
        user: v.by ?? 'generator',
        variant: v.label,
        contentHash: v.hash,
        detail: `version ${v.seq}: ${v.headline}`,
      });
    for (const v of r.votes)
      push(2, {
        at: v.at,
        event: 'vote',
        user: v.user,
        variant: v.label ?? '',
        contentHash: '',
        detail: v.label
          ? `${v.previous ? `moved from ${v.previous}` : 'voted'} (${v.source})`
          : `took back the vote for ${v.previous} (${v.source})`,
      });
    for (const a of r.approvals) {
      push(3, { at: a.at, event: 'approval', user: a.user, variant: a.label, contentHash: a.hash, detail: 'approved this content' });
      if (a.voidedAt)
        push(4, {
          at: a.voidedAt,
          event: 'approval_voided',
          user: a.user,
          variant: a.label,
          contentHash: a.hash,
          detail: a.voidedReason ?? '',
        });
    }
    if (r.closedAt && r.status === 'closed')
      push(5, {
        at: r.closedAt,
        event: 'closed',
        user: r.closedBy ?? '',
        variant: r.winner?.label ?? '',
        contentHash: r.winner?.hash ?? '',
        detail: r.winner ? `winner ${r.winner.label}: ${r.winner.headline}${r.winner.tie ? ' (tie broken)' : ''}` : 'no winner',
      });
    for (const e of r.exports)
      push(6, {
        at: e.at,
        event: 'export',
        user: e.by,
        variant: e.label,
        contentHash: e.hash,
        detail: `${e.role} ${e.adKey} to ${e.platforms.join(', ')}`,
      });
  }
  return events
    .sort((a, b) => a.at.localeCompare(b.at) || a.roundId.localeCompare(b.roundId) || a.order - b.order)
    .map(({ order: _, ...e }) => e);
}

const CSV_COLUMNS: [keyof DecisionEvent, string][] = [
  ['at', 'at'],
  ['roundId', 'round_id'],
  ['round', 'round'],
  ['brief', 'brief'],
  ['event', 'event'],
  ['user', 'user'],
  ['variant', 'variant'],
  ['contentHash', 'content_hash'],
  ['detail', 'detail'],
];

/** The events as CSV (cells neutralised against spreadsheet formulas: briefs and copy come from people). */
export function decisionsCsv(events: DecisionEvent[]): string {
  const lines = [CSV_COLUMNS.map(([, h]) => h).join(',')];
  for (const e of events) lines.push(CSV_COLUMNS.map(([k]) => csvCell(e[k])).join(','));
  return `${lines.join('\n')}\n`;
}
