/**
 * Approvals with a record. A round may name approvers and a quorum; an approver's "Approve"
 * records who approved which exact content of the leading variant, and when. "Exact content"
 * is a hash of the copy and every rendered image, so a later edit cannot ride on an approval
 * given to the earlier version: editing voids the variant's approvals (they stay in the
 * record, marked void), and the quorum counts only live approvals of the current content.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.ts';
import { FORMATS, type FormatName } from '../vocabulary.ts';
import type { Approval, ContentVersion, RoundOptions } from './types.ts';

/** Most approvers one round may name (the tally lists them all). */
export const MAX_APPROVERS = 20;

/** Characters of a content hash people see (enough to tell versions apart by eye). */
export const SHORT_HASH = 12;

export const shortHash = (h: string): string => h.slice(0, SHORT_HASH);

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/**
 * The hash of a variant's content: its copy and each rendered format's image bytes, in the
 * vocabulary's format order. The same copy and pixels always give the same hash (a re-render
 * that changed nothing keeps approvals); any changed character or pixel gives another.
 */
export function contentHash(
  copy: { headline: string; body: string; cta: string },
  images: Partial<Record<FormatName, Uint8Array>>,
): string {
  const parts = FORMATS.filter((f) => images[f]?.length).map((f) => [f, sha256(images[f] as Uint8Array)]);
  return sha256(JSON.stringify({ headline: copy.headline, body: copy.body, cta: copy.cta, images: parts }));
}

/**
 * `--approvers` as people type it: Slack mentions (`<@U123>`, `<@U123|alice>`, or decoded at the
 * edge as `@U123`), bare user ids (`U0123ABC`) or `@names`, separated by commas or spaces. Names cannot be turned into user
 * ids here; the Slack adapter resolves them (`names`).
 */
export function parseApprovers(raw: string): { ids: string[]; names: string[] } {
  const ids: string[] = [];
  const names: string[] = [];
  const bad: string[] = [];
  for (const tok of raw.split(/[\s,]+/).filter(Boolean)) {
    const mention = /^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$/.exec(tok);
    if (mention) ids.push(mention[1]);
    // A mention decoded at the Slack edge reads "@U0123ABC": still a user id.
    else if (/^@[UW][A-Z0-9]{2,}$/.test(tok) || /^[UW][A-Z0-9]{6,}$/.test(tok)) ids.push(tok.replace(/^@/, ''));
    else if (/^@[\p{L}\p{N}._-]{1,80}$/u.test(tok)) names.push(tok.slice(1).toLowerCase());
    else bad.push(tok);
  }
  if (bad.length) {
    throw new InputError(
      'BAD_APPROVERS',
      `--approvers takes people as @mentions separated by commas (e.g. --approvers @alice,@bob); "${bad[0]}" is not one.`,
    );
  }
  const total = new Set(ids).size + new Set(names).size;
  if (total === 0) throw new InputError('BAD_APPROVERS', '--approvers needs at least one @mention, e.g. --approvers @alice,@bob.');
  if (total > MAX_APPROVERS) throw new InputError('BAD_APPROVERS', `--approvers names ${total} people; at most ${MAX_APPROVERS}.`);
  return { ids: [...new Set(ids)], names: [...new Set(names)] };
}

/** `--quorum N` as typed. */
export function parseQuorum(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > MAX_APPROVERS) {
    throw new InputError('BAD_QUORUM', `--quorum must be a whole number from 1 to ${MAX_APPROVERS}; got "${raw}".`);
  }
  return n;
}

/**
 * The approval options of a round: approvers (user ids) and the quorum, which defaults to
 * every approver and may not ask for more approvals than there are approvers.
 */
export function approvalOptions(approvers: string[] | undefined, quorum: number | undefined): Pick<RoundOptions, 'approvers' | 'quorum'> {
  const people = [...new Set(approvers ?? [])];
  if (!people.length) {
    if (quorum !== undefined) throw new InputError('BAD_QUORUM', '--quorum needs approvers: name them with --approvers @alice,@bob.');
    return {};
  }
  if (people.length > MAX_APPROVERS) throw new InputError('BAD_APPROVERS', `at most ${MAX_APPROVERS} approvers; got ${people.length}.`);
  const q = quorum ?? people.length;
  if (q > people.length) {
    throw new InputError(
      'BAD_QUORUM',
      `--quorum ${q} asks for more approvals than there are approvers (${people.length}); name more approvers or lower the quorum.`,
    );
  }
  return { approvers: people, quorum: q };
}

/** Whether a round has an approval step. */
export function hasApprovers(o: Pick<RoundOptions, 'approvers'>): boolean {
  return (o.approvers?.length ?? 0) > 0;
}

/** Each variant's newest content version. */
export function latestVersions(versions: ContentVersion[]): Map<string, ContentVersion> {
  const out = new Map<string, ContentVersion>();
  for (const v of versions) {
    const had = out.get(v.variantId);
    if (!had || v.seq > had.seq) out.set(v.variantId, v);
  }
  return out;
}

/** Live (not voided) approvals of exactly `hash` of a variant, by approvers of the round, oldest first. */
export function liveApprovals(approvals: Approval[], variantId: string, hash: string, approvers: string[]): Approval[] {
  // One row per person and content (the store's key), so no person counts twice.
  const allowed = new Set(approvers);
  return approvals
    .filter((a) => a.variantId === variantId && a.hash === hash && a.voidedAt === null && allowed.has(a.user))
    .sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** Where a round's approval stands, for the tally and the quorum check. */
export interface ApprovalState {
  approvers: string[];
  quorum: number;
  /** The variant approvals are for now: the vote leader, with its current content hash. */
  leader?: { variantId: string; label: string; hash: string };
  /** Approvers who approved the leader's current content. */
  approvedBy: string[];
  met: boolean;
}

export function approvalState(
  options: Pick<RoundOptions, 'approvers' | 'quorum'>,
  leader: { variantId: string; label: string; hash: string } | undefined,
  approvals: Approval[],
): ApprovalState | undefined {
  if (!hasApprovers(options)) return undefined;
  const approvers = options.approvers as string[];
  const quorum = options.quorum ?? approvers.length;
  const approvedBy = leader ? liveApprovals(approvals, leader.variantId, leader.hash, approvers).map((a) => a.user) : [];
  return { approvers, quorum, leader, approvedBy, met: approvedBy.length >= quorum };
}
