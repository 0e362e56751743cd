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
  channels: string[];
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
}
