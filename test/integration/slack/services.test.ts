/**
 * The services as `npm start` wires them — real LanceDB library, real generator (offline
 * studio on sharp), real SQLite — behind the real Bolt receiver. Only the encoder is a
 * deterministic stand-in (no CLIP weights here), marked synthetic as the real tiny model is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { silentLogger } from '../../../src/log.ts';
import { Deliverer } from '../../../src/sandbox/deliver.ts';
import { type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { createServices, type Services } from '../../../src/services.ts';
import type { SlackBot } from '../../../src/slack/app.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { tallyMessage, variantMessages } from './harness.ts';

const C = 'C0GENERAL';
let dir: string;
let slack: FakeSlack;
let services: Services;
let bot: SlackBot;
let d: Deliverer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'services-it-'));
  slack = await startFakeSlack();
  const cfg = loadConfig({
    DATA_DIR: dir,
    BRANDS_DIR: 'brands',
    IMAGE_PROVIDER: 'studio',
    DEFAULT_VARIANTS: '2',
    TALLY_UPDATE_MS: '10',
    LOG_LEVEL: 'error',
  });
  services = await createServices(cfg, { encoder: fakeEncoder({ dims: 512, model: 'test/hash-encoder' }), logger: silentLogger });
  bot = await services.createBot({
    mode: 'http',
    botToken: 'xoxb-services',
    signingSecret: 's',
    slackApiUrl: slack.url,
    port: 0,
    host: '127.0.0.1',
    retries: 0,
  });
  await bot.start();
  d = new Deliverer({ url: bot.eventsUrl, signingSecret: 's', slack });
});

afterAll(async () => {
  await bot?.stop(5000);
  await services?.close();
  await slack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('services wired as npm start wires them', () => {
  it('knows the shipped brand kits and asks Slack who it is', () => {
    expect(services.brands()).toEqual(expect.arrayContaining(['acme', 'northwind', 'lumen', 'voltride', 'fernleaf']));
    expect(bot.botUserId).toBe(slack.botUserId);
    expect(slack.callsTo('auth.test')).toHaveLength(1);
  });

  it('runs a round with the studio generator and stores the winner in the real library', async () => {
    const res = await d.slashCommand({
      user: 'U0ALICE',
      channel: C,
      text: 'Trail running shoes for rainy mornings --brand voltride --formats square,landscape',
    });
    expect(res.status).toBe(200);
    const parent = await slack.waitFor(() => slack.channelMessages(C).at(-1), 5000, 'parent');
    await slack.waitFor(() => tallyMessage(slack, C, parent.ts), 60_000, 'tally');
    const thread = slack.thread(C, parent.ts);
    expect(thread.some((m) => JSON.stringify(m.blocks).includes('library is empty'))).toBe(true);
    expect(thread.some((m) => m.text.includes('offline drafts'))).toBe(true);
    expect(thread.some((m) => m.text.includes('synthetic model'))).toBe(true);
    const variants = variantMessages(slack, C, parent.ts).map((v) => v.message);
    expect(variants).toHaveLength(2);
    const img = (variants[0].blocks as { type: string; slack_file?: { id: string } }[]).find((b) => b.type === 'image');
    const png = slack.fileBytes(img?.slack_file?.id as string);
    expect(png?.readUInt32BE(16)).toBe(1080); // the square preview is 1080 px wide
    const vote = (variants[1].blocks as { type: string; elements?: { action_id: string; value?: string }[] }[]).find(
      (b) => b.type === 'actions',
    )?.elements?.[0].value;
    await d.blockAction({ user: 'U0BOB', channel: C, message: variants[1], action: { action_id: 'vote', value: vote } });
    const round = await services.store.latestRoundInThread(C, parent.ts);
    await slack.waitFor(() => JSON.stringify(tallyMessage(slack, C, parent.ts)?.blocks).includes('<@U0BOB>'), 5000, 'vote shown');
    const tally = tallyMessage(slack, C, parent.ts);
    await d.blockAction({ user: 'U0ALICE', channel: C, message: tally as never, action: { action_id: 'close_round', value: round?.id } });
    await slack.waitFor(() => slack.thread(C, parent.ts).find((m) => m.text.includes('now in the creative library')), 30_000, 'stored');
    const lib = await services.library();
    expect(await lib.count()).toBe(1);
    const closed = await services.store.getRound(round?.id as string);
    const stored = await lib.get(closed?.winnerCreativeId as string);
    expect(stored?.source).toBe(`winner:${round?.id}`);
    expect(JSON.parse(stored?.provenance ?? '{}')).toMatchObject({ round: 1, variant: 'B', votes: { A: 0, B: 1 } });
    // The next brief finds it as inspiration.
    await d.slashCommand({ user: 'U0CAROL', channel: C, text: 'Trail shoes again --brand voltride --variants 1' });
    const p2 = await slack.waitFor(() => slack.channelMessages(C).find((m) => m.text.includes('Trail shoes again')), 5000, 'parent 2');
    const insp = await slack.waitFor(() => slack.thread(C, p2.ts).find((m) => m.text === 'Inspiration for round 1'), 30_000, 'inspiration');
    expect(JSON.stringify(insp.blocks)).toContain(stored?.headline.slice(0, 10) ?? 'x');
    await slack.waitFor(() => tallyMessage(slack, C, p2.ts), 60_000, 'tally 2');
  });
});
