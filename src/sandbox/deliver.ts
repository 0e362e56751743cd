/**
 * Sends what Slack would send to a Bolt HTTP receiver, signed as Slack signs it: slash
 * commands (form-encoded), interactivity (`payload=` JSON in a form) and Events API
 * callbacks (JSON). The sandbox page and the integration tests drive the bot through it.
 *
 * Signature: `X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body))` and
 * `X-Slack-Request-Timestamp: ts` (seconds). Retries carry `X-Slack-Retry-Num` and
 * `X-Slack-Retry-Reason` and repeat the same `event_id`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { asTyped, canonicalReaction } from './slack-rules.ts';
import type { FakeMessage, FakeSlack, FakeView } from './web-api.ts';

export function signSlackRequest(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface DeliverOptions {
  /** The receiver's endpoint, e.g. http://127.0.0.1:3001/slack/events. */
  url: string;
  signingSecret: string;
  /** The fake workspace: trigger ids, response URLs, user names and channel names come from it. */
  slack?: FakeSlack;
  teamId?: string;
  teamDomain?: string;
  apiAppId?: string;
  botUserId?: string;
  /** Seconds since the epoch, for the signature timestamp (tests of stale requests override it). */
  now?: () => number;
}

export interface Delivery {
  status: number;
  body: string;
  /** The body parsed as JSON when it is JSON (view_submission errors, respond-in-ack). */
  json?: unknown;
  /** Milliseconds from sending to the full response (the ack). */
  ms: number;
  /** What was sent, so a test can resend it byte for byte (a Slack retry). */
  sent: { body: string; contentType: string };
}

export interface SendOptions {
  /** Override the signature; `null` sends none. */
  signature?: string | null;
  /** Override the timestamp header (seconds); `null` sends none. */
  timestamp?: number | null;
  retryNum?: number;
  retryReason?: string;
}

export interface ActionSpec {
  action_id: string;
  block_id?: string;
  /** button, overflow, static_select … (default button). */
  type?: string;
  value?: string;
  selected_option?: { value: string; text?: string };
}

type Json = Record<string, unknown>;

export class Deliverer {
  readonly url: string;
  private readonly secret: string;
  private readonly slack?: FakeSlack;
  readonly teamId: string;
  private readonly teamDomain: string;
  readonly apiAppId: string;
  private readonly botUserId: string;
  private readonly now: () => number;
  private seq = 0;

  constructor(opts: DeliverOptions) {
    this.url = opts.url;
    this.secret = opts.signingSecret;
    this.slack = opts.slack;
    this.teamId = opts.teamId ?? opts.slack?.teamId ?? 'T0SANDBOX';
    this.teamDomain = opts.teamDomain ?? 'sandbox';
    this.apiAppId = opts.apiAppId ?? 'A0ADCREATIVE';
    this.botUserId = opts.botUserId ?? opts.slack?.botUserId ?? 'U0BOT';
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Posts a raw body, signed unless told otherwise. */
  async send(body: string, contentType: string, opts: SendOptions = {}): Promise<Delivery> {
    const ts = opts.timestamp === undefined ? this.now() : opts.timestamp;
    const headers: Record<string, string> = { 'content-type': contentType };
    if (ts !== null) headers['x-slack-request-timestamp'] = String(ts);
    const sig = opts.signature === undefined ? signSlackRequest(this.secret, ts ?? this.now(), body) : opts.signature;
    if (sig !== null) headers['x-slack-signature'] = sig;
    if (opts.retryNum !== undefined) {
      headers['x-slack-retry-num'] = String(opts.retryNum);
      headers['x-slack-retry-reason'] = opts.retryReason ?? 'http_timeout';
    }
    const started = performance.now();
    const res = await fetch(this.url, { method: 'POST', headers, body });
    const text = await res.text();
    const ms = performance.now() - started;
    let json: unknown;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: res.status, body: text, json, ms, sent: { body, contentType } };
  }

