/**
 * Everything the bot says to Slack goes through here: the one holder of the Web API client.
 * Posts, edits, ephemeral messages (or a DM when that cannot reach the person), replies to a
 * command's response_url, file uploads that are shared before anything refers to them, views,
 * reactions; every payload is checked against Block Kit's limits first.
 *
 * Slack's rules this module keeps (each where it is applied):
 * - Rate limits (docs.slack.dev/apis/web-api/rate-limits): `chat.update` is Tier 3, about 50 a
 *   minute per app per workspace, so every edit of every round takes its turn from one budget;
 *   `chat.postMessage` is about one a second per channel, with short bursts. A 429 says how long
 *   to wait in `Retry-After`: the call waits that long and is tried again, a few times at most.
 * - A message that is updated gets new `block_id`s (docs.slack.dev/reference/block-kit/blocks:
 *   "block_id should be unique for each message and each iteration of a message").
 * - Uploads are processed asynchronously and a file is private until shared
 *   (docs.slack.dev/reference/methods/files.getUploadURLExternal,
 *   docs.slack.dev/reference/methods/files.completeUploadExternal): a file is referenced in a
 *   block only once `files.info` shows it shared.
 */
import { ErrorCode, WebClient, WebClientEvent, type WebClientOptions } from '@slack/web-api';
import { describeError, NetworkError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { redact, redactStrings } from '../redact.ts';
import { checkMessage, checkView, type Message, type View } from './blocks/kit.ts';

/** The error code Slack answered with (`not_in_channel`, `invalid_blocks`, …), if it was one. */
export function slackError(e: unknown): string | undefined {
  return (e as { data?: { error?: string } })?.data?.error;
}

/** Seconds Slack asked to wait (HTTP 429, Retry-After), when the error is a rate limit. */
function retryAfter(e: unknown): number | undefined {
  const err = e as { code?: string; retryAfter?: number };
  return err?.code === ErrorCode.RateLimitedError ? Math.max(1, err.retryAfter ?? 1) : undefined;
}

export interface ThreadSettings {
  logger: Logger;
  /** `chat.update` calls per minute for the whole workspace (Tier 3: about 50). */
  updatesPerMinute?: number;
  /** Edits that may go out at once before the per-minute pace applies. */
  updateBurst?: number;
  /** `chat.postMessage` calls per second in one channel (about 1), after `postBurst` at once. */
  postsPerSecond?: number;
  postBurst?: number;
  /** How long to wait, at most, for an upload to show as shared before going on without it. */
  shareWaitMs?: number;
  /** How many times a call answered 429 is tried again (after the wait Slack asked for). */
  rateLimitRetries?: number;
}

export interface EditTarget {
  channel: string;
  ts: string;
  message: Message;
}

interface Pending {
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  dirty: boolean;
  urgent: boolean;
  last: number;
  gapMs: number;
  render: () => Promise<EditTarget | undefined>;
  waiters: (() => void)[];
}

/** A file to upload into a thread. */
export interface Upload {
  bytes: Uint8Array;
  filename: string;
  title: string;
  /** Screen-reader description (`alt_txt`, ≤ 1000 characters). */
  alt?: string;
}

/** An uploaded file and whether (and where) Slack shows it shared. */
export interface Uploaded {
  id: string;
  /** The ts of the message that shares it in the thread; undefined until Slack shows the share. */
  shareTs?: string;
}

/** A token bucket: `take()` resolves when a call may go; `pause()` holds everyone (a 429). */
class Budget {
  private tokens: number;
  private at = Date.now();
  private until = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perMs: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): Promise<void> {
    const mine = this.queue.then(async () => {
      for (;;) {
        const now = Date.now();
        this.tokens = Math.min(this.burst, this.tokens + (now - this.at) * this.perMs);
        this.at = now;
        const wait = Math.max(this.until - now, this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs));
        if (wait <= 0) break;
        await new Promise((r) => setTimeout(r, wait));
      }
      this.tokens -= 1;
    });
    this.queue = mine;
    return mine;
  }

  /** Slack said 429: nobody sharing this budget calls again before `seconds` have passed. */
  pause(seconds: number): void {
    this.until = Math.max(this.until, Date.now() + seconds * 1000);
    this.tokens = 0;
  }
}

