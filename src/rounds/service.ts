/**
 * The round domain: who may start a round, how votes move, when a round closes and who
 * wins. It knows nothing about Slack; the Slack layer calls it and renders what it returns.
 */
import { randomUUID } from 'node:crypto';
import { RoundError } from '../errors.ts';
import { decideWinner, type Tally, type TallyVariant, tally, type WinnerDecision } from './tally.ts';
import type { Feedback, Round, RoundOptions, RoundStore, Usage, VariantRecord, Vote, VoteSource } from './types.ts';

export interface RoundSettings {
  /** Briefs one person may start per hour. */
  ratePerHour: number;
  /** Images the workspace may generate per UTC day. */
  dailyImageCap: number;
  /** USD per calendar month (UTC); 0 = no cap. */
  monthlyUsdCap: number;
  /** Voting closes by itself after this many minutes; 0 = never. */
  autoCloseMinutes: number;
  /** The reminder comes this many minutes before the automatic close. */
  reminderMinutes: number;
  /** A second click on the same Vote button within this window is a double click, not a retraction. */
  doubleClickMs: number;
  priceImageUsd: number;
  priceTextUsd: number;
}

export type VoteOutcome =
  | { kind: 'voted' | 'moved' | 'retracted'; round: Round; variant: VariantRecord; previous: string | null; current: string | null }
  | { kind: 'ignored'; reason: 'double_click' | 'not_current' | 'no_vote' | 'same'; round: Round; variant: VariantRecord }
  | { kind: 'closed'; round: Round; variant: VariantRecord };

export interface CloseOutcome {
  round: Round;
  variants: VariantRecord[];
  tally: Tally;
  decision: WinnerDecision;
  winner: VariantRecord | null;
}

const HOUR = 3_600_000;

export function startOfUtcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

