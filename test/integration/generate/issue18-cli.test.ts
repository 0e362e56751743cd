/**
 * Issue 18 with its four parts together, through `adcreative generate`: a Chinese brief with
 * `--locales en,de --audiences "students; parents"` and a brand kit with must-say words, the
 * real openai SDK against the strict OpenAI stand-in, a real LanceDB library in a temp folder.
 * Variants come per audience, each with en and de copy inside the channel's limits and drawn in
 * its own script; the brief is searched through its English translation (the note says so, and
 * the library's English running-shoe creative is found); every variant carries its brand score
 * and names its failed rules in variants.json and in the summary.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIO } from '../../../src/cli/command.ts';
import { parseCommandArgs } from '../../../src/cli/command.ts';
import { loadConfig } from '../../../src/config.ts';
import { makeGenerateCommand } from '../../../src/generate/commands.ts';
import { renderStudioArt } from '../../../src/image/studio-art.ts';
import { checkGlyphs } from '../../../src/image/text.ts';
import { LanceLibrary } from '../../../src/library/lance-library.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { countLength } from '../../../src/words.ts';
import { axis, type FakeEncoder, fakeEncoder } from '../../helpers/fake-encoder.ts';
import { chatReply, type FakeOpenAI, type FakeRequest, imageReply, startFakeOpenAI, variantsReply } from '../../helpers/fake-openai.ts';
import { testImage } from '../../helpers/images.ts';
import { hasFont, systemAvailable } from '../../helpers/system.ts';

const KEY = 'sk-test-issue18-cli-0000000000';
const DIMS = 8;
/** "Summer running shoes sale, for young people who run outdoors" — in Chinese. */
const ZH = '夏季跑鞋大促销，适合户外跑步的年轻人';
const EN = 'Big summer sale on running shoes for young outdoor runners';

