/**
 * The round domain's records and the state store contract. One implementation,
 * `SqlRoundStore` (sql-store.ts), runs it on SQLite or PostgreSQL, so everything here is
 * async and the SQL stays portable.
 */
import type { BrandScore } from '../generate/brand-score-types.ts';
import type { BriefFields } from '../generate/types.ts';
import type { CandidateScores } from '../rank/score.ts';
import type { ChannelName, FormatName, ReportPlatform } from '../vocabulary.ts';

export type RoundStatus = 'generating' | 'open' | 'closed' | 'superseded' | 'failed';

export interface RoundOptions {
  variants: number;
  formats: FormatName[];
  brand?: string;
  channel: ChannelName;
  anonymous: boolean;
  hideTally: boolean;
  /**
   * The brief's parts when a form gave them: they guide the copywriter (audience and tone are
   * never printed in the ads); `brief` stays the words people see. Kept with the options so every
   * round of the thread has them.
   */
  fields?: BriefFields;
  /** Slack user ids whose "Approve" counts (approvals.ts); absent or empty: no approval step. */
  approvers?: string[];
  /** Approvals of the leading variant's exact content that close the round by themselves. */
  quorum?: number;
  /**
   * Audience segments (generate/audiences.ts): `variants` are made for each, and each segment's
   * leader is a winner of its own. Absent or empty: one audience, the brief's.
   */
  audiences?: string[];
  /** Locale tags (`--locales de,fr,zh-CN`): every variant gets copy per locale; votes stay per variant. */
  locales?: string[];
}

export interface Round {
  id: string;
  /** Slack channel id and the parent message's ts: one thread holds rounds 1, 2, … of a brief. */
  channel: string;
  threadTs: string;
  number: number;
  brief: string;
  author: string;
  options: RoundOptions;
  status: RoundStatus;
  createdAt: Date;
  /** When voting closes by itself (null: never). */
  closesAt: Date | null;
  reminded: boolean;
  closedAt: Date | null;
  closedBy: string | null;
  winnerVariantId: string | null;
  /** Library id of the stored winner. */
  winnerCreativeId: string | null;
  tie: boolean;
  tallyTs: string | null;
  permalink: string | null;
  /** Images this round may make (counted against the daily cap when it is created). */
  imagesPlanned: number;
  costUsd: number;
  textCalls: number;
  imageCalls: number;
  offline: boolean;
  synthetic: boolean;
  /** Why it failed, for the thread and App Home. */
  error: string | null;
}

export interface NewRound {
  id: string;
  channel: string;
  threadTs: string;
  number: number;
  brief: string;
  author: string;
  /** Who started this round: the author for round 1, whoever asked for a next round after it. */
  startedBy: string;
  options: RoundOptions;
  createdAt: Date;
  imagesPlanned: number;
}

/** As ranked (rank/score.ts); stored as JSON, so fields added later are optional. */
export type VariantScoresRecord = CandidateScores & { brand?: BrandScore };

export interface VariantRecord {
  id: string;
  roundId: string;
  label: string;
  position: number;
  headline: string;
  body: string;
  cta: string;
  concept: string;
  reason: string;
  scores: VariantScoresRecord;
  offline: boolean;
  flags: string[];
  formats: FormatName[];
  messageTs: string | null;
  fileId: string | null;
  /** The audience segment it was made for (rounds with --audiences); absent otherwise. */
  audience?: string;
  /** The variant's copy per locale (`--locales`), shown side by side; absent without locales. */
  locales?: VariantLocale[];
}

/** A variant's copy in one locale as stored: written in the brief's language, translated, or not translated (empty). */
export interface VariantLocale {
  locale: string;
  status: 'source' | 'translated' | 'not-translated';
  headline: string;
  body: string;
  cta: string;
  flags: string[];
  /**
   * A translation made from copy a person has edited since (rounds/locales.ts): it no longer says
   * what the variant says. Set when the edit is made and shown; absent otherwise.
   */
  outdated?: true;
}

/** How a vote changed: a button, a reaction, or taken back because the copy it was for was edited. */
export type VoteSource = 'button' | 'reaction' | 'edit';

export interface Vote {
  roundId: string;
  user: string;
  /**
   * The audience segment of the variant voted for ('' in a round without audiences): a person
   * has one vote in each segment of a round (migration 6).
   */
  audience: string;
  variantId: string;
  source: VoteSource;
  at: Date;
}

