/**
 * The round domain: who may start a round, how votes move, when a round closes and who
 * wins, what a round costs. It knows nothing about Slack; the runner and the listeners call
 * it and render what it returns. The store is its own: every write has a name here.
 */
import { randomUUID } from 'node:crypto';
import { isAdError, RoundError } from '../errors.ts';
import { estimateForAudiences, totalVariants } from '../generate/audiences.ts';
import { labelFor } from '../generate/types.ts';
import { redact } from '../redact.ts';
import { type ApprovalState, approvalState, hasApprovers, latestVersions, liveApprovals } from './approvals.ts';
import type { RoundLeases } from './leases.ts';
import { decideWinner, type Tally, type TallyVariant, tally, type WinnerDecision } from './tally.ts';
import type {
  Approval,
  ContentVersion,
  EditedCopy,
  ExportRecord,
  Feedback,
  ResultRow,
  Round,
  RoundOptions,
  RoundStatus,
  RoundStore,
  Usage,
  VariantPatch,
  VariantRecord,
  Vote,
  VoteEvent,
  VoteSource,
} from './types.ts';
import type { CloseResult } from './view.ts';
import { applyVote, resetVotes, type VoteChange, type VoteOutcome } from './votes.ts';

export type { VoteChange, VoteOutcome } from './votes.ts';

export interface RoundSettings {
  /** Rounds one person may start per hour: briefs and next rounds alike. */
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
  /** The price table over the configured models, size and quality (generate/pricing.ts). */
  pricing: { estimate(variants: number, o?: { locales?: number }): { usd: number; textCalls: number; imageCalls: number } };
}

/** What generation reports it spent. */
export interface Spend {
  textCalls: number;
  imageCalls: number;
  /** Priced by the generator from the usage the API reported (0 for a model without a price, which the log says). */
  usd: number;
}

/** A generated variant as the round records it (the generator's output, before it has an id here). */
export interface NewVariant
  extends Pick<
    VariantRecord,
    'headline' | 'body' | 'cta' | 'concept' | 'reason' | 'scores' | 'offline' | 'flags' | 'formats' | 'audience' | 'locales'
  > {
  label?: string;
}

export type NextRound =
  | { kind: 'started'; round: Round; previous: Round; superseded: boolean; feedback: Feedback[]; leader?: VariantRecord }
  /** The thread has no round. */
  | { kind: 'none' }
  /** The latest round is still being made; feedback waits for the one after it. */
  | { kind: 'generating'; previous: Round }
  /** Another request started the next round a moment earlier. */
  | { kind: 'exists' }
  /** A rate limit or cap refused it. */
  | { kind: 'refused'; code: string; detail: string };

export interface HomeSummary {
  open: { round: Round; votes: number }[];
  winners: { round: Round; variant?: VariantRecord; votes: number }[];
}

