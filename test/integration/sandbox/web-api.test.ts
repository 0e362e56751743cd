import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Deliverer, signSlackRequest } from '../../../src/sandbox/deliver.ts';
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
    await expect(client.chat.postMessage({ channel: 'C0RANDOM', text: 'x' })).rejects.toMatchObject({ data: { error: 'not_in_channel' } });
    await expect(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    await expect(client.chat.postMessage({ channel: 'G0SECRET', text: 'x' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
  });

  it('does files upload v2 in two steps and serves the bytes back', async () => {
    const png = tinyPng(3, 2, [200, 10, 10]);
    const r = (await client.files.uploadV2({ file: Buffer.from(png), filename: 'a.png', alt_text: 'red' })) as unknown as {
      files: { files: { id: string }[] }[];
    };
    const id = r.files[0].files[0].id;
    expect(slack.fileBytes(id)?.equals(Buffer.from(png))).toBe(true);
    expect(slack.callsTo('files.getUploadURLExternal')).toHaveLength(1);
    expect(slack.callsTo('files.completeUploadExternal')).toHaveLength(1);
    const posted = await client.chat.postMessage({
      channel: 'C0GENERAL',
      text: 'img',
      blocks: [{ type: 'image', slack_file: { id }, alt_text: 'red' }],
    });
    expect(posted.ok).toBe(true);
    const res = await fetch(`${slack.baseUrl}/files/${id}/a.png`);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(png))).toBe(true);
    await expect(
      client.chat.postMessage({
        channel: 'C0GENERAL',
        text: 'img',
        blocks: [{ type: 'image', slack_file: { id: 'F0MISSING' }, alt_text: 'x' }],
      }),
    ).rejects.toMatchObject({
      data: { error: 'invalid_blocks' },
    });
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
    await d.slashCommand({ user: 'U0ALICE', channel: 'C0GENERAL', text: 'coffee ad --variants 2' });
    const m = slack.postAsUser({ user: 'U0BOB', channel: 'C0GENERAL', text: 'warmer' });
    await d.messageEvent(m, { retryNum: 1, retryReason: 'http_timeout', eventId: 'Ev1' });
    await d.blockAction({ user: 'U0BOB', channel: 'C0GENERAL', message: m, action: { action_id: 'vote', value: 'x' } });
    for (const g of got) {
      const ts = Number(g.headers['x-slack-request-timestamp']);
      expect(g.headers['x-slack-signature']).toBe(signSlackRequest('s3cret', ts, g.body));
    }
    const form = new URLSearchParams(got[0].body);
    expect(form.get('command')).toBe('/adcreative');
    expect(form.get('text')).toBe('coffee ad --variants 2');
    expect(form.get('response_url')).toContain(slack.baseUrl);
    const ev = JSON.parse(got[1].body);
    expect(ev).toMatchObject({ type: 'event_callback', event_id: 'Ev1', event: { type: 'message', text: 'warmer', user: 'U0BOB' } });
    expect(got[1].headers['x-slack-retry-num']).toBe('1');
    const payload = JSON.parse(new URLSearchParams(got[2].body).get('payload') ?? '{}');
    expect(payload).toMatchObject({
      type: 'block_actions',
      actions: [{ action_id: 'vote', value: 'x' }],
      container: { channel_id: 'C0GENERAL' },
    });
  });
});
