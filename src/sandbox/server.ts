/**
 * The sandbox page server. It serves the Slack-like page, a JSON snapshot of the fake
 * workspace (Block Kit rendered to HTML), a live stream of changes (SSE), and endpoints
 * through which the page acts as a person: post a message or a slash command, click,
 * submit a modal, react, use a message shortcut. Each action changes the fake workspace
 * as Slack would and is delivered, signed, to the bot's own HTTP receiver.
 *
 * It decides nothing about rounds or votes: the same Bolt app as in production does.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { synthesizeTiny } from '../clip/first-run.ts';
import { type Config, dataPath } from '../config.ts';
import { describeError } from '../errors.ts';
import { createLogger, type Logger, silentLogger } from '../log.ts';
import { type MetricsText, opsRoute, type ReadinessView } from '../ops/http.ts';
import { EMOJI, escapeHtml, type RenderContext, renderBlocks, renderModal, renderMrkdwn } from './blockkit.ts';
import { type Banner, chooseModel, ensureLibrary, generationBanner, sandboxBanner } from './bootstrap.ts';
import { createDeliverer, type Deliverer, type Delivery } from './deliver.ts';
import { persistWorkspace, restoreWorkspace } from './persist.ts';
import {
  type ChangeEvent,
  type FakeEphemeral,
  type FakeFile,
  type FakeMessage,
  type FakeSlack,
  type FakeView,
  startFakeSlack,
} from './web-api.ts';

export interface Shortcut {
  callbackId: string;
  name: string;
}

export interface PageServerOptions {
  slack: FakeSlack;
  deliver: Deliverer;
  banners?: Banner[] | (() => Banner[]);
  /** Message shortcuts the app declares (shown in each message's tools). */
  shortcuts?: Shortcut[];
  /** The channel the page opens on; default: the first channel the bot is in. */
  defaultChannel?: string;
  /** The person the page acts as when none is chosen; default: the first non-admin. */
  defaultUser?: string;
  /** Slash commands the app declares; default `/adcreative`. */
  commands?: string[];
  /** What /readyz answers: the bot's readiness (started, not stopping, its dependencies). */
  readiness: ReadinessView;
  /** The registry behind /metrics (src/ops/metrics.ts). */
  metrics?: MetricsText;
  logger?: Logger;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface PageServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The state the page renders, for one person. */
export interface PageState {
  me: string;
  channel: string;
  bot: { userId: string; name: string };
  users: { id: string; name: string; handle: string; admin: boolean; color: string }[];
  channels: { id: string; name: string; private: boolean; botMember: boolean }[];
  banners: Banner[];
  shortcuts: Shortcut[];
  messages: PageMessage[];
  view: { id: string; hash: string; html: string; callbackId?: string } | null;
  /** The app's Home tab as this person last had it published, if ever. */
  home: { html: string } | null;
}

export interface PageMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  user?: string;
  bot: boolean;
  name: string;
  text: string;
  html: string;
  files: { id: string; name: string; title: string; mimetype: string; url: string }[];
  reactions: { name: string; emoji: string; count: number; users: string[]; names: string[]; mine: boolean }[];
  replyCount: number;
  ephemeral: boolean;
  edited: boolean;
}

const COLORS = ['#e8912d', '#2bac76', '#1264a3', '#e01e5a', '#7c3085', '#0b7d8c', '#9c6b00', '#5c5c5c'];
const MAX_BODY = 40 * 1024 * 1024;
const PAGE_DIR = new URL('./page/', import.meta.url);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function loadPage(): Record<string, { type: string; body: Buffer }> {
  const file = (name: string, type: string) => ({ type, body: readFileSync(new URL(name, PAGE_DIR)) });
  return {
    '/': file('index.html', 'text/html; charset=utf-8'),
    '/page/app.js': file('app.js', 'text/javascript; charset=utf-8'),
    '/page/style.css': file('style.css', 'text/css; charset=utf-8'),
  };
}