export interface VoteEvent {
  roundId: string;
  user: string;
  /** The vote after the event (null: retracted). */
  variantId: string | null;
  previous: string | null;
  source: VoteSource;
  at: Date;
}

export interface Feedback {
  /** `${channel}:${messageTs}`. */
  id: string;
  channel: string;
  threadTs: string;
  messageTs: string;
  user: string;
  text: string;
  createdAt: Date;
  /** The round that used it; null while pending. */
  usedBy: string | null;
}

export interface Usage {
  /** Rounds that ran, failed ones included (they may have spent). */
  rounds: number;
  /** Of those, the ones that failed: never posted, or stopped mid-generation. */
  failed: number;
  images: number;
  usd: number;
}

export interface CapCheck {
  /** Rounds one person may start since `perUserSince` (rate limit): briefs and next rounds alike. */
  perUserLimit: number;
  perUserSince: Date;
  /** Images the workspace may make since `daySince` (UTC day). */
  dailyImageCap: number;
  daySince: Date;
  /** USD the workspace may spend since `monthSince`; 0 = no cap. */
  monthlyUsdCap: number;
  monthSince: Date;
}

/**
 * One version of a variant's content: its copy and the hash of the copy and every rendered
 * image (approvals.ts). A variant gets version 1 when it is made and one more per copy edit.
 */
export interface ContentVersion {
  variantId: string;
  roundId: string;
  seq: number;
  hash: string;
  headline: string;
  body: string;
  cta: string;
  formats: FormatName[];
  /** Who made this version: null for the generator, a user id for an edit. */
  by: string | null;
  at: Date;
}

/** A person's approval of one exact content of a variant; voided (never deleted) when that content changes. */
export interface Approval {
  roundId: string;
  variantId: string;
  user: string;
  hash: string;
  at: Date;
  voidedAt: Date | null;
  voidedReason: string | null;
}

export type ApproveResult = 'recorded' | 'duplicate' | 'closed';

/** One exported creative: the ad key names it on every platform so results can be matched back. */
export interface ExportRecord {
  id: string;
  adKey: string;
  /** The round and variant it came from (null for `adcreative export` of a variants.json). */
  roundId: string | null;
  variantId: string | null;
  label: string;
  hash: string;
  role: 'winner' | 'sibling' | 'variant';
  platforms: string[];
  /** The creative library row that holds it, whose metrics imported results update. */
  creativeId: string | null;
  by: string;
  at: Date;
  /** Ids the ad platforms gave it when published (platform → ids). */
  published: Record<string, string[]> | null;
}

/** One row of an imported ad platform report, matched to an ad key or kept unmatched with the reason. */
export interface ResultRow {
  importId: string;
  line: number;
  platform: ReportPlatform;
  source: string;
  adKey: string | null;
  platformAdId: string | null;
  adName: string | null;
  impressions: number | null;
  clicks: number | null;
  conversions: number | null;
  raw: Record<string, string>;
  /** Why it matched nothing (null when matched). */
  reason: string | null;
  importedAt: Date;
}

export type RoundPatch = Partial<
  Pick<
    Round,
    | 'threadTs'
    | 'status'
    | 'closesAt'
    | 'reminded'
    | 'closedAt'
    | 'closedBy'
    | 'winnerVariantId'
    | 'winnerCreativeId'
    | 'tie'
    | 'tallyTs'
    | 'permalink'
    | 'costUsd'
    | 'textCalls'
    | 'imageCalls'
    | 'offline'
    | 'synthetic'
    | 'error'
  >
>;

/** A person's edit of a variant's copy, as re-rendered: with its brand score re-scored (the ranking scores stay). */
export type EditedCopy = Pick<VariantRecord, 'headline' | 'body' | 'cta' | 'flags'> & { scores?: VariantRecord['scores'] };

export type VariantPatch = Partial<
  Pick<VariantRecord, 'headline' | 'body' | 'cta' | 'messageTs' | 'fileId' | 'flags' | 'scores' | 'locales'>
>;

export interface RoundStore {
  /** Applies pending migrations; safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Records a processed key (Slack event id, action id); false when it was seen before. */
  markProcessed(key: string, at: Date): Promise<boolean>;
  pruneProcessed(before: Date): Promise<number>;