/** What became of an "Approve". */
export type ApproveOutcome =
  | {
      kind: 'approved' | 'duplicate';
      round: Round;
      variant: VariantRecord;
      hash: string;
      /** Live approvals of this content, this one included, and how many close the round. */
      count: number;
      quorum: number;
      met: boolean;
    }
  | {
      kind: 'refused';
      reason: 'closed' | 'no_approvers' | 'not_approver' | 'not_leader' | 'changed';
      round: Round;
      variant: VariantRecord;
      /** The variant that leads now (not_leader). */
      leader?: string;
    };

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
  private readonly store: RoundStore;
  readonly settings: RoundSettings;
  private readonly now: () => Date;
  /** Replicas (PostgreSQL): who owns which round. Unset: this process owns every round. */
  readonly leases?: RoundLeases;
  private readonly leaseMs: number;
  private readonly onVote?: (change: VoteChange) => void;

  constructor(deps: {
    store: RoundStore;
    settings: RoundSettings;
    clock?: () => Date;
    leases?: RoundLeases;
    leaseMs?: number;
    /**
     * Told of every stored vote change (e.g. the taste model's online update). Called after the
     * vote is stored and never awaited; what it throws is its own business, not the voter's.
     */
    onVote?: (change: VoteChange) => void;
  }) {
    this.store = deps.store;
    this.settings = deps.settings;
    this.now = deps.clock ?? (() => new Date());
    this.leases = deps.leases;
    this.leaseMs = deps.leaseMs ?? 30_000;
    this.onVote = deps.onVote;
  }

  // ---- replica ownership (see leases.ts); without leases every call below says "yours" ----

  /** True when replicas share this state (rounds are owned by leases). */
  get shared(): boolean {
    return this.leases?.shared ?? false;
  }

  /** Takes (or keeps) ownership of a round: false when a live replica owns it. */
  async claim(roundId: string): Promise<boolean> {
    return this.leases ? this.leases.claim(roundId) : true;
  }

  /**
   * Rounds cut off mid-generation by a replica that died: still generating, older than one
   * lease time, and nobody holds a live lease on them. Always empty without leases (a single
   * process handles its own restart in `RoundRunner.resume`).
   */
  async orphans(): Promise<Round[]> {
    if (!this.leases) return [];
    const cutoff = this.now().getTime() - this.leaseMs;
    const old = (await this.store.roundsWithStatus(['generating'])).filter((r) => r.createdAt.getTime() < cutoff);
    const free = new Set(await this.leases.unowned(old.map((r) => r.id)));
    return old.filter((r) => free.has(r.id));
  }

  private async owned(rounds: Round[]): Promise<Round[]> {
    if (!this.leases) return rounds;
    const out: Round[] = [];
    for (const r of rounds) if (await this.leases.claim(r.id)) out.push(r);
    return out;
  }

  // ---- cost: the one place prices live ----

  /**
   * The cost estimate shown before anything is made: one copy call plus one image per candidate (and one call for copy per locale), per audience,
   * priced with the price table (quality or size `auto` at the dearest the model may pick). The
   * round's recorded cost is what the API's reported usage priced at.
   */
  estimateCost(
    options: Pick<RoundOptions, 'variants' | 'audiences' | 'locales'>,
    offline: boolean,
  ): { usd: number; textCalls: number; imageCalls: number } {
    if (offline) return { usd: 0, textCalls: 0, imageCalls: 0 };
    return estimateForAudiences((n, o) => this.settings.pricing.estimate(n, o), options);
  }

  /**
   * What a round spent: the requests the API answered, priced by the generator from the usage
   * the API reported (generate/pricing.ts). Offline drafts bill nothing, so spend nothing.
   */
  spentUsd(cost: Spend): number {
    return cost.usd;
  }

  // ---- reads ----

  async round(id: string): Promise<Round | undefined> {
    return this.store.getRound(id);
  }

  async variant(id: string): Promise<VariantRecord | undefined> {
    return this.store.getVariant(id);
  }

  /** The newest round of a thread. */
  async latestInThread(channel: string, threadTs: string): Promise<Round | undefined> {
    return this.store.latestRoundInThread(channel, threadTs);
  }

  async inThread(channel: string, threadTs: string): Promise<Round[]> {
    return this.store.roundsInThread(channel, threadTs);
  }

  async withStatus(statuses: RoundStatus[]): Promise<Round[]> {
    return this.store.roundsWithStatus(statuses);
  }

  async votes(roundId: string): Promise<Vote[]> {
    return this.store.listVotes(roundId);
  }

  /** Every vote change of a round, kept as training signal. */
  async voteEvents(roundId: string): Promise<VoteEvent[]> {
    return this.store.voteEvents(roundId);
  }

  /** A person's App Home: their rounds still in play, and the workspace's recent winners. */
  async home(user: string): Promise<HomeSummary> {
    const mine = await this.store.roundsByAuthor(user, ['generating', 'open'], 20);
    const open = await Promise.all(mine.map(async (round) => ({ round, votes: (await this.store.listVotes(round.id)).length })));
    const wins = await this.store.recentWinners(10);
    const winners = await Promise.all(
      wins.map(async (round) => ({
        round,
        variant: round.winnerVariantId ? await this.store.getVariant(round.winnerVariantId) : undefined,
        votes: (await this.store.listVotes(round.id)).filter((x) => x.variantId === round.winnerVariantId).length,
      })),
    );
    return { open, winners };
  }

  // ---- retried deliveries ----

  /** Records a processed delivery key (an event id, an action); false when it was seen before. */
  async seen(key: string): Promise<boolean> {
    return !(await this.store.markProcessed(key, this.now()));
  }

  /** Forgets processed keys older than `ageMs` (retries come within minutes). */
  async forget(ageMs: number): Promise<number> {
    return this.store.pruneProcessed(new Date(this.now().getTime() - ageMs));
  }

  /**
   * Creates a round (status "generating") if the rate limit and caps allow it. The rate limit
   * counts against `startedBy` (default: the author), whatever the round's number.
   */
  async createRound(p: {
    channel: string;
    threadTs: string;
    number: number;
    brief: string;
    author: string;
    startedBy?: string;
    options: RoundOptions;
  }): Promise<Round> {
    const now = this.now();
    const round = await this.store.insertRound(
      { id: randomUUID(), ...p, startedBy: p.startedBy ?? p.author, createdAt: now, imagesPlanned: totalVariants(p.options) },
      {
        perUserLimit: this.settings.ratePerHour,
        perUserSince: new Date(now.getTime() - HOUR),
        dailyImageCap: this.settings.dailyImageCap,
        daySince: startOfUtcDay(now),
        monthlyUsdCap: this.settings.monthlyUsdCap,
        monthSince: startOfUtcMonth(now),
      },
    );
    // The replica making the round owns it while it lives (no-op without leases).
    await this.leases?.claim(round.id);
    return round;
  }

  /** The round's first message was posted: its id names the thread every later message goes into. */
  async attachThread(roundId: string, threadTs: string, permalink?: string): Promise<Round> {
    await this.store.updateRound(roundId, { threadTs, ...(permalink ? { permalink } : {}) });
    return this.mustRound(roundId);
  }

  /**
   * Records what generation made. One rule names variants: the generator's label, else its
   * position (A, B, …); the id is the round's id and the label. `beforeInsert` stores each
   * variant's pixels first, so a recorded variant always has its images.
   */
  async recordVariants(
    round: Round,
    made: NewVariant[],
    beforeInsert?: (record: VariantRecord, index: number) => Promise<void>,
  ): Promise<VariantRecord[]> {
    const records: VariantRecord[] = made.map((v, i) => {
      const label = v.label || labelFor(i);
      return {
        id: `${round.id}-${label}`,
        roundId: round.id,
        label,
        position: i,
        headline: v.headline,
        body: v.body,
        cta: v.cta,
        concept: v.concept,
        reason: v.reason,
        scores: v.scores,
        offline: v.offline,
        flags: v.flags,
        formats: v.formats,
        messageTs: null,
        fileId: null,
        ...(v.audience ? { audience: v.audience } : {}),
        ...(v.locales ? { locales: v.locales } : {}),
      };
    });
    if (beforeInsert) for (const [i, r] of records.entries()) await beforeInsert(r, i);
    await this.store.insertVariants(records);
    return records;
  }

  /** A variant is shown: reactions on that message are votes for it. */
  async markPosted(variantId: string, where: { messageTs: string; fileId: string | null }): Promise<void> {
    await this.store.updateVariant(variantId, where);
  }

  /** A variant with its copy edited by `by` (not stored yet: see `saveCopy`). */
  editedCopy(variant: VariantRecord, copy: EditedCopy, by: string): VariantRecord {
    return { ...variant, ...copy, scores: copy.scores ?? variant.scores, flags: [...copy.flags, `copy edited by <@${by}>`] };
  }

  /** Stores a variant's edited copy (once people can see it). */
  async saveCopy(v: VariantRecord): Promise<void> {
    // With its locales: the source locale took the edit and translations are marked outdated (rounds/locales.ts).
    const patch: VariantPatch = { headline: v.headline, body: v.body, cta: v.cta, flags: v.flags, scores: v.scores, locales: v.locales };
    await this.store.updateVariant(v.id, patch);
  }

  async setTallyTs(roundId: string, tallyTs: string): Promise<void> {
    await this.store.updateRound(roundId, { tallyTs });
  }

  /** The winner was stored in the creative library under `creativeId`. */
  async setWinnerCreative(roundId: string, creativeId: string): Promise<void> {
    await this.store.updateRound(roundId, { winnerCreativeId: creativeId });
  }

  /**
   * The next round of a thread. Starting it ends voting on the open one (superseded: no winner,
   * the votes stay as signal), takes `extraFeedback` and all feedback not used yet, and picks
   * the leader it builds on: `leaderId` when given, else the previous round's vote leader.
   */
  async startNext(p: { channel: string; threadTs: string; user: string; extraFeedback?: string; leaderId?: string }): Promise<NextRound> {
    const prev = await this.store.latestRoundInThread(p.channel, p.threadTs);
    if (!prev) return { kind: 'none' };
    if (prev.status === 'generating') return { kind: 'generating', previous: prev };
    let leader: VariantRecord | undefined;
    if (p.leaderId) leader = await this.store.getVariant(p.leaderId);
    if (!leader && prev.status !== 'failed') leader = await this.leader(prev.id);
    let round: Round;
    try {
      round = await this.createRound({
        channel: p.channel,
        threadTs: p.threadTs,
        number: prev.number + 1,
        brief: prev.brief,
        author: prev.author,
        startedBy: p.user,
        options: prev.options,
      });
    } catch (e) {
      if (isAdError(e) && e.code === 'ROUND_EXISTS') return { kind: 'exists' };
      if (isAdError(e)) return { kind: 'refused', code: e.code, detail: e.message };
      throw e;
    }
    const superseded = prev.status === 'open' && (await this.supersede(prev.id));
    if (p.extraFeedback) {
      await this.addFeedback({
        channel: p.channel,
        threadTs: p.threadTs,
        messageTs: `action:${round.id}`,
        user: p.user,
        text: p.extraFeedback,
      });
    }
    const pending = await this.pendingFeedback(p.channel, p.threadTs);
    await this.store.markFeedbackUsed(
      pending.map((f) => f.id),
      round.id,
    );
    return { kind: 'started', round, previous: prev, superseded, feedback: await this.allFeedback(p.channel, p.threadTs), leader };
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
    // Kept and shown again later (stats, Try again): never with a key an upstream error echoed.
    await this.store.transitionRound(roundId, ['generating'], 'failed', { error: redact(error), ...facts });
  }

  async mustRound(id: string): Promise<Round> {
    const r = await this.store.getRound(id);
    if (!r) throw new RoundError('ROUND_NOT_FOUND', `no round ${id}`);
    return r;
  }

  /**
   * A click on a variant's Vote button: votes for it, moves the vote to it, or — clicked
   * again — takes the vote back. The store's compare-and-set makes concurrent clicks safe.
   * `from`: the channel the click came from, which must be the round's (see `clickedIn`).
   */
  async buttonVote(variantId: string, user: string, from?: { channel: string | undefined }): Promise<VoteOutcome> {
    const variant = await this.store.getVariant(variantId);
    if (!variant) throw new RoundError('VARIANT_NOT_FOUND', `no variant ${variantId}`);
    if (from) {
      const round = await this.mustRound(variant.roundId);
      if (!this.clickedIn(round, from.channel)) return { kind: 'ignored', reason: 'wrong_channel', round, variant };
    }
    return this.applyVote(variant, user, 'button', 'toggle');
  }

  /**
   * A button names its round by id in its value; the payload also says which channel the
   * message was in. A click counts only in the round's own channel: a payload that pairs a
   * round with another channel is forged (defence in depth, should the signing secret leak).
   */
  clickedIn(round: Round, channel: string | undefined): boolean {
    return channel === round.channel;
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

  private applyVote(variant: VariantRecord, user: string, source: VoteSource, mode: 'toggle' | 'set' | 'retract'): Promise<VoteOutcome> {
    const d = { store: this.store, mustRound: (id: string) => this.mustRound(id), now: this.now, onVote: this.onVote };
    return applyVote({ ...d, doubleClickMs: this.settings.doubleClickMs }, variant, user, source, mode);
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
   * Whether `user` may end voting by asking for "more like this" of one variant (which starts
   * the next round at once): like closing, the brief's author or an admin. Anyone else's
   * request is kept as feedback for the next round instead.
   */
  mayRedirect(round: Round, user: string, isAdmin: boolean): boolean {
    return this.mayClose(round, user, isAdmin);
  }

  /** Copy may be edited while the round takes votes. */
  mayEdit(round: Round): boolean {
    return round.status === 'open';
  }

  /**
   * Whether `user` may edit a variant's copy: an edit changes what voters chose, so, like
   * closing, only the brief's author or an admin.
   */
  mayEditCopy(round: Round, user: string, isAdmin: boolean): boolean {
    return this.mayClose(round, user, isAdmin);
  }

  /**
   * Takes back every vote for `variant` (its copy was edited: those votes were for copy the new
   * message no longer shows). Each is a vote event with source "edit", so the history keeps what
   * was chosen. Returns how many were taken back.
   */
  async resetVotes(variant: VariantRecord): Promise<number> {
    return resetVotes({ store: this.store, now: this.now }, variant);
  }

  /**
   * Closes voting and decides the winner. `by` is a user id, or "auto" for the timer.
   * Returns undefined when the round was not open (already closed, superseded).
   */
  async close(roundId: string, by: string, opts: { winnerId?: string } = {}): Promise<CloseOutcome | undefined> {
    const now = this.now();
    const before = await this.mustRound(roundId);
    if (before.status !== 'open') return undefined;
    // Decide from the votes as they stand at the moment voting closes.
    const closed = await this.store.transitionRound(roundId, ['open'], 'closed', { closedAt: now, closedBy: by });
    if (!closed) return undefined;
    const { variants, tally: t } = await this.tally(roundId);
    const voted = decideWinner(variants.map(toTallyVariant), t);
    // A quorum of approvers closes with the variant they approved, whatever the votes did since.
    const decision =
      opts.winnerId && opts.winnerId !== voted.winnerId && variants.some((v) => v.id === opts.winnerId)
        ? { ...voted, winnerId: opts.winnerId, tie: false, tiedLabels: [], brokenBy: null }
        : voted;
    await this.store.updateRound(roundId, { winnerVariantId: decision.winnerId, tie: decision.tie });
    const round = await this.mustRound(roundId);
    return { round, variants, tally: t, decision, winner: variants.find((v) => v.id === decision.winnerId) ?? null };
  }

  // ---- the decision log (decisions.ts) and exports ----

  /** Rounds created or closed since `since`, oldest first. */
  async roundsSince(since: Date): Promise<Round[]> {
    return this.store.roundsSince(since);
  }

  async exportsOf(roundId: string): Promise<ExportRecord[]> {
    return this.store.exports({ roundId });
  }

  /** A round's creatives went out to the ad platforms (export/round-export.ts). */
  async recordExports(records: ExportRecord[]): Promise<void> {
    await this.store.recordExports(records);
  }

  /** Imported report rows of these exported ads. */
  async resultRows(adKeys: string[]): Promise<ResultRow[]> {
    return this.store.resultRows({ adKeys });
  }

  // ---- approvals (approvals.ts): who approved which exact content, and the quorum ----

  /** A variant's content as made or edited: a new version with its hash (`by`: null for the generator). */
  async recordContent(variant: VariantRecord, hash: string, by: string | null): Promise<ContentVersion> {
    return this.store.addContentVersion({
      variantId: variant.id,
      roundId: variant.roundId,
      hash,
      headline: variant.headline,
      body: variant.body,
      cta: variant.cta,
      formats: variant.formats,
      by,
      at: this.now(),
    });
  }

  /** Each variant's current content version. */
  async currentContent(roundId: string): Promise<Map<string, ContentVersion>> {
    return latestVersions(await this.store.contentVersions(roundId));
  }

  async contentVersions(roundId: string): Promise<ContentVersion[]> {
    return this.store.contentVersions(roundId);
  }

  async approvals(roundId: string): Promise<Approval[]> {
    return this.store.listApprovals(roundId);
  }

  /**
   * The content of a variant changed (its copy was edited and every format re-rendered): the
   * new version is recorded and approvals of any earlier content are voided; returns those.
   */
  async contentChanged(variant: VariantRecord, hash: string, by: string): Promise<Approval[]> {
    await this.recordContent(variant, hash, by);
    return this.store.voidApprovals(variant.id, hash, this.now(), `content changed by ${by}`);
  }

  /** Where the round's approval stands: its approvers, quorum, the leader's content and who approved it. */
  async approvalState(roundId: string): Promise<ApprovalState | undefined> {
    const round = await this.mustRound(roundId);
    if (!hasApprovers(round.options)) return undefined;
    const leader = await this.leader(roundId);
    const hash = leader ? (await this.currentContent(roundId)).get(leader.id)?.hash : undefined;
    return approvalState(
      round.options,
      leader && hash ? { variantId: leader.id, label: leader.label, hash } : undefined,
      await this.store.listApprovals(roundId),
    );
  }

  /**
   * "Approve" on the leading variant, as drawn with content `shownHash`. Only a named approver,
   * only the variant leading now, only the content they saw (an edit since then changed the
   * hash: they must look again). `met` says the quorum of live approvals of this content is reached.
   */
  async approve(variantId: string, user: string, shownHash: string): Promise<ApproveOutcome> {
    const variant = await this.store.getVariant(variantId);
    if (!variant) throw new RoundError('VARIANT_NOT_FOUND', `no variant ${variantId}`);
    const round = await this.mustRound(variant.roundId);
    const refuse = (reason: Extract<ApproveOutcome, { kind: 'refused' }>['reason'], leader?: string): ApproveOutcome => ({
      kind: 'refused',
      reason,
      round,
      variant,
      leader,
    });
    if (round.status !== 'open') return refuse('closed');
    if (!hasApprovers(round.options)) return refuse('no_approvers');
    const approvers = round.options.approvers as string[];
    if (!approvers.includes(user)) return refuse('not_approver');
    const leader = await this.leader(round.id);
    if (leader?.id !== variant.id) return refuse('not_leader', leader?.label);
    const current = (await this.currentContent(round.id)).get(variant.id)?.hash;
    if (!current || current !== shownHash) return refuse('changed');
    const stored = await this.store.approve({ roundId: round.id, variantId: variant.id, user, hash: current, at: this.now() });
    if (stored === 'closed') return refuse('closed');
    const quorum = round.options.quorum ?? approvers.length;
    const count = liveApprovals(await this.store.listApprovals(round.id), variant.id, current, approvers).length;
    return {
      kind: stored === 'recorded' ? 'approved' : 'duplicate',
      round,
      variant,
      hash: current,
      count,
      quorum,
      met: count >= quorum,
    };
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
    // With replicas, each due round is handled by the one replica that owns it.
    return { remind: await this.owned(remind), close: await this.owned(close) };
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

/**
 * How a closed round ended, from what is stored: the votes cannot move once voting closed, so
 * the decision made at close is made again the same way. Undefined while the round is not closed.
 */
export function closeResult(round: Round, variants: VariantRecord[], t: Tally): CloseResult | undefined {
  if (round.status !== 'closed') return undefined;
  const by = round.closedBy ?? 'auto';
  const d = decideWinner(variants.map(toTallyVariant), t);
  const winner = variants.find((v) => v.id === (round.winnerVariantId ?? d.winnerId));
  if (!winner || t.total === 0) return { by, winner: null, tie: null };
  const votes = t.entries.find((e) => e.variantId === winner.id)?.votes ?? 0;
  return {
    by,
    winner: { label: winner.label, headline: winner.headline, votes, total: t.total },
    tie: d.tie && d.winnerId === winner.id ? { labels: d.tiedLabels, votes: d.votes, brokenBy: d.brokenBy ?? 'position' } : null,
  };
}

export function toTallyVariant(v: VariantRecord): TallyVariant {
  return { id: v.id, label: v.label, position: v.position, preference: v.scores.preference };
}
