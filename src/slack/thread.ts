/**
 * Everything the bot says to Slack goes through here: the one holder of the Web API client.
 * Posts, edits, ephemeral messages (or a DM when that cannot reach the person), replies to a
 * command's response_url, uploads, views, reactions; every payload is checked against Block
 * Kit's limits first. Edits of a message are coalesced (the last state always lands) under
 * one `chat.update` budget for the workspace.
 */
import { WebClient, WebClientEvent, type WebClientOptions } from '@slack/web-api';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { redact, redactStrings } from '../redact.ts';
import { checkMessage, checkView, type Message, type View } from './blocks/kit.ts';

/** The error code Slack answered with (`not_in_channel`, `invalid_blocks`, …), if it was one. */
export function slackError(e: unknown): string | undefined {
  return (e as { data?: { error?: string } })?.data?.error;
}

export interface ThreadSettings {
  logger: Logger;
  /**
   * `chat.update` calls per minute for the whole workspace: Slack rates the method Tier 3
   * (about 50 a minute per app per workspace). Tally and status edits of every round share it.
   */
  updatesPerMinute?: number;
  /** Edits that may go out at once before the per-minute pace applies (Slack tolerates bursts). */
  updateBurst?: number;
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

export interface EditTarget {
  channel: string;
  ts: string;
  message: Message;
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

export class SlackThread {
  private readonly log: Logger;
  private readonly edits = new Map<string, Pending>();
  private readonly budget: { perMs: number; burst: number; tokens: number; at: number; queue: Promise<void> };
  private botNameCache?: Promise<string | undefined>;

  constructor(
    private readonly client: WebClient,
    settings: ThreadSettings,
  ) {
    this.log = settings.logger;
    const burst = Math.max(1, settings.updateBurst ?? 10);
    this.budget = {
      perMs: Math.max(1, settings.updatesPerMinute ?? 50) / 60_000,
      burst,
      tokens: burst,
      at: Date.now(),
      queue: Promise.resolve(),
    };
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

  // ------------------------------------------------------------------ messages

  async post(channel: string, m: Message, threadTs?: string): Promise<string> {
    m = this.outgoing(m, 'chat.postMessage');
    const r = await this.client.chat.postMessage({
      channel,
      text: m.text,
      blocks: m.blocks,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    return String(r.ts);
  }

  /** One `chat.update`, in its turn under the workspace's budget. */
  async update(channel: string, ts: string, m: Message): Promise<void> {
    m = this.outgoing(m, 'chat.update');
    await this.turn();
    await this.client.chat.update({ channel, ts, text: m.text, blocks: m.blocks });
  }

  /** Waits until the workspace's update budget (a token bucket) allows the next edit; callers go in turn. */
  private turn(): Promise<void> {
    const b = this.budget;
    const mine = b.queue.then(async () => {
      const refill = () => {
        const now = Date.now();
        b.tokens = Math.min(b.burst, b.tokens + (now - b.at) * b.perMs);
        b.at = now;
      };
      refill();
      if (b.tokens < 1) {
        await new Promise((r) => setTimeout(r, Math.ceil((1 - b.tokens) / b.perMs)));
        refill();
      }
      b.tokens -= 1;
    });
    b.queue = mine;
    return mine;
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

  /** Every pending edit is written now (shutdown). */
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
  }

  /** A message only `user` sees, in `channel` (and thread); a DM when Slack refuses that. */
  async ephemeral(channel: string, user: string, m: Message, threadTs?: string): Promise<void> {
    m = this.outgoing(m, 'chat.postEphemeral');
    try {
      await this.client.chat.postEphemeral({ channel, user, text: m.text, blocks: m.blocks, ...(threadTs ? { thread_ts: threadTs } : {}) });
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
    if (!res.ok) throw new Error(`response_url answered HTTP ${res.status}`);
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
    await this.client.reactions.add({ channel, timestamp: ts, name });
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

  // ------------------------------------------------------------------ views

  async openView(triggerId: string, view: View): Promise<void> {
    const problems = checkView(view);
    if (problems.length) this.log.warn('view breaks Block Kit limits', { problems });
    await this.client.views.open({ trigger_id: triggerId, view: view as Parameters<WebClient['views']['open']>[0]['view'] });
  }

  async publishHome(user: string, view: View): Promise<void> {
    const problems = checkView(view);
    if (problems.length) this.log.warn('App Home breaks Block Kit limits', { problems });
    await this.client.views.publish({ user_id: user, view: view as Parameters<WebClient['views']['publish']>[0]['view'] });
  }

  // ------------------------------------------------------------------ files

  /** Uploads bytes without sharing them anywhere; returns the file id for image blocks. */
  async uploadPrivate(bytes: Uint8Array, filename: string, alt: string): Promise<string | null> {
    try {
      const r = (await this.client.files.uploadV2({ file: Buffer.from(bytes), filename, alt_text: alt.slice(0, 1000) })) as unknown as {
        files?: { files?: { id?: string }[] }[];
      };
      return r.files?.[0]?.files?.[0]?.id ?? null;
    } catch (e) {
      this.log.warn('upload failed', { filename, error: slackError(e) ?? describeError(e) });
      return null;
    }
  }

  /** Uploads files into a thread, as one message with a comment. */
  async uploadToThread(
    channel: string,
    threadTs: string,
    files: { bytes: Uint8Array; filename: string; title: string }[],
    comment: string,
  ): Promise<void> {
    await this.client.files.uploadV2({
      channel_id: channel,
      thread_ts: threadTs,
      initial_comment: comment,
      file_uploads: files.map((f) => ({ file: Buffer.from(f.bytes), filename: f.filename, title: f.title })),
    });
  }
}