/** Who the bot is, from `auth.test` (the one call made before the Bolt app exists). */
export async function whoAmI(
  token: string,
  options: WebClientOptions,
): Promise<{ userId: string; botId?: string; team?: string; name?: string }> {
  const who = await new WebClient(token, options).auth.test();
  return {
    userId: String(who.user_id),
    botId: who.bot_id ? String(who.bot_id) : undefined,
    team: who.team ? String(who.team) : undefined,
    name: who.user ? String(who.user) : undefined,
  };
}

/** Gives every block of an updated message a block_id it has not had before. */
function freshBlockIds(m: Message, iteration: string): Message {
  return {
    ...m,
    blocks: m.blocks.map((b) => (b.block_id ? { ...b, block_id: `${b.block_id.split('~')[0]}~${iteration}`.slice(0, 255) } : b)),
  };
}

export class SlackThread {
  private readonly log: Logger;
  private readonly edits = new Map<string, Pending>();
  private readonly updates: Budget;
  private readonly posts = new Map<string, Budget>();
  private readonly postRate: { perMs: number; burst: number };
  private readonly shareWaitMs: number;
  private readonly retries: number;
  private readonly background = new Set<Promise<unknown>>();
  private iteration = 0;
  private botNameCache?: Promise<string | undefined>;

  constructor(
    private readonly client: WebClient,
    settings: ThreadSettings,
  ) {
    this.log = settings.logger;
    this.updates = new Budget(Math.max(1, settings.updatesPerMinute ?? 50) / 60_000, Math.max(1, settings.updateBurst ?? 10));
    this.postRate = { perMs: Math.max(0.1, settings.postsPerSecond ?? 1) / 1000, burst: Math.max(1, settings.postBurst ?? 8) };
    this.shareWaitMs = settings.shareWaitMs ?? 8000;
    this.retries = settings.rateLimitRetries ?? 3;
  }

  /** Calls back whenever Slack answers 429 (for the metrics). */
  onRateLimited(listener: (retryAfterSec: number, method: string) => void): void {
    this.client.on(WebClientEvent.RATE_LIMITED, (sec: number, req: { url?: string }) =>
      listener(
        sec,
        String(req?.url ?? '')
          .split('/')
          .pop() ?? '',
      ),
    );
  }

  /**
   * Every message on its way out: secrets redacted from its text and every string in its blocks
   * (an upstream error quoted in a failure note may echo a key), then checked against Block Kit's
   * limits.
   */
  private outgoing(m: Message, where: string): Message {
    const out: Message = { text: redact(m.text), blocks: redactStrings(m.blocks) };
    const problems = checkMessage(out);
    if (problems.length) this.log.warn('message breaks Block Kit limits', { where, problems });
    return out;
  }

