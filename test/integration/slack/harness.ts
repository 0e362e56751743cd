/**
 * A real Bolt receiver wired to the real round domain (SQLite in a temp dir), the fake Slack Web
 * API, and fake generator/library. HTTP mode (default): requests arrive signed through deliver.ts.
 * Socket Mode: the same payloads arrive as envelopes over a WebSocket (helpers/fake-socket-mode.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, silentLogger } from '../../../src/log.ts';
import { createFileAssetStore } from '../../../src/rounds/assets.ts';
import type { BriefDefaults } from '../../../src/rounds/brief.ts';
import { RoundService, type RoundSettings } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import { Deliverer } from '../../../src/sandbox/deliver.ts';
import type { SLACK_LIMITS } from '../../../src/sandbox/slack-rules.ts';
import { type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { createSlackApp, type SlackBot, type SlackSettings } from '../../../src/slack/app.ts';
import { type FakeEncoder, fakeEncoder } from '../../helpers/fake-encoder.ts';
import { FakeSocketMode, SocketModeDeliverer } from '../../helpers/fake-socket-mode.ts';
import { type FakeGenerator, type FakeLibrary, fakeGenerator, fakeLibrary } from '../../helpers/fakes.ts';

export const SECRET = 'test-signing-secret';
export const TOKEN = 'xoxb-test-token';
export const APP_TOKEN = 'xapp-1-test-app-token';

export interface Harness {
  dir: string;
  slack: FakeSlack;
  bot: SlackBot;
  store: SqliteRoundStore;
  rounds: RoundService;
  gen: FakeGenerator;
  lib: FakeLibrary;
  /** Counts the brief embeddings the bot makes. */
  encoder: FakeEncoder;
  d: Deliverer;
  /** Socket Mode only: the fake gateway. */
  socket?: FakeSocketMode;
  /** Stops the bot (and keeps the fake Slack and data dir) so a new one can start on the same state. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export const defaults: BriefDefaults = {
  variants: 3,
  maxVariants: 6,
  formats: ['square', 'story'],
  channel: 'meta',
  maxChars: 500,
  brands: ['acme', 'northwind'],
};

export async function harness(
  opts: {
    settings?: Partial<RoundSettings>;
    lib?: FakeLibrary;
    tallyUpdateMs?: number;
    passBotId?: boolean;
    mode?: 'http' | 'socket';
    /** Where the bot logs (default: nowhere). */
    logger?: Logger;
    /** IMAGE_MAX_PIXELS for images taken from Slack. */
    imageMaxPixels?: number;
    /**
     * Slack's pace: 'slack' keeps the stand-in's real limits and processing delay and the bot's
     * defaults; the default raises both sides' limits so tests about other things go quickly; an
     * object sets both sides (the stand-in's limits, and the bot's budgets).
     */
    pace?: 'fast' | 'slack' | { slack: Partial<typeof SLACK_LIMITS>; bot: Partial<SlackSettings>; processingMs?: number };
    /** The bot's Slack settings beyond the pace (an allow-list, …). */
    slackSettings?: Partial<SlackSettings>;
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'slack-it-'));
  // The stand-in keeps Slack's rules; only its pace is raised here unless a test is about the pace.
  const pace =
    opts.pace === 'slack'
      ? { slack: {}, bot: {} }
      : typeof opts.pace === 'object'
        ? opts.pace
        : {
            slack: { updatesPerMinute: 6000, updateBurst: 200, postsPerSecond: 100, postBurst: 100 },
            bot: { updatesPerMinute: 3000, updateBurst: 100, postsPerSecond: 50, postBurst: 50 },
            processingMs: 40,
          };
  const slack = await startFakeSlack({ tokens: [TOKEN, APP_TOKEN], limits: pace.slack, processingMs: pace.processingMs });
  const socket = opts.mode === 'socket' ? await FakeSocketMode.start() : undefined;
  if (socket) slack.socketModeUrl = socket.url;
  const gen = fakeGenerator();
  const lib = opts.lib ?? fakeLibrary([{ headline: 'Past winner', brand: 'acme' }]);
  const settings: RoundSettings = {
    ratePerHour: 50,
    dailyImageCap: 10_000,
    monthlyUsdCap: 0,
    autoCloseMinutes: 60,
    reminderMinutes: 10,
    doubleClickMs: 0,
    pricing: { estimate: (n: number) => ({ usd: 0.002 + 0.04 * n, textCalls: 1, imageCalls: n }) },
    ...opts.settings,
  };
  const h = { dir, slack, gen, lib, socket, encoder: fakeEncoder() } as Harness;
  const boot = async () => {
    h.store = await openSqliteStore(join(dir, 'state.sqlite'));
    h.rounds = new RoundService({ store: h.store, settings });
    h.bot = await createSlackApp({
      ...(socket ? { mode: 'socket', appToken: APP_TOKEN } : { mode: 'http', signingSecret: SECRET }),
      botToken: TOKEN,
      slackApiUrl: slack.url,
      ...(opts.passBotId === false ? {} : { botUserId: slack.botUserId, botId: slack.botId }),
      port: 0,
      host: '127.0.0.1',
      retries: 0,
      rounds: h.rounds,
      generator: gen,
      library: async () => lib,
      assets: createFileAssetStore(join(dir, 'variants')),
      encoder: h.encoder,
      settings: {
        voteReaction: '+1',
        tallyUpdateMs: opts.tallyUpdateMs ?? 20,
        adminUserIds: [],
        channelAllowlist: [],
        imageMaxBytes: 5 * 1024 * 1024,
        imageMaxPixels: opts.imageMaxPixels ?? 40_000_000,
        inspirationCount: 3,
        maxConcurrentRounds: 2,
        ...pace.bot,
        ...opts.slackSettings,
      },
      defaults: () => defaults,
      synthetic: true,
      logger: opts.logger ?? silentLogger,
      timerIntervalMs: 3_600_000,
    });
    await h.bot.start();
    h.d = socket ? new SocketModeDeliverer(socket, { slack }) : new Deliverer({ url: h.bot.eventsUrl, signingSecret: SECRET, slack });
  };
  await boot();
  h.restart = async () => {
    await h.bot.stop(5000);
    await h.store.close();
    await boot();
  };
  h.close = async () => {
    await h.bot.stop(5000);
    await h.store.close();
    await socket?.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return h;
}

/** The variant messages of a thread, by label. */
export function variantMessages(slack: FakeSlack, channel: string, threadTs: string, round = 1) {
  return slack
    .thread(channel, threadTs)
    .filter((m) => m.text.startsWith('Variant ') && JSON.stringify(m.blocks).includes(`round ${round}\\n`))
    .map((m) => ({ label: m.text.slice(8, 9), message: m }));
}

export function tallyMessage(slack: FakeSlack, channel: string, threadTs: string, round = 1) {
  return slack.thread(channel, threadTs).find((m) => m.text.startsWith(`Tally for round ${round}:`));
}
