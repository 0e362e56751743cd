/**
 * Operations on the bot as `npm start` wires it (real services: in-process CLIP on the tiny
 * synthetic model, LanceDB, studio generator, SQLite, Bolt HTTP receiver) against the fake
 * Slack: /healthz, /readyz, /metrics after a round; a CLIP server that is down turns into a
 * clear Slack message; secrets never reach the logs, from a failing request or a failing start.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeModel } from '../../../src/clip/synth/index.ts';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { createMetrics } from '../../../src/ops/metrics.ts';
import { Deliverer } from '../../../src/sandbox/deliver.ts';
import { startPageServer } from '../../../src/sandbox/server.ts';
import { type FakeMessage, type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { type BotOptions, createServices, type Services } from '../../../src/services.ts';
import type { SlackBot } from '../../../src/slack/app.ts';
import { FakeSocketMode } from '../../helpers/fake-socket-mode.ts';
import { freePort } from '../../helpers/postgres.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const C = 'C0GENERAL';
const TOKEN = 'xoxb-ops-test-0123456789-secret';
const SIGNING = 'ops-signing-secret-9f8e7d6c5b';

let dir: string;
let modelDir: string;
let slack: FakeSlack;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ops-it-'));
  modelDir = join(dir, 'clip-tiny');
  await synthesizeModel({ arch: 'tiny', outDir: modelDir, seed: 3 });
  slack = await startFakeSlack({ tokens: [TOKEN] });
  // As in production, the secrets are in the environment (the redaction looks there too).
  process.env.SLACK_BOT_TOKEN = TOKEN;
  process.env.SLACK_SIGNING_SECRET = SIGNING;
}, 60_000);

afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  await slack?.close();
  delete process.env.SLACK_BOT_TOKEN;
  delete process.env.SLACK_SIGNING_SECRET;
  rmSync(dir, { recursive: true, force: true });
});

async function boot(
  name: string,
  env: Record<string, string>,
  mode: Partial<BotOptions> = {},
): Promise<{ services: Services; bot: SlackBot; d: Deliverer; lines: string[] }> {
  const lines: string[] = [];
  const cfg = loadConfig({
    DATA_DIR: join(dir, name),
    BRANDS_DIR: join(ROOT, 'brands'),
    IMAGE_PROVIDER: 'studio',
    DEFAULT_VARIANTS: '2',
    DEFAULT_FORMATS: 'square',
    TALLY_UPDATE_MS: '10',
    CLIP_MODEL_DIR: modelDir,
    CLIP_THREADS: '1',
    VOTE_DOUBLE_CLICK_MS: '0',
    ...env,
  });
  const services = await createServices(cfg, { logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
  cleanup.push(() => services.close());
  const bot = await services.createBot({
    mode: 'http',
    botToken: TOKEN,
    signingSecret: SIGNING,
    slackApiUrl: slack.url,
    port: 0,
    host: '127.0.0.1',
    retries: 0,
    ...mode,
  });
  await bot.start();
  cleanup.push(() => bot.stop(2000));
  return { services, bot, d: new Deliverer({ url: bot.eventsUrl, signingSecret: SIGNING, slack }), lines };
}

const base = (bot: SlackBot) => `http://127.0.0.1:${bot.port}`;

async function until<T>(check: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function voteValue(m: FakeMessage): string {
  const actions = (m.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[]).find((b) => b.type === 'actions');
  return actions?.elements?.find((e) => e.action_id === 'vote')?.value as string;
}

describe('health, readiness and metrics', () => {
  it('serves /healthz and /readyz, and /metrics counts a round, its votes, generation stages and encoder batches', async () => {
    const { bot, d, lines } = await boot('ok', {});
    expect((await fetch(`${base(bot)}/healthz`)).status).toBe(200);
    await until(async () => (await fetch(`${base(bot)}/readyz`)).status === 200, 20_000, '/readyz 200');
    expect(await (await fetch(`${base(bot)}/readyz`)).json()).toMatchObject({
      ready: true,
      checks: { store: 'ok', library: 'ok', encoder: expect.stringMatching(/^ok: cpu fp32, SYNTHETIC model /), bot: 'ok' },
    });
    // A path neither the ops routes nor Bolt serve: not found, not a server error.
    expect((await fetch(`${base(bot)}/favicon.ico`)).status).toBe(404);

    // Slack rate-limits one call (its failure costs only a permalink): counted as an API error.
    slack.failNext('chat.getPermalink', 'ratelimited', { times: 1, retryAfter: 0 });
    await d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Granola for hikers' });
    const parent = await slack.waitFor(() => slack.channelMessages(C).find((m) => m.text.includes('Granola for hikers')), 10_000, 'parent');
    await slack.waitFor(() => slack.thread(C, parent.ts).find((m) => m.text.startsWith('Tally for round 1:')), 60_000, 'tally');
    const variants = slack.thread(C, parent.ts).filter((m) => m.text.startsWith('Variant '));
    await d.blockAction({ user: 'U0BOB', channel: C, message: variants[0], action: { action_id: 'vote', value: voteValue(variants[0]) } });
    await d.blockAction({
      user: 'U0CAROL',
      channel: C,
      message: variants[1],
      action: { action_id: 'vote', value: voteValue(variants[1]) },
    });
    await d.blockAction({
      user: 'U0CAROL',
      channel: C,
      message: variants[0],
      action: { action_id: 'vote', value: voteValue(variants[0]) },
    });

    const text = await until(
      async () => {
        const t = await (await fetch(`${base(bot)}/metrics`)).text();
        return /adcreative_votes_total\{[^}]*kind="moved"[^}]*\} 1/.test(t) ? t : undefined;
      },
      10_000,
      'vote metrics',
    );
    expect(text).toMatch(/adcreative_briefs_total\{[^}]*outcome="started"[^}]*\} 1/);
    expect(text).toMatch(/adcreative_rounds_total\{[^}]*event="created"[^}]*\} 1/);
    expect(text).toMatch(/adcreative_rounds_total\{[^}]*event="open"[^}]*\} 1/);
    expect(text).toMatch(/adcreative_votes_total\{[^}]*kind="voted"[^}]*\} 2/);
    expect(text).toMatch(/adcreative_generation_stage_seconds_count\{[^}]*stage="total"[^}]*\} 1/);
    expect(text).toMatch(/adcreative_generation_stage_seconds_count\{[^}]*stage="drawing"[^}]*\} 1/);
    expect(text).toMatch(/adcreative_encoder_batch_size_count\{[^}]*model="vision"[^}]*\} [1-9]/);
    expect(text).toMatch(/adcreative_encoder_call_seconds_count\{[^}]*model="text"[^}]*\} [1-9]/);
    expect(text).toMatch(/adcreative_encoder_queue_wait_seconds_count\{[^}]*model="vision"[^}]*\} [1-9]/);
    expect(text).toMatch(/adcreative_process_resident_memory_bytes/);
    expect(text).toMatch(/adcreative_api_errors_total\{[^}]*kind="slack"[^}]*\} 1/);

    // Structured logs: JSON lines; what a request caused carries the request's id.
    const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs.some((r) => typeof r.requestId === 'string')).toBe(true);
    expect(lines.join('\n')).not.toContain(TOKEN);
  }, 120_000);

  it('a CLIP server that is down: not ready, a clear Slack message, and no secret in the logs', async () => {
    const dead = await freePort();
    const { bot, d, lines } = await boot('down', {
      CLIP_ENDPOINT: `http://127.0.0.1:${dead}`,
      CLIP_REMOTE_RETRIES: '0',
      CLIP_BREAKER_FAILURES: '1',
      CLIP_BREAKER_COOLDOWN_MS: '20000',
    });
    await until(async () => (await fetch(`${base(bot)}/readyz`)).status === 503, 10_000, '/readyz 503');
    await d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Tea for night shifts' });
    const parent = await slack.waitFor(
      () => slack.channelMessages(C).find((m) => m.text.includes('Tea for night shifts')),
      10_000,
      'parent',
    );
    const msg = await slack.waitFor(
      () => slack.thread(C, parent.ts).find((m) => m.text.includes('could not be made')),
      30_000,
      'failure message in the thread',
    );
    expect(msg.text).toMatch(new RegExp(`CLIP server at http://127\\.0\\.0\\.1:${dead} is down.*retrying in \\d+ s`));
    const all = lines.join('\n');
    expect(all).toContain('CLIP server');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(SIGNING);
  }, 60_000);
});

describe('Socket Mode', () => {
  it('serves the same /healthz, /readyz and /metrics on PORT, with nothing else there', async () => {
    const APP_TOKEN = 'xapp-1-ops-test-app-token';
    const socket = await FakeSocketMode.start();
    const socketSlack = await startFakeSlack({ tokens: [TOKEN, APP_TOKEN] });
    socketSlack.socketModeUrl = socket.url;
    cleanup.push(
      () => socket.close(),
      () => socketSlack.close(),
    );
    const { bot } = await boot(
      'socket',
      {},
      { mode: 'socket', appToken: APP_TOKEN, signingSecret: undefined, slackApiUrl: socketSlack.url },
    );
    expect((await fetch(`${base(bot)}/healthz`)).status).toBe(200);
    await until(async () => (await fetch(`${base(bot)}/readyz`)).status === 200, 20_000, '/readyz 200');
    expect(await (await fetch(`${base(bot)}/readyz`)).json()).toMatchObject({
      ready: true,
      checks: { bot: 'ok', encoder: expect.stringMatching(/^ok: cpu fp32, SYNTHETIC model /) },
    });
    expect(await (await fetch(`${base(bot)}/metrics`)).text()).toMatch(/adcreative_process_resident_memory_bytes\{[^}]*replica=/);
    // No Slack endpoint on PORT in Socket Mode: events come over the WebSocket.
    expect((await fetch(`${base(bot)}/slack/events`, { method: 'POST', body: '{}' })).status).toBe(404);
  }, 60_000);
});

describe('sandbox mode', () => {
  it('the sandbox page server serves /metrics beside its /healthz and /readyz', async () => {
    const metrics = createMetrics({ defaults: false });
    metrics.vote('voted');
    const page = await startPageServer({
      slack,
      deliver: new Deliverer({ url: 'http://127.0.0.1:9/slack/events', signingSecret: SIGNING, slack }),
      readiness: { ok: () => true, status: () => ({}) },
      metrics,
      port: 0,
      host: '127.0.0.1',
    });
    try {
      const res = await fetch(`${page.url.replace(/\/$/, '')}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/adcreative_votes_total\{kind="voted"\} 1/);
      expect((await fetch(`${page.url.replace(/\/$/, '')}/healthz`)).status).toBe(200);
    } finally {
      await page.close();
    }
  });
});

describe('a failing start-up', () => {
  it('says what is wrong without the database password, tokens or keys', () => {
    const pw = 'Sup3rSecretDbPassw0rd';
    const key = 'sk-live-0123456789abcdefghij';
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'start'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LANCEDB_LOG: 'error',
        DATA_DIR: join(dir, 'failing'),
        CLIP_MODEL_DIR: modelDir,
        SLACK_BOT_TOKEN: TOKEN,
        SLACK_SIGNING_SECRET: SIGNING,
        OPENAI_API_KEY: key,
        DATABASE_URL: `postgres://adcreative:${pw}@127.0.0.1:1/adcreative`,
        PORT: '39999',
      },
    });
    expect(r.status).toBe(1);
    const out = `${r.stdout}\n${r.stderr}`;
    expect(out).toMatch(/PostgreSQL at postgres:\/\/adcreative:(\*\*\*|\[redacted\])@127\.0\.0\.1:1\/adcreative is not reachable/);
    for (const secret of [pw, key, TOKEN, SIGNING]) expect(out).not.toContain(secret);
  }, 90_000);
});