  /** Runs a Web API call; a 429 waits as long as Slack asked (holding `budget` too) and tries again. */
  private async call<T>(method: string, fn: () => Promise<T>, budget?: Budget): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await budget?.take();
      try {
        return await fn();
      } catch (e) {
        const wait = retryAfter(e);
        if (wait === undefined || attempt >= this.retries) throw e;
        this.log.warn('Slack asked to slow down', { method, retryAfterSec: wait, attempt: attempt + 1 });
        if (budget) budget.pause(wait);
        else await new Promise((r) => setTimeout(r, wait * 1000));
      }
    }
  }

  private postBudget(channel: string): Budget {
    let b = this.posts.get(channel);
    if (!b) {
      b = new Budget(this.postRate.perMs, this.postRate.burst);
      this.posts.set(channel, b);
    }
    return b;
  }

  // ------------------------------------------------------------------ messages

  async post(channel: string, m: Message, threadTs?: string): Promise<string> {
    m = this.outgoing(m, 'chat.postMessage');
    const r = await this.call(
      'chat.postMessage',
      () =>
        this.client.chat.postMessage({
          channel,
          text: m.text,
          blocks: m.blocks,
          ...(threadTs ? { thread_ts: threadTs } : {}),
          unfurl_links: false,
          unfurl_media: false,
        }),
      this.postBudget(channel),
    );
    return String(r.ts);
  }

  /** One `chat.update`, in its turn under the workspace's budget, with block_ids new to the message. */
  async update(channel: string, ts: string, m: Message): Promise<void> {
    m = this.outgoing(m, 'chat.update');
    const fresh = freshBlockIds(m, (++this.iteration).toString(36));
    await this.call('chat.update', () => this.client.chat.update({ channel, ts, text: fresh.text, blocks: fresh.blocks }), this.updates);
  }

  /**
   * A coalesced edit of one message (`key` names it): at most one write per `gapMs`, the latest
   * state always lands, and the promise settles once a write that includes this call's state
   * is done. `render` reads the state when the write happens; undefined skips the write.
   */
  edit(key: string, render: () => Promise<EditTarget | undefined>, opts: { gapMs: number; now?: boolean }): Promise<void> {
    let s = this.edits.get(key);
    if (!s) {
      s = { dirty: false, urgent: false, last: 0, gapMs: opts.gapMs, render, waiters: [] };
      this.edits.set(key, s);
    }
    s.render = render;
    s.gapMs = opts.gapMs;
    s.dirty = true;
    if (opts.now) s.urgent = true;
    const state = s;
    const done = new Promise<void>((resolve) => state.waiters.push(resolve));
    this.schedule(key, state);
    return done;
  }

  private schedule(key: string, s: Pending): void {
    if (s.running) return;
    if (s.timer && !s.urgent) return;
    if (s.timer) clearTimeout(s.timer);
    const delay = s.urgent ? 0 : Math.max(0, s.last + s.gapMs - Date.now());
    s.timer = setTimeout(() => {
      s.timer = undefined;
      s.dirty = false;
      s.urgent = false;
      const waiters = s.waiters.splice(0);
      s.running = (async () => {
        const target = await s.render();
        if (target) await this.update(target.channel, target.ts, target.message);
      })()
        .catch((e: unknown) => this.log.warn('message edit failed', { key, error: slackError(e) ?? describeError(e) }))
        .finally(() => {
          s.last = Date.now();
          s.running = undefined;
          for (const w of waiters) w();
          if (s.dirty) this.schedule(key, s);
          else {
            // Asked to wait while this write ran, with nothing new to write: it is done.
            for (const w of s.waiters.splice(0)) w();
            this.edits.delete(key);
          }
        });
    }, delay);
  }

  /** Every pending edit is written now, and background attachments get a last chance (shutdown). */
  async flush(): Promise<void> {
    const pending = [...this.edits.entries()];
    await Promise.all(
      pending.map(([key, s]) => {
        if (!s.dirty && !s.running) return Promise.resolve();
        s.urgent = true;
        const done = new Promise<void>((resolve) => s.waiters.push(resolve));
        if (s.dirty) this.schedule(key, s);
        return done;
      }),
    );
    await Promise.allSettled([...this.background]);
  }

  /** Work that outlives the call that started it (a late image); flush() waits for it. */
  later(work: Promise<unknown>): void {
    const p = work.catch((e: unknown) => this.log.warn('background Slack work failed', { error: slackError(e) ?? describeError(e) }));
    this.background.add(p);
    p.finally(() => this.background.delete(p));
  }

  /** A message only `user` sees, in `channel` (and thread); a DM when Slack refuses that. */
  async ephemeral(channel: string, user: string, m: Message, threadTs?: string): Promise<void> {
    m = this.outgoing(m, 'chat.postEphemeral');
    try {
      await this.call('chat.postEphemeral', () =>
        this.client.chat.postEphemeral({ channel, user, text: m.text, blocks: m.blocks, ...(threadTs ? { thread_ts: threadTs } : {}) }),
      );
    } catch (e) {
      // Not in the channel (or a DM the bot cannot reach): tell them in the app's DM instead.
      this.log.warn('ephemeral failed; sending a DM', { error: slackError(e) ?? describeError(e) });
      await this.dm(user, m);
    }
  }

  /** A direct message from the app (Slack takes the user id as the channel). */
  async dm(user: string, m: Message): Promise<void> {
    await this.post(user, m).catch((e: unknown) => this.log.warn('DM failed', { error: slackError(e) ?? describeError(e) }));
  }

  /** An answer through a response_url (a command's or an action's): only that person sees it. */
  async respond(url: string, m: Message): Promise<void> {
    m = this.outgoing(m, 'response_url');
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ response_type: 'ephemeral', text: m.text, blocks: m.blocks }),
    });
    if (!res.ok) throw new NetworkError('SLACK_RESPONSE_URL', `response_url answered HTTP ${res.status}`);
  }

  /** Tells one person: through the reply address when there is one, else ephemerally where they are, else by DM. */
  async tell(to: { user: string; channel?: string; threadTs?: string; replyUrl?: string }, m: Message): Promise<void> {
    if (to.replyUrl) {
      try {
        return await this.respond(to.replyUrl, m);
      } catch (e) {
        this.log.warn('response_url failed', { error: describeError(e) });
      }
    }
    if (to.channel) return this.ephemeral(to.channel, to.user, m, to.threadTs);
    return this.dm(to.user, m);
  }

  async react(channel: string, ts: string, name: string): Promise<void> {
    await this.call('reactions.add', () => this.client.reactions.add({ channel, timestamp: ts, name }));
  }

  async permalink(channel: string, ts: string): Promise<string | undefined> {
    try {
      const r = await this.client.chat.getPermalink({ channel, message_ts: ts });
      return r.permalink ? String(r.permalink) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The name people type after `/invite @` (auth.test, asked once). */
  botName(): Promise<string | undefined> {
    this.botNameCache ??= this.client.auth
      .test()
      .then((r) => (r.user ? String(r.user) : undefined))
      .catch(() => {
        this.botNameCache = undefined;
        return undefined;
      });
    return this.botNameCache;
  }

  async userFlags(user: string): Promise<{ admin: boolean }> {
    const r = await this.client.users.info({ user });
    const u = r.user as { is_admin?: boolean; is_owner?: boolean; is_primary_owner?: boolean } | undefined;
    return { admin: !!(u?.is_admin || u?.is_owner || u?.is_primary_owner) };
  }

  /**
   * User ids for names people typed (`@alice`): matched, lower-cased, against each member's
   * username, display name and real name (users.list, paged). Names no active human member has
   * are left out of the answer, for the caller to say which.
   */
  async userIdsByName(names: string[]): Promise<Map<string, string>> {
    const wanted = new Set(names.map((n) => n.toLowerCase()));
    const found = new Map<string, string>();
    let cursor: string | undefined;
    do {
      const r = (await this.client.users.list({ limit: 200, ...(cursor ? { cursor } : {}) })) as {
        members?: {
          id?: string;
          name?: string;
          real_name?: string;
          deleted?: boolean;
          is_bot?: boolean;
          profile?: { display_name?: string; real_name?: string };
        }[];
        response_metadata?: { next_cursor?: string };
      };
      for (const m of r.members ?? []) {
        if (!m.id || m.deleted || m.is_bot) continue;
        for (const n of [m.name, m.profile?.display_name, m.real_name, m.profile?.real_name]) {
          const k = n?.toLowerCase();
          if (k && wanted.has(k) && !found.has(k)) found.set(k, m.id);
        }
      }
      cursor = r.response_metadata?.next_cursor || undefined;
    } while (cursor && found.size < wanted.size);
    return found;
  }

  // ------------------------------------------------------------------ views

  /** A view on its way out, as a message is: secrets redacted from every string (a brief on App Home may hold a pasted key), then checked. */
  private outgoingView(view: View, where: string): View {
    const out = redactStrings(view);
    const problems = checkView(out);
    if (problems.length) this.log.warn('view breaks Block Kit limits', { where, problems });
    return out;
  }

  async openView(triggerId: string, view: View): Promise<void> {
    view = this.outgoingView(view, 'views.open');
    await this.client.views.open({ trigger_id: triggerId, view: view as Parameters<WebClient['views']['open']>[0]['view'] });
  }

  async publishHome(user: string, view: View): Promise<void> {
    view = this.outgoingView(view, 'views.publish');
    await this.call('views.publish', () =>
      this.client.views.publish({ user_id: user, view: view as Parameters<WebClient['views']['publish']>[0]['view'] }),
    );
  }

  // ------------------------------------------------------------------ files

  /**
   * Uploads files into a thread as one message (with `comment`), then waits (bounded backoff)
   * until `files.info` shows each shared there; the answer says which are. The SDK's
   * `files.uploadV2` is not used: it sends the alt text as `alt_text`, and the method's
   * documented argument is `alt_txt` (docs.slack.dev/reference/methods/files.getUploadURLExternal).
   */
  async uploadToThread(channel: string, threadTs: string, files: Upload[], comment?: string): Promise<Uploaded[]> {
    // Titles and alt texts quote headlines (a library caption anyone could write): redacted like every message.
    files = files.map((f) => ({ ...f, title: redact(f.title), ...(f.alt ? { alt: redact(f.alt) } : {}) }));
    comment = comment === undefined ? undefined : redact(comment);
    const ids = await Promise.all(
      files.map(async (f) => {
        const r = (await this.call('files.getUploadURLExternal', () =>
          this.client.apiCall('files.getUploadURLExternal', {
            filename: f.filename,
            length: f.bytes.length,
            ...(f.alt ? { alt_txt: f.alt.slice(0, 1000) } : {}),
          }),
        )) as { upload_url?: string; file_id?: string };
        if (!r.upload_url || !r.file_id) throw new NetworkError('SLACK_UPLOAD', 'files.getUploadURLExternal gave no upload URL');
        const sent = await fetch(r.upload_url, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: new Uint8Array(f.bytes),
        });
        if (!sent.ok) throw new NetworkError('SLACK_UPLOAD', `the upload of ${f.filename} answered HTTP ${sent.status}`);
        return r.file_id;
      }),
    );
    await this.call('files.completeUploadExternal', () =>
      this.client.files.completeUploadExternal({
        files: ids.map((id, i) => ({ id, title: files[i].title })) as [{ id: string; title?: string }],
        channel_id: channel,
        thread_ts: threadTs,
        ...(comment ? { initial_comment: comment } : {}),
      }),
    );
    return Promise.all(ids.map(async (id) => ({ id, shareTs: await this.sharedIn(id, channel, threadTs, this.shareWaitMs) })));
  }

  /**
   * Waits until `files.info` shows `fileId` shared in the thread, polling with a doubling delay
   * for at most `waitMs`; returns the share's message ts, or undefined when it did not show.
   */
  async sharedIn(fileId: string, channel: string, threadTs: string, waitMs: number): Promise<string | undefined> {
    const until = Date.now() + waitMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      const ts = await this.shareTs(fileId, channel, threadTs).catch(() => undefined);
      if (ts) return ts;
      if (Date.now() + delay > until) return undefined;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async shareTs(fileId: string, channel: string, threadTs: string): Promise<string | undefined> {
    const r = await this.call('files.info', () => this.client.files.info({ file: fileId }));
    const shares = (r.file as { shares?: Record<string, Record<string, { ts?: string; thread_ts?: string }[]>> } | undefined)?.shares;
    for (const scope of Object.values(shares ?? {})) {
      for (const s of scope[channel] ?? []) if (s.ts && (s.thread_ts === threadTs || s.ts === threadTs)) return s.ts;
    }
    return undefined;
  }

  /** Deletes files the bot uploaded but did not end up using. */
  async deleteFiles(ids: string[]): Promise<void> {
    for (const id of ids) {
      await this.call('files.delete', () => this.client.files.delete({ file: id })).catch((e: unknown) =>
        this.log.warn('file delete failed', { file: id, error: slackError(e) ?? describeError(e) }),
      );
    }
  }

  /** `files.info` of a file someone shared (Slack Connect files arrive as stubs that need it). */
  async fileInfo(id: string): Promise<Record<string, unknown> | undefined> {
    const r = await this.call('files.info', () => this.client.files.info({ file: id }));
    return r.file as Record<string, unknown> | undefined;
  }
}
