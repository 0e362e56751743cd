import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { silentLogger } from '../../../src/log.ts';
import { type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { createSlackApp } from '../../../src/slack/app.ts';
import { pickMode } from '../../../src/start.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { harness } from './harness.ts';

let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack({ tokens: ['xoxb-good'] });
});
afterAll(async () => {
  await slack.close();
});

describe('start-up', () => {
  it('picks the mode and names the two valid combinations otherwise, without printing tokens', () => {
    expect(pickMode({})).toBe('sandbox');
    expect(pickMode({ slackBotToken: 'xoxb-1', slackAppToken: 'xapp-1', slackSigningSecret: 's' })).toBe('socket');
    expect(pickMode({ slackBotToken: 'xoxb-1', slackSigningSecret: 's' })).toBe('http');
    for (const partial of [
      { slackBotToken: 'xoxb-secret-value' },
      { slackAppToken: 'xapp-secret-value' },
      { slackSigningSecret: 'secret-value' },
    ]) {
      try {
        pickMode(partial);
        expect.unreachable();
      } catch (e) {
        const msg = (e as Error).message;
        expect(msg).toContain('SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode)');
        expect(msg).toContain('SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (HTTP mode)');
        expect(msg).not.toContain('secret-value');
      }
    }
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxp-user-token-oops' })).toThrow(
      /SLACK_BOT_TOKEN must be a token starting with "xoxb-"; got a value of \d+ characters/,
    );
  });

  it('a token Slack refuses stops the start with a clear message, not the token', async () => {
    const h = await harness();
    const base = {
      mode: 'http' as const,
      signingSecret: 's',
      slackApiUrl: slack.url,
      port: 0,
      retries: 0,
      rounds: h.rounds,
      generator: h.gen,
      library: async () => h.lib,
      assets: { save: async () => {}, load: async () => undefined, remove: async () => {} },
      encoder: fakeEncoder(),
      settings: {
        voteReaction: '+1',
        tallyUpdateMs: 10,
        adminUserIds: [],
        channelAllowlist: [],
        imageMaxBytes: 1,
        imageMaxPixels: 1,
        inspirationCount: 1,
        maxConcurrentRounds: 1,
      },
      defaults: () => ({ variants: 1, maxVariants: 1, formats: ['square' as const], channel: 'meta' as const, maxChars: 10, brands: [] }),
      synthetic: false,
      logger: silentLogger,
    };
    await expect(createSlackApp({ ...base, botToken: 'xoxb-wrong-secret' })).rejects.toThrow(
      /Slack refused SLACK_BOT_TOKEN \(invalid_auth\)/,
    );
    await expect(createSlackApp({ ...base, botToken: 'xoxb-wrong-secret' })).rejects.not.toThrow(/wrong-secret/);
    await expect(createSlackApp({ ...base, botToken: 'xoxb-good', signingSecret: undefined })).rejects.toThrow(
      /HTTP mode needs SLACK_SIGNING_SECRET/,
    );
    const bot = await createSlackApp({ ...base, botToken: 'xoxb-good', host: '127.0.0.1' });
    expect(bot.botUserId).toBe(slack.botUserId);
    await bot.start();
    const ready = await fetch(bot.eventsUrl.replace('/slack/events', '/readyz'));
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(bot.eventsUrl.replace('/slack/events', '/metrics'))).text();
    expect(metrics).toContain('adcreative_inflight_work 0');
    await bot.stop(100);
    await h.close();
  });
});
