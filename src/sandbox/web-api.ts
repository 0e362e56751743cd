/**
 * A stand-in for Slack's Web API on 127.0.0.1, answering the methods the bot calls the way
 * Slack does (form-encoded or JSON bodies, `blocks` as a JSON string, `ok: false` with
 * Slack's error codes, HTTP 429 with Retry-After when told to rate-limit). It keeps the
 * workspace in memory — users, channels, messages with threads, reactions, files with their
 * bytes, ephemeral messages, open views, App Home — records every call for tests, and emits
 * `change` events the sandbox page streams.
 *
 * Human-side helpers (`postAsUser`, `reactAsUser`, …) change the workspace as a person would;
 * pair them with `src/sandbox/deliver.ts`, which tells the bot about it in Slack's shapes.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  asTyped,
  canonicalReaction,
  checkBlocks,
  INSTALLED_BOT_SCOPES,
  METHOD_SCOPES,
  notifyingMentions,
  RateLimit,
  reusedBlockId,
  SLACK_LIMITS,
} from './slack-rules.ts';
import { directoryMethods } from './web-api-directory.ts';
import { fileInMessage, fileMethods, serveFiles, slackFileProblem } from './web-api-files.ts';
import { viewMethods } from './web-api-views.ts';
import { type Args, fail, type Handler, parseArgs, parseJsonArg, readBody, recordArgs, SlackApiError, sniffMime } from './web-api-wire.ts';
import type {
  ChangeEvent,
  FakeChannel,
  FakeEphemeral,
  FakeFile,
  FakeMessage,
  FakeReaction,
  FakeUser,
  FakeView,
  RecordedCall,
  Workspace,
} from './workspace.ts';

export type { ChangeEvent, FakeChannel, FakeEphemeral, FakeFile, FakeMessage, FakeReaction, FakeUser, FakeView, RecordedCall };
export { checkBlocks };

export interface FakeSlackOptions {
  /** Interface to bind; loopback by default. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Accepted bot token(s); default: any `xoxb-` token. */
  tokens?: string[];
  teamId?: string;
  teamName?: string;
  botUserId?: string;
  botId?: string;
  users?: FakeUser[];
  channels?: FakeChannel[];
  /** Largest file accepted by files.getUploadURLExternal, in bytes (Slack: 1 GB). */
  maxFileBytes?: number;
  /** How long an upload takes to process before it shows as shared (Slack processes uploads asynchronously); default 250 ms. */
  processingMs?: number;
  /** Rate limits (default: Slack's, `SLACK_LIMITS`); tests that are not about them may raise them. */
  limits?: Partial<typeof SLACK_LIMITS>;
  /** Bot scopes the app was installed with (default: what manifest.yml asks for, `INSTALLED_BOT_SCOPES`). */
  scopes?: readonly string[];
}

/** A mention that notified people: `<!channel>`, `<!here>`, `<!everyone>` or `<@U…>`, and where. */
export interface Notification {
  mention: string;
  channel: string;
  ts: string;
  /** The part of the message that carried it: the notification `text`, or the blocks. */
  in: 'text' | 'blocks';
}

interface Injected {
  error: string;
  times: number;
  retryAfter?: number;
}

const DEFAULT_USERS: FakeUser[] = [
  { id: 'U0ADMIN', name: 'ada', realName: 'Ada Admin', isAdmin: true },
  { id: 'U0ALICE', name: 'alice', realName: 'Alice Marketing' },
  { id: 'U0BOB', name: 'bob', realName: 'Bob Design' },
  { id: 'U0CAROL', name: 'carol', realName: 'Carol Copy' },
];

