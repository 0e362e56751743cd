/**
 * The real openai SDK against a strict stand-in that checks every request with OpenAI's published
 * API description and answers like the API (helpers/fake-openai.ts): what a user gets when the API
 * rate-limits, fails, refuses or returns malformed copy; what a generation costs (the usage the API
 * reported, priced with the table); and that a reference image reaches the image model.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { AdError } from '../../../src/errors.ts';
import { createGenerator } from '../../../src/generate/open.ts';
import type { GenerateRequest } from '../../../src/generate/types.ts';
import { renderStudioArt } from '../../../src/image/studio-art.ts';
import { createLogger } from '../../../src/log.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import {
  chatReply,
  errorReply,
  type FakeOpenAI,
  imageReply,
  startFakeOpenAI,
  type TestVariant,
  variantsReply,
} from '../../helpers/fake-openai.ts';
import { priced } from '../../helpers/openai-prices.ts';
import type { FilePart } from '../../helpers/openapi.ts';
import { tinyPng } from '../../helpers/png.ts';

const KEY = 'sk-test-abcdefghijklmnop1234';

let fake: FakeOpenAI;
let logs: string[];
/** A test that sends a request the API refuses on purpose says so; every other test must send none. */
let refusalsExpected = 0;
let brandsDir: string;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
  // The shipped kits, plus one that asks for its logo in the visual.
  brandsDir = mkdtempSync(join(tmpdir(), 'openai-brands-'));
  cpSync('brands', brandsDir, { recursive: true });
  const acme = JSON.parse(readFileSync(join(brandsDir, 'acme.json'), 'utf8'));
  writeFileSync(join(brandsDir, 'acmelogo.json'), JSON.stringify({ ...acme, name: 'acmelogo', logoInVisual: true }));
});
afterAll(async () => {
  await fake.close();
  rmSync(brandsDir, { recursive: true, force: true });
});
afterEach(() => {
  // Every request the app sent was well formed, and every answer looked like the API's.
  expect(fake.refused.map((r) => `${r.endpoint} ${r.status} ${r.param}: ${r.message}`)).toHaveLength(refusalsExpected);
  expect(fake.answerProblems).toEqual([]);
  refusalsExpected = 0;
  fake.reset();
});

function generator(env: Record<string, string> = {}) {
  logs = [];
  const cfg = loadConfig({
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: fake.url,
    OPENAI_MAX_RETRIES: '2',
    OPENAI_TIMEOUT_MS: '10000',
    GENERATE_CONCURRENCY: '2',
    BRANDS_DIR: brandsDir,
    ...env,
  });
  return createGenerator({
    cfg,
    encoder: fakeEncoder({ dims: 64 }),
    maxSimilarity: async (e) => e.map(() => 0.3),
    logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
  });
}

const variants = (n: number, mark = ''): TestVariant[] =>
  Array.from({ length: n }, (_, i) => ({
    headline: `Acme trail pack ${i + 1}`,
    primary_text: `Carry less, go further. Acme pack number ${i + 1}.`,
    cta: 'Shop now',
    visual_concept: `concept-${i + 1}${mark} a hiker on a ridge at dawn`,
  }));

const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  brief: 'Lightweight trail backpack for weekend hikers',
  brand: 'acme',
  channel: 'meta',
  formats: ['square'],
  count: 2,
  inspiration: [],
  feedback: [],
  ...over,
});

let seed = 0;
const png = async () => renderStudioArt({ palette: ['#1F6F50', '#F2C14E'], concept: 'test', seed: ++seed, size: 96 });

function answerChat(list: TestVariant[]) {
  fake.on('chat', () => variantsReply(list));
}
function answerImages() {
  fake.on('generations', async () => imageReply(await png()));
}

