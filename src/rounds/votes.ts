/**
 * How a person's vote moves. A person has one vote in each audience segment of a round (one in
 * the round when it has no audiences): a vote for a variant replaces only their vote among that
 * variant's own segment, so backing the students' favourite never takes back the parents' one.
 * The store's compare-and-set (per round, person and segment) makes concurrent clicks safe.
 */
import { RoundError } from '../errors.ts';
import type { Round, RoundStore, VariantRecord, VoteSource } from './types.ts';

export type VoteOutcome =
  | { kind: 'voted' | 'moved' | 'retracted'; round: Round; variant: VariantRecord; previous: string | null; current: string | null }
  | { kind: 'ignored'; reason: 'double_click' | 'not_current' | 'no_vote' | 'same' | 'wrong_channel'; round: Round; variant: VariantRecord }
  | { kind: 'closed'; round: Round; variant: VariantRecord };

/** A person's vote changed: what the taste model's online update listens to. */
export interface VoteChange {
  roundId: string;
  user: string;
  /** The segment the vote is in ('' without audiences): a person's votes in other segments are untouched. */
  audience: string;
  kind: 'voted' | 'moved' | 'retracted';
  /** Their vote in that segment before and after (null: none). */
  previous: string | null;
  current: string | null;
}

/** The segment a vote for `variant` counts in: its audience, or '' in a round without audiences. */
export function voteSegment(variant: Pick<VariantRecord, 'audience'>): string {
  return variant.audience ?? '';
}

export interface VoteDeps {
  store: Pick<RoundStore, 'currentVote' | 'swapVote' | 'lastVoteEvent' | 'listVotes'>;
  mustRound: (id: string) => Promise<Round>;
  now: () => Date;
  /** A second click on the same Vote button within this window is a double click, not a retraction. */
  doubleClickMs: number;
  onVote?: (change: VoteChange) => void;
}

/**
 * `toggle` (a button): votes, moves the vote within the segment, or takes it back when clicked
 * again; `set` (a reaction added): votes or moves; `retract` (a reaction removed): takes the vote
 * back only if it is still their vote for that variant.
 */
export async function applyVote(
  d: VoteDeps,
  variant: VariantRecord,
  user: string,
  source: VoteSource,
  mode: 'toggle' | 'set' | 'retract',
): Promise<VoteOutcome> {
  const audience = voteSegment(variant);
  for (let attempt = 0; attempt < 8; attempt++) {
    const round = await d.mustRound(variant.roundId);
    if (round.status !== 'open') return { kind: 'closed', round, variant };
    const current = (await d.store.currentVote(round.id, user, audience))?.variantId ?? null;
    let next: string | null;
    if (mode === 'retract') {
      if (current !== variant.id) return { kind: 'ignored', reason: current ? 'not_current' : 'no_vote', round, variant };
      next = null;
    } else if (current === variant.id) {
      if (mode === 'set') return { kind: 'ignored', reason: 'same', round, variant };
      const last = await d.store.lastVoteEvent(round.id, user);
      if (last && last.source === 'button' && last.variantId === variant.id && d.now().getTime() - last.at.getTime() < d.doubleClickMs) {
        return { kind: 'ignored', reason: 'double_click', round, variant };
      }
      next = null;
    } else {
      next = variant.id;
    }
    const ok = await d.store.swapVote({ roundId: round.id, user, audience, expected: current, next, source, at: d.now() });
    if (ok) {
      const kind = next === null ? 'retracted' : current === null ? 'voted' : 'moved';
      try {
        d.onVote?.({ roundId: round.id, user, audience, kind, previous: current, current: next });
      } catch {
        // A listener's failure must not fail a vote that is already stored.
      }
      return { kind, round, variant, previous: current, current: next };
    }
    // Lost a race with this person's other click or the round closing: read again.
  }
  throw new RoundError('VOTE_CONTENDED', 'could not record the vote after several attempts; please click again');
}

/**
 * Takes back every vote for `variant` (its copy was edited: those votes were for copy the new
 * message no longer shows). Each is a vote event with source "edit", so the history keeps what
 * was chosen. Returns how many were taken back.
 */
export async function resetVotes(d: Pick<VoteDeps, 'store' | 'now'>, variant: VariantRecord): Promise<number> {
  let reset = 0;
  for (const v of await d.store.listVotes(variant.roundId)) {
    if (v.variantId !== variant.id) continue;
    const ok = await d.store.swapVote({
      roundId: variant.roundId,
      user: v.user,
      audience: v.audience,
      expected: variant.id,
      next: null,
      source: 'edit',
      at: d.now(),
    });
    if (ok) reset++;
  }
  return reset;
}
