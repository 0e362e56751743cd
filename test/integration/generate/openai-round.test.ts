/**
 * Rounds with OpenAI, wired as `npm start` wires them (real services, real Bolt receiver, fake
 * Slack Web API) against the strict OpenAI stand-in: a round's recorded cost is the usage the
 * stand-in reported, priced (retries that were answered included, refused requests not), and the
 * parent message, `/adcreative stats`, the monthly cap and `/metrics` all say that figure; a brief
 * with a reference image sends it to the images edit endpoint in round 1.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Encoder } from '../../../src/clip/types.ts';
import { loadConfig } from '../../../src/config.ts';
import { silentLogger } from '../../../src/log.ts';
import { Deliverer } from '../../../src/sandbox/deliver.ts';
import { type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { createServices, type Services } from '../../../src/services.ts';
import type { SlackBot } from '../../../src/slack/app.ts';
import { formatUsd } from '../../../src/slack/blocks/round.ts';
import { errorReply, type FakeOpenAI, imageReply, startFakeOpenAI, variantsReply } from '../../helpers/fake-openai.ts';
import { priced } from '../../helpers/openai-prices.ts';
import type { FilePart } from '../../helpers/openapi.ts';
import { tinyPng } from '../../helpers/png.ts';
import { tallyMessage } from '../slack/harness.ts';

const C = 'C0GENERAL';
const KEY = 'sk-test-round-000000000000';

function hashEncoder(): Encoder {
  const vec = (seed: Uint8Array) => {
    const v = new Float32Array(64);
    const h = createHash('sha256').update(seed).digest();
    for (let i = 0; i < 64; i++) v[i] = h[i % 32] / 255 - 0.5 + i / 1000;
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  return {
    dims: 64,
    info: () => ({ model: 'test/hash-encoder', dims: 64, synthetic: true, device: 'cpu', precision: 'fp32' }),
    embedTexts: async (t) => t.map((s) => vec(Buffer.from(`t:${s}`))),
    embedImages: async (imgs) => imgs.map((b) => vec(b)),
    close: async () => {},
  };
}

let dir: string;
let slack: FakeSlack;
let openai: FakeOpenAI;
let services: Services;
let bot: SlackBot;
let d: Deliverer;
let seed = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'openai-round-'));
  slack = await startFakeSlack();
  openai = await startFakeOpenAI({ apiKey: KEY });
  const cfg = loadConfig({
    DATA_DIR: dir,
    BRANDS_DIR: 'brands',
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: openai.url,
    OPENAI_MAX_RETRIES: '2',
    DEFAULT_VARIANTS: '2',
    TALLY_UPDATE_MS: '10',
    MONTHLY_SPEND_CAP_USD: '100',
    LOG_LEVEL: 'error',
  });
  services = await createServices(cfg, { encoder: hashEncoder(), logger: silentLogger });
  bot = await services.createBot({
    mode: 'http',
    botToken: 'xoxb-openai-round',
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
  await openai?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  expect(openai.refused).toEqual([]);
  expect(openai.answerProblems).toEqual([]);
  openai.reset();
});

const variant = (i: number, concept = `a hiker on a ridge at dawn ${i}`) => ({
  headline: `Acme trail pack ${i}`,
  primary_text: `Carry less, go further with Acme pack ${i}.`,
  cta: 'Shop now',
  visual_concept: concept,
});
const png = () => tinyPng(24, 24, [(++seed * 40) % 255, 120, 60]);

async function roundFor(brief: string) {
  const parent = await slack.waitFor(() => slack.channelMessages(C).find((m) => m.text.includes(brief)), 5000, 'parent');
  await slack.waitFor(() => tallyMessage(slack, C, parent.ts), 60_000, 'tally');
  const round = await services.store.latestRoundInThread(C, parent.ts);
  if (!round) throw new Error('no round');
  return { parent, round };
}

describe('a round with OpenAI', () => {
  it('records the priced usage the API reported: answered retries count, a 429 and a refusal do not', async () => {
    let chats = 0;
    // The first answer is malformed (answered, so billed), the second is the copy.
    openai.on('chat', () => (++chats === 1 ? variantsReply([]) : variantsReply([variant(1), variant(2), variant(3, 'BLOCKED scene')])));
    let limited = false;
    openai.on('generations', (q) => {
      if (String(q.body.prompt).includes('BLOCKED'))
        return errorReply(400, 'Your request was rejected by our safety system.', 'moderation_blocked');
      if (!limited) {
        limited = true;
        return errorReply(429, 'Rate limit reached for images per minute', 'rate_limit_exceeded');
      }
      return imageReply(png());
    });
    const brief = 'Trail pack for rainy weekends';
    await d.slashCommand({ user: 'U0ALICE', channel: C, text: `${brief} --brand acme --formats square` });
    const { parent, round } = await roundFor(brief);

    const expected = priced(openai.billed);
    expect(openai.billed.map((b) => b.endpoint).sort()).toEqual(['chat', 'chat', 'generations', 'generations']);
    expect(openai.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(4); // + the 429 + the refusal
    expect(round.costUsd).toBeCloseTo(expected, 9);
    expect(round).toMatchObject({ textCalls: 2, imageCalls: 2, offline: false });

    // The parent message shows the recorded cost, not the estimate.
    await slack.waitFor(() => slack.message(C, parent.ts)?.text.includes('ready') || undefined, 5000, 'ready');
    const parentText = JSON.stringify(slack.message(C, parent.ts)?.blocks);
    expect(parentText).toContain(`Cost: ${formatUsd(expected)} (2 text calls, 2 images)`);

    // /adcreative stats: this month's spend is the same figure.
    await d.slashCommand({ user: 'U0ALICE', channel: C, text: 'stats' });
    const stats = await slack.waitFor(() => slack.ephemeralsFor('U0ALICE').find((e) => e.text.includes('This month')), 5000, 'stats');
    expect(stats.text).toContain(`${formatUsd(expected)} of $100.00`);
    const usage = await services.rounds.usage();
    expect(usage.month.usd).toBeCloseTo(expected, 9);

    // /metrics: requests, tokens and dollars per model.
    const metrics = await services.metrics.text();
    const value = (name: string, model: string) =>
      Number(new RegExp(`^${name}\\{[^}]*model="${model}"[^}]*\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);
    expect(value('adcreative_openai_requests_total', 'gpt-image-2.6-sunburst')).toBe(2);
    expect(value('adcreative_openai_requests_total', 'gpt-4o-mini')).toBe(2);
    expect(
      value('adcreative_openai_cost_usd_total', 'gpt-image-2.6-sunburst') + value('adcreative_openai_cost_usd_total', 'gpt-4o-mini'),
    ).toBeCloseTo(expected, 9);
    expect(metrics).toMatch(
      /adcreative_openai_tokens_total\{[^}]*model="gpt-image-2\.6-sunburst"[^}]*kind="image"[^}]*direction="output"[^}]*\} 8320/,
    );
  });

  it('sends the reference image of a brief from the form to the edit endpoint in round 1', async () => {
    openai.on('chat', () => variantsReply([variant(1), variant(2), variant(3)]));
    openai.on('edits', () => imageReply(png()));
    openai.on('generations', () => imageReply(png()));
    const reference = tinyPng(32, 20, [220, 30, 30]);
    slack.postAsUser({ user: 'U0BOB', channel: C, text: 'ref', files: [{ name: 'ref.png', bytes: reference }] });
    const f = [...slack.files.values()].find((x) => x.name === 'ref.png');
    if (!f) throw new Error('no file');
    const url = `${slack.baseUrl}/files/${f.id}/download/ref.png`;
    await d.slashCommand({ user: 'U0BOB', channel: C, text: '' });
    const view = await slack.waitFor(() => [...slack.views.values()].filter((v) => v.user === 'U0BOB').at(-1), 5000, 'modal');
    const res = await d.viewSubmission({
      user: 'U0BOB',
      view,
      values: {
        product: { value: { type: 'plain_text_input', value: 'Red rain jackets' } },
        formats: { value: { type: 'checkboxes', selected_options: [{ value: 'square' }] } },
        variants: { value: { type: 'static_select', selected_option: { value: '2' } } },
        reference: {
          value: {
            type: 'file_input',
            files: [
              { id: f.id, name: 'ref.png', mimetype: 'image/png', size: reference.length, url_private: url, url_private_download: url },
            ],
          },
        },
      },
    });
    expect(res.status).toBe(200);
    const { round } = await roundFor('Red rain jackets');
    expect(round.number).toBe(1);
    const edits = openai.requests.filter((q) => q.endpoint === 'edits');
    expect(edits).toHaveLength(3);
    expect(openai.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(0);
    for (const e of edits) {
      const [image] = [e.body.image].flat() as FilePart[];
      expect(Buffer.compare(image.data, Buffer.from(reference))).toBe(0);
    }
    expect(round.costUsd).toBeCloseTo(priced(openai.billed), 9);
  });
});
