import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Deliverer, signSlackRequest } from '../../../src/sandbox/deliver.ts';
import { INSTALLED_BOT_SCOPES, METHOD_SCOPES } from '../../../src/sandbox/slack-rules.ts';
import { type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { tinyPng } from '../../helpers/png.ts';

let slack: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  slack = await startFakeSlack();
  client = new WebClient('xoxb-test', { slackApiUrl: slack.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
});
afterEach(async () => {
  await slack.close();
});

describe('fake Slack Web API', () => {
  it('answers auth.test and refuses bad tokens', async () => {
    const r = await client.auth.test();
    expect(r.user_id).toBe(slack.botUserId);
    const bad = new WebClient('not-a-token', { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
    await expect(bad.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });

  it('posts to a user id in the app DM with them, as Slack does', async () => {
    const r = await client.chat.postMessage({ channel: 'U0BOB', text: 'The reference image could not be used' });
    const dm = slack.dmChannel('U0BOB');
    expect(r.channel).toBe(dm.id);
    expect(dm.members).toEqual(['U0BOB', slack.botUserId]);
    expect(slack.channelMessages(dm.id).map((m) => m.text)).toEqual(['The reference image could not be used']);
    await expect(client.chat.postMessage({ channel: 'U0NOBODY', text: 'x' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
  });

  it('posts, threads, updates and validates blocks like Slack', async () => {
    const parent = await client.chat.postMessage({
      channel: 'C0GENERAL',
      text: 'hi',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }],
    });
    expect(parent.ts).toBeTruthy();
    expect(slack.callsTo('chat.postMessage')[0].args.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }]);
    await client.chat.postMessage({ channel: 'C0GENERAL', text: 'reply', thread_ts: parent.ts });
    expect(slack.thread('C0GENERAL', parent.ts as string).map((m) => m.text)).toEqual(['hi', 'reply']);
    await client.chat.update({ channel: 'C0GENERAL', ts: parent.ts as string, text: 'edited' });
    expect(slack.message('C0GENERAL', parent.ts as string)?.text).toBe('edited');
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    await expect(client.chat.postMessage({ channel: 'C0GENERAL', text: 'x', blocks: tooMany })).rejects.toMatchObject({
      data: { error: 'invalid_blocks' },
    });
    // Section fields (a variant's locales side by side): at most 10, each at most 2000 characters.
    const field = (t: string) => ({ type: 'mrkdwn', text: t });
    const withFields = (fields: unknown[]) => [{ type: 'section', fields }];
    expect((await client.chat.postMessage({ channel: 'C0GENERAL', text: 'x', blocks: withFields([field('de'), field('fr')]) })).ok).toBe(
      true,
    );
    for (const bad of [Array.from({ length: 11 }, () => field('x')), [field('x'.repeat(2001))]])
      await expect(client.chat.postMessage({ channel: 'C0GENERAL', text: 'x', blocks: withFields(bad) })).rejects.toMatchObject({
        data: { error: 'invalid_blocks' },
      });
    await expect(client.chat.postMessage({ channel: 'C0GENERAL', text: 'x', blocks: [{ type: 'section' }] })).rejects.toMatchObject({
      data: { error: 'invalid_blocks' },
    });
    await expect(client.chat.postMessage({ channel: 'C0RANDOM', text: 'x' })).rejects.toMatchObject({ data: { error: 'not_in_channel' } });
    await expect(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    await expect(client.chat.postMessage({ channel: 'G0SECRET', text: 'x' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
  });

  it('does the two-step upload; a file is shown in blocks only once processed and shared, as png, jpg or gif', async () => {
    const png = tinyPng(3, 2, [200, 10, 10]);
    // @slack/web-api sends alt_text; the method's documented argument is alt_txt.
    await expect(client.files.uploadV2({ file: Buffer.from(png), filename: 'a.png', alt_text: 'red' })).rejects.toMatchObject({
      data: { error: 'invalid_arguments' },
    });
    // Without a channel the upload stays private: a block may not show it.
    const priv = (await client.files.uploadV2({ file: Buffer.from(png), filename: 'a.png' })) as unknown as {
      files: { files: { id: string }[] }[];
    };
    const privateId = priv.files[0].files[0].id;
    expect(slack.fileBytes(privateId)?.equals(Buffer.from(png))).toBe(true);
    await new Promise((r) => setTimeout(r, slack.processingMs + 20));
    await expect(
      client.chat.postMessage({
        channel: 'C0GENERAL',
        text: 'img',
        blocks: [{ type: 'image', slack_file: { id: privateId }, alt_text: 'red' }],
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks', errors: [expect.stringMatching(/not shared/)] } });
    // Shared into a thread: processed asynchronously, so the share (and its message) comes a moment later.
    const parent = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'round' });
    const shared = (await client.files.uploadV2({
      file: Buffer.from(png),
      filename: 'b.png',
      channel_id: 'C0GENERAL',
      thread_ts: parent.ts as string,
    })) as unknown as { files: { files: { id: string }[] }[] };
    const id = shared.files[0].files[0].id;
    expect((await client.files.info({ file: id })).file?.shares).toEqual({});
    await expect(
      client.chat.postMessage({ channel: 'C0GENERAL', text: 'img', blocks: [{ type: 'image', slack_file: { id }, alt_text: 'red' }] }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks', errors: [expect.stringMatching(/still being processed/)] } });
    await slack.waitFor(() => slack.thread('C0GENERAL', parent.ts as string).find((m) => m.files.includes(id)), 2000, 'the share');
    const info = await client.files.info({ file: id });
    expect(info.file?.shares).toMatchObject({ public: { C0GENERAL: [{ thread_ts: parent.ts }] } });
    const posted = await client.chat.postMessage({
      channel: 'C0GENERAL',
      text: 'img',
      blocks: [{ type: 'image', slack_file: { id }, alt_text: 'red' }],
    });
    expect(posted.ok).toBe(true);
    await expect(
      client.chat.postMessage({
        channel: 'C0GENERAL',
        text: 'img',
        blocks: [{ type: 'image', slack_file: { id: 'F0MISSING' }, alt_text: 'x' }],
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
  });

  it('refuses image blocks of types Slack does not show (a WebP thumbnail)', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'round' });
    const webp = Buffer.from('RIFF\u0000\u0000\u0000\u0000WEBPVP8 ', 'latin1');
    const up = (await client.files.uploadV2({
      file: webp,
      filename: 'thumb.webp',
      channel_id: 'C0GENERAL',
      thread_ts: parent.ts as string,
    })) as unknown as { files: { files: { id: string }[] }[] };
    const id = up.files[0].files[0].id;
    await slack.waitFor(
      () => Object.keys(slack.files.get(id)?.shares ?? []).length > 0 && Date.now() >= (slack.files.get(id)?.readyAt ?? 0),
      10_000,
      'share',
    );
    await expect(
      client.chat.postMessage({
        channel: 'C0GENERAL',
        text: 'x',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x' }, accessory: { type: 'image', slack_file: { id }, alt_text: 'x' } }],
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks', errors: [expect.stringMatching(/png, jpg, jpeg and gif/)] } });
  });

  it('serves a file to the bot token only where the bot may see it; anyone else gets the sign-in page', async () => {
    const png = tinyPng(2, 2, [1, 2, 3]);
    const inChannel = slack.postAsUser({ user: 'U0BOB', channel: 'C0GENERAL', text: 'ad', files: [{ name: 'ad.png', bytes: png }] });
    const outside = slack.postAsUser({ user: 'U0BOB', channel: 'C0RANDOM', text: 'ad', files: [{ name: 'ad.png', bytes: png }] });
    const get = (id: string, token?: string) =>
      fetch(`${slack.baseUrl}/files/${id}/download/ad.png`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const ok = await get(inChannel.files[0], 'xoxb-test');
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await ok.arrayBuffer()).equals(Buffer.from(png))).toBe(true);
    for (const res of [await get(inChannel.files[0]), await get(outside.files[0], 'xoxb-test')]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toContain('Sign in');
    }
    // url_private_download goes through a redirect, as Slack's file host may.
    const info = slack.messageJson(inChannel).files as { url_private_download: string }[];
    const hop = await fetch(info[0].url_private_download, { redirect: 'manual', headers: { authorization: 'Bearer xoxb-test' } });
    expect(hop.status).toBe(302);
  });

  it('describes Slack Connect files in events only as stubs; files.info has the rest', async () => {
    const m = slack.postAsUser({
      user: 'U0BOB',
      channel: 'C0GENERAL',
      text: 'partner ad',
      files: [{ name: 'p.png', bytes: tinyPng(2, 2, [9, 9, 9]) }],
      connect: true,
    });
    expect(slack.messageJson(m).files).toEqual([
      { id: m.files[0], mode: 'file_access', file_access: 'check_file_info', created: 0, timestamp: 0, user: '' },
    ]);
    const info = await client.files.info({ file: m.files[0] });
    expect(info.file).toMatchObject({
      id: m.files[0],
      mimetype: 'image/png',
      url_private_download: expect.stringContaining('/files-pri/'),
    });
  });

  it('answers 429 with Retry-After past Tier 3 for chat.update and one message a second per channel', async () => {
    await slack.close();
    slack = await startFakeSlack({ limits: { updateBurst: 3, postBurst: 2 } });
    client = new WebClient('xoxb-test', { slackApiUrl: slack.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    const m = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'tally' });
    await client.chat.postMessage({ channel: 'C0GENERAL', text: 'two' });
    await expect(client.chat.postMessage({ channel: 'C0GENERAL', text: 'three' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 1,
    });
    // Another channel has its own pace; edits share one budget for the workspace.
    await client.chat.postMessage({ channel: 'U0BOB', text: 'dm' });
    for (let i = 0; i < 3; i++) await client.chat.update({ channel: 'C0GENERAL', ts: m.ts as string, text: `v${i}` });
    await expect(client.chat.update({ channel: 'C0GENERAL', ts: m.ts as string, text: 'v4' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 2,
    });
  });

  it('refuses an update that re-uses block_ids, and records mentions that notify people', async () => {
    const blocks = [{ type: 'section', block_id: 'status', text: { type: 'mrkdwn', text: 'hi <@U0BOB>' } }];
    const m = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'hi &lt;!channel&gt;', blocks });
    await expect(client.chat.update({ channel: 'C0GENERAL', ts: m.ts as string, text: 'x', blocks })).rejects.toMatchObject({
      data: { error: 'invalid_blocks' },
    });
    await client.chat.update({
      channel: 'C0GENERAL',
      ts: m.ts as string,
      text: '<!here> look',
      blocks: [{ ...blocks[0], block_id: 'status~2' }],
    });
    expect(slack.notifications.map((n) => [n.mention, n.in])).toEqual([
      ['@U0BOB', 'blocks'],
      ['!here', 'text'],
      ['@U0BOB', 'blocks'],
    ]);
  });

  it('keeps reactions, ephemerals, views and injected failures', async () => {
    const m = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'vote' });
    expect(slack.reactAsUser({ user: 'U0ALICE', channel: 'C0GENERAL', ts: m.ts as string, name: '+1' })).toBe(true);
    expect(slack.reactAsUser({ user: 'U0ALICE', channel: 'C0GENERAL', ts: m.ts as string, name: '+1' })).toBe(false);
    await client.reactions.add({ channel: 'C0GENERAL', timestamp: m.ts as string, name: 'eyes' });
    await expect(client.reactions.add({ channel: 'C0GENERAL', timestamp: m.ts as string, name: 'eyes' })).rejects.toMatchObject({
      data: { error: 'already_reacted' },
    });
    expect(slack.message('C0GENERAL', m.ts as string)?.reactions.map((r) => r.name)).toEqual(['+1', 'eyes']);
    await client.chat.postEphemeral({ channel: 'C0GENERAL', user: 'U0BOB', text: 'only bob' });
    expect(slack.ephemeralsFor('U0BOB').map((e) => e.text)).toEqual(['only bob']);
    const trigger = slack.triggerId('U0BOB');
    const v = await client.views.open({
      trigger_id: trigger,
      view: { type: 'modal', title: { type: 'plain_text', text: 'T' }, blocks: [] },
    });
    await expect(
      client.views.open({ trigger_id: trigger, view: { type: 'modal', title: { type: 'plain_text', text: 'T' }, blocks: [] } }),
    ).rejects.toMatchObject({
      data: { error: 'expired_trigger_id' },
    });
    await client.views.update({
      view_id: v.view?.id as string,
      view: { type: 'modal', title: { type: 'plain_text', text: 'U' }, blocks: [] },
    });
    await client.views.publish({ user_id: 'U0BOB', view: { type: 'home', blocks: [] } });
    expect(slack.homes.get('U0BOB')).toBeTruthy();
    const info = await client.users.info({ user: 'U0ADMIN' });
    expect(info.user?.is_admin).toBe(true);
    slack.failNext('chat.update', 'ratelimited', { retryAfter: 1 });
    await expect(client.chat.update({ channel: 'C0GENERAL', ts: m.ts as string, text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
    });
    slack.failNext('chat.postMessage', 'fatal_error');
    await expect(client.chat.postMessage({ channel: 'C0GENERAL', text: 'x' })).rejects.toMatchObject({ data: { error: 'fatal_error' } });
    expect(slack.calls.at(-1)).toMatchObject({ method: 'chat.postMessage', ok: false, error: 'fatal_error' });
  });
});

describe('scopes', () => {
  it('grants exactly the bot scopes manifest.yml asks for', () => {
    const manifest = readFileSync(new URL('../../../manifest.yml', import.meta.url), 'utf8');
    const bot = /bot:\n((?:\s+- .+\n)+)/.exec(manifest)?.[1] ?? '';
    const asked = bot
      .split('\n')
      .map((l) => l.replace(/^\s*- /, '').trim())
      .filter(Boolean);
    expect([...INSTALLED_BOT_SCOPES].sort()).toEqual(asked.sort());
    expect([...slack.scopes].sort()).toEqual(asked.sort());
  });

  it('names the scope of every method it answers', () => {
    const handled = Object.keys((slack as unknown as { handlers: Record<string, unknown> }).handlers);
    expect(handled.filter((m) => !(m in METHOD_SCOPES))).toEqual([]);
  });

  it('refuses a method whose scope the app was not granted, as missing_scope with what was needed', async () => {
    // conversations.info needs channels:read (public) or groups:read (private), which the app does not ask for.
    await expect(client.conversations.info({ channel: 'C0GENERAL' })).rejects.toMatchObject({
      data: { error: 'missing_scope', needed: 'channels:read' },
    });
    const narrow = await startFakeSlack({ scopes: ['chat:write'] });
    try {
      const c = new WebClient('xoxb-test', { slackApiUrl: narrow.url, retryConfig: { retries: 0 } });
      await expect(c.users.info({ user: 'U0BOB' })).rejects.toMatchObject({ data: { error: 'missing_scope', needed: 'users:read' } });
      await expect(c.reactions.add({ channel: 'C0GENERAL', timestamp: '1.1', name: 'eyes' })).rejects.toMatchObject({
        data: { error: 'missing_scope', needed: 'reactions:write' },
      });
      expect((await c.chat.postMessage({ channel: 'C0GENERAL', text: 'hi' })).ok).toBe(true);
    } finally {
      await narrow.close();
    }
    const wide = await startFakeSlack({ scopes: [...INSTALLED_BOT_SCOPES, 'channels:read'] });
    try {
      const c = new WebClient('xoxb-test', { slackApiUrl: wide.url, retryConfig: { retries: 0 } });
      expect((await c.conversations.info({ channel: 'C0GENERAL' })).channel?.id).toBe('C0GENERAL');
    } finally {
      await wide.close();
    }
  });
});

describe('deliver', () => {
  let server: Server;
  let got: { headers: Record<string, string | string[] | undefined>; body: string }[];
  beforeEach(async () => {
    got = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.end('');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('signs every shape with v0 HMAC and sends Slack bodies', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    const d = new Deliverer({ url, signingSecret: 's3cret', slack });
    await d.slashCommand({ user: 'U0ALICE', channel: 'C0GENERAL', text: 'Fish & chips <3 for <@U0BOB> --variants 2' });
    const m = slack.postAsUser({ user: 'U0BOB', channel: 'C0GENERAL', text: 'warmer & <brighter>' });
    await d.messageEvent(m, { retryNum: 1, retryReason: 'http_timeout', eventId: 'Ev1' });
    await d.blockAction({ user: 'U0BOB', channel: 'C0GENERAL', message: m, action: { action_id: 'vote', value: 'x' } });
    for (const g of got) {
      const ts = Number(g.headers['x-slack-request-timestamp']);
      expect(g.headers['x-slack-signature']).toBe(signSlackRequest('s3cret', ts, g.body));
    }
    const form = new URLSearchParams(got[0].body);
    expect(form.get('command')).toBe('/adcreative');
    // As Slack sends what a person typed: entities for &, < and >; the client's markup stays markup.
    expect(form.get('text')).toBe('Fish &amp; chips &lt;3 for <@U0BOB> --variants 2');
    expect(form.get('response_url')).toContain(slack.baseUrl);
    const ev = JSON.parse(got[1].body);
    expect(ev).toMatchObject({
      type: 'event_callback',
      event_id: 'Ev1',
      event: { type: 'message', text: 'warmer &amp; &lt;brighter&gt;', user: 'U0BOB' },
    });
    expect(got[1].headers['x-slack-retry-num']).toBe('1');
    const payload = JSON.parse(new URLSearchParams(got[2].body).get('payload') ?? '{}');
    expect(payload).toMatchObject({
      type: 'block_actions',
      actions: [{ action_id: 'vote', value: 'x' }],
      container: { channel_id: 'C0GENERAL' },
    });
    // A reaction is reported by its canonical name, with the skin tone as a suffix.
    await d.reactionAdded({ user: 'U0BOB', channel: 'C0GENERAL', ts: m.ts, reaction: 'thumbsup::skin-tone-3' });
    expect(JSON.parse(got[3].body).event.reaction).toBe('+1::skin-tone-3');
  });
});
