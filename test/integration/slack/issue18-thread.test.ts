/**
 * Issue 18 with its four parts together, in a Slack thread wired as `npm start` wires it (real
 * services, the real Bolt receiver, the strict Slack stand-in, the OpenAI stand-in, a real
 * LanceDB library in a temp dir): a Chinese brief with `--locales en,de --audiences "students;
 * parents"` and a brand kit with must-say words. The inspiration note names the translated path
 * and shows the library's English running-shoe creative; the thread has each audience's heading;
 * every variant message carries its locales side by side and its brand score with the failed
 * rules, and Slack took every message as it was sent.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { silentLogger } from '../../../src/log.ts';
import { Deliverer } from '../../../src/sandbox/deliver.ts';
import { type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { createServices, type Services } from '../../../src/services.ts';
import type { SlackBot } from '../../../src/slack/app.ts';
import { axis, type FakeEncoder, fakeEncoder } from '../../helpers/fake-encoder.ts';
import { chatReply, type FakeOpenAI, type FakeRequest, imageReply, startFakeOpenAI, variantsReply } from '../../helpers/fake-openai.ts';
import { testImage } from '../../helpers/images.ts';
import { tinyPng } from '../../helpers/png.ts';
import { hasFont, systemAvailable } from '../../helpers/system.ts';
import { tallyMessage, variantMessages } from './harness.ts';

const C = 'C0GENERAL';
const KEY = 'sk-test-issue18-thread-000000000';
const DIMS = 8;
const ZH = '夏季跑鞋大促销，适合户外跑步的年轻人';
const EN = 'Big summer sale on running shoes for young outdoor runners';

let dir: string;
let slack: FakeSlack;
let openai: FakeOpenAI;
let services: Services;
let bot: SlackBot;
let d: Deliverer;
let enc: FakeEncoder;
let seed = 0;
/** What CLIP was asked to read. */
const embedded: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'issue18-thread-'));
  const brandsDir = join(dir, 'brands');
  cpSync('brands', brandsDir, { recursive: true });
  const acme = JSON.parse(readFileSync(join(brandsDir, 'acme.json'), 'utf8'));
  writeFileSync(join(brandsDir, 'acmerun.json'), JSON.stringify({ ...acme, name: 'acmerun', mustSay: ['Acme', '50%'] }));
  slack = await startFakeSlack();
  openai = await startFakeOpenAI({ apiKey: KEY });
  enc = fakeEncoder({ dims: DIMS });
  const embedTexts = enc.embedTexts.bind(enc);
  enc.embedTexts = async (xs) => {
    embedded.push(...xs);
    return embedTexts(xs);
  };
  const cfg = loadConfig({
    DATA_DIR: dir,
    BRANDS_DIR: brandsDir,
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: openai.url,
    OPENAI_MAX_RETRIES: '0',
    TALLY_UPDATE_MS: '10',
    LOG_LEVEL: 'error',
  });
  services = await createServices(cfg, { encoder: enc, logger: silentLogger });
  bot = await services.createBot({
    mode: 'http',
    botToken: 'xoxb-issue18',
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

const schemaName = (q: FakeRequest) => (q.body.response_format as { json_schema?: { name: string } } | undefined)?.json_schema?.name;
const userText = (q: FakeRequest) =>
  String((q.body.messages as { role: string; content: string }[]).find((m) => m.role === 'user')?.content ?? '');

type Blocks = { type: string; block_id?: string; fields?: { text: string }[]; elements?: { text?: string }[] }[];

describe('issue 18 together in a Slack thread', () => {
  it('a Chinese brief with --locales en,de --audiences: translated search noted, audience headings, locales side by side, a brand score per variant', async (ctx) => {
    if (
      !systemAvailable({ what: 'Noto Sans CJK', tests: 'issue 18 thread (Chinese brief)', pkg: 'fonts-noto-cjk' }, hasFont('Noto Sans CJK'))
    )
      return ctx.skip();
    // The library: the running-shoe creative lies where the English translation does, the coffee one where the raw Chinese does.
    const imgs = await Promise.all([41, 42].map((s) => testImage(s)));
    enc.pinImage(imgs[0], axis(DIMS, { 1: 1 }));
    enc.pinText('Coffee, roasted daily', axis(DIMS, { 1: 1 }));
    enc.pinImage(imgs[1], axis(DIMS, { 0: 1 }));
    enc.pinText('Run into summer', axis(DIMS, { 0: 1 }));
    enc.pinText(EN, axis(DIMS, { 0: 1, 3: 0.2 }));
    enc.pinText(ZH, axis(DIMS, { 1: 1, 4: 0.3 }));
    const lib = await services.library();
    const added = await lib.add([
      { image: imgs[0], headline: 'Coffee, roasted daily', caption: 'Coffee, roasted daily' },
      { image: imgs[1], headline: 'Run into summer', caption: 'Run into summer' },
    ]);
    expect(added.failed).toEqual([]);

    openai.on('chat', (q) => {
      const name = schemaName(q);
      const user = userText(q);
      if (name === undefined) return chatReply(user.includes('夏季跑鞋') ? EN : `(unexpected) ${user}`);
      if (name === 'ad_variants') {
        const students = /Audience: students\b/.test(user);
        return variantsReply(
          [1, 2, 3].map((i) => ({
            headline: students ? `Acme跑鞋五折${i}` : `放心的跑鞋${i}`,
            primary_text: students ? `Acme夏季跑鞋，全场50%折扣。第${i}款。` : `孩子跑步更安全。第${i}款。`,
            cta: '立即购买',
            visual_concept: `${students ? 'students' : 'parents'}-${i} a runner at sunrise`,
          })),
        );
      }
      const who = user.includes('Acme跑鞋五折') ? 'students' : 'parents';
      const n = (user.match(/^Variant \d+:/gm) ?? []).length;
      return chatReply(
        JSON.stringify({
          variants: Array.from({ length: n }, (_, i) => ({
            locales: [
              { locale: 'en', headline: `Acme run ${who} ${i + 1}`, primary_text: 'Summer running shoes, half price.', cta: 'Buy now' },
              { locale: 'de', headline: `Laufschuhe ${i + 1}`, primary_text: 'Sommer-Laufschuhe zum halben Preis.', cta: 'Jetzt kaufen' },
            ],
          })),
        }),
      );
    });
    openai.on('generations', () => imageReply(tinyPng(24, 24, [(++seed * 40) % 255, 90, 30])));

    await d.slashCommand({
      user: 'U0ALICE',
      channel: C,
      text: `${ZH} --brand acmerun --locales en,de --audiences "students; parents" --variants 2 --formats square`,
    });
    const parent = await slack.waitFor(() => slack.channelMessages(C).find((m) => m.text.includes('夏季跑鞋')), 5000, 'parent');
    await slack.waitFor(() => tallyMessage(slack, C, parent.ts), 60_000, 'tally');
    const parentBlocks = JSON.stringify(slack.message(C, parent.ts)?.blocks);
    expect(parentBlocks).toContain('locales en, de');
    expect(parentBlocks).toContain('audiences: students; parents');

    // The inspiration note names the translated path, and the translation found the running-shoe creative first.
    const thread = slack.thread(C, parent.ts);
    const inspiration = thread.find((m) => JSON.stringify(m.blocks ?? []).includes('Searched with:'));
    expect(JSON.stringify(inspiration?.blocks)).toContain(`Searched with: translated from zh: ${EN}`);
    const insp = JSON.stringify(inspiration?.blocks);
    expect(insp.indexOf('Run into summer')).toBeGreaterThanOrEqual(0);
    expect(insp.indexOf('Run into summer')).toBeLessThan(insp.indexOf('Coffee, roasted daily'));

    // The thread: each audience's heading, then its variants.
    const order = thread.map((m) => m.text).filter((t) => t.startsWith('For ') || t.startsWith('Variant '));
    // Two of each audience's three drafts, as ranked: its own copy under its own heading.
    expect(order.map((t) => t.replace(/(?<=[鞋折])\d$/, 'n'))).toEqual([
      'For students: variants A, B of round 1',
      'Variant A: Acme跑鞋五折n',
      'Variant B: Acme跑鞋五折n',
      'For parents: variants C, D of round 1',
      'Variant C: 放心的跑鞋n',
      'Variant D: 放心的跑鞋n',
    ]);

    const variants = variantMessages(slack, C, parent.ts);
    expect(variants.map((v) => v.label)).toEqual(['A', 'B', 'C', 'D']);
    for (const v of variants) {
      const students = v.label === 'A' || v.label === 'B';
      const blocks = v.message.blocks as Blocks;
      const all = JSON.stringify(blocks);
      // Its audience.
      expect(all).toContain(`:busts_in_silhouette: For *${students ? 'students' : 'parents'}*`);
      // Its locales side by side, each translated for this audience's copy.
      const sec = blocks.find((b) => b.block_id === `locales-${v.label}`);
      expect(sec?.fields?.map((f) => f.text.split('\n')[0])).toEqual(['*English* (en)', '*German* (de)']);
      expect(sec?.fields?.[0].text).toMatch(
        new RegExp(`^\\*English\\* \\(en\\)\\n\\*Acme run ${students ? 'students' : 'parents'} \\d\\*`),
      );
      expect(sec?.fields?.[1].text).toContain('Sommer-Laufschuhe zum halben Preis.');
      expect(all).not.toContain('not translated');
      // Its brand score and, for the parents' copy, the must-say words it left out.
      expect(all).toMatch(/brand score \d+% \(\d of \d rules\)/);
      if (students) expect(all).not.toContain('must-say words: missing');
      else expect(all).toMatch(/brand score [^"]*· failed: [^"]*must-say words: missing \\"Acme\\", \\"50%\\"/);
    }
    // Kept with the round: the stored variants have their audience, locales and brand score.
    const round = await services.store.latestRoundInThread(C, parent.ts);
    const stored = await services.rounds.variants(round?.id as string);
    expect(stored.map((v) => [v.label, v.audience, v.locales?.map((l) => l.status).join(), v.scores.brand?.rules.length])).toEqual([
      ['A', 'students', 'translated,translated', 7],
      ['B', 'students', 'translated,translated', 7],
      ['C', 'parents', 'translated,translated', 7],
      ['D', 'parents', 'translated,translated', 7],
    ]);
    // Each audience's relevance was scored against the English the brief was searched with.
    expect(embedded).toEqual(expect.arrayContaining([`${EN} — for students`, `${EN} — for parents`]));
    expect(embedded.filter((t) => t.includes('夏季跑鞋') && t.includes(' — for '))).toEqual([]);
    // One translation of the brief for the search; the round's cost counts it once.
    expect(openai.requests.filter((q) => q.endpoint === 'chat' && schemaName(q) === undefined)).toHaveLength(1);
    // The round's cost: the translation, then per audience its copy and its locales, each once.
    const after = await services.store.getRound(round?.id as string);
    expect(after?.textCalls).toBe(1 + 2 * 2);
    expect(openai.refused).toEqual([]);
    expect(openai.answerProblems).toEqual([]);
  });
});