export function startOfUtcMonth(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

export class RoundService {
  readonly store: RoundStore;
  readonly settings: RoundSettings;
  private readonly now: () => Date;

  constructor(deps: { store: RoundStore; settings: RoundSettings; clock?: () => Date }) {
    this.store = deps.store;
    this.settings = deps.settings;
    this.now = deps.clock ?? (() => new Date());
  }

  /** The cost estimate shown before anything is made: one copy call plus one image per variant. */
  estimateCost(options: Pick<RoundOptions, 'variants'>, offline: boolean): { usd: number; textCalls: number; imageCalls: number } {
    if (offline) return { usd: 0, textCalls: 0, imageCalls: 0 };
    const imageCalls = options.variants;
    return { usd: this.settings.priceTextUsd + imageCalls * this.settings.priceImageUsd, textCalls: 1, imageCalls };
  }

  /** Creates a round (status "generating") if the rate limit and caps allow it. */
  async createRound(p: {
    channel: string;
    threadTs: string;
    number: number;
    brief: string;
    author: string;
    options: RoundOptions;
  }): Promise<Round> {
    const now = this.now();
    return this.store.insertRound(
      { id: randomUUID(), ...p, createdAt: now, imagesPlanned: p.options.variants },
      {
        perUserLimit: this.settings.ratePerHour,
        perUserSince: new Date(now.getTime() - HOUR),
        dailyImageCap: this.settings.dailyImageCap,
        daySince: startOfUtcDay(now),
        monthlyUsdCap: this.settings.monthlyUsdCap,
        monthSince: startOfUtcMonth(now),
      },
    );
  }

  /** Generation finished: voting opens and the auto-close clock starts. */
  async open(
    roundId: string,
    facts: { costUsd: number; textCalls: number; imageCalls: number; offline: boolean; synthetic: boolean },
  ): Promise<Round> {
    const now = this.now();
    const closesAt = this.settings.autoCloseMinutes > 0 ? new Date(now.getTime() + this.settings.autoCloseMinutes * 60_000) : null;
    await this.store.transitionRound(roundId, ['generating'], 'open', { closesAt, ...facts });
    return this.mustRound(roundId);
  }

  async fail(roundId: string, error: string, facts: { costUsd?: number; textCalls?: number; imageCalls?: number } = {}): Promise<void> {
    await this.store.transitionRound(roundId, ['generating'], 'failed', { error, ...facts });
  }

  async mustRound(id: string): Promise<Round> {
    const r = await this.store.getRound(id);
    if (!r) throw new RoundError('ROUND_NOT_FOUND', `no round ${id}`);
    return r;
  }

  /**
   * A click on a variant's Vote button: votes for it, moves the vote to it, or — clicked
   * again — takes the vote back. The store's compare-and-set makes concurrent clicks safe.
   */
  async buttonVote(variantId: string, user: string): Promise<VoteOutcome> {
    const variant = await this.store.getVariant(variantId);
    if (!variant) throw new RoundError('VARIANT_NOT_FOUND', `no variant ${variantId}`);
    return this.applyVote(variant, user, 'button', 'toggle');
  }

  /** A vote reaction added on a variant's message: a vote for it (moving any other vote). */
  async reactionAdded(channel: string, ts: string, user: string): Promise<VoteOutcome | undefined> {
    const found = await this.store.variantByMessage(channel, ts);
    if (!found) return undefined;
    return this.applyVote(found.variant, user, 'reaction', 'set');
  }

  /** A vote reaction removed: takes the vote back only if it is still their vote for that variant. */
  async reactionRemoved(channel: string, ts: string, user: string): Promise<VoteOutcome | undefined> {
    const found = await this.store.variantByMessage(channel, ts);
    if (!found) return undefined;
    return this.applyVote(found.variant, user, 'reaction', 'retract');
  }

  private async applyVote(
    variant: VariantRecord,
    user: string,
    source: VoteSource,
    mode: 'toggle' | 'set' | 'retract',
  ): Promise<VoteOutcome> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const round = await this.mustRound(variant.roundId);
      if (round.status !== 'open') return { kind: 'closed', round, variant };
      const current = (await this.store.currentVote(round.id, user))?.variantId ?? null;
      let next: string | null;
      if (mode === 'retract') {
        if (current !== variant.id) return { kind: 'ignored', reason: current ? 'not_current' : 'no_vote', round, variant };
        next = null;
      } else if (current === variant.id) {
        if (mode === 'set') return { kind: 'ignored', reason: 'same', round, variant };
        const last = await this.store.lastVoteEvent(round.id, user);
        if (
          last &&
          last.source === 'button' &&
          last.variantId === variant.id &&
          this.now().getTime() - last.at.getTime() < this.settings.doubleClickMs
        ) {
          return { kind: 'ignored', reason: 'double_click', round, variant };
        }
        next = null;
      } else {
        next = variant.id;
      }
      const ok = await this.store.swapVote({ roundId: round.id, user, expected: current, next, source, at: this.now() });
      if (ok) {
        const kind = next === null ? 'retracted' : current === null ? 'voted' : 'moved';
        return { kind, round, variant, previous: current, current: next };
      }
      // Lost a race with this person's other click or the round closing: read again.
    }
    throw new RoundError('VOTE_CONTENDED', 'could not record the vote after several attempts; please click again');
  }

  async variants(roundId: string): Promise<VariantRecord[]> {
    return this.store.listVariants(roundId);
  }

  async tally(roundId: string): Promise<{ round: Round; variants: VariantRecord[]; votes: Vote[]; tally: Tally }> {
    const round = await this.mustRound(roundId);
    const variants = await this.store.listVariants(roundId);
    const votes = await this.store.listVotes(roundId);
    return { round, variants, votes, tally: tally(variants.map(toTallyVariant), votes) };
  }

  /** Whether `user` may close: the brief's author or an admin. */
  mayClose(round: Round, user: string, isAdmin: boolean): boolean {
    return round.author === user || isAdmin;
  }

  /**
   * Closes voting and decides the winner. `by` is a user id, or "auto" for the timer.
   * Returns undefined when the round was not open (already closed, superseded).
   */
  async close(roundId: string, by: string): Promise<CloseOutcome | undefined> {
    const now = this.now();
    const before = await this.mustRound(roundId);
    if (before.status !== 'open') return undefined;
    // Decide from the votes as they stand at the moment voting closes.
    const closed = await this.store.transitionRound(roundId, ['open'], 'closed', { closedAt: now, closedBy: by });
    if (!closed) return undefined;
    const { variants, tally: t } = await this.tally(roundId);
    const decision = decideWinner(variants.map(toTallyVariant), t);
    await this.store.updateRound(roundId, { winnerVariantId: decision.winnerId, tie: decision.tie });
    const round = await this.mustRound(roundId);
    return { round, variants, tally: t, decision, winner: variants.find((v) => v.id === decision.winnerId) ?? null };
  }

  /** A new round started in the thread: the previous one stops taking votes. */
  async supersede(roundId: string): Promise<boolean> {
    return this.store.transitionRound(roundId, ['open'], 'superseded', { closedAt: this.now(), closedBy: 'next-round' });
  }

  /** The current leader by votes (ties as at close); undefined with no votes. */
  async leader(roundId: string): Promise<VariantRecord | undefined> {
    const { variants, tally: t } = await this.tally(roundId);
    const d = decideWinner(variants.map(toTallyVariant), t);
    return variants.find((v) => v.id === d.winnerId);
  }

  async addFeedback(f: { channel: string; threadTs: string; messageTs: string; user: string; text: string }): Promise<boolean> {
    return this.store.addFeedback({ ...f, createdAt: this.now() });
  }

  async pendingFeedback(channel: string, threadTs: string): Promise<Feedback[]> {
    return (await this.store.feedbackInThread(channel, threadTs)).filter((f) => f.usedBy === null);
  }

  async allFeedback(channel: string, threadTs: string): Promise<Feedback[]> {
    return this.store.feedbackInThread(channel, threadTs);
  }

  /** Rounds whose reminder is due (and not yet sent) and rounds whose voting time is over. */
  async due(): Promise<{ remind: Round[]; close: Round[] }> {
    const now = this.now().getTime();
    const open = await this.store.roundsWithStatus(['open']);
    const close = open.filter((r) => r.closesAt && r.closesAt.getTime() <= now);
    const remind = open.filter(
      (r) =>
        r.closesAt &&
        !r.reminded &&
        r.closesAt.getTime() > now &&
        r.closesAt.getTime() - this.settings.reminderMinutes * 60_000 <= now &&
        this.settings.reminderMinutes > 0,
    );
    return { remind, close };
  }

  async markReminded(roundId: string): Promise<void> {
    await this.store.updateRound(roundId, { reminded: true });
  }

  async usage(): Promise<{ month: Usage; day: Usage; monthlyUsdCap: number; dailyImageCap: number }> {
    const now = this.now();
    return {
      month: await this.store.usageSince(startOfUtcMonth(now)),
      day: await this.store.usageSince(startOfUtcDay(now)),
      monthlyUsdCap: this.settings.monthlyUsdCap,
      dailyImageCap: this.settings.dailyImageCap,
    };
  }
}

export function toTallyVariant(v: VariantRecord): TallyVariant {
  return { id: v.id, label: v.label, position: v.position, preference: v.scores.preference };
}