  /** Sends an earlier delivery again, freshly signed, as Slack's retries do. */
  resend(d: Delivery, opts: SendOptions = { retryNum: 1, retryReason: 'http_timeout' }): Promise<Delivery> {
    return this.send(d.sent.body, d.sent.contentType, opts);
  }

  /** A form post of `payload=<json>`, as Slack sends interactivity. */
  sendPayload(payload: Json, opts?: SendOptions): Promise<Delivery> {
    return this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded', opts);
  }

  private userJson(id: string): Json {
    const u = this.slack?.users.get(id);
    return { id, username: u?.name ?? id.toLowerCase(), name: u?.name ?? id.toLowerCase(), team_id: this.teamId };
  }

  /** The channel_name Slack puts in payloads: "directmessage" for a DM, "mpdm-…" for a group DM. */
  private channelName(id: string): string {
    const ch = this.slack?.channels.get(id);
    if (ch?.isIm) return 'directmessage';
    if (ch?.isMpim) return ch.name.startsWith('mpdm-') ? ch.name : `mpdm-${ch.name}-1`;
    return ch?.name ?? id.toLowerCase();
  }

  private trigger(user: string): string {
    return this.slack?.triggerId(user) ?? `${Date.now()}.${++this.seq}.${randomBytes(4).toString('hex')}`;
  }

  private response(channel: string, user: string, thread_ts?: string): string {
    return (
      this.slack?.responseUrl({ channel, user, thread_ts }) ??
      `https://hooks.slack.com/commands/${this.teamId}/${++this.seq}/${randomBytes(8).toString('hex')}`
    );
  }

  private team(): Json {
    return { id: this.teamId, domain: this.teamDomain };
  }

  private messageJson(m: FakeMessage | Json): Json {
    if (this.slack && 'reactions' in m && Array.isArray((m as FakeMessage).files)) return this.slack.messageJson(m as FakeMessage);
    return m as Json;
  }

  /**
   * `/adcreative <text>` typed by `user` in `channel`: the text goes out as Slack sends it, with
   * `&`, `<` and `>` as entities (docs.slack.dev/interactivity/implementing-slash-commands;
   * markup such as `<@U…>` stays markup).
   */
  slashCommand(p: { user: string; channel: string; text: string; command?: string }, opts?: SendOptions): Promise<Delivery> {
    const form = {
      token: 'verification-token-unused',
      team_id: this.teamId,
      team_domain: this.teamDomain,
      channel_id: p.channel,
      channel_name: this.channelName(p.channel),
      user_id: p.user,
      user_name: String(this.userJson(p.user).name),
      command: p.command ?? '/adcreative',
      text: asTyped(p.text),
      api_app_id: this.apiAppId,
      is_enterprise_install: 'false',
      response_url: this.response(p.channel, p.user),
      trigger_id: this.trigger(p.user),
    };
    return this.send(new URLSearchParams(form).toString(), 'application/x-www-form-urlencoded', opts);
  }

