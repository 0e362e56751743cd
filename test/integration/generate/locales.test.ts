/**
 * One brief, many markets (issue 18, `--locales`): a Chinese brief asked for English and German
 * gets copy per locale from the copywriter (the real openai SDK against the strict stand-in),
 * every locale inside the channel's limits, shortened at a word when the model ran over, and
 * every locale drawn in its own script; offline, only the brief's language is written.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createGenerator } from '../../../src/generate/open.ts';
import type { GeneratedVariant, GenerateRequest } from '../../../src/generate/types.ts';
import { decodeRgb } from '../../../src/image/decode.ts';
import { renderStudioArt } from '../../../src/image/studio-art.ts';
import { checkGlyphs } from '../../../src/image/text.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { countLength } from '../../../src/words.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import {
  chatReply,
  errorReply,
  type FakeOpenAI,
  type FakeRequest,
  imageReply,
  startFakeOpenAI,
  variantsReply,
} from '../../helpers/fake-openai.ts';
import { hasFont, systemAvailable } from '../../helpers/system.ts';

const KEY = 'sk-test-abcdefghijklmnop1234';
let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  expect(fake.refused.map((r) => `${r.endpoint} ${r.status} ${r.param}: ${r.message}`)).toEqual([]);
  expect(fake.answerProblems).toEqual([]);
  fake.reset();
});

const limits = (env: Record<string, string> = {}) => limitsFor('meta', loadConfig(env).copyLimits);

function generator(env: Record<string, string>) {
  const cfg = loadConfig({ BRANDS_DIR: 'brands', GENERATE_CONCURRENCY: '2', ...env });
  return createGenerator({ cfg, encoder: fakeEncoder({ dims: 64 }), maxSimilarity: async (e) => e.map(() => 0.3) });
}
const online = () => generator({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.url, OPENAI_MAX_RETRIES: '0', OPENAI_TIMEOUT_MS: '10000' });

const BRIEF = '清爽防晒霜，适合夏天户外跑步的年轻人，买一送一';
const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  brief: BRIEF,
  brand: 'acme',
  channel: 'meta',
  formats: ['square', 'story'],
  count: 2,
  inspiration: [],
  feedback: [],
  locales: ['en', 'de'],
  ...over,
});

const schemaName = (q: FakeRequest) => (q.body.response_format as { json_schema: { name: string } }).json_schema.name;

/** The German headline the model sends for every variant: 51 characters, over Meta's 27. */
const LONG_DE = 'Leichter Sonnenschutz für entspannte Sommerläufe jetzt';