let fake: FakeOpenAI;
/** What the last run wrote to stderr, also when it threw. */
let lastErr = '';
let brandsDir: string;
const dirs: string[] = [];

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
  brandsDir = mkdtempSync(join(tmpdir(), 'issue18-brands-'));
  cpSync('brands', brandsDir, { recursive: true });
  const acme = JSON.parse(readFileSync(join(brandsDir, 'acme.json'), 'utf8'));
  // Two must-say words: the students' copy says both, the parents' copy neither.
  writeFileSync(join(brandsDir, 'acmerun.json'), JSON.stringify({ ...acme, name: 'acmerun', mustSay: ['Acme', '50%'] }));
});
afterAll(async () => {
  await fake.close();
  rmSync(brandsDir, { recursive: true, force: true });
});
afterEach(() => {
  expect(fake.refused.map((r) => `${r.endpoint} ${r.status} ${r.param}: ${r.message}`)).toEqual([]);
  expect(fake.answerProblems).toEqual([]);
  fake.reset();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const schemaName = (q: FakeRequest) => (q.body.response_format as { json_schema?: { name: string } } | undefined)?.json_schema?.name;
const userText = (q: FakeRequest) =>
  String((q.body.messages as { role: string; content: string }[]).find((m) => m.role === 'user')?.content ?? '');

/** The stand-in: translates the brief, writes Chinese copy per audience, then en and de copy per variant. */
function answer() {
  fake.on('chat', (q) => {
    const name = schemaName(q);
    if (name === undefined) return chatReply(userText(q).includes('夏季跑鞋') ? EN : `(unexpected) ${userText(q)}`);
    const user = userText(q);
    if (name === 'ad_variants') {
      const students = /Audience: students\b/.test(user);
      const parents = /Audience: parents\b/.test(user);
      if (students === parents) return chatReply(`(no single audience in the prompt) ${user}`);
      return variantsReply(
        [1, 2, 3].map((i) => ({
          headline: students ? `Acme跑鞋五折${i}` : `放心的跑鞋${i}`,
          primary_text: students ? `Acme夏季跑鞋，全场50%折扣。第${i}款。` : `孩子跑步更安全。第${i}款。`,
          cta: '立即购买',
          visual_concept: `${students ? 'students' : 'parents'}-${i} a runner at sunrise`,
        })),
      );
    }
    // ad_locales: copy per locale, in the order of the variants sent; German says so in German.
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
  let seed = 0;
  fake.on('generations', async () =>
    imageReply(await renderStudioArt({ palette: ['#1F6F50', '#F2C14E'], concept: 'test', seed: ++seed, size: 96 })),
  );
}

/** A real LanceDB library: the running-shoe creative lies where the English translation does, the coffee one where the raw Chinese does. */
async function library(dir: string, enc: FakeEncoder): Promise<LanceLibrary> {
  const imgs = await Promise.all([31, 32, 33].map((s) => testImage(s)));
  const creatives: { headline: string; v: Record<number, number> }[] = [
    { headline: 'Coffee, roasted daily', v: { 1: 1 } },
    { headline: 'Run into summer', v: { 0: 1 } },
    { headline: 'Winter jackets', v: { 2: 1 } },
  ];
  creatives.forEach((c, i) => {
    enc.pinImage(imgs[i], axis(DIMS, c.v));
    enc.pinText(c.headline, axis(DIMS, c.v));
  });
  enc.pinText(EN, axis(DIMS, { 0: 1, 3: 0.2 }));
  enc.pinText(ZH, axis(DIMS, { 1: 1, 4: 0.3 }));
  const lib = await LanceLibrary.open({
    uri: dir,
    encoder: enc,
    settings: { weights: { image: 0.6, caption: 0.4, ctr: 0 }, optimizeEvery: 0 },
  });
  await lib.add(creatives.map((c, i) => ({ image: imgs[i], headline: c.headline, caption: c.headline })));
  await lib.close();
  return LanceLibrary.open({ uri: dir, encoder: enc, settings: { weights: { image: 0.6, caption: 0.4, ctr: 0 }, optimizeEvery: 0 } });
}

async function run(argv: string[], libDir: string, enc: FakeEncoder) {
  const cmd = makeGenerateCommand({
    cfg: () =>
      loadConfig({
        BRANDS_DIR: brandsDir,
        LOG_LEVEL: 'error',
        OPENAI_API_KEY: KEY,
        OPENAI_BASE_URL: fake.url,
        OPENAI_MAX_RETRIES: '0',
        OPENAI_TIMEOUT_MS: '10000',
        GENERATE_CONCURRENCY: '2',
      }),
    openEncoder: async () => enc,
    openLibrary: async () => library(libDir, enc),
  });
  let out = '';
  let err = '';
  const stdout = new PassThrough().on('data', (c) => {
    out += c;
  });
  const stderr = new PassThrough().on('data', (c) => {
    err += c;
  });
  const io: CommandIO = { stdout, stderr, stdin: new PassThrough() };
  lastErr = '';
  stderr.on('data', (c) => {
    lastErr += c;
  });
  const code = await cmd.run(parseCommandArgs(cmd, argv), io);
  return { code, out, err };
}

interface ManifestVariant {
  label: string;
  audience?: string;
  headline: string;
  files: Record<string, string>;
  locales?: {
    locale: string;
    status: string;
    headline: string;
    body: string;
    cta: string;
    flags: string[];
    files: Record<string, string>;
  }[];
  scores: { brand?: { score: number; passed: number; applicable: number; rules: { rule: string; status: string; detail: string }[] } };
}

describe('issue 18 together: adcreative generate with a Chinese brief, --locales en,de, --audiences and a brand kit', () => {
  it('variants per audience, en and de copy inside the limits and drawn, translated retrieval noted, a brand score per variant', async (ctx) => {
    if (!systemAvailable({ what: 'Noto Sans CJK', tests: 'issue 18 CLI (Chinese brief)', pkg: 'fonts-noto-cjk' }, hasFont('Noto Sans CJK')))
      return ctx.skip();
    answer();
    const out = mkdtempSync(join(tmpdir(), 'issue18-out-'));
    const libDir = mkdtempSync(join(tmpdir(), 'issue18-lib-'));
    dirs.push(out, libDir);
    const enc = fakeEncoder({ dims: DIMS });
    // What CLIP was asked to read: relevance per audience is scored against the translation too.
    const embedded: string[] = [];
    const embedTexts = enc.embedTexts.bind(enc);
    enc.embedTexts = async (xs) => {
      embedded.push(...xs);
      return embedTexts(xs);
    };
    const r = await run(
      [
        ZH,
        '--brand',
        'acmerun',
        '--locales',
        'en,de',
        '--audiences',
        'students; parents',
        '--variants',
        '2',
        '--formats',
        'square,story',
        '--out',
        out,
      ],
      libDir,
      enc,
    );
    expect(r.err).not.toMatch(/^failed/m);
    expect(r.code).toBe(0);

    // Retrieval went through the translation, and the terminal says so.
    expect(r.err).toContain(`library search: translated from zh: ${EN}`);
    expect(r.err).toMatch(/inspiration: 3 creatives from the library/);
    // The translated brief found the running-shoe creative: the copywriter of each audience saw it first.
    const copyCalls = fake.requests.filter((q) => q.endpoint === 'chat' && schemaName(q) === 'ad_variants');
    expect(copyCalls).toHaveLength(2);
    for (const q of copyCalls) {
      const prompt = JSON.stringify(q.body.messages);
      expect(prompt).toContain('Run into summer');
      expect(prompt.indexOf('Run into summer')).toBeLessThan(prompt.indexOf('Coffee, roasted daily'));
    }
    // Each audience's relevance is scored against the English the brief was searched with, not
    // against Chinese the English text tower cannot read.
    expect(embedded).toEqual(expect.arrayContaining([`${EN} — for students`, `${EN} — for parents`]));
    expect(embedded.filter((t) => t.includes('夏季跑鞋'))).toEqual([]);
    // One translation call for the search, whatever the number of audiences.
    const translations = fake.requests.filter((q) => q.endpoint === 'chat' && schemaName(q) === undefined);
    expect(translations).toHaveLength(1);

    const manifest = JSON.parse(readFileSync(join(out, 'variants.json'), 'utf8')) as {
      audiences: string[];
      variants: ManifestVariant[];
      cost: { textCalls: number };
    };
    expect(manifest.audiences).toEqual(['students', 'parents']);
    expect(manifest.variants.map((v) => [v.label, v.audience])).toEqual([
      ['A', 'students'],
      ['B', 'students'],
      ['C', 'parents'],
      ['D', 'parents'],
    ]);
    // Every call billed once: the translation, then per audience its copy and its locales.
    expect(manifest.cost.textCalls).toBe(1 + 2 * 2);

    const lim = limitsFor('meta', loadConfig({}).copyLimits);
    for (const v of manifest.variants) {
      // The Chinese copy is the variant's own, written for its audience.
      expect(v.headline).toMatch(v.audience === 'students' ? /^Acme跑鞋五折\d$/ : /^放心的跑鞋\d$/);
      expect(v.locales?.map((l) => [l.locale, l.status])).toEqual([
        ['en', 'translated'],
        ['de', 'translated'],
      ]);
      const [en, de] = v.locales ?? [];
      // Locales are translated per audience segment: each segment's own translation call.
      expect(en.headline).toMatch(new RegExp(`^Acme run ${v.audience} \\d$`));
      expect(de.headline).toMatch(/^Laufschuhe \d$/);
      expect(de.body).toBe('Sommer-Laufschuhe zum halben Preis.');
      for (const l of [en, de]) {
        for (const f of ['headline', 'body', 'cta'] as const) expect(countLength(l[f], lim.count)).toBeLessThanOrEqual(lim[f].max);
        // Rendered: every format of every locale, a PNG of its own beside variants.json.
        expect(Object.keys(l.files).sort()).toEqual(['square', 'story']);
        for (const f of Object.values(l.files)) {
          expect(existsSync(join(out, f))).toBe(true);
          expect(readFileSync(join(out, f)).subarray(1, 4).toString()).toBe('PNG');
        }
      }
      expect(readFileSync(join(out, en.files.square)).equals(readFileSync(join(out, de.files.square)))).toBe(false);
      expect(readFileSync(join(out, v.files.square)).equals(readFileSync(join(out, en.files.square)))).toBe(false);

      // The brand score and its failed rules, per variant.
      const brand = v.scores.brand;
      expect(brand).toBeDefined();
      if (!brand) continue;
      expect(brand.score).toBeCloseTo(brand.passed / brand.applicable, 10);
      const mustSay = brand.rules.find((x) => x.rule === 'must_say');
      if (v.audience === 'students') expect(mustSay).toMatchObject({ status: 'passed' });
      else expect(mustSay).toMatchObject({ status: 'failed', detail: 'missing "Acme", "50%"' });
      const failed = brand.rules.filter((x) => x.status === 'failed');
      // The summary names the same failed rules under the variant's line.
      const line = r.out.split('\n').findIndex((l) => l.startsWith(`  ${v.label}  (${v.audience})`));
      expect(line).toBeGreaterThanOrEqual(0);
      const scoreLine = r.out.split('\n')[line + 1];
      expect(scoreLine).toContain(`brand score ${Math.round(100 * (brand.score ?? 0))}%`);
      for (const f of failed) expect(scoreLine).toContain(f.detail);
    }
    expect(
      manifest.variants.filter((v) => v.audience === 'parents').every((v) => v.scores.brand?.rules.some((x) => x.status === 'failed')),
    ).toBe(true);
    // The Chinese headline is drawn with Noto Sans CJK, the German with a Latin font.
    expect(checkGlyphs(manifest.variants[0].headline).fontfiles.join()).toMatch(/NotoSansCJK|Noto Sans CJK/i);
    expect(checkGlyphs(manifest.variants[0].locales?.[1].headline ?? '').fontfiles.join()).not.toMatch(/CJK/i);
  });

  it('a run that fails after translating the brief still says what the translation cost', async () => {
    answer();
    const out = mkdtempSync(join(tmpdir(), 'issue18-out-'));
    const libDir = mkdtempSync(join(tmpdir(), 'issue18-lib-'));
    dirs.push(out, libDir);
    const enc = fakeEncoder({ dims: DIMS });
    const embedTexts = enc.embedTexts.bind(enc);
    // CLIP fails on the translated brief: the translation was already billed.
    enc.embedTexts = async (xs) => {
      if (xs.includes(EN)) throw new Error('CLIP server unreachable');
      return embedTexts(xs);
    };
    const failed = await run([ZH, '--out', out], libDir, enc).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(failed)).toContain('CLIP server unreachable');
    expect(fake.requests.filter((q) => q.endpoint === 'chat')).toHaveLength(1);
    expect(lastErr).toMatch(/spent before the failure: \$0\.\d{4} \(1 text call, 0 image calls; tokens: text \d+ in, \d+ out\)/);
  });
});