  /** A click on an interactive element of a message (button, overflow item). */
  blockAction(
    p: { user: string; channel: string; message: FakeMessage | Json; action: ActionSpec },
    opts?: SendOptions,
  ): Promise<Delivery> {
    const message = this.messageJson(p.message);
    const ts = String(message.ts);
    const thread_ts = typeof message.thread_ts === 'string' ? message.thread_ts : undefined;
    const a = p.action;
    const action: Json = {
      type: a.type ?? 'button',
      action_id: a.action_id,
      block_id: a.block_id ?? findBlockId(message.blocks, a.action_id) ?? 'b',
      action_ts: `${this.now()}.${String(++this.seq).padStart(6, '0')}`,
    };
    if (action.type === 'button') {
      action.text = { type: 'plain_text', text: a.action_id, emoji: true };
      if (a.value !== undefined) action.value = a.value;
    }
    if (a.selected_option)
      action.selected_option = {
        text: { type: 'plain_text', text: a.selected_option.text ?? a.selected_option.value },
        value: a.selected_option.value,
      };
    const payload: Json = {
      type: 'block_actions',
      user: this.userJson(p.user),
      api_app_id: this.apiAppId,
      token: 'verification-token-unused',
      container: { type: 'message', message_ts: ts, channel_id: p.channel, is_ephemeral: false, ...(thread_ts ? { thread_ts } : {}) },
      trigger_id: this.trigger(p.user),
      team: this.team(),
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: p.channel, name: this.channelName(p.channel) },
      message,
      state: { values: {} },
      response_url: this.response(p.channel, p.user, thread_ts),
      actions: [action],
    };
    return this.sendPayload(payload, opts);
  }

  /** A click on an element of a view (App Home or modal). */
  viewAction(p: { user: string; view: FakeView; action: ActionSpec }, opts?: SendOptions): Promise<Delivery> {
    const a = p.action;
    const payload: Json = {
      type: 'block_actions',
      user: this.userJson(p.user),
      api_app_id: this.apiAppId,
      token: 'verification-token-unused',
      container: { type: 'view', view_id: p.view.id },
      trigger_id: this.trigger(p.user),
      team: this.team(),
      enterprise: null,
      is_enterprise_install: false,
      view: { id: p.view.id, hash: p.view.hash, ...p.view.view, state: { values: {} } },
      actions: [
        {
          type: a.type ?? 'button',
          action_id: a.action_id,
          block_id: a.block_id ?? findBlockId(p.view.view.blocks, a.action_id) ?? 'b',
          value: a.value,
          action_ts: `${this.now()}.000001`,
        },
      ],
    };
    return this.sendPayload(payload, opts);
  }

  /**
   * A modal submitted. `values` is `{ block_id: { action_id: value } }` where value is the
   * element's state as Slack sends it (e.g. `{ type: 'plain_text_input', value: 'x' }`).
   */
  viewSubmission(
    p: { user: string; view: FakeView | Json; values: Record<string, Record<string, Json>> },
    opts?: SendOptions,
  ): Promise<Delivery> {
    const v =
      'view' in p.view && 'hash' in p.view && 'user' in p.view
        ? ({ id: p.view.id, hash: p.view.hash, ...(p.view.view as Json) } as Json)
        : (p.view as Json);
    const payload: Json = {
      type: 'view_submission',
      team: this.team(),
      user: this.userJson(p.user),
      api_app_id: this.apiAppId,
      token: 'verification-token-unused',
      trigger_id: this.trigger(p.user),
      view: { team_id: this.teamId, app_id: this.apiAppId, bot_id: this.slack?.botId, ...v, state: { values: p.values } },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    return this.sendPayload(payload, opts);
  }

  /** A message shortcut (e.g. "Add to creative library") used on a message. */
  messageAction(
    p: { user: string; channel: string; message: FakeMessage | Json; callback_id: string },
    opts?: SendOptions,
  ): Promise<Delivery> {
    const message = this.messageJson(p.message);
    const payload: Json = {
      type: 'message_action',
      token: 'verification-token-unused',
      action_ts: `${this.now()}.${String(++this.seq).padStart(6, '0')}`,
      team: this.team(),
      user: this.userJson(p.user),
      channel: { id: p.channel, name: this.channelName(p.channel) },
      is_enterprise_install: false,
      enterprise: null,
      callback_id: p.callback_id,
      trigger_id: this.trigger(p.user),
      response_url: this.response(p.channel, p.user),
      message_ts: message.ts,
      message,
    };
    return this.sendPayload(payload, opts);
  }

  /** An Events API callback around `event`; returns the delivery and the event_id (resend it to simulate a retry). */
  async event(event: Json, opts: SendOptions & { eventId?: string } = {}): Promise<Delivery & { eventId: string }> {
    const eventId =
      opts.eventId ??
      `Ev${Date.now().toString(36).toUpperCase()}${(++this.seq).toString(36).toUpperCase()}${randomBytes(3).toString('hex').toUpperCase()}`;
    const now = this.now();
    const body = {
      token: 'verification-token-unused',
      team_id: this.teamId,
      context_team_id: this.teamId,
      api_app_id: this.apiAppId,
      event: { event_ts: `${now}.${String(this.seq).padStart(6, '0')}`, ...event },
      type: 'event_callback',
      event_id: eventId,
      event_time: now,
      authorizations: [{ enterprise_id: null, team_id: this.teamId, user_id: this.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
      event_context: `4-${randomBytes(6).toString('hex')}`,
    };
    const d = await this.send(JSON.stringify(body), 'application/json', opts);
    return { ...d, eventId };
  }

  /** The `message` event Slack sends for a stored message (a person's, or another bot's). */
  messageEvent(m: FakeMessage, opts?: SendOptions & { eventId?: string }): Promise<Delivery & { eventId: string }> {
    const ch = this.slack?.channels.get(m.channel);
    const parent = m.thread_ts && m.thread_ts !== m.ts ? this.slack?.message(m.channel, m.thread_ts) : undefined;
    const ev: Json = {
      type: 'message',
      channel: m.channel,
      channel_type: ch?.isPrivate ? 'group' : 'channel',
      user: m.user,
      text: m.text,
      ts: m.ts,
      team: this.teamId,
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(parent?.user ? { parent_user_id: parent.user } : {}),
      ...(m.bot_id ? { bot_id: m.bot_id, subtype: m.subtype ?? 'bot_message' } : m.subtype ? { subtype: m.subtype } : {}),
      ...(m.files.length && this.slack ? { files: (this.slack.messageJson(m).files as unknown[]) ?? [] } : {}),
    };
    return this.event(ev, opts);
  }

  /** The `message_changed` event for an edited message. */
  messageChanged(m: FakeMessage, previousText: string, opts?: SendOptions & { eventId?: string }): Promise<Delivery & { eventId: string }> {
    const inner: Json = {
      type: 'message',
      user: m.user,
      text: m.text,
      ts: m.ts,
      edited: m.edited,
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
    };
    return this.event(
      {
        type: 'message',
        subtype: 'message_changed',
        hidden: true,
        channel: m.channel,
        ts: m.edited?.ts ?? m.ts,
        message: inner,
        previous_message: { ...inner, text: previousText, edited: undefined },
      },
      opts,
    );
  }

  reactionAdded(
    p: { user: string; channel: string; ts: string; reaction: string; itemUser?: string },
    opts?: SendOptions & { eventId?: string },
  ) {
    return this.event(this.reactionEvent('reaction_added', p), opts);
  }

  reactionRemoved(
    p: { user: string; channel: string; ts: string; reaction: string; itemUser?: string },
    opts?: SendOptions & { eventId?: string },
  ) {
    return this.event(this.reactionEvent('reaction_removed', p), opts);
  }

  private reactionEvent(type: string, p: { user: string; channel: string; ts: string; reaction: string; itemUser?: string }): Json {
    const itemUser = p.itemUser ?? this.slack?.message(p.channel, p.ts)?.user ?? this.botUserId;
    // Slack reports the emoji's canonical name, whatever alias was used, with the skin tone as a suffix.
    const reaction = canonicalReaction(p.reaction);
    return { type, user: p.user, reaction, item_user: itemUser, item: { type: 'message', channel: p.channel, ts: p.ts } };
  }

  appHomeOpened(user: string, opts?: SendOptions & { eventId?: string }) {
    return this.event({ type: 'app_home_opened', user, channel: `D0${user.slice(1)}`, tab: 'home' }, opts);
  }
}

function findBlockId(blocks: unknown, actionId: string): string | undefined {
  if (!Array.isArray(blocks)) return undefined;
  for (const b of blocks as { block_id?: string; elements?: { action_id?: string }[]; accessory?: { action_id?: string } }[]) {
    if (b.accessory?.action_id === actionId) return b.block_id;
    if (b.elements?.some((e) => e.action_id === actionId)) return b.block_id;
  }
  return undefined;
}

export function createDeliverer(opts: DeliverOptions): Deliverer {
  return new Deliverer(opts);
}
