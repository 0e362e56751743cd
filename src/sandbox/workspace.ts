/**
 * The records of the Slack stand-in's workspace (users, channels, messages, files, views) and
 * what its parts need of one another.
 */
import type { Args } from './web-api-wire.ts';

export interface FakeUser {
  id: string;
  name: string;
  realName?: string;
  isAdmin?: boolean;
  isOwner?: boolean;
  isBot?: boolean;
}

export interface FakeChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  /** User ids in the channel; the bot can post only where its user id is listed. */
  members: string[];
  /** A direct message between two people (Slack's `is_im`), or a group one (`is_mpim`). */
  isIm?: boolean;
  isMpim?: boolean;
}

export interface FakeReaction {
  name: string;
  users: string[];
}

export interface FakeMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  user?: string;
  bot_id?: string;
  text: string;
  blocks?: unknown[];
  /** File ids attached to the message. */
  files: string[];
  reactions: FakeReaction[];
  edited?: { user: string; ts: string };
  subtype?: string;
}

export interface FakeFile {
  id: string;
  name: string;
  title: string;
  altText?: string;
  mimetype: string;
  user: string;
  /** Declared length from files.getUploadURLExternal. */
  length: number;
  bytes?: Buffer;
  completed: boolean;
  /** Channels it is shared in (`shares` says by which messages). */
  channels: string[];
  /** The messages that share it; a file nobody shared is private to whoever uploaded it. */
  shares?: { channel: string; ts: string; thread_ts?: string }[];
  /** When Slack finishes processing the upload (uploads are processed asynchronously); 0: done. */
  readyAt?: number;
  /** The app may read it without sharing a channel with it (given to the app in a modal's file_input). */
  appAccess?: boolean;
  /** A Slack Connect file: events carry a stub with `file_access: "check_file_info"`, files.info the rest. */
  connect?: boolean;
}

export interface FakeEphemeral {
  channel: string;
  user: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  /** "chat.postEphemeral" or "response_url". */
  via: string;
}

export interface FakeView {
  id: string;
  user: string;
  type: 'modal' | 'home';
  view: Record<string, unknown>;
  hash: string;
  external_id?: string;
}

export interface RecordedCall {
  method: string;
  /** Arguments as the bot sent them; `blocks`, `view`, `files` and `attachments` parsed from JSON. */
  args: Record<string, unknown>;
  ok: boolean;
  error?: string;
  at: number;
}

export type ChangeEvent =
  | { type: 'message'; message: FakeMessage }
  | { type: 'message_changed'; message: FakeMessage }
  | { type: 'reaction_added' | 'reaction_removed'; channel: string; ts: string; name: string; user: string }
  | { type: 'ephemeral'; ephemeral: FakeEphemeral }
  | { type: 'view_opened' | 'view_updated' | 'view_closed' | 'home_published'; view: FakeView }
  | { type: 'file'; file: FakeFile };

/** What the stand-in's method groups (files, …) need of the workspace that holds them. */
export interface Workspace {
  readonly botUserId: string;
  readonly botId: string;
  readonly files: Map<string, FakeFile>;
  readonly maxFileBytes: number;
  /** http://host:port of the stand-in. */
  readonly baseUrl: string;
  newId(prefix: string): string;
  nextTs(): string;
  channelFor(id: unknown, needMember?: boolean): FakeChannel;
  blocksArg(args: Args): unknown[] | undefined;
  message(channel: string, ts: string): FakeMessage | undefined;
  /** Stores a message and tells listeners. */
  store(m: FakeMessage): FakeMessage;
  changed(e: ChangeEvent): void;
  /** How long an upload takes to process before it shows as shared (ms). */
  readonly processingMs: number;
  /** Runs `fn` after `ms` (tracked so closing the stand-in cancels it). */
  after(ms: number, fn: () => void): void;
  /** Whether the bot may read `f` (its own upload, a file in a conversation it is in, one given to the app). */
  botCanSee(f: FakeFile): boolean;
  /** Whether `token` is the bot's (a file download carries it as a bearer token). */
  botToken(token: string): boolean;
  /** Where downloads of `url_private_download` are sent first (a test's redirect); undefined: the stand-in's own file host. */
  downloadRedirect?: (file: FakeFile) => string | undefined;
}