/** The page server over a fake workspace and a deliverer to the bot. */
export async function startPageServer(opts: PageServerOptions): Promise<PageServer> {
  const { slack, deliver } = opts;
  const logger = opts.logger ?? silentLogger;
  const host = opts.host ?? '127.0.0.1';
  const page = loadPage();
  const commands = opts.commands ?? ['/adcreative'];
  const shortcuts = opts.shortcuts ?? [];
  const banners = () => (typeof opts.banners === 'function' ? opts.banners() : (opts.banners ?? []));
  const humans = () => [...slack.users.values()].filter((u) => !u.isBot);

  const defaultUser = () => opts.defaultUser ?? humans().find((u) => !u.isAdmin)?.id ?? humans()[0]?.id ?? '';
  const defaultChannel = () =>
    opts.defaultChannel ??
    [...slack.channels.values()].find((c) => c.members.includes(slack.botUserId))?.id ??
    [...slack.channels.keys()][0];

  const pickUser = (id: unknown): string => {
    if (typeof id === 'string' && id) {
      const u = slack.users.get(id);
      if (!u || u.isBot) throw new HttpError(400, `no person with id ${id} in this workspace`);
      return id;
    }
    return defaultUser();
  };
  const pickChannel = (id: unknown, user: string): string => {
    const cid = typeof id === 'string' && id ? id : defaultChannel();
    const ch = slack.channels.get(cid);
    if (!ch) throw new HttpError(400, `no channel ${cid}`);
    if (ch.isPrivate && !ch.members.includes(user))
      throw new HttpError(403, `${slack.users.get(user)?.name ?? user} is not in #${ch.name}`);
    return cid;
  };

  const displayName = (id: string | undefined) => {
    if (!id) return 'unknown';
    const u = slack.users.get(id);
    return u ? (u.realName ?? u.name) : id;
  };
  const fileUrl = (f: FakeFile) => `/files/${f.id}/${encodeURIComponent(f.name)}`;
  const ctx: RenderContext = {
    userName: (id) => slack.users.get(id)?.name,
    channelName: (id) => slack.channels.get(id)?.name,
    fileUrl: (ref) => {
      const id = ref.id ?? /\/files\/([A-Z0-9]+)/.exec(ref.url ?? '')?.[1];
      const f = id ? slack.files.get(id) : undefined;
      return f?.bytes ? fileUrl(f) : undefined;
    },
    linkUrl: (url) => {
      // A permalink into this workspace opens its thread on the page.
      if (!url.startsWith(slack.baseUrl)) return undefined;
      const m = /\/archives\/([A-Z0-9]+)\/p(\d+)(\d{6})(?:\?thread_ts=(\d+\.\d+))?/.exec(url);
      if (!m) return undefined;
      const ts = `${m[2]}.${m[3]}`;
      return `/?${new URLSearchParams({ channel: m[1], thread: m[4] ?? ts })}`;
    },
    imageUrl: (url) => {
      // Images the fake workspace holds are served from here; the page cannot reach its port's origin otherwise by name.
      const id = url.startsWith(slack.baseUrl) ? /\/files\/([A-Z0-9]+)/.exec(url)?.[1] : undefined;
      const f = id ? slack.files.get(id) : undefined;
      return f?.bytes ? fileUrl(f) : undefined;
    },
  };

  const renderMessage = (m: FakeMessage, me: string, replyCounts: Map<string, number>): PageMessage => ({
    channel: m.channel,
    ts: m.ts,
    threadTs: m.thread_ts,
    user: m.user,
    bot: !!m.bot_id || m.user === slack.botUserId,
    name: displayName(m.user),
    text: m.text,
    html: m.blocks?.length ? renderBlocks(m.blocks, ctx) : renderMrkdwn(m.text, ctx),
    files: m.files
      .map((id) => slack.files.get(id))
      .filter((f): f is FakeFile => !!f?.bytes)
      .map((f) => ({ id: f.id, name: f.name, title: f.title, mimetype: f.mimetype, url: fileUrl(f) })),
    reactions: m.reactions.map((r) => ({
      name: r.name,
      emoji: EMOJI[r.name] ?? `:${r.name}:`,
      count: r.users.length,
      users: [...r.users],
      names: r.users.map((u) => slack.users.get(u)?.name ?? u),
      mine: r.users.includes(me),
    })),
    replyCount: replyCounts.get(m.ts) ?? 0,
    ephemeral: false,
    // Bots update status lines in place all the time; Slack shows "(edited)" only for people.
    edited: !!m.edited && !m.bot_id,
  });

  const renderEphemeral = (e: FakeEphemeral): PageMessage => ({
    channel: e.channel,
    ts: e.ts,
    threadTs: e.thread_ts,
    user: slack.botUserId,
    bot: true,
    name: displayName(slack.botUserId),
    text: e.text,
    html: e.blocks?.length ? renderBlocks(e.blocks, ctx) : renderMrkdwn(e.text, ctx),
    files: [],
    reactions: [],
    replyCount: 0,
    ephemeral: true,
    edited: false,
  });

  function state(userParam: unknown, channelParam: unknown, session?: string | null): PageState {
    const me = pickUser(userParam);
    const channel = pickChannel(channelParam, me);
    const inChannel = [...slack.messages.values()].filter((m) => m.channel === channel);
    const replyCounts = new Map<string, number>();
    for (const m of inChannel)
      if (m.thread_ts && m.thread_ts !== m.ts) replyCounts.set(m.thread_ts, (replyCounts.get(m.thread_ts) ?? 0) + 1);
    const messages = [
      ...inChannel.map((m) => renderMessage(m, me, replyCounts)),
      ...slack.ephemerals.filter((e) => e.user === me && e.channel === channel).map(renderEphemeral),
    ].sort((a, b) => Number(a.ts) - Number(b.ts) || a.ts.localeCompare(b.ts));
    const views = [...slack.views.values()].filter(
      (v) => v.user === me && v.type === 'modal' && (!session || (viewSession.get(v.id) ?? '') === session),
    );
    const top = views[views.length - 1];
    const bot = slack.users.get(slack.botUserId);
    return {
      me,
      channel,
      bot: { userId: slack.botUserId, name: bot?.name ?? 'adcreative' },
      users: humans().map((u, i) => ({
        id: u.id,
        name: u.realName ?? u.name,
        handle: u.name,
        admin: !!u.isAdmin,
        color: COLORS[i % COLORS.length],
      })),
      channels: [...slack.channels.values()]
        .filter((c) => !c.isPrivate || c.members.includes(me))
        .map((c) => ({ id: c.id, name: c.name, private: c.isPrivate, botMember: c.members.includes(slack.botUserId) })),
      banners: banners(),
      shortcuts,
      messages,
      home: slack.homes.get(me) ? { html: renderBlocks(slack.homes.get(me)?.view.blocks, ctx) } : null,
      view: top
        ? {
            id: top.id,
            hash: top.hash,
            html: renderModal(top.view, ctx),
            callbackId: typeof top.view.callback_id === 'string' ? top.view.callback_id : undefined,
          }
        : null,
    };
  }

  /**
   * What a person types, with "@bob" or "@adcreative" turned into mentions as Slack's client
   * does; the stand-in escapes the rest when it delivers it (deliver.ts, postAsUser).
   */
  function slackText(typed: string): string {
    return typed.replace(/(^|[\s(])@([a-z0-9._-]+)/gi, (m, pre: string, name: string) => {
      const u = [...slack.users.values()].find((x) => x.name.toLowerCase() === name.toLowerCase());
      return u ? `${pre}<@${u.id}>` : m;
    });
  }

  const botIn = (channel: string) => slack.channels.get(channel)?.members.includes(slack.botUserId) ?? false;

  function checkDelivery(d: Delivery, what: string): void {
    if (d.status !== 200)
      throw new HttpError(502, `the bot answered the ${what} with HTTP ${d.status}${d.body ? `: ${d.body.slice(0, 200)}` : ''}`);
  }

  /** A JSON body in a command's or action's ack is shown to its user only, as Slack does. */
  function ackReply(d: Delivery, channel: string, user: string, threadTs?: string): void {
    const j = d.json as { text?: unknown; blocks?: unknown; response_type?: unknown } | undefined;
    if (!j || (typeof j.text !== 'string' && !Array.isArray(j.blocks))) return;
    const e: FakeEphemeral = {
      channel,
      user,
      ts: `${(Date.now() / 1000).toFixed(6)}`,
      thread_ts: threadTs,
      text: typeof j.text === 'string' ? j.text : '',
      blocks: Array.isArray(j.blocks) ? j.blocks : undefined,
      via: 'ack',
    };
    slack.ephemerals.push(e);
    slack.emit('change', { type: 'ephemeral', ephemeral: e });
  }

  function ownView(viewId: unknown, user: string): FakeView {
    const v = typeof viewId === 'string' ? slack.views.get(viewId) : undefined;
    if (!v || v.user !== user) throw new HttpError(404, 'that dialog is no longer open');
    return v;
  }

  function newHash(): string {
    return `${(Date.now() / 1000).toFixed(6)}.${randomBytes(3).toString('hex')}`;
  }

  function closeView(v: FakeView): void {
    slack.views.delete(v.id);
    slack.emit('change', { type: 'view_closed', view: v });
  }

  /** file_input values arrive from the page as bytes; Slack would hold them as files first. */
  function storeUploads(values: Record<string, Record<string, Record<string, unknown>>>, user: string): void {
    for (const block of Object.values(values)) {
      for (const [actionId, v] of Object.entries(block)) {
        if (v?.type !== 'file_input' || !Array.isArray(v.upload)) continue;
        const files = (v.upload as { name?: unknown; mimetype?: unknown; data?: unknown }[]).map((u) => {
          // Random, so ids stay unique across restarts of a saved workspace.
          const id = `F1${randomBytes(5).toString('hex').toUpperCase()}`;
          const name = String(u.name ?? 'upload');
          const bytes = Buffer.from(String(u.data ?? ''), 'base64');
          const f: FakeFile = {
            id,
            name,
            title: name,
            mimetype: String(u.mimetype ?? 'application/octet-stream'),
            user,
            length: bytes.length,
            bytes,
            completed: true,
            channels: [],
            // A file given in a modal's file_input is the app's to read.
            appAccess: true,
          };
          slack.files.set(id, f);
          return {
            id,
            name,
            title: name,
            mimetype: f.mimetype,
            filetype: f.mimetype.split('/')[1] ?? 'binary',
            size: bytes.length,
            user,
            url_private: `${slack.baseUrl}/files/${id}/${encodeURIComponent(name)}`,
            url_private_download: `${slack.baseUrl}/files-pri/${id}/download/${encodeURIComponent(name)}`,
          };
        });
        block[actionId] = { type: 'file_input', files };
      }
    }
  }

  /** Files a person attaches to a message: `{ name, data }` with base64 bytes, images only. */
  function attachments(v: unknown): { name: string; bytes: Uint8Array }[] {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length > 10) throw new HttpError(400, 'files must be a list of at most 10 images');
    return v.map((f: { name?: unknown; data?: unknown }, i) => {
      const name = typeof f?.name === 'string' && f.name ? f.name.replace(/[\\/]/g, '_').slice(0, 200) : `image-${i + 1}`;
      const bytes = Buffer.from(typeof f?.data === 'string' ? f.data : '', 'base64');
      if (!bytes.length) throw new HttpError(400, `${name} is empty`);
      return { name, bytes };
    });
  }

  type Body = Record<string, unknown>;
  const str = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v === '') throw new HttpError(400, `${name} is required`);
    return v;
  };

  const actions: Record<string, (b: Body) => Promise<Body>> = {
    async message(b) {
      const user = pickUser(b.user);
      const channel = pickChannel(b.channel, user);
      const text = typeof b.text === 'string' ? b.text.trim() : '';
      const files = attachments(b.files);
      if (!text && !files.length) throw new HttpError(400, 'type a message first');
      const threadTs = typeof b.threadTs === 'string' && b.threadTs ? b.threadTs : undefined;
      const cmd = files.length ? null : /^(\/[a-z0-9_-]+)(?:\s+([\s\S]*))?$/i.exec(text);
      if (cmd) {
        const command = cmd[1].toLowerCase();
        if (!commands.includes(command))
          throw new HttpError(400, `${command} is not a command in this workspace; try ${commands.join(', ')}`);
        const d = await deliver.slashCommand({ user, channel, text: slackText((cmd[2] ?? '').trim()), command });
        checkDelivery(d, `command ${command}`);
        ackReply(d, channel, user);
        return { ok: true };
      }
      if (threadTs && !slack.message(channel, threadTs)) throw new HttpError(404, 'that thread no longer exists');
      const m = slack.postAsUser({ user, channel, text: slackText(text), thread_ts: threadTs, files });
      if (files.length) m.subtype = 'file_share';
      // Slack tells an app about messages only in channels it is a member of.
      if (botIn(channel)) checkDelivery(await deliver.messageEvent(m), 'message event');
      return { ok: true, ts: m.ts };
    },

    async action(b) {
      const user = pickUser(b.user);
      const a = (b.action ?? {}) as Body;
      const spec = {
        action_id: str(a.action_id, 'action.action_id'),
        block_id: typeof a.block_id === 'string' && a.block_id ? a.block_id : undefined,
        type: typeof a.type === 'string' ? a.type : 'button',
        value: typeof a.value === 'string' ? a.value : undefined,
        selected_option: (() => {
          const o = a.selected_option as { value?: unknown; text?: { text?: unknown } } | undefined;
          return o && typeof o.value === 'string' ? { value: o.value, text: String(o.text?.text ?? o.value) } : undefined;
        })(),
      };
      if (b.viewId) {
        const view = ownView(b.viewId, user);
        checkDelivery(await deliver.viewAction({ user, view, action: spec }), 'click');
        return { ok: true };
      }
      const channel = pickChannel(b.channel, user);
      const ts = str(b.ts, 'ts');
      const stored = slack.message(channel, ts);
      const eph = stored ? undefined : slack.ephemerals.find((e) => e.channel === channel && e.ts === ts && e.user === user);
      if (!stored && !eph) throw new HttpError(404, 'that message no longer exists');
      const message = stored ?? { type: 'message', ts, thread_ts: eph?.thread_ts, text: eph?.text, blocks: eph?.blocks };
      const d = await deliver.blockAction({ user, channel, message, action: spec });
      checkDelivery(d, 'click');
      return { ok: true };
    },

    async 'view-submit'(b) {
      const user = pickUser(b.user);
      const view = ownView(b.viewId, user);
      const values = (b.values ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
      storeUploads(values, user);
      const d = await deliver.viewSubmission({ user, view, values: values as Record<string, Record<string, Record<string, unknown>>> });
      checkDelivery(d, 'form');
      const j = (d.json ?? {}) as { response_action?: string; errors?: Record<string, string>; view?: Record<string, unknown> };
      switch (j.response_action) {
        case 'errors':
          return { ok: true, errors: j.errors ?? {} };
        case 'update':
          if (j.view) {
            view.view = j.view;
            view.hash = newHash();
            slack.emit('change', { type: 'view_updated', view });
          }
          return { ok: true };
        case 'push': {
          if (j.view) {
            const v: FakeView = {
              id: `V0SBX${randomBytes(4).toString('hex').toUpperCase()}`,
              user,
              type: 'modal',
              view: j.view,
              hash: newHash(),
            };
            slack.views.set(v.id, v);
            slack.emit('change', { type: 'view_opened', view: v });
          }
          return { ok: true };
        }
        case 'clear':
          for (const v of [...slack.views.values()]) if (v.user === user && v.type === 'modal') closeView(v);
          return { ok: true };
        default:
          closeView(view);
          return { ok: true };
      }
    },

    async 'view-close'(b) {
      const user = pickUser(b.user);
      const view = ownView(b.viewId, user);
      closeView(view);
      if (view.view.notify_on_close) {
        const d = await deliver.sendPayload({
          type: 'view_closed',
          team: { id: deliver.teamId },
          user: { id: user, name: slack.users.get(user)?.name ?? user, team_id: deliver.teamId },
          api_app_id: deliver.apiAppId,
          view: { id: view.id, hash: view.hash, ...view.view },
          is_cleared: false,
        });
        checkDelivery(d, 'dialog close');
      }
      return { ok: true };
    },

    async reaction(b) {
      const user = pickUser(b.user);
      const channel = pickChannel(b.channel, user);
      const ts = str(b.ts, 'ts');
      const name = str(b.name, 'name').replace(/^:|:$/g, '');
      if (!slack.message(channel, ts)) throw new HttpError(404, 'that message no longer exists');
      const p = { user, channel, ts, name };
      if (b.add === false) {
        if (slack.unreactAsUser(p) && botIn(channel))
          checkDelivery(await deliver.reactionRemoved({ user, channel, ts, reaction: name }), 'reaction');
      } else if (slack.reactAsUser(p) && botIn(channel)) {
        checkDelivery(await deliver.reactionAdded({ user, channel, ts, reaction: name }), 'reaction');
      }
      return { ok: true };
    },

    async home(b) {
      const user = pickUser(b.user);
      checkDelivery(await deliver.appHomeOpened(user), 'App Home');
      return { ok: true };
    },

    async shortcut(b) {
      const user = pickUser(b.user);
      const channel = pickChannel(b.channel, user);
      const ts = str(b.ts, 'ts');
      const callbackId = str(b.callbackId, 'callbackId');
      if (!shortcuts.some((s) => s.callbackId === callbackId)) throw new HttpError(400, `no shortcut ${callbackId}`);
      const message = slack.message(channel, ts);
      if (!message) throw new HttpError(404, 'that message no longer exists');
      const d = await deliver.messageAction({ user, channel, message, callback_id: callbackId });
      checkDelivery(d, 'shortcut');
      ackReply(d, channel, user);
      return { ok: true };
    },
  };

  // --- live stream ---
  const streams = new Set<ServerResponse>();
  let pending: NodeJS.Timeout | undefined;
  // A modal belongs to the page (the Slack client) it was opened from, as in Slack: reloading
  // the page, or the same person's other window, does not show it. Each page load has its own
  // session id; a view takes the session that last acted as its user when it opened.
  const lastSession = new Map<string, string>();
  const viewSession = new Map<string, string>();
  const onView = (e: ChangeEvent) => {
    if (e.type === 'view_opened' && !viewSession.has(e.view.id)) viewSession.set(e.view.id, lastSession.get(e.view.user) ?? '');
    if (e.type === 'view_closed') viewSession.delete(e.view.id);
  };
  slack.on('change', onView);
  const onChange = () => {
    // Bursts (a round posting a dozen messages) become one refresh per 50 ms.
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      for (const s of streams) s.write(`event: change\ndata: {}\n\n`);
    }, 50);
  };
  slack.on('change', onChange);
  const keepalive = setInterval(() => {
    for (const s of streams) s.write(': keepalive\n\n');
  }, 15_000);
  keepalive.unref();

  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(host);
  const ops = opsRoute({ readiness: opts.readiness, metrics: opts.metrics });
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (status >= 500) logger.warn('sandbox request failed', { path: req.url, error: describeError(e) });
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ ok: false, error: describeError(e) }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox.local');
    // A page on another site must not drive a sandbox on loopback through DNS rebinding.
    const hostName = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (loopback && hostName && !['127.0.0.1', 'localhost', '::1'].includes(hostName)) throw new HttpError(403, 'unexpected Host header');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };

    if (await ops(req, res)) return;
    if (req.method === 'GET' || req.method === 'HEAD') {
      const asset = page[url.pathname];
      if (asset) {
        res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : asset.body);
        return;
      }
      if (url.pathname === '/api/state')
        return json(200, state(url.searchParams.get('user'), url.searchParams.get('channel'), url.searchParams.get('session')));
      if (url.pathname === '/api/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        res.write('retry: 1000\n\n');
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      const file = /^\/files\/([A-Z0-9]+)(?:\/|$)/.exec(url.pathname);
      if (file) {
        const f = slack.files.get(file[1]);
        if (!f?.bytes) throw new HttpError(404, 'no such file');
        res.writeHead(200, {
          'content-type': f.mimetype,
          'content-length': String(f.bytes.length),
          'cache-control': 'private, max-age=3600',
          'x-content-type-options': 'nosniff',
          'content-disposition': `inline; filename="${escapeHtml(f.name).replace(/"/g, '')}"`,
        });
        res.end(req.method === 'HEAD' ? undefined : f.bytes);
        return;
      }
      throw new HttpError(404, `nothing at ${url.pathname}`);
    }

    if (req.method === 'POST' && url.pathname.startsWith('/api/')) {
      const act = actions[url.pathname.slice('/api/'.length)];
      if (!act) throw new HttpError(404, `no action ${url.pathname}`);
      // JSON only: a cross-site form cannot send it without a CORS preflight, which is refused.
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'send JSON');
      const body = await readJson(req);
      if (typeof body.session === 'string' && typeof body.user === 'string') lastSession.set(body.user, body.session.slice(0, 64));
      return json(200, await act(body));
    }
    throw new HttpError(405, `${req.method} is not allowed here`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    async close() {
      slack.off('change', onChange);
      slack.off('change', onView);
      clearInterval(keepalive);
      if (pending) clearTimeout(pending);
      for (const s of streams) s.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new HttpError(400, `body is not a JSON object (${e instanceof Error ? e.message : String(e)})`);
  }
}

