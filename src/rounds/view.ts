/**
 * The one port through which a round is shown to people. The runner (runner.ts) decides what
 * happens and says it here in the domain's words; an adapter (Slack's is slack/round-view.ts)
 * decides how it looks. Nothing here knows Slack: no markup, no message ids but the opaque
 * `threadTs`/`messageTs` strings the adapter hands back.
 */
import type { FormatName } from '../vocabulary.ts';
import type { ApprovalState } from './approvals.ts';
import type { TallyEntry } from './tally.ts';
import type { Round, VariantRecord } from './types.ts';

/** Spend shown with a round: an estimate while it is made, the recorded figures after. */
export interface CostFacts {
  usd: number;
  textCalls: number;
  imageCalls: number;
  offline: boolean;
  estimate?: boolean;
}

/** The parent's one-line status. */
export type StatusLine =
  | { stage: 'retrieving' }
  | { stage: 'queued'; ahead: number }
  | { stage: 'writing' | 'drawing' | 'composing' | 'ranking'; done: number; total: number }
  | { stage: 'posting' }
  | { stage: 'ready'; variants: number }
  | { stage: 'failed'; why: string }
  | { stage: 'closed'; winner?: string };

export interface InspirationItem {
  headline: string;
  channel: string;
  brand: string;
  ctr: number;
  similarity: number;
  demo: boolean;
  /** Encoded image bytes (any format the library keeps); the adapter converts what it must. */
  thumbnail?: Uint8Array;
}

export interface InspirationShown {
  state: 'ok' | 'empty' | 'unavailable';
  detail?: string;
  /** How the brief was searched with, when not as written in English: "translated from zh: …", "multilingual text encoder (…)". */
  note?: string;
  items: InspirationItem[];
}

/** Where a posted variant lives, so votes by reaction can find it and edits can replace it. */
export interface PostedVariant {
  messageTs: string;
  /** The adapter's id for the image it showed; null when the image could not be attached (yet). */
  fileId: string | null;
}

/** A variant to show with its image; `replace`: instead of the message shown before (copy edited). */
export interface VariantToShow {
  variant: VariantRecord;
  image: Uint8Array;
  replace?: PostedVariant;
}

/** What the thread is told besides variants and the tally. */
export type RoundNote =
  | { kind: 'partial'; made: number; failures: { label?: string; stage: string; message: string }[] }
  | { kind: 'offline' }
  | { kind: 'synthetic' }
  | { kind: 'next'; number: number; by: string; feedback: number; leader?: string }
  | { kind: 'reminder'; number: number; minutes: number; author: string }
  | { kind: 'stored'; label: string; audience?: string }
  | { kind: 'store_failed'; label: string; detail: string; audience?: string }
  | { kind: 'winner_images_missing'; label: string; audience?: string }
  | { kind: 'copy_edited'; label: string; by: string; votesReset: number }
  /** The record of one approval, in the thread for everyone: who, which variant, which exact content. */
  | { kind: 'approved'; label: string; user: string; hash: string; count: number; quorum: number }
  /** The content of an approved variant changed: those approvals no longer count. */
  | { kind: 'approvals_voided'; label: string; users: string[]; by: string; hash: string }
  /** The round's creatives were exported for the ad platforms (the zip is posted beside this). */
  | {
      kind: 'exported';
      by: string;
      ads: { label: string; adKey: string; role: 'winner' | 'sibling' }[];
      platforms: { platform: string; included: number; total: number; left: { label: string; why: string }[] }[];
      checked: { ads: number; images: number };
      notes: string[];
      /** Rounds with --locales: the locales exported as ads of their own, and those not, with why. */
      locales?: { exported: string[]; notExported: { locale: string; why: string }[] };
    }
  | { kind: 'export_failed'; detail: string }
  /** Imported delivery figures of the round's exported creatives, the winner's beside its siblings'. */
  | {
      kind: 'results';
      rows: {
        label: string;
        adKey: string;
        role: 'winner' | 'sibling';
        impressions: number;
        clicks: number;
        conversions: number;
        platforms: string[];
        importedAt: Date;
      }[];
      waiting: { label: string; adKey: string; role: 'winner' | 'sibling' }[];
    };

/** Why a round could not be made (the thread says it with a retry; the parent shows it). */
export type Failure =
  | { kind: 'restarted' }
  | { kind: 'generation'; why: string }
  | { kind: 'no_variants'; why: string }
  | { kind: 'stopped'; why: string };

export interface CloseResult {
  /** A user id, "auto" for the timer, or "quorum" when the approvers' quorum closed it. */
  by: string;
  /** by "quorum": the approvers whose approvals closed it. */
  approvedBy?: string[];
  winner: { label: string; headline: string; votes: number; total: number } | null;
  tie: { labels: string[]; votes: number; brokenBy: 'preference' | 'position' } | null;
}

/** An audience segment as it stands (rounds/audiences.ts): its variants and the one leading (null: no votes yet). */
export interface SegmentStanding {
  audience: string;
  labels: string[];
  votes: number;
  leader: { variantId: string; label: string; headline: string; votes: number; tie: boolean } | null;
}