/** `rewrite`: the German headline sent when asked to rewrite what was over (default: the same, still too long). */
function answer(rewrite = LONG_DE) {
  fake.on('chat', (q) => {
    if (schemaName(q) === 'ad_variants') {
      return variantsReply(
        ['清爽不油腻', '夏日跑步防晒', '买一送一'].map((h, i) => ({
          headline: h,
          primary_text: `清爽防晒霜，跑步出汗也不油腻。第${i + 1}款。`,
          cta: '立即购买',
          visual_concept: `concept-${i + 1} a runner at sunrise`,
        })),
      );
    }
    const user = String((q.body.messages as { content: string }[])[1].content);
    if (user.startsWith('These translations are over their limits')) {
      const over = [...user.matchAll(/^Variant \d+ \((\w+)\):/gm)].map((m) => m[1]);
      return chatReply(
        JSON.stringify({
          variants: over.map((locale) => ({
            locales: [{ locale, headline: rewrite, primary_text: 'Frisch und nie fettig, auch beim Laufen.', cta: 'Jetzt kaufen' }],
          })),
        }),
      );
    }
    // Copy per locale, in the order of the variants sent.
    const n = (user.match(/^Variant \d+:/gm) ?? []).length;
    return chatReply(
      JSON.stringify({
        variants: Array.from({ length: n }, (_, i) => ({
          locales: [
            { locale: 'en', headline: `Light sunscreen ${i + 1}`, primary_text: 'Fresh, never greasy, even on a hot run.', cta: 'Buy now' },
            { locale: 'de', headline: LONG_DE, primary_text: 'Frisch und nie fettig, auch beim Laufen.', cta: 'Jetzt kaufen' },
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

/** Share of pixels that differ between two renders of the same visual: the text drawn on them. */
async function differing(a: Uint8Array, b: Uint8Array): Promise<number> {
  const lim = { maxBytes: 50e6, maxPixels: 50e6 } as Parameters<typeof decodeRgb>[1];
  const [x, y] = await Promise.all([decodeRgb(a, lim), decodeRgb(b, lim)]);
  expect([x.width, x.height]).toEqual([y.width, y.height]);
  let n = 0;
  for (let i = 0; i < x.data.length; i += 3)
    if (Math.abs(x.data[i] - y.data[i]) + Math.abs(x.data[i + 1] - y.data[i + 1]) + Math.abs(x.data[i + 2] - y.data[i + 2]) > 30) n++;
  return n / (x.data.length / 3);
}

describe('--locales with a text model', () => {
  it('a Chinese brief with en,de: copy per locale inside the limits, the overlong German shortened at a word and said so', async (ctx) => {
    if (!systemAvailable({ what: 'Noto Sans CJK', tests: 'locales (Chinese brief)', pkg: 'fonts-noto-cjk' }, hasFont('Noto Sans CJK')))
      return ctx.skip();
    answer();
    const r = await online().generate(req());
    expect(r.failures).toEqual([]);
    expect(r.variants).toHaveLength(2);
    const lim = limits();
    for (const v of r.variants) {
      expect(v.locales?.map((l) => [l.locale, l.status])).toEqual([
        ['en', 'translated'],
        ['de', 'translated'],
      ]);
      const [en, de] = v.locales as NonNullable<GeneratedVariant['locales']>;
      expect(en.headline).toMatch(/^Light sunscreen \d$/);
      expect(en.flags).toEqual([]);
      for (const l of [en, de])
        for (const f of ['headline', 'body', 'cta'] as const) expect(countLength(l[f], lim.count)).toBeLessThanOrEqual(lim[f].max);
      // Shortened at a whole word, never inside one, and the variant says so.
      // Nor on a German word that leads into what was cut ("für…").
      expect(de.headline).toBe('Leichter Sonnenschutz…');
      expect(LONG_DE.startsWith(de.headline.slice(0, -1))).toBe(true);
      expect(de.flags.join()).toMatch(/German headline was 54 characters; shortened at a word to fit the meta limit of 27/);
      // Every format of every locale is rendered, each with its own words on it.
      for (const f of ['square', 'story'] as const) {
        expect(en.images?.[f]?.length).toBeGreaterThan(1000);
        expect(de.images?.[f]?.length).toBeGreaterThan(1000);
      }
      expect(await differing(v.images.square as Uint8Array, en.images?.square as Uint8Array)).toBeGreaterThan(0.003);
      expect(await differing(en.images?.square as Uint8Array, de.images?.square as Uint8Array)).toBeGreaterThan(0.003);
    }
    // The brief-language copy was written short enough for German to fit (expansion 1.35 vs Chinese 0.5).
    const chats = fake.requests.filter((q) => q.endpoint === 'chat');
    // Copy, locales, then one rewrite of the German that came back over the limit.
    expect(chats.map(schemaName)).toEqual(['ad_variants', 'ad_locales', 'ad_locales']);
    expect(String((chats[2].body.messages as { content: string }[])[1].content)).toMatch(
      /Variant 1 \(de\): headline "Leichter Sonnenschutz .*" — headline is 54 characters, the limit is 27/,
    );
    expect(JSON.stringify(chats[0].body.messages)).toContain('headline ≤ 11');
    // The copywriter was given each locale's limits, and told how long a straight translation would run.
    const asked = String((chats[1].body.messages as { content: string }[])[1].content);
    expect(asked).toContain('Locales: en, de');
    expect(asked).toMatch(/de \(German\): headline ≤ 27/);
    expect(asked).toMatch(/en \(English\): headline ≤ 27/);
    expect(asked).toMatch(/primary_text ≤ 125/);
    expect(asked.match(/^Variant \d+:/gm)).toHaveLength(2);
    // Three text calls billed: copy, locales, the rewrite.
    expect(r.cost.textCalls).toBe(3);
    // The Chinese headline is drawn with Noto Sans CJK (the font check finds its file).
    expect(checkGlyphs(r.variants[0].headline).fontfiles.join()).toMatch(/NotoSansCJK|Noto Sans CJK/i);
  });

  it('asks once for a shorter rewrite of what came back over a limit, and keeps it when it fits', async (ctx) => {
    if (!systemAvailable({ what: 'Noto Sans CJK', tests: 'locales (Chinese brief)', pkg: 'fonts-noto-cjk' }, hasFont('Noto Sans CJK')))
      return ctx.skip();
    answer('Leichter Sonnenschutz');
    const r = await online().generate(req({ formats: ['square'] }));
    for (const v of r.variants) {
      const de = v.locales?.find((l) => l.locale === 'de');
      expect(de?.headline).toBe('Leichter Sonnenschutz');
      expect(de?.flags).toEqual(['German rewritten once to fit the meta limits']);
    }
  });

  it('when translating fails the variants still come, their other locales marked not translated and the failure reported', async (ctx) => {
    if (!systemAvailable({ what: 'Noto Sans CJK', tests: 'locales (Chinese brief)', pkg: 'fonts-noto-cjk' }, hasFont('Noto Sans CJK')))
      return ctx.skip();
    answer();
    fake.on('chat', (q) =>
      schemaName(q) === 'ad_locales'
        ? errorReply(500, 'upstream exploded', null)
        : variantsReply(
            ['清爽不油腻', '夏日跑步防晒', '买一送一'].map((h) => ({
              headline: h,
              primary_text: '清爽防晒霜。',
              cta: '立即购买',
              visual_concept: 'a runner',
            })),
          ),
    );
    const r = await online().generate(req({ formats: ['square'], locales: ['zh-CN', 'de'] }));
    expect(r.variants).toHaveLength(2);
    expect(r.failures.map((f) => f.message).join()).toMatch(/translating into de failed \(the API failed \(500\)/);
    for (const v of r.variants) {
      expect(v.locales?.map((l) => [l.locale, l.status])).toEqual([
        ['zh-CN', 'source'],
        ['de', 'not-translated'],
      ]);
      expect(v.locales?.[1].flags).toEqual(['German: not translated (translation failed)']);
    }
  });

  it('refuses a bad locale tag before anything is paid for, naming it', async () => {
    answer();
    await expect(online().generate(req({ locales: ['de', 'english!'] }))).rejects.toThrow(
      /"english!" is not a locale tag; expected a language code with an optional region, such as de, fr, en-GB or zh-CN/,
    );
    expect(fake.requests).toEqual([]);
  });
});

describe('--locales offline', () => {
  it("writes the brief's language and marks the others not translated", async (ctx) => {
    if (!systemAvailable({ what: 'Noto Sans CJK', tests: 'locales (Chinese brief)', pkg: 'fonts-noto-cjk' }, hasFont('Noto Sans CJK')))
      return ctx.skip();
    const r = await generator({}).generate(req({ locales: ['zh-CN', 'en', 'de'], formats: ['square'] }));
    expect(r.offline).toBe(true);
    expect(r.variants.length).toBeGreaterThan(0);
    for (const v of r.variants) {
      const [zh, en, de] = v.locales ?? [];
      expect(zh).toMatchObject({ locale: 'zh-CN', status: 'source', headline: v.headline, body: v.body, cta: v.cta });
      expect(zh.images?.square).toBe(v.images.square);
      for (const l of [en, de]) {
        expect(l.status).toBe('not-translated');
        expect(l.headline).toBe('');
        expect(l.images).toBeUndefined();
        expect(l.flags.join()).toMatch(/not translated \(no text model: offline\)/);
      }
    }
  });
});