export class FakeSlack extends EventEmitter implements Workspace {
  readonly teamId: string;
  readonly teamName: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly users = new Map<string, FakeUser>();
  readonly channels = new Map<string, FakeChannel>();
  /** Every message, keyed by `${channel}/${ts}`. */
  readonly messages = new Map<string, FakeMessage>();
  readonly files = new Map<string, FakeFile>();
  readonly ephemerals: FakeEphemeral[] = [];
  readonly views = new Map<string, FakeView>();
  /** The App Home each user sees, by user id. */
  readonly homes = new Map<string, FakeView>();
  readonly calls: RecordedCall[] = [];
  /** Every mention in what the bot posted that notified someone. */
  readonly notifications: Notification[] = [];
  readonly processingMs: number;
  downloadRedirect?: (file: FakeFile) => string | undefined;
  private readonly limits: typeof SLACK_LIMITS;
  private readonly buckets = new Map<string, RateLimit>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly injected = new Map<string, Injected[]>();
  private readonly tokens?: Set<string>;
  readonly maxFileBytes: number;
  /** The bot scopes granted at install: a method needing another answers `missing_scope`. */
  readonly scopes: ReadonlySet<string>;
  private readonly responseUrls = new Map<string, { channel: string; user: string; thread_ts?: string; used: number }>();
  /** Trigger ids handed out with interactive payloads (web-api-views.ts spends them). */
  readonly triggers = new Map<string, { user: string; issued: number; used: boolean }>();
  private server?: Server;
  private origin = '';
  private seq = 0;
  private lastSec = 0;
  private readonly handlers: Record<string, Handler>;

  constructor(opts: FakeSlackOptions = {}) {
    super();
    this.setMaxListeners(100);
    this.teamId = opts.teamId ?? 'T0SANDBOX';
    this.teamName = opts.teamName ?? 'Sandbox';
    this.botUserId = opts.botUserId ?? 'U0BOT';
    this.botId = opts.botId ?? 'B0BOT';
    this.tokens = opts.tokens ? new Set(opts.tokens) : undefined;
    this.maxFileBytes = opts.maxFileBytes ?? 1024 * 1024 * 1024;
    this.processingMs = opts.processingMs ?? 250;
    this.limits = { ...SLACK_LIMITS, ...opts.limits };
    this.scopes = new Set(opts.scopes ?? INSTALLED_BOT_SCOPES);
    for (const u of opts.users ?? DEFAULT_USERS) this.users.set(u.id, { ...u });
    this.users.set(this.botUserId, { id: this.botUserId, name: 'adcreative', realName: 'adcreative', isBot: true });
    const everyone = [...this.users.keys()];
    const channels = opts.channels ?? [
      { id: 'C0GENERAL', name: 'general', isPrivate: false, members: everyone },
      { id: 'C0RANDOM', name: 'random', isPrivate: false, members: everyone.filter((u) => u !== this.botUserId) },
      { id: 'G0SECRET', name: 'secret-launch', isPrivate: true, members: everyone.filter((u) => u !== this.botUserId) },
    ];
    for (const c of channels) this.channels.set(c.id, { ...c, members: [...c.members] });
    this.handlers = this.methods();
  }