/** The tally as it stands; read again each time the adapter writes it. */
export interface TallySnapshot {
  round: Round;
  entries: TallyEntry[];
  total: number;
  /** Feedback waiting for the next round (offered as a button while voting is open). */
  pendingFeedback: number;
  result?: CloseResult;
  /** Rounds with approvers: who must approve, how many, and who approved the leader's current content. */
  approval?: ApprovalState;
  /** A closed round with a winner: whether it was exported (then Results can be asked for). */
  afterVote?: { exported: boolean };
  /** Rounds with audience segments: each segment's leader (the winners, once closed). */
  segments?: SegmentStanding[];
}

/** Someone to tell something to, and where they are looking. */
export interface Recipient {
  user: string;
  /** The conversation they acted in; absent: a direct message. */
  channel?: string;
  threadTs?: string;
  /** An answer address the surface gave with the request (Slack: a command's response_url), tried first. */
  replyUrl?: string;
}

/** One person is told something only they need to see. */
export type Notice =
  | { kind: 'restarting' }
  | { kind: 'refused'; code: string; detail: string }
  | {
      kind: 'cannot_post';
      channel: string;
      /** The conversation's name as the surface gave it (Slack: "directmessage", "mpdm-…"), to tell DMs apart. */
      channelName?: string;
      reason: 'not_in_channel' | 'channel_not_found' | 'other';
      detail?: string;
    }
  | { kind: 'still_generating'; round: number }
  | { kind: 'voting_closed'; round: number }
  | { kind: 'double_click'; label: string }
  /** `audience`: the segment the vote is in (a person has one in each), absent without audiences. */
  | { kind: 'your_vote'; label: string; retracted: boolean; audience?: string }
  | { kind: 'vote_failed'; detail: string }
  | { kind: 'close_refused'; author: string }
  | { kind: 'already_closed'; round: number }
  | { kind: 'edit_closed'; round: number }
  | { kind: 'edit_refused'; author: string }
  | { kind: 'images_missing'; label: string; purpose: 'edit' | 'download' }
  | { kind: 'rerender_failed'; label: string; detail: string }
  | { kind: 'stale_button'; round: number; latest: number }
  | { kind: 'more_noted'; label: string; round: number; author: string }
  | {
      kind: 'approve_refused';
      reason: 'closed' | 'no_approvers' | 'not_approver' | 'not_leader' | 'changed';
      label: string;
      round: number;
      leader?: string;
      approvers?: string[];
    }
  | { kind: 'approval_duplicate'; label: string; hash: string }
  | { kind: 'export_refused'; round: number; reason: 'not_closed' | 'no_winner' | 'images_missing' | 'busy' }
  | { kind: 'results_none'; round: number; exported: boolean };

export interface FileToShare {
  bytes: Uint8Array;
  format: FormatName;
}

export type FilesCaption =
  | { kind: 'winner'; label: string; round: number; audience?: string }
  | { kind: 'download'; label: string; round: number; for: string };

/** A file that is not one variant's image (an export's zip). */
export interface ArchiveToShare {
  filename: string;
  bytes: Uint8Array;
  title: string;
}

export interface RoundView {
  /** Posts the round's first message; its id is the thread every later message goes into. */
  openThread(
    round: Round,
    cost: CostFacts,
  ): Promise<
    | { ok: true; threadTs: string; permalink?: string }
    | { ok: false; reason: 'not_in_channel' | 'channel_not_found' | 'other'; detail: string }
  >;
  /**
   * The parent's status line. Calls may come quickly (progress); the adapter may coalesce them,
   * and the returned promise settles once this state, or a later one, is shown.
   */
  status(round: Round, line: StatusLine, cost: CostFacts): Promise<void>;
  inspiration(round: Round, shown: InspirationShown): Promise<void>;
  /**
   * Shows variants with their images, in order. `posted` hears where each one is as soon as it
   * is shown, and again if its image could only be attached later. A variant is never shown
   * silently without its image: while the image is missing, its message says so.
   */
  variants(round: Round, items: VariantToShow[], posted: (variantId: string, where: PostedVariant) => Promise<void>): Promise<void>;
  notes(round: Round, notes: RoundNote[]): Promise<void>;
  /**
   * The tally of a round. `post`: shows it for the first time and returns its message id.
   * Otherwise the votes or feedback changed: the shown tally is rewritten from `read()`, coalesced
   * with other changes (`now`: without waiting), and not at all before it was first shown.
   */
  tally(roundId: string, read: () => Promise<TallySnapshot>, opts?: { post?: boolean; now?: boolean }): Promise<string | undefined>;
  failed(round: Round, failure: Failure, cost: CostFacts): Promise<void>;
  /** Voting is over: the final tally and the parent show the result (`read().result`). */
  closed(read: () => Promise<TallySnapshot>): Promise<void>;
  /** Files of one variant shared in the round's thread. */
  files(round: Round, files: FileToShare[], caption: FilesCaption): Promise<void>;
  /** An archive (the export's zip) shared in the round's thread, with a line saying what it is. */
  archive(round: Round, file: ArchiveToShare, comment: string): Promise<void>;
  tell(to: Recipient, notice: Notice): Promise<void>;
  /** Pending coalesced writes land now (shutdown). */
  flush(): Promise<void>;
}