export interface SandboxOptions {
  logger?: Logger;
  /** The page's port; default PORT (0 picks a free one). */
  port?: number;
  /** The page's address; default SANDBOX_HOST. */
  host?: string;
  /** How many demo creatives to draw into an empty library (default: the library's own, 240). */
  demoCount?: number;
}

export interface Sandbox {
  url: string;
  close(): Promise<void>;
}

/** The message shortcut the app's manifest declares. */
const SHORTCUTS: Shortcut[] = [{ callbackId: 'add_to_library', name: 'Add to creative library' }];

/**
 * `npm start` without Slack tokens: stand-ins for what is missing (model, library, OpenAI),
 * the bot's services on them, the fake Slack Web API, the very same Bolt app in HTTP mode on
 * an internal loopback port, and the page on PORT.
 */
export async function startSandbox(cfg: Config, opts: SandboxOptions = {}): Promise<Sandbox> {
  const logger = opts.logger ?? createLogger({ level: cfg.logLevel });
  const cleanup: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const f of cleanup.reverse()) await f().catch((e: unknown) => logger.warn('sandbox: close failed', { error: describeError(e) }));
    cleanup.length = 0;
  };
  try {
    const model = await chooseModel(cfg, synthesizeTiny, logger);
    const banners: Banner[] = [sandboxBanner()];
    if (model.banner) banners.push(model.banner);

    const { createServices } = await import('../services.ts');
    const services = await createServices(model.cfg, { logger });
    cleanup.push(() => services.close());

    try {
      const library = await services.library();
      const { buildDemoLibrary } = await import('../library/demo.ts');
      const lib = await ensureLibrary(model.cfg, library, buildDemoLibrary, { count: opts.demoCount, logger });
      if (lib.banner) banners.push(lib.banner);
    } catch (e) {
      logger.warn('sandbox: the creative library is unavailable', { error: describeError(e) });
      banners.push({ level: 'warn', text: `Library: unavailable (${describeError(e)}); rounds run without inspiration` });
    }
    const gen = generationBanner(model.cfg);
    if (gen) banners.push(gen);

    const botToken = `xoxb-sandbox-${randomBytes(12).toString('hex')}`;
    const signingSecret = randomBytes(24).toString('hex');
    const slack = await startFakeSlack({ tokens: [botToken] });
    cleanup.push(() => slack.close());
    // The channel survives restarts, so resumed rounds find their messages.
    const saved = dataPath(model.cfg, 'sandbox');
    restoreWorkspace(slack, saved, logger);
    const saver = persistWorkspace(slack, saved, logger);
    cleanup.push(async () => saver.stop());
    const bot = await services.createBot({
      mode: 'http',
      botToken,
      signingSecret,
      slackApiUrl: slack.url,
      botUserId: slack.botUserId,
      botId: slack.botId,
      port: 0,
      host: '127.0.0.1',
    });
    await bot.start();
    cleanup.push(() => bot.stop(cfg.shutdownGraceSeconds * 1000));
    const deliver = createDeliverer({ url: bot.eventsUrl, signingSecret, slack });

    const page = await startPageServer({
      slack,
      deliver,
      banners,
      shortcuts: SHORTCUTS,
      logger,
      readiness: bot.readiness,
      metrics: services.metrics,
      host: opts.host ?? cfg.sandboxHost,
      port: opts.port ?? cfg.port,
    });
    cleanup.push(() => page.close());
    logger.info('sandbox: ready', { url: page.url, bot: bot.eventsUrl, banners: banners.map((b) => b.text) });
    return { url: page.url, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** Resolves on the first SIGTERM or SIGINT. */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.once('SIGTERM', on('SIGTERM'));
    process.once('SIGINT', on('SIGINT'));
  });
}

/**
 * Runs the sandbox until SIGINT/SIGTERM, then closes it (the bot finishes in-flight writes
 * first). For `npm start` without Slack tokens and `adcreative sandbox`; returns the exit code.
 */
export async function runSandbox(
  cfg: Config,
  opts: SandboxOptions & { out?: NodeJS.WritableStream; until?: Promise<unknown> } = {},
): Promise<number> {
  const out = opts.out ?? process.stderr;
  const sandbox = await startSandbox(cfg, opts);
  out.write(`adcreative: the local sandbox is on ${sandbox.url} (no Slack tokens set; Ctrl-C stops it)\n`);
  await (opts.until ?? stopSignal());
  out.write('adcreative: stopping the sandbox\n');
  await sandbox.close();
  return 0;
}