describe('generation against an OpenAI-compatible server', () => {
  it('writes copy with a JSON schema, draws each candidate and ranks them', async () => {
    answerChat(variants(3));
    answerImages();
    const progress: string[] = [];
    const r = await generator().generate(req({ onProgress: (p) => progress.push(`${p.stage}:${p.done}/${p.total}`) }));
    expect(r.offline).toBe(false);
    expect(r.failures).toEqual([]);
    expect(r.variants.map((v) => v.label)).toEqual(['A', 'B']);
    for (const v of r.variants) {
      expect(v.headline).toMatch(/^Acme trail pack \d$/);
      expect(v.offline).toBe(false);
      expect(v.images.square?.length).toBeGreaterThan(1000);
      expect(v.reason).toMatch(/relevance/);
    }
    // ceil(1.5 × 2) = 3 candidates drawn, 2 shown; each billed request priced from its reported usage.
    expect(r.cost).toMatchObject({ textCalls: 1, imageCalls: 3, notes: [] });
    expect(r.cost.usd).toBeCloseTo(priced(fake.billed), 9);
    // Quality auto: the model may pick high, billed as 4160 image tokens each (~4× a medium image).
    expect(r.cost.tokens.image.output).toBe(3 * 4160);
    const chat = fake.requests.filter((q) => q.endpoint === 'chat');
    expect(chat).toHaveLength(1);
    const rf = chat[0].body.response_format as { type: string; json_schema: { strict: boolean; name: string } };
    expect(rf.type).toBe('json_schema');
    expect(rf.json_schema.strict).toBe(true);
    expect(chat[0].body.model).toBe('gpt-4o-mini');
    expect(JSON.stringify(chat[0].body.messages)).toContain('Never use these words: cheap, guaranteed');
    const gens = fake.requests.filter((q) => q.endpoint === 'generations');
    expect(gens).toHaveLength(3);
    expect(gens[0].body.model).toBe('gpt-image-2.6-sunburst');
    expect(gens[0].body.response_format).toBeUndefined();
    expect(progress).toContain('drawing:3/3');
    expect(progress).toContain('composing:2/2');
    expect(logs.join('\n')).not.toContain(KEY);
  });

  it('rides out a 429 with the SDK retry and delivers every variant', async () => {
    answerChat(variants(3));
    let first = true;
    fake.on('generations', async () => {
      if (first) {
        first = false;
        return errorReply(429, 'Rate limit reached for requests', 'rate_limit_exceeded', 'requests');
      }
      return imageReply(await png());
    });
    const r = await generator().generate(req());
    expect(r.failures).toEqual([]);
    expect(r.variants).toHaveLength(2);
    expect(fake.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(4);
    // The 429 was not billed: three images, as the stand-in billed them.
    expect(r.cost.imageCalls).toBe(3);
    expect(r.cost.usd).toBeCloseTo(priced(fake.billed), 9);
  });

  it('reports a candidate whose image keeps failing with 500 and keeps the others', async () => {
    answerChat([...variants(2), { ...variants(3)[2], visual_concept: 'FAILME a tent at night' }]);
    fake.on('generations', async (q) =>
      String(q.body.prompt).includes('FAILME') ? errorReply(500, 'upstream exploded', null, 'server_error') : imageReply(await png()),
    );
    const r = await generator().generate(req());
    expect(r.variants).toHaveLength(2);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0].stage).toBe('image');
    expect(r.failures[0].message).toMatch(/candidate 3 .*the API failed \(500\) after 2 retries/);
    // 1 try + 2 retries for the failing prompt.
    expect(fake.requests.filter((q) => String(q.body.prompt).includes('FAILME'))).toHaveLength(3);
  });

  it('reports a content-policy refusal for that variant without retrying it', async () => {
    answerChat([{ ...variants(1)[0], visual_concept: 'BLOCKED something' }, ...variants(3).slice(1)]);
    fake.on('generations', async (q) =>
      String(q.body.prompt).includes('BLOCKED')
        ? errorReply(400, 'Your request was rejected as a result of our safety system.', 'content_policy_violation')
        : imageReply(await png()),
    );
    const r = await generator().generate(req());
    expect(r.variants).toHaveLength(2);
    expect(r.failures.map((f) => f.message).join()).toMatch(/candidate 1 .*refused by the content policy/);
    expect(fake.requests.filter((q) => String(q.body.prompt).includes('BLOCKED'))).toHaveLength(1);
    // The refusal (a 400) is not billed: two images count.
    expect(r.cost.imageCalls).toBe(2);
    expect(r.cost.usd).toBeCloseTo(priced(fake.billed), 9);
  });

  it('stops with the refusal when the text model declines the brief', async () => {
    fake.on('chat', () => chatReply(null, { refusal: "I can't help with advertising that product." }));
    answerImages();
    const err = await generator()
      .generate(req())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdError);
    expect((err as AdError).code).toBe('COPY_REFUSED');
    expect((err as AdError).message).toContain("I can't help with advertising that product.");
    expect(fake.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(0);
  });

  it('asks again after malformed JSON, then falls back to offline copy and says so', async () => {
    fake.on('chat', () => chatReply('{"variants": [{"headline": "Oops'));
    answerImages();
    const r = await generator().generate(req());
    expect(fake.requests.filter((q) => q.endpoint === 'chat')).toHaveLength(2);
    // Both malformed answers were answered, so billed.
    expect(r.cost.textCalls).toBe(2);
    expect(r.cost.usd).toBeCloseTo(priced(fake.billed), 9);
    expect(r.variants).toHaveLength(2);
    expect(r.offline).toBe(true);
    expect(r.failures[0]).toMatchObject({ stage: 'copy' });
    expect(r.failures[0].message).toMatch(/malformed JSON.*twice.*recombined offline/);
    for (const v of r.variants) expect(v.flags.join()).toMatch(/offline copy/);
    // The visuals still came from the image model.
    expect(fake.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(3);
  });

  it('uses the second answer when only the first was malformed', async () => {
    let n = 0;
    fake.on('chat', () => (++n === 1 ? chatReply('not json at all') : variantsReply(variants(3))));
    answerImages();
    const r = await generator().generate(req());
    expect(r.failures).toEqual([]);
    expect(r.variants[0].headline).toMatch(/^Acme trail pack/);
    expect(r.cost.textCalls).toBe(2);
  });

  it('falls back to offline copy when the text API is down after retries', async () => {
    fake.on('chat', () => errorReply(503, 'overloaded', null, 'server_error'));
    answerImages();
    const r = await generator().generate(req());
    expect(fake.requests.filter((q) => q.endpoint === 'chat')).toHaveLength(3);
    expect(r.variants).toHaveLength(2);
    expect(r.failures[0].message).toMatch(/the API failed \(503\) after 2 retries/);
  });

  it('regenerates over-long or banned copy once, then trims and flags or rejects it', async () => {
    const long = 'Acme ultralight trail pack for every weekend';
    fake.on('chat', (q) =>
      JSON.stringify(q.body.messages).includes('problems:')
        ? variantsReply([
            { ...variants(1)[0], headline: `${long}, still long` },
            { ...variants(2)[1], primary_text: 'Still a cheap Acme pack.' },
          ])
        : variantsReply([{ ...variants(1)[0], headline: long }, { ...variants(2)[1], primary_text: 'A cheap Acme pack.' }, variants(3)[2]]),
    );
    answerImages();
    const r = await generator().generate(req());
    const chat = fake.requests.filter((q) => q.endpoint === 'chat');
    expect(chat).toHaveLength(2);
    expect(JSON.stringify(chat[1].body.messages)).toMatch(/headline is 44 characters; the meta limit is 27/);
    expect(JSON.stringify(chat[1].body.messages)).toMatch(/never-say word \\"cheap\\"/);
    expect(r.failures.map((f) => f.message).join()).toMatch(/copy rejected: .*"cheap"/);
    expect(r.variants).toHaveLength(2);
    const trimmed = r.variants.find((v) => v.headline.startsWith('Acme ultralight'));
    expect(trimmed).toBeDefined();
    expect(Array.from(trimmed!.headline).length).toBeLessThanOrEqual(27);
    expect(trimmed!.headline.endsWith('…')).toBe(true);
    expect(trimmed!.flags.join()).toMatch(/headline trimmed to 27 characters for meta/);
    for (const v of r.variants) expect(`${v.headline} ${v.body}`).not.toMatch(/cheap/i);
  });

  it("edits the leader's image in a feedback round", async () => {
    answerChat(variants(3));
    answerImages();
    fake.on('edits', async () => imageReply(await png()));
    const leaderImage = await png();
    const r = await generator().generate(
      req({ feedback: ['warmer colours'], leader: { headline: 'Old', body: 'Old body', cta: 'Go', image: leaderImage } }),
    );
    expect(r.variants).toHaveLength(2);
    const edits = fake.requests.filter((q) => q.endpoint === 'edits');
    expect(edits.length).toBe(2); // candidates 1 and 3 of 3
    expect(edits[0].body.image).toMatchObject({ filename: 'leader.png' });
    expect(String(edits[0].body.prompt)).toContain('warmer colours');
    // Edits ask for the configured quality too.
    for (const e of edits) expect(e.body.quality).toBe('auto');
    expect(fake.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(1);
  });

  it('uses the studio for images when IMAGE_PROVIDER=studio, and labels the drafts', async () => {
    answerChat(variants(3));
    const r = await generator({ IMAGE_PROVIDER: 'studio' }).generate(req());
    expect(fake.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(0);
    expect(r.offline).toBe(true);
    expect(r.cost.imageCalls).toBe(0);
    for (const v of r.variants) expect(v.flags.join()).toMatch(/offline draft/);
  });

  it('reports an image request that times out, without holding up the others', async () => {
    answerChat([{ ...variants(1)[0], visual_concept: 'SLOW scene' }, ...variants(3).slice(1)]);
    fake.on('generations', async (q) => {
      if (String(q.body.prompt).includes('SLOW')) await new Promise((r) => setTimeout(r, 1600));
      return imageReply(await png());
    });
    const r = await generator({ OPENAI_TIMEOUT_MS: '1000', OPENAI_MAX_RETRIES: '0' }).generate(req());
    expect(r.variants).toHaveLength(2);
    expect(r.failures.map((f) => f.message).join()).toMatch(/candidate 1 .*timed out/);
    // The answer that came too late never reached the bot, so neither did its usage: it counts
    // what it received. (The API may still bill such a request; the README says so.)
    expect(r.cost.imageCalls).toBe(2);
    await new Promise((res) => setTimeout(res, 800));
  });

  it('stops when the caller cancels', async () => {
    answerChat(variants(3));
    answerImages();
    const ctl = new AbortController();
    const p = generator().generate(req({ signal: ctl.signal, onProgress: (x) => x.stage === 'drawing' && x.done === 0 && ctl.abort() }));
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

const files = (q: { body: Record<string, unknown> }) => [q.body.image].flat() as FilePart[];

describe('cost: the usage the API reported, priced with the table', () => {
  it('prices cached input at the cached rate, images by their tokens, and counts a refused request as nothing', async () => {
    const usage = { prompt_tokens: 3000, completion_tokens: 400, total_tokens: 3400, prompt_tokens_details: { cached_tokens: 2048 } };
    fake.on('chat', () => variantsReply([{ ...variants(1)[0], visual_concept: 'BLOCKED scene' }, ...variants(3).slice(1)], { usage }));
    const imageUsage = {
      input_tokens: 50,
      output_tokens: 272,
      total_tokens: 322,
      input_tokens_details: { text_tokens: 50, image_tokens: 0 },
    };
    fake.on('generations', async (q) =>
      String(q.body.prompt).includes('BLOCKED')
        ? errorReply(400, 'Your request was rejected as a result of our safety system.', 'moderation_blocked')
        : imageReply(await png(), { usage: imageUsage }),
    );
    const r = await generator({ OPENAI_IMAGE_QUALITY: 'low' }).generate(req());
    expect(fake.requests.filter((q) => q.endpoint === 'generations').map((q) => q.body.quality)).toEqual(['low', 'low', 'low']);
    // gpt-4o-mini: 952 input × $0.15 + 2048 cached × $0.075 + 400 output × $0.60 per 1M;
    // gpt-image-2.6-sunburst: 2 × (50 text input × $5 + 272 image output × $30) per 1M; the refused third image is free.
    const expected = (952 * 0.15 + 2048 * 0.075 + 400 * 0.6) / 1e6 + (2 * (50 * 5 + 272 * 30)) / 1e6;
    expect(r.cost.usd).toBeCloseTo(expected, 9);
    expect(r.cost.usd).toBeCloseTo(priced(fake.billed), 9);
    expect(r.cost).toMatchObject({
      textCalls: 1,
      imageCalls: 2,
      tokens: { text: { input: 952 + 100, cachedInput: 2048, output: 400 }, image: { input: 0, cachedInput: 0, output: 544 } },
    });
    expect(r.cost.byModel['gpt-image-2.6-sunburst']).toMatchObject({ requests: 2, image: { output: 544 } });
  });

  it('bills dall-e per image at the size and quality asked (it reports no usage)', async () => {
    answerChat(variants(3));
    answerImages();
    const r = await generator({ OPENAI_IMAGE_MODEL: 'dall-e-3' }).generate(req());
    const gens = fake.requests.filter((q) => q.endpoint === 'generations');
    // dall-e-3: quality standard unless set, base64 asked for, no GPT-only parameters.
    for (const g of gens) {
      expect(g.body).toMatchObject({ model: 'dall-e-3', quality: 'standard', size: '1024x1024', response_format: 'b64_json', n: 1 });
      expect(g.body.background).toBeUndefined();
    }
    expect(fake.billed.filter((b) => b.endpoint === 'generations').every((b) => b.usage === undefined)).toBe(true);
    expect(r.cost.usd).toBeCloseTo(priced(fake.billed), 9);
    expect(r.cost.byModel['dall-e-3']).toMatchObject({ requests: 3, perImage: 3, usd: 0.12 });
    expect(r.cost.notes.join()).toMatch(/dall-e-3 reports no token usage: priced per image/);
  });

  it('a model the stand-in refuses is reported per candidate and costs nothing', async () => {
    answerChat(variants(3));
    answerImages();
    refusalsExpected = 3;
    const r = await generator({ OPENAI_IMAGE_MODEL: 'my-image-model', OPENAI_MAX_RETRIES: '0' }).generate(req());
    expect(r.variants).toHaveLength(0);
    expect(r.failures.map((f) => f.message).join('\n')).toMatch(/the API answered 400: Invalid value: 'my-image-model'/);
    expect(r.cost).toMatchObject({ textCalls: 1, imageCalls: 0 });
  });

  it('carries the cost on the error when the text model refuses after being billed', async () => {
    fake.on('chat', () => chatReply(null, { refusal: 'No.' }));
    const err = (await generator()
      .generate(req())
      .catch((e: unknown) => e)) as Error & { cost?: { textCalls: number; usd: number } };
    expect(err.cost?.textCalls).toBe(1);
    expect(err.cost?.usd).toBeCloseTo(priced(fake.billed), 9);
  });
});

describe('the reference image reaches the image model', () => {
  it("sends a brief's reference image to the edit endpoint with every candidate in round 1", async () => {
    answerChat(variants(3));
    answerImages();
    fake.on('edits', async () => imageReply(await png()));
    const reference = tinyPng(40, 30, [200, 40, 40]);
    const r = await generator().generate(req({ referenceImage: reference }));
    expect(r.failures).toEqual([]);
    expect(fake.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(0);
    const edits = fake.requests.filter((q) => q.endpoint === 'edits');
    expect(edits).toHaveLength(3);
    for (const e of edits) {
      const [f] = files(e);
      expect(files(e)).toHaveLength(1);
      expect(f.filename).toBe('reference.png');
      expect(Buffer.compare(f.data, Buffer.from(reference))).toBe(0);
      expect(e.body).toMatchObject({ model: 'gpt-image-2.6-sunburst', size: '1024x1024', quality: 'auto' });
      expect(String(e.body.prompt)).toMatch(/in the spirit of the given reference image/);
    }
    // The edits were billed for the reference's image tokens too.
    expect(r.cost.tokens.image.input).toBeGreaterThan(0);
    expect(r.cost.usd).toBeCloseTo(priced(fake.billed), 9);
  });

  it('sends the brand logo along where the kit asks (logoInVisual), rasterised from its SVG', async () => {
    answerChat(variants(3));
    fake.on('edits', async () => imageReply(await png()));
    const reference = tinyPng(32, 32, [10, 120, 200]);
    await generator().generate(req({ brand: 'acmelogo', referenceImage: reference }));
    const edits = fake.requests.filter((q) => q.endpoint === 'edits');
    expect(edits).toHaveLength(3);
    for (const e of edits) {
      expect(files(e).map((f) => f.filename)).toEqual(['reference.png', 'logo.png']);
      expect(files(e)[1].data.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(String(e.body.prompt)).toMatch(/Show the Acme Outdoor logo/);
    }
    // Without a reference the logo goes alone.
    fake.reset();
    answerChat(variants(3));
    await generator().generate(req({ brand: 'acmelogo' }));
    const alone = fake.requests.filter((q) => q.endpoint === 'edits');
    expect(alone.map((e) => files(e).map((f) => f.filename))).toEqual([['logo.png'], ['logo.png'], ['logo.png']]);
  });

  it("works from a voted leader's image outside feedback rounds", async () => {
    answerChat(variants(3));
    fake.on('edits', async () => imageReply(await png()));
    const leaderImage = tinyPng(24, 24, [90, 90, 20]);
    await generator().generate(req({ leader: { headline: 'Old', body: 'Old body', cta: 'Go', image: leaderImage } }));
    const edits = fake.requests.filter((q) => q.endpoint === 'edits');
    expect(edits).toHaveLength(3);
    for (const e of edits) expect(Buffer.compare(files(e)[0].data, Buffer.from(leaderImage))).toBe(0);
  });

  it('dall-e-3 has no edit endpoint: the reference is not sent and every variant says so', async () => {
    answerChat(variants(3));
    answerImages();
    const r = await generator({ OPENAI_IMAGE_MODEL: 'dall-e-3' }).generate(req({ referenceImage: tinyPng(16, 16, [1, 2, 3]) }));
    expect(fake.requests.filter((q) => q.endpoint === 'edits')).toHaveLength(0);
    expect(fake.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(3);
    for (const v of r.variants)
      expect(v.flags.join()).toMatch(/the reference image was not sent: openai:dall-e-3 cannot work from an image/);
  });

  it('dall-e-2 edits get a square PNG and a prompt within its 1000 characters', async () => {
    answerChat(variants(3));
    answerImages();
    fake.on('edits', async () => imageReply(await png()));
    const feedback = Array.from({ length: 30 }, (_, i) => `feedback number ${i + 1}: make the sky a little warmer and the pack greener`);
    const r = await generator({ OPENAI_IMAGE_MODEL: 'dall-e-2' }).generate(
      req({ feedback, leader: { headline: 'Old', body: 'Old body', cta: 'Go', image: tinyPng(40, 20, [5, 5, 5]) } }),
    );
    expect(r.failures).toEqual([]);
    const edits = fake.requests.filter((q) => q.endpoint === 'edits');
    expect(edits).toHaveLength(2);
    for (const e of edits) {
      const [f] = files(e);
      expect(f.data.readUInt32BE(16)).toBe(f.data.readUInt32BE(20)); // square
      expect(e.body.quality).toBeUndefined(); // quality on edits is for the GPT image models
      expect(e.body.response_format).toBe('b64_json');
    }
    for (const q of fake.requests.filter((x) => x.endpoint !== 'chat')) {
      expect(String(q.body.prompt).length).toBeLessThanOrEqual(1000);
      expect(String(q.body.prompt)).toMatch(/feedback number 30/); // the latest feedback is kept
    }
  });

  it('passes background and output format to the GPT image models', async () => {
    answerChat(variants(3));
    answerImages();
    await generator({
      OPENAI_IMAGE_BACKGROUND: 'transparent',
      OPENAI_IMAGE_OUTPUT_FORMAT: 'webp',
      OPENAI_IMAGE_SIZE: '1536x1024',
    }).generate(req());
    for (const g of fake.requests.filter((q) => q.endpoint === 'generations')) {
      expect(g.body).toMatchObject({ background: 'transparent', output_format: 'webp', size: '1536x1024' });
    }
  });
});
