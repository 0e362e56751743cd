/**
 * The page server against the real fake workspace and a tiny real Bolt app (HTTP receiver,
 * signature checks on): what the page sends becomes signed Slack deliveries, what the app
 * does shows up in the state the page renders.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deliverer } from '../../../src/sandbox/deliver.ts';
import { type PageServer, type PageState, startPageServer } from '../../../src/sandbox/server.ts';
import { type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { tinyPng } from '../../helpers/png.ts';

let slack: FakeSlack;
let app: App;
let page: PageServer;
const CH = 'C0GENERAL';
/** What the page's /readyz reads; the tests set it as the bot's readiness would. */
let notReady: Record<string, string> = {};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** A minimal app: enough listeners to see every kind of delivery arrive, signed and shaped right. */
function tinyApp(signingSecret: string, apiUrl: string): App {
  const a = new App({ token: 'xoxb-sandbox-test', signingSecret, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: apiUrl } });
  a.command('/adcreative', async ({ ack, command, client }) => {
    if (command.text === 'help') {
      await ack({ text: 'Only you can see this help.' });
      return;
    }
    await ack();
    if (command.text === 'modal') {
      await client.views.open({
        trigger_id: command.trigger_id,
        view: {
          type: 'modal',
          callback_id: 'brief',
          title: { type: 'plain_text', text: 'New brief' },
          submit: { type: 'plain_text', text: 'Go' },
          blocks: [
            {
              type: 'input',
              block_id: 'product',
              label: { type: 'plain_text', text: 'Product' },
              element: { type: 'plain_text_input', action_id: 'v' },
            },
            {
              type: 'input',
              block_id: 'ref',
              optional: true,
              label: { type: 'plain_text', text: 'Reference' },
              element: { type: 'file_input', action_id: 'v' },
            },
          ],
        },
      });
      return;
    }
    // As Slack wants it: the image is shared (here, in the channel) and referenced only once
    // files.info shows the share; a private, still-processing upload would make the message invalid.
    const up = (await client.files.uploadV2({
      file: Buffer.from(tinyPng(4, 4, [0, 128, 255])),
      filename: 'v.png',
      channel_id: command.channel_id,
    })) as unknown as {
      files: { files: { id: string }[] }[];
    };
    const fileId = up.files[0].files[0].id;
    for (let i = 0; i < 50; i++) {
      const info = await client.files.info({ file: fileId });
      if (Object.keys((info.file as { shares?: object }).shares ?? {}).length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await client.chat.postMessage({
      channel: command.channel_id,
      text: `brief: ${command.text}`,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `*Brief* from <@${command.user_id}>: ${command.text}` } },
        { type: 'image', slack_file: { id: fileId }, alt_text: 'variant A' },
        {
          type: 'actions',
          block_id: 'act',
          elements: [
            { type: 'button', action_id: 'vote', value: 'A', text: { type: 'plain_text', text: 'Vote' } },
            {
              type: 'overflow',
              action_id: 'menu',
              options: [{ text: { type: 'plain_text', text: 'More like this' }, value: 'more' }],
            },
          ],
        },
      ],
    });
  });
  a.action('vote', async ({ ack, body, client }) => {
    await ack();
    const b = body as { user: { id: string }; channel: { id: string }; message: { ts: string }; actions: { value: string }[] };
    await client.chat.postMessage({
      channel: b.channel.id,
      thread_ts: b.message.ts,
      text: `vote ${b.actions[0].value} by <@${b.user.id}>`,
    });
  });
  a.action('menu', async ({ ack, body, client }) => {
    await ack();
    const b = body as { user: { id: string }; channel: { id: string }; actions: { selected_option: { value: string } }[] };
    await client.chat.postEphemeral({ channel: b.channel.id, user: b.user.id, text: `menu ${b.actions[0].selected_option.value}` });
  });
  a.view('brief', async ({ ack, view, body, client }) => {
    const product = view.state.values.product?.v?.value;
    if (!product) {
      await ack({ response_action: 'errors', errors: { product: 'Say what the product is.' } });
      return;
    }
    await ack();
    const files = (view.state.values.ref?.v as unknown as { files?: { id: string }[] })?.files ?? [];
    await client.chat.postMessage({ channel: CH, text: `modal brief ${product} by ${body.user.id} with ${files.length} file(s)` });
  });
  a.event('reaction_added', async ({ event, client }) => {
    await client.chat.postMessage({ channel: CH, text: `reaction ${event.reaction} by ${event.user}` });
  });
  a.event('reaction_removed', async ({ event, client }) => {
    await client.chat.postMessage({ channel: CH, text: `unreaction ${event.reaction} by ${event.user}` });
  });
  a.message(async ({ message, client }) => {
    const m = message as { text?: string; ts: string; bot_id?: string; thread_ts?: string };
    if (m.bot_id) return;
    await client.chat.postMessage({ channel: CH, thread_ts: m.thread_ts ?? m.ts, text: `heard: ${m.text}` });
  });
  a.event('app_home_opened', async ({ event, client }) => {
    const first = slack.channelMessages(CH)[0];
    const link = (await client.chat.getPermalink({ channel: CH, message_ts: first.ts })).permalink as string;
    await client.views.publish({
      user_id: event.user,
      view: {
        type: 'home',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: `Hi <@${event.user}>` } },
          {
            type: 'section',
            text: { type: 'mrkdwn', text: 'Your round' },
            accessory: { type: 'button', action_id: 'open', url: link, text: { type: 'plain_text', text: 'Open thread' } },
          },
        ],
      },
    });
  });
  a.action('open', async ({ ack }) => {
    await ack();
  });
  a.shortcut('add_to_library', async ({ ack, shortcut, client }) => {
    await ack();
    const b = shortcut as unknown as { user: { id: string }; channel: { id: string }; message: { files?: { id: string }[] } };
    await client.chat.postEphemeral({ channel: b.channel.id, user: b.user.id, text: `added ${b.message.files?.length ?? 0} image(s)` });
  });
  return a;
}

