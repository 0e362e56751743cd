/**
 * A brief with --audiences, wired as `npm start` wires it (real services, the real Bolt receiver,
 * the strict Slack stand-in, the OpenAI stand-in, the real LanceDB library in a temp dir): the
 * copywriter is asked once per segment, the thread groups the variants under each audience, the
 * tally names each segment's leader, closing stores one winner per segment tagged with its
 * audience, and a library search filtered by audience finds only that audience's creatives.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encoder } from '../../../src/clip/types.ts';
import { loadConfig } from '../../../src/config.ts';
import { silentLogger } from '../../../src/log.ts';
import { Deliverer } from '../../../src/sandbox/deliver.ts';
import { type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { createServices, type Services } from '../../../src/services.ts';
import type { SlackBot } from '../../../src/slack/app.ts';
import { type FakeOpenAI, imageReply, startFakeOpenAI, variantsReply } from '../../helpers/fake-openai.ts';
import { testImage } from '../../helpers/images.ts';
import { tinyPng } from '../../helpers/png.ts';
import { tallyMessage } from '../slack/harness.ts';

const C = 'C0GENERAL';
const KEY = 'sk-test-audiences-00000000000';

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
  dir = mkdtempSync(join(tmpdir(), 'audiences-'));
  slack = await startFakeSlack();
  openai = await startFakeOpenAI({ apiKey: KEY });
  const cfg = loadConfig({
    DATA_DIR: dir,
    BRANDS_DIR: 'brands',
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: openai.url,
    OPENAI_MAX_RETRIES: '0',
    TALLY_UPDATE_MS: '10',
    LOG_LEVEL: 'error',
  });
  services = await createServices(cfg, { encoder: hashEncoder(), logger: silentLogger });
  bot = await services.createBot({
    mode: 'http',
    botToken: 'xoxb-audiences',
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

describe('a brief with --audiences "students; parents"', () => {
  it('writes per audience, groups the thread, names each leader, stores one tagged winner per segment, and search filters by audience', async () => {
    // Creatives stored before audiences existed: no audience tag.
    const lib = await services.library();
    const old = await lib.add(
      await Promise.all([1, 2].map(async (s) => ({ image: await testImage(s), headline: `Older cold brew ad ${s}`, tags: ['winner'] }))),
    );
    expect(old.failed).toEqual([]);

    // The copy answers with the segment it was asked for, so the thread shows whose copy it is.
    openai.on('chat', (q) => {
      const prompt = JSON.stringify(q.body.messages);
      const who = /Audience: (students|parents)\./.exec(prompt)?.[1] ?? 'nobody';
      return variantsReply(
        [1, 2].map((i) => ({
          headline: `Cold brew ${i} for ${who === 'students' ? 'exam week' : 'nap time'}`,
          primary_text: `Smooth cold brew, take ${i}.`,
          cta: 'Shop now',
          visual_concept: `a glass of cold brew ${who} ${i}`,
        })),
      );
    });
    openai.on('generations', () => imageReply(tinyPng(24, 24, [(++seed * 40) % 255, 90, 30])));

    const brief = 'Cold brew concentrate';
    await d.slashCommand({ user: 'U0ALICE', channel: C, text: `${brief} --audiences "students; parents" --variants 2 --formats square` });
    const parent = await slack.waitFor(() => slack.channelMessages(C).find((m) => m.text.includes(brief)), 5000, 'parent');
    await slack.waitFor(() => tallyMessage(slack, C, parent.ts), 60_000, 'tally');

    // One copy request per segment, each naming its audience.
    const chats = openai.requests.filter((q) => q.endpoint === 'chat').map((q) => JSON.stringify(q.body.messages));
    expect(chats).toHaveLength(2);
    expect(chats[0]).toContain('Audience: students.');
    expect(chats[1]).toContain('Audience: parents.');
    // The parent shows the per-audience options and an estimate for both segments.
    expect(JSON.stringify(slack.message(C, parent.ts)?.blocks)).toContain('2 variants per audience');

    // The thread: each audience's heading, then its variants.
    const thread = slack.thread(C, parent.ts).map((m) => m.text);
    const order = thread.filter((t) => t.startsWith('For ') || t.startsWith('Variant '));
    expect(order).toEqual([
      'For students: variants A, B of round 1',
      'Variant A: Cold brew 1 for exam week',
      'Variant B: Cold brew 2 for exam week',
      'For parents: variants C, D of round 1',
      'Variant C: Cold brew 1 for nap time',
      'Variant D: Cold brew 2 for nap time',
    ]);

    // Votes: B leads the students, C the parents.
    const round = await services.store.latestRoundInThread(C, parent.ts);
    if (!round) throw new Error('no round');
    const variants = await services.store.listVariants(round.id);
    const byLabel = Object.fromEntries(variants.map((v) => [v.label, v]));
    const vote = async (user: string, label: string) => {
      const m = slack.thread(C, parent.ts).find((x) => x.text.startsWith(`Variant ${label}:`));
      if (!m) throw new Error(`no variant ${label}`);
      await d.blockAction({ user, channel: C, message: m, action: { action_id: 'vote', value: byLabel[label].id } });
    };
    await vote('U0BOB', 'B');
    await vote('U0CAROL', 'B');
    await vote('U0DAN', 'C');
    const leaders = await slack.waitFor(
      () => {
        const t = JSON.stringify(tallyMessage(slack, C, parent.ts)?.blocks ?? []);
        return t.includes('variant C') && t.includes('variant B') ? t : undefined;
      },
      10_000,
      'segment leaders on the tally',
    );
    expect(leaders).toContain('Leading per audience');
    expect(leaders).toContain('*students*: variant B — “Cold brew 2 for exam week” — 2 of 2 votes');
    expect(leaders).toContain('*parents*: variant C — “Cold brew 1 for nap time” — 1 of 1 vote');

    // Close: one winner per segment, each in the library with its audience.
    const tally = tallyMessage(slack, C, parent.ts);
    if (!tally) throw new Error('no tally');
    await d.blockAction({ user: 'U0ALICE', channel: C, message: tally, action: { action_id: 'close_round', value: round.id } });
    await slack.waitFor(
      () => slack.thread(C, parent.ts).find((m) => JSON.stringify(m.blocks ?? []).includes('tagged for parents')),
      20_000,
      'stored notes',
    );
    const notes = JSON.stringify(slack.thread(C, parent.ts).map((m) => m.blocks ?? []));
    expect(notes).toContain('Variant B is now in the creative library, tagged for students');
    expect(JSON.stringify(tallyMessage(slack, C, parent.ts)?.blocks)).toContain('Winner per audience');

    const students = await lib.search({ text: brief, k: 20, filters: { audience: 'students' } });
    const parents = await lib.search({ text: brief, k: 20, filters: { audience: 'Parents' } });
    expect(students.map((h) => [h.headline, h.tags])).toEqual([['Cold brew 2 for exam week', ['winner', 'audience:students']]]);
    expect(parents.map((h) => [h.headline, h.tags])).toEqual([['Cold brew 1 for nap time', ['winner', 'audience:parents']]]);
    expect(await lib.search({ text: brief, k: 20, filters: { audience: 'teachers' } })).toEqual([]);
    // Without the filter, the older untagged rows are still found beside the new ones.
    const all = await lib.search({ text: brief, k: 20 });
    expect(all.map((h) => h.headline).sort()).toEqual(
      ['Cold brew 1 for nap time', 'Cold brew 2 for exam week', 'Older cold brew ad 1', 'Older cold brew ad 2'].sort(),
    );
    const closed = await services.store.getRound(round.id);
    expect(closed?.winnerCreativeId).toBe(students[0].id);

    // Export: the segment winners keep "winner" and their audience in the library (the export adds
    // siblings by image, and re-adding a segment winner as one replaced its tags); a variant that won
    // nothing joins as a sibling with its audience.
    const closedTally = tallyMessage(slack, C, parent.ts);
    if (!closedTally) throw new Error('no tally');
    await d.blockAction({ user: 'U0ALICE', channel: C, message: closedTally, action: { action_id: 'export_winner', value: round.id } });
    await slack.waitFor(
      () => slack.thread(C, parent.ts).find((m) => m.files.some((id) => slack.files.get(id)?.name.endsWith('.zip'))),
      30_000,
      'the zip',
    );
    // The siblings join the library after the zip is posted.
    let exported: Awaited<ReturnType<typeof lib.search>> = [];
    for (let i = 0; i < 100 && !exported.length; i++) {
      exported = (await lib.search({ text: brief, k: 20 })).filter((h) => h.tags.includes('exported'));
      if (!exported.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(exported.length).toBeGreaterThan(0);
    expect(exported.every((h) => h.tags.some((t) => t.startsWith('audience:')))).toBe(true);
    const afterExport = await lib.search({ text: brief, k: 20, filters: { audience: 'parents' } });
    expect(afterExport.find((h) => h.headline === 'Cold brew 1 for nap time')?.tags).toEqual(['winner', 'audience:parents']);
    expect(
      (await lib.search({ text: brief, k: 20, filters: { audience: 'students' } })).find((h) => h.headline === 'Cold brew 2 for exam week')
        ?.tags,
    ).toEqual(['winner', 'audience:students']);
    expect(openai.refused).toEqual([]);
  });
});