  /**
   * Inserts a round if the author's rate limit, the daily image cap and the monthly spend
   * cap allow it, atomically; throws RoundError RATE_LIMITED, DAILY_IMAGE_CAP or SPEND_CAP.
   */
  insertRound(r: NewRound, caps: CapCheck): Promise<Round>;
  getRound(id: string): Promise<Round | undefined>;
  /** The newest round of a thread. */
  latestRoundInThread(channel: string, threadTs: string): Promise<Round | undefined>;
  roundsInThread(channel: string, threadTs: string): Promise<Round[]>;
  updateRound(id: string, patch: RoundPatch): Promise<void>;
  /** Sets status only if it currently is `from` (so two closers cannot both close). */
  transitionRound(id: string, from: RoundStatus[], to: RoundStatus, patch?: RoundPatch): Promise<boolean>;
  roundsWithStatus(statuses: RoundStatus[]): Promise<Round[]>;
  roundsByAuthor(user: string, statuses: RoundStatus[], limit: number): Promise<Round[]>;
  recentWinners(limit: number): Promise<Round[]>;

  insertVariants(variants: VariantRecord[]): Promise<void>;
  getVariant(id: string): Promise<VariantRecord | undefined>;
  variantByMessage(channel: string, ts: string): Promise<{ round: Round; variant: VariantRecord } | undefined>;
  listVariants(roundId: string): Promise<VariantRecord[]>;
  updateVariant(id: string, patch: VariantPatch): Promise<void>;

  /**
   * Compare-and-set of a person's vote in one audience segment (`audience`, '' for none): applies
   * `next` (null deletes) only if their current vote in that segment is `expected` and the round
   * is open; logs a VoteEvent in the same transaction. Their votes in other segments stay.
   * Throws StoreError STORE_BAD_VOTE when `next` is not a variant of that round and segment.
   */
  swapVote(p: {
    roundId: string;
    user: string;
    audience: string;
    expected: string | null;
    next: string | null;
    source: VoteSource;
    at: Date;
  }): Promise<boolean>;
  /** A person's vote in one segment of a round ('' for a round without audiences). */
  currentVote(roundId: string, user: string, audience: string): Promise<Vote | undefined>;
  listVotes(roundId: string): Promise<Vote[]>;
  lastVoteEvent(roundId: string, user: string): Promise<VoteEvent | undefined>;
  voteEvents(roundId: string): Promise<VoteEvent[]>;

  /** False when that message was already collected. */
  addFeedback(f: Omit<Feedback, 'id' | 'usedBy'>): Promise<boolean>;
  feedbackInThread(channel: string, threadTs: string): Promise<Feedback[]>;
  markFeedbackUsed(ids: string[], roundId: string): Promise<void>;

  usageSince(since: Date): Promise<Usage>;

  /** Rounds created or closed at or after `since`, oldest first (the decision log). */
  roundsSince(since: Date): Promise<Round[]>;

  /** Records a new content version of a variant (the next seq). */
  addContentVersion(v: Omit<ContentVersion, 'seq'>): Promise<ContentVersion>;
  contentVersions(roundId: string): Promise<ContentVersion[]>;
  /**
   * Records an approval of one content hash, only while the round is open (a close waits for
   * it, as for votes); 'duplicate' when this person already approved that exact content.
   */
  approve(a: { roundId: string; variantId: string; user: string; hash: string; at: Date }): Promise<ApproveResult>;
  listApprovals(roundId: string): Promise<Approval[]>;
  /** Voids the variant's live approvals of any content other than `keepHash`; returns those voided. */
  voidApprovals(variantId: string, keepHash: string, at: Date, reason: string): Promise<Approval[]>;

  recordExports(records: ExportRecord[]): Promise<void>;
  /** Exports of one round, or those with the given ad keys, or (no filter) all: oldest first, a winner before its siblings. */
  exports(filter?: { roundId?: string; adKeys?: string[] }): Promise<ExportRecord[]>;
  addResultRows(rows: ResultRow[]): Promise<void>;
  /** Imported rows for the given ad keys (or of one import), in import order. */
  resultRows(filter: { adKeys?: string[]; importId?: string }): Promise<ResultRow[]>;
}