beforeAll(async () => {
  slack = await startFakeSlack();
  const secret = randomBytes(16).toString('hex');
  const port = await freePort();
  app = tinyApp(secret, slack.url);
  await app.start({ port, host: '127.0.0.1' });
  const deliver = new Deliverer({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: secret, slack });
  page = await startPageServer({
    slack,
    deliver,
    banners: [{ level: 'info', text: 'Offline studio', command: 'OPENAI_API_KEY=… npm start' }],
    shortcuts: [{ callbackId: 'add_to_library', name: 'Add to creative library' }],
    readiness: { ok: () => Object.keys(notReady).length === 0, status: () => ({ bot: 'ok', ...notReady }) },
  });
});

afterAll(async () => {
  await page?.close();
  await app?.stop();
  await slack?.close();
});

async function post(path: string, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${page.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function state(user?: string, session?: string): Promise<PageState> {
  const q = new URLSearchParams({ ...(user ? { user } : {}), ...(session ? { session } : {}) });
  return (await (await fetch(`${page.url}/api/state?${q}`)).json()) as PageState;
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>): Promise<T> {
  return slack
    .waitFor(() => true)
    .then(async () => {
      for (let i = 0; i < 200; i++) {
        const v = await f();
        if (v) return v;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`timed out waiting for ${what}`);
    });
}

describe('sandbox page server', () => {
  it('serves the page, its assets, health and readiness', async () => {
    const html = await (await fetch(page.url)).text();
    expect(html).toContain('<title>adcreative sandbox</title>');
    expect((await fetch(`${page.url}/page/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${page.url}/page/style.css`)).status).toBe(200);
    expect((await fetch(`${page.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${page.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${page.url}/nope`)).status).toBe(404);
  });

  it('answers /readyz from the readiness it is given: 503 naming what is not ready', async () => {
    notReady = { library: 'library unavailable: disk full' };
    try {
      const res = await fetch(`${page.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ ready: false, checks: { bot: 'ok', library: 'library unavailable: disk full' } });
      // Liveness is another question: the process still answers.
      expect((await fetch(`${page.url}/healthz`)).status).toBe(200);
    } finally {
      notReady = {};
    }
    expect((await fetch(`${page.url}/readyz`)).status).toBe(200);
  });

  it('lists at least four people, one an admin, and starts on a channel the bot is in', async () => {
    const s = await state();
    expect(s.users.length).toBeGreaterThanOrEqual(4);
    expect(s.users.filter((u) => u.admin)).toHaveLength(1);
    expect(s.users.find((u) => u.id === s.me)?.admin).toBe(false);
    expect(s.channels.find((c) => c.id === s.channel)?.botMember).toBe(true);
    expect(s.banners[0]).toMatchObject({ text: 'Offline studio', command: 'OPENAI_API_KEY=… npm start' });
  });

  it('turns a typed slash command into a signed command the app answers, with images served', async () => {
    const r = await post('/api/message', { user: 'U0ALICE', channel: CH, text: '/adcreative sunscreen for <runners>' });
    expect(r.json).toEqual({ ok: true });
    const s = await until('the brief message', async () => {
      const st = await state('U0ALICE');
      return st.messages.some((m) => m.text.startsWith('brief:')) && st;
    });
    const msg = s.messages.find((m) => m.text.startsWith('brief:'))!;
    expect(msg.bot).toBe(true);
    expect(msg.html).toContain(
      '<b>Brief</b> from <span class="bk-mention" data-user="U0ALICE">@alice</span>: sunscreen for &lt;runners&gt;',
    );
    const src = /<img class="bk-image" src="([^"]+)"/.exec(msg.html)?.[1];
    expect(src).toMatch(/^\/files\/F/);
    const img = await fetch(`${page.url}${src}`);
    expect(img.headers.get('content-type')).toBe('image/png');
    expect(
      Buffer.from(await img.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
  });

  it('shows a command answered in its ack only to the person who typed it', async () => {
    await post('/api/message', { user: 'U0BOB', channel: CH, text: '/adcreative help' });
    expect((await state('U0BOB')).messages.some((m) => m.ephemeral && m.text === 'Only you can see this help.')).toBe(true);
    expect((await state('U0CAROL')).messages.some((m) => m.text === 'Only you can see this help.')).toBe(false);
  });

  it('refuses commands the app does not declare', async () => {
    const r = await post('/api/message', { user: 'U0BOB', channel: CH, text: '/giphy cats' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/\/giphy is not a command.*\/adcreative/);
  });

  it('delivers button clicks and overflow choices as block actions from the right person', async () => {
    const parent = (await state()).messages.find((m) => m.text.startsWith('brief:'))!;
    await post('/api/action', {
      user: 'U0BOB',
      channel: CH,
      ts: parent.ts,
      action: { action_id: 'vote', block_id: 'act', type: 'button', value: 'A' },
    });
    const s = await until('the vote reply', async () => {
      const st = await state('U0BOB');
      return st.messages.some((m) => m.text === 'vote A by <@U0BOB>') && st;
    });
    const reply = s.messages.find((m) => m.text === 'vote A by <@U0BOB>')!;
    expect(reply.threadTs).toBe(parent.ts);
    expect(s.messages.find((m) => m.ts === parent.ts)?.replyCount).toBeGreaterThanOrEqual(1);
    await post('/api/action', {
      user: 'U0CAROL',
      channel: CH,
      ts: parent.ts,
      action: {
        action_id: 'menu',
        block_id: 'act',
        type: 'overflow',
        selected_option: { value: 'more', text: { type: 'plain_text', text: 'More like this' } },
      },
    });
    await until('the ephemeral menu answer', async () =>
      (await state('U0CAROL')).messages.some((m) => m.ephemeral && m.text === 'menu more'),
    );
    expect((await state('U0BOB')).messages.some((m) => m.text === 'menu more')).toBe(false);
  });

  it('adds and removes reactions and tells the app', async () => {
    const parent = (await state()).messages.find((m) => m.text.startsWith('brief:'))!;
    await post('/api/reaction', { user: 'U0CAROL', channel: CH, ts: parent.ts, name: '+1', add: true });
    await until('reaction event', async () => (await state()).messages.some((m) => m.text === 'reaction +1 by U0CAROL'));
    const s = await state('U0CAROL');
    expect(s.messages.find((m) => m.ts === parent.ts)?.reactions).toEqual([
      { name: '+1', emoji: '👍', count: 1, users: ['U0CAROL'], names: ['carol'], mine: true },
    ]);
    await post('/api/reaction', { user: 'U0CAROL', channel: CH, ts: parent.ts, name: '+1', add: false });
    await until('unreaction event', async () => (await state()).messages.some((m) => m.text === 'unreaction +1 by U0CAROL'));
    expect((await state()).messages.find((m) => m.ts === parent.ts)?.reactions).toEqual([]);
  });

  it('posts thread replies as the person, with @mentions, and delivers the message event', async () => {
    const parent = (await state()).messages.find((m) => m.text.startsWith('brief:'))!;
    await post('/api/message', { user: 'U0BOB', channel: CH, threadTs: parent.ts, text: 'warmer colours @adcreative' });
    const s = await until('the echo', async () => {
      const st = await state();
      return st.messages.some((m) => m.text === `heard: warmer colours <@${slack.botUserId}>`) && st;
    });
    const mine = s.messages.find((m) => m.user === 'U0BOB' && m.threadTs === parent.ts)!;
    expect(mine.html).toContain('@adcreative');
    expect(mine.bot).toBe(false);
  });

  it('shows a modal on the page it was opened from only: a reload or another window of that person does not bring it back', async () => {
    await post('/api/message', { user: 'U0ALICE', channel: CH, text: '/adcreative modal', session: 'page-1' });
    const s = await until('the modal', async () => (await state('U0ALICE', 'page-1')).view ?? undefined);
    // The page reloaded (a new session), or a second window: no modal.
    expect((await state('U0ALICE', 'page-2')).view).toBeNull();
    // The page that opened it still has it, until it is closed there.
    expect((await state('U0ALICE', 'page-1')).view?.id).toBe(s.id);
    await post('/api/view-close', { user: 'U0ALICE', viewId: s.id, session: 'page-1' });
    expect((await state('U0ALICE', 'page-1')).view).toBeNull();
  });

  it('opens a modal for its user only, shows validation errors, and closes it on success with uploaded files', async () => {
    await post('/api/message', { user: 'U0ALICE', channel: CH, text: '/adcreative modal' });
    const s = await until('the modal', async () => (await state('U0ALICE')).view ?? undefined);
    expect(s.html).toContain('New brief');
    expect((await state('U0BOB')).view).toBeNull();
    const bad = await post('/api/view-submit', {
      user: 'U0ALICE',
      viewId: s.id,
      values: { product: { v: { type: 'plain_text_input', value: null } } },
    });
    expect(bad.json).toEqual({ ok: true, errors: { product: 'Say what the product is.' } });
    expect((await state('U0ALICE')).view?.id).toBe(s.id);
    const png = Buffer.from(tinyPng(2, 2, [9, 9, 9])).toString('base64');
    const good = await post('/api/view-submit', {
      user: 'U0ALICE',
      viewId: s.id,
      values: {
        product: { v: { type: 'plain_text_input', value: 'Sunscreen' } },
        ref: { v: { type: 'file_input', upload: [{ name: 'ref.png', mimetype: 'image/png', data: png }] } },
      },
    });
    expect(good.json).toEqual({ ok: true });
    expect((await state('U0ALICE')).view).toBeNull();
    await until('the modal brief', async () =>
      (await state()).messages.some((m) => m.text === 'modal brief Sunscreen by U0ALICE with 1 file(s)'),
    );
    const other = await post('/api/view-submit', { user: 'U0BOB', viewId: s.id, values: {} });
    expect(other.status).toBe(404);
  });

  it('posts attached images as files the app hears about, and shows them', async () => {
    const png = Buffer.from(tinyPng(3, 3, [255, 0, 0])).toString('base64');
    const r = await post('/api/message', { user: 'U0CAROL', channel: CH, text: 'our best ad', files: [{ name: 'best.png', data: png }] });
    expect(r.json.ok).toBe(true);
    const m = (await state('U0CAROL')).messages.find((x) => x.ts === r.json.ts)!;
    expect(m.files).toHaveLength(1);
    expect(m.files[0]).toMatchObject({ name: 'best.png', mimetype: 'image/png' });
    expect((await fetch(`${page.url}${m.files[0].url}`)).headers.get('content-type')).toBe('image/png');
    await until('the message event', async () => (await state()).messages.some((x) => x.text === 'heard: our best ad'));
    await post('/api/shortcut', { user: 'U0CAROL', channel: CH, ts: m.ts, callbackId: 'add_to_library' });
    await until('the shortcut answer', async () =>
      (await state('U0CAROL')).messages.some((x) => x.ephemeral && x.text === 'added 1 image(s)'),
    );
    expect((await post('/api/message', { user: 'U0CAROL', channel: CH, files: [{ name: 'x.png', data: '' }] })).json.error).toMatch(
      /x.png is empty/,
    );
  });

  it("opens the app's Home for the person who asks, with permalinks into the page", async () => {
    expect((await state('U0BOB')).home).toBeNull();
    expect((await post('/api/home', { user: 'U0BOB' })).json).toEqual({ ok: true });
    const home = await until('the home view', async () => (await state('U0BOB')).home ?? undefined);
    expect(home.html).toContain('Hi <span class="bk-mention" data-user="U0BOB">@bob</span>');
    const first = slack.channelMessages(CH)[0];
    expect(home.html).toContain(`href="/?channel=${CH}&amp;thread=${first.ts}"`);
    expect(home.html).not.toContain('target="_blank"');
    expect((await state('U0CAROL')).home).toBeNull();
  });

  it('delivers message shortcuts', async () => {
    const parent = (await state()).messages.find((m) => m.text.startsWith('brief:'))!;
    const r = await post('/api/shortcut', { user: 'U0ALICE', channel: CH, ts: parent.ts, callbackId: 'add_to_library' });
    expect(r.json).toEqual({ ok: true });
    expect((await post('/api/shortcut', { user: 'U0ALICE', channel: CH, ts: parent.ts, callbackId: 'nope' })).status).toBe(400);
  });

  it('streams a change event when the workspace changes', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${page.url}/api/events`, { signal: ctrl.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    await reader.read(); // retry line
    await post('/api/message', { user: 'U0CAROL', channel: CH, text: 'hello' });
    let got = '';
    while (!got.includes('event: change')) got += new TextDecoder().decode((await reader.read()).value);
    expect(got).toContain('event: change');
    ctrl.abort();
  });

  it('refuses bad requests with a message', async () => {
    expect((await post('/api/message', { user: 'U0NOBODY', channel: CH, text: 'x' })).json.error).toMatch(/no person with id U0NOBODY/);
    expect((await post('/api/message', { user: 'U0BOB', channel: CH, text: '  ' })).json.error).toMatch(/type a message/);
    slack.addChannel({ id: 'G0PRIVATE', name: 'private', isPrivate: true, members: ['U0ALICE'] });
    expect((await post('/api/message', { user: 'U0BOB', channel: 'G0PRIVATE', text: 'x' })).status).toBe(403);
    expect((await state('U0BOB')).channels.some((c) => c.id === 'G0PRIVATE')).toBe(false);
    expect((await state('U0ALICE')).channels.some((c) => c.id === 'G0PRIVATE')).toBe(true);
    const form = await fetch(`${page.url}/api/message`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(form.status).toBe(415);
    const rebinding = await new Promise<number>((resolve, reject) => {
      const req = request(`${page.url}/api/state`, { headers: { host: 'evil.example:3000' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebinding).toBe(403);
  });
});