  /** Starts listening; resolves once the port is known. */
  async listen(host = '127.0.0.1', port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error: 'internal_error', detail: e instanceof Error ? e.message : String(e) }));
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.origin = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
    return this;
  }

  changed(e: ChangeEvent): void {
    this.emit('change', e);
  }

  /** Web API base including the trailing `/api/` (Bolt's `clientOptions.slackApiUrl`). */
  get url(): string {
    return `${this.origin}/api/`;
  }

  get baseUrl(): string {
    return this.origin;
  }

  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  botToken(token: string): boolean {
    return this.tokens ? this.tokens.has(token) : token.startsWith('xoxb-');
  }

  botCanSee(f: FakeFile): boolean {
    if (f.user === this.botUserId || f.appAccess) return true;
    return f.channels.some((c) => this.channels.get(c)?.members.includes(this.botUserId));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  // ---------------------------------------------------------------- test controls

  /** The next `times` calls of `method` answer `ok: false, error`. `ratelimited` answers HTTP 429. */
  failNext(method: string, error: string, opts: { times?: number; retryAfter?: number } = {}): void {
    const list = this.injected.get(method) ?? [];
    list.push({ error, times: opts.times ?? 1, retryAfter: opts.retryAfter });
    this.injected.set(method, list);
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once `check()` returns a truthy value (re-checked after every call and change). */
  waitFor<T>(check: () => T | undefined | false | null, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    const first = check();
    if (first) return Promise.resolve(first);
    return new Promise<T>((resolve, reject) => {
      const onAny = () => {
        let v: T | undefined | false | null;
        try {
          v = check();
        } catch (e) {
          cleanup();
          reject(e);
          return;
        }
        if (v) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`FakeSlack.waitFor timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('call', onAny);
        this.off('change', onAny);
      };
      this.on('call', onAny);
      this.on('change', onAny);
    });
  }

  // ---------------------------------------------------------------- workspace reads

  message(channel: string, ts: string): FakeMessage | undefined {
    return this.messages.get(`${channel}/${ts}`);
  }

  /** Top-level messages of a channel, oldest first. */
  channelMessages(channel: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel === channel && (!m.thread_ts || m.thread_ts === m.ts)).sort(byTs);
  }

  /** A thread: its parent first, then replies, oldest first. */
  thread(channel: string, ts: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel === channel && (m.ts === ts || m.thread_ts === ts)).sort(byTs);
  }

  ephemeralsFor(user: string): FakeEphemeral[] {
    return this.ephemerals.filter((e) => e.user === user);
  }

  fileBytes(id: string): Buffer | undefined {
    return this.files.get(id)?.bytes;
  }

  // ---------------------------------------------------------------- human-side helpers

  addUser(u: FakeUser): FakeUser {
    const user = { ...u };
    this.users.set(u.id, user);
    return user;
  }

  addChannel(c: FakeChannel): FakeChannel {
    const ch = { ...c, members: [...c.members] };
    this.channels.set(c.id, ch);
    return ch;
  }

  /** Invites a user (or the bot, by its user id) into a channel. */
  invite(channel: string, user: string): void {
    const ch = this.channels.get(channel);
    if (!ch) throw new Error(`no channel ${channel}`);
    if (!ch.members.includes(user)) ch.members.push(user);
  }

  /**
   * A person posts `text` as they typed it (mentions written as markup, `<@U…>`); it is stored
   * and delivered the way Slack does, with `&`, `<` and `>` escaped. Returns the stored message
   * (deliver it to the bot as a `message` event). `connect`: the files come from a Slack Connect
   * partner (events carry only stubs of them).
   */
  postAsUser(p: {
    user: string;
    channel: string;
    text: string;
    thread_ts?: string;
    files?: { name: string; bytes: Uint8Array }[];
    connect?: boolean;
  }): FakeMessage {
    if (!this.channels.has(p.channel)) throw new Error(`no channel ${p.channel}`);
    const ts = this.nextTs();
    const fileIds: string[] = [];
    for (const f of p.files ?? []) {
      const id = this.newId('F');
      const bytes = Buffer.from(f.bytes);
      const file: FakeFile = {
        id,
        name: f.name,
        title: f.name,
        mimetype: sniffMime(bytes, f.name),
        user: p.user,
        length: bytes.length,
        bytes,
        completed: true,
        channels: [p.channel],
        shares: [{ channel: p.channel, ts, ...(p.thread_ts ? { thread_ts: p.thread_ts } : {}) }],
        connect: p.connect,
      };
      this.files.set(id, file);
      fileIds.push(id);
    }
    return this.store({
      channel: p.channel,
      ts,
      thread_ts: p.thread_ts,
      user: p.user,
      text: asTyped(p.text),
      files: fileIds,
      reactions: [],
    });
  }

  /** A person edits their message (deliver as a `message_changed` event). */
  editAsUser(p: { user: string; channel: string; ts: string; text: string }): FakeMessage {
    const m = this.message(p.channel, p.ts);
    if (!m) throw new Error(`no message ${p.channel}/${p.ts}`);
    m.text = p.text;
    m.edited = { user: p.user, ts: this.nextTs() };
    this.emit('change', { type: 'message_changed', message: m } satisfies ChangeEvent);
    return m;
  }

  /** A person reacts; returns false if they had already (Slack sends no event then). */
  reactAsUser(p: { user: string; channel: string; ts: string; name: string }): boolean {
    return this.react(p.user, p.channel, p.ts, p.name, true) === undefined;
  }

  /** A person removes a reaction; returns false if they had none. */
  unreactAsUser(p: { user: string; channel: string; ts: string; name: string }): boolean {
    return this.react(p.user, p.channel, p.ts, p.name, false) === undefined;
  }

  /** A trigger id, as Slack puts in interactive payloads (valid for one views.open, 3 s in Slack). */
  triggerId(user: string): string {
    const id = `${Date.now()}.${++this.seq}.${Math.random().toString(16).slice(2, 10)}`;
    this.triggers.set(id, { user, issued: Date.now(), used: false });
    return id;
  }

  /** A response_url on this server, as Slack puts in slash commands and block actions. */
  responseUrl(p: { channel: string; user: string; thread_ts?: string }): string {
    const id = `${++this.seq}${Math.random().toString(16).slice(2, 10)}`;
    this.responseUrls.set(id, { ...p, used: 0 });
    return `${this.origin}/respond/${id}`;
  }

  // ---------------------------------------------------------------- internals

  /** @internal (the stand-in's method groups) */
  nextTs(): string {
    // Slack's ts: seconds "." six digits, unique per channel and increasing.
    const sec = Math.max(Math.floor(Date.now() / 1000), this.lastSec);
    this.lastSec = sec;
    this.seq += 1;
    return `${sec}.${String(this.seq % 1_000_000).padStart(6, '0')}`;
  }

  /** @internal (the stand-in's method groups) */
  newId(prefix: string): string {
    this.seq += 1;
    return `${prefix}0${this.seq.toString(36).toUpperCase().padStart(8, '0')}`;
  }

  /** @internal (the stand-in's method groups) */
  store(m: FakeMessage): FakeMessage {
    this.messages.set(`${m.channel}/${m.ts}`, m);
    this.emit('change', { type: 'message', message: m } satisfies ChangeEvent);
    return m;
  }

  private react(user: string, channel: string, ts: string, typed: string, add: boolean): string | undefined {
    const name = canonicalReaction(typed);
    const m = this.message(channel, ts);
    if (!m) return 'message_not_found';
    let r = m.reactions.find((x) => x.name === name);
    if (add) {
      if (r?.users.includes(user)) return 'already_reacted';
      if (!r) {
        r = { name, users: [] };
        m.reactions.push(r);
      }
      r.users.push(user);
    } else {
      if (!r?.users.includes(user)) return 'no_reaction';
      r.users = r.users.filter((u) => u !== user);
      if (r.users.length === 0) m.reactions = m.reactions.filter((x) => x !== r);
    }
    this.emit('change', { type: add ? 'reaction_added' : 'reaction_removed', channel, ts, name, user } satisfies ChangeEvent);
    return undefined;
  }

  /**
   * The bot's direct-message channel with a person, made on first use. Slack accepts a user
   * id as the channel of chat.postMessage and posts in the app's DM with them.
   */
  dmChannel(userId: string): FakeChannel {
    const id = `D${userId.replace(/^U/, '')}`;
    const existing = this.channels.get(id);
    if (existing) return existing;
    const user = this.users.get(userId);
    return this.addChannel({
      id,
      name: `${user?.name ?? userId} · DM with adcreative`,
      isPrivate: true,
      members: [userId, this.botUserId],
    });
  }

  /**
   * Refuses a call whose token lacks `scope`: `missing_scope` ("the token used is not granted the
   * specific scope permissions required", in every method's errors table), with the scope that was
   * needed and the ones the token has, as Slack's answer carries them.
   */
  requireScope(scope: string): void {
    if (!this.scopes.has(scope)) fail('missing_scope', { needed: scope, provided: [...this.scopes].join(',') });
  }

  /** @internal (the stand-in's method groups) */
  channelFor(id: unknown, needMember = true): FakeChannel {
    if (typeof id !== 'string' || id === '') return fail('channel_not_found');
    const person = this.users.get(id);
    if (person && !person.isBot) return this.dmChannel(id);
    const ch = this.channels.get(id) ?? [...this.channels.values()].find((c) => `#${c.name}` === id || c.name === id);
    if (!ch) return fail('channel_not_found');
    // Private channels the bot is not in are invisible to it, as in Slack.
    if (ch.isPrivate && !ch.members.includes(this.botUserId)) return fail('channel_not_found');
    if (needMember && !ch.members.includes(this.botUserId)) return fail('not_in_channel');
    return ch;
  }

  /** @internal (the stand-in's method groups) */
  blocksArg(args: Args): unknown[] | undefined {
    const blocks = parseJsonArg(args.blocks, 'blocks');
    if (blocks === undefined) return undefined;
    const problem = checkBlocks(blocks, 50, { slackFileProblem: (ref) => slackFileProblem(this, ref) });
    if (problem) return fail('invalid_blocks', { errors: [problem], response_metadata: { messages: [`[ERROR] ${problem}`] } });
    return blocks as unknown[];
  }

  /** Records the mentions that notified people (the notification `text` and the blocks' mrkdwn). */
  private notify(m: { channel: string; ts: string; text: string; blocks?: unknown[] }): void {
    for (const mention of notifyingMentions(m.text)) this.notifications.push({ mention, channel: m.channel, ts: m.ts, in: 'text' });
    const mrkdwn = JSON.stringify(m.blocks ?? [])
      .match(/"type":"mrkdwn","text":"((?:[^"\\]|\\.)*)"/g)
      ?.map((x) => JSON.parse(`{${x}}`).text as string);
    for (const t of mrkdwn ?? [])
      for (const mention of notifyingMentions(t)) this.notifications.push({ mention, channel: m.channel, ts: m.ts, in: 'blocks' });
  }

  /** Slack's rate limits: the seconds to wait when `method` is past its budget, or undefined. */
  private limited(method: string, args: Args, token: string): number | undefined {
    let key: string | undefined;
    let perMinute = 0;
    let burst = 0;
    if (method === 'chat.update') {
      // Tier 3, per app per workspace: every edit of every message shares it.
      key = `update:${token}`;
      perMinute = this.limits.updatesPerMinute;
      burst = this.limits.updateBurst;
    } else if (method === 'chat.postMessage') {
      // About one message a second per channel, with short bursts.
      key = `post:${String(args.channel ?? '')}`;
      perMinute = this.limits.postsPerSecond * 60;
      burst = this.limits.postBurst;
    }
    if (!key) return undefined;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new RateLimit(perMinute, burst);
      this.buckets.set(key, bucket);
    }
    return bucket.take();
  }

  private textArg(args: Args, blocks: unknown[] | undefined): string {
    const text = typeof args.text === 'string' ? args.text : '';
    if (!text && !blocks) return fail('no_text');
    if (text.length > 40_000) return fail('msg_too_long');
    return text;
  }

  messageJson(m: FakeMessage): Args {
    return {
      type: 'message',
      ts: m.ts,
      thread_ts: m.thread_ts,
      user: m.user,
      bot_id: m.bot_id,
      text: m.text,
      blocks: m.blocks,
      subtype: m.subtype,
      edited: m.edited,
      team: this.teamId,
      files: m.files.length
        ? m.files
            .map((id) => this.files.get(id))
            .filter((f): f is FakeFile => !!f)
            .map((f) => fileInMessage(this, f))
        : undefined,
      reactions: m.reactions.length ? m.reactions.map((r) => ({ name: r.name, users: [...r.users], count: r.users.length })) : undefined,
    };
  }

  /** Where `apps.connections.open` sends a Socket Mode client (a test's WebSocket server). */
  socketModeUrl: string | undefined;

  private methods(): Record<string, Handler> {
    return {
      'api.test': (args) => ({ args }),
      'apps.connections.open': () => {
        if (!this.socketModeUrl) return fail('socket_mode_not_enabled');
        return { url: this.socketModeUrl };
      },
      'auth.test': () => ({
        url: `${this.origin}/`,
        team: this.teamName,
        user: 'adcreative',
        team_id: this.teamId,
        user_id: this.botUserId,
        bot_id: this.botId,
        is_enterprise_install: false,
      }),
      'chat.postMessage': (args) => {
        const ch = this.channelFor(args.channel);
        const blocks = this.blocksArg(args);
        const text = this.textArg(args, blocks);
        const thread_ts = typeof args.thread_ts === 'string' && args.thread_ts ? args.thread_ts : undefined;
        if (thread_ts && !this.message(ch.id, thread_ts)) return fail('thread_not_found');
        const m = this.store({
          channel: ch.id,
          ts: this.nextTs(),
          thread_ts,
          user: this.botUserId,
          bot_id: this.botId,
          text,
          blocks,
          files: [],
          reactions: [],
        });
        this.notify(m);
        return { channel: ch.id, ts: m.ts, message: this.messageJson(m) };
      },
      'chat.update': (args) => {
        const ch = this.channelFor(args.channel);
        const m = typeof args.ts === 'string' ? this.message(ch.id, args.ts) : undefined;
        if (!m) return fail('message_not_found');
        if (m.user !== this.botUserId) return fail('cant_update_message');
        const blocks = this.blocksArg(args);
        const reused = blocks && reusedBlockId(m.blocks, blocks);
        if (reused)
          return fail('invalid_blocks', {
            errors: [`block_id ${reused} was used by this message before; a message that is updated needs new block_ids`],
          });
        const text = typeof args.text === 'string' ? args.text : m.text;
        if (!text && !blocks && !m.blocks) return fail('no_text');
        m.text = text;
        if (blocks) m.blocks = blocks;
        this.notify(m);
        m.edited = { user: this.botUserId, ts: this.nextTs() };
        this.emit('change', { type: 'message_changed', message: m } satisfies ChangeEvent);
        return { channel: ch.id, ts: m.ts, text: m.text, message: this.messageJson(m) };
      },
      'chat.postEphemeral': (args) => {
        // Where the bot is not a member, the method's errors table has not_in_channel (and
        // channel_not_found for what it cannot see); whether Slack ever lets a bot without
        // chat:write.public through there is not documented, so the stand-in refuses.
        const ch = this.channelFor(args.channel);
        const user = typeof args.user === 'string' ? this.users.get(args.user) : undefined;
        if (!user) return fail('user_not_found');
        if (!ch.members.includes(user.id)) return fail('user_not_in_channel');
        const blocks = this.blocksArg(args);
        const text = this.textArg(args, blocks);
        const e: FakeEphemeral = {
          channel: ch.id,
          user: user.id,
          ts: this.nextTs(),
          thread_ts: typeof args.thread_ts === 'string' ? args.thread_ts : undefined,
          text,
          blocks,
          via: 'chat.postEphemeral',
        };
        this.ephemerals.push(e);
        this.emit('change', { type: 'ephemeral', ephemeral: e } satisfies ChangeEvent);
        return { message_ts: e.ts };
      },
      'chat.getPermalink': (args) => {
        const ch = this.channelFor(args.channel, false);
        const ts = typeof args.message_ts === 'string' ? args.message_ts : '';
        const m = this.message(ch.id, ts);
        if (!m) return fail('message_not_found');
        const base = `${this.origin}/archives/${ch.id}/p${ts.replace('.', '')}`;
        return { channel: ch.id, permalink: m.thread_ts && m.thread_ts !== m.ts ? `${base}?thread_ts=${m.thread_ts}&cid=${ch.id}` : base };
      },
      'reactions.add': (args) => {
        const ch = this.channelFor(args.channel);
        const err = this.react(this.botUserId, ch.id, String(args.timestamp ?? ''), String(args.name ?? ''), true);
        if (err) return fail(err);
        return {};
      },
      'reactions.remove': (args) => {
        const ch = this.channelFor(args.channel);
        const err = this.react(this.botUserId, ch.id, String(args.timestamp ?? ''), String(args.name ?? ''), false);
        if (err) return fail(err);
        return {};
      },
      ...viewMethods(this),
      ...directoryMethods(this),
      ...fileMethods(this),
    };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin || 'http://127.0.0.1');
    const body = await readBody(req);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(payload));
    };

    if (url.pathname.startsWith('/api/')) {
      const method = url.pathname.slice('/api/'.length);
      const args = parseArgs(body, String(req.headers['content-type'] ?? ''), url.searchParams);
      const auth = String(req.headers.authorization ?? '');
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : typeof args.token === 'string' ? args.token : '';
      delete args.token;
      const recorded: RecordedCall = { method, args: recordArgs(args), ok: true, at: Date.now() };
      const finish = (status: number, payload: Args, headers?: Record<string, string>) => {
        recorded.ok = payload.ok === true;
        if (!recorded.ok) recorded.error = String(payload.error);
        this.calls.push(recorded);
        this.emit('call', recorded);
        send(status, payload, headers);
      };
      const handler = this.handlers[method];
      if (!handler) return finish(200, { ok: false, error: 'unknown_method' });
      if (method !== 'api.test') {
        if (!token) return finish(200, { ok: false, error: 'not_authed' });
        // Socket Mode's connection call takes the app-level token (xapp-), every other method the bot's.
        const kind = method === 'apps.connections.open' ? 'xapp-' : 'xoxb-';
        const valid = this.tokens ? this.tokens.has(token) : token.startsWith(kind);
        if (!valid) return finish(200, { ok: false, error: 'invalid_auth' });
        if (!token.startsWith(kind)) return finish(200, { ok: false, error: 'not_allowed_token_type' });
      }
      const wait = this.limited(method, args, token);
      if (wait !== undefined) return finish(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(wait) });
      const inj = this.injected.get(method)?.[0];
      if (inj) {
        inj.times -= 1;
        if (inj.times <= 0) this.injected.get(method)?.shift();
        if (inj.error === 'ratelimited') {
          return finish(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(inj.retryAfter ?? 1) });
        }
        return finish(200, { ok: false, error: inj.error });
      }
      try {
        const scope = METHOD_SCOPES[method];
        if (scope === undefined) throw new Error(`the stand-in lists no scope for ${method} (slack-rules.ts METHOD_SCOPES)`);
        if (scope && scope !== 'conversation') this.requireScope(scope);
        const out = handler(args, { token });
        return finish(200, { ok: true, ...out });
      } catch (e) {
        if (e instanceof SlackApiError) return finish(200, { ok: false, error: e.code, ...e.extra });
        throw e;
      }
    }

    if (serveFiles(this, req, res, url, body)) return;

    const respond = /^\/respond\/([a-z0-9]+)$/.exec(url.pathname);
    if (respond && req.method === 'POST') {
      const r = this.responseUrls.get(respond[1]);
      // Slack allows five responses per response_url within 30 minutes.
      if (!r || r.used >= 5) return send(404, { ok: false, error: 'expired_url' });
      r.used += 1;
      const msg = parseArgs(body, String(req.headers['content-type'] ?? ''), new URLSearchParams());
      const blocks = parseJsonArg(msg.blocks, 'blocks') as unknown[] | undefined;
      const text = typeof msg.text === 'string' ? msg.text : '';
      if (blocks && checkBlocks(blocks)) return send(400, { ok: false, error: 'invalid_blocks' });
      if (msg.response_type === 'in_channel') {
        const ch = this.channels.get(r.channel);
        if (!ch) return send(404, { ok: false, error: 'channel_not_found' });
        this.store({
          channel: ch.id,
          ts: this.nextTs(),
          thread_ts: r.thread_ts,
          user: this.botUserId,
          bot_id: this.botId,
          text,
          blocks,
          files: [],
          reactions: [],
        });
      } else {
        const e: FakeEphemeral = {
          channel: r.channel,
          user: r.user,
          ts: this.nextTs(),
          thread_ts: r.thread_ts,
          text,
          blocks,
          via: 'response_url',
        };
        this.ephemerals.push(e);
        this.emit('change', { type: 'ephemeral', ephemeral: e } satisfies ChangeEvent);
      }
      this.calls.push({ method: 'response_url', args: recordArgs(msg), ok: true, at: Date.now() });
      this.emit('call', this.calls[this.calls.length - 1]);
      return send(200, { ok: true });
    }

    send(404, { ok: false, error: 'not_found' });
  }
}

/** Creates and starts a fake Slack Web API; `await fake.close()` when done. */
export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  return new FakeSlack(opts).listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
}

function byTs(a: FakeMessage, b: FakeMessage): number {
  return Number(a.ts) - Number(b.ts) || a.ts.localeCompare(b.ts);
}
