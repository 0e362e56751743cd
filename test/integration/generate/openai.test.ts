/**
 * The real openai SDK against a loopback server speaking Chat Completions and Images:
 * what a user gets when the API rate-limits, fails, refuses or returns malformed copy.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { AdError } from '../../../src/errors.ts';
import { createGenerator } from '../../../src/generate/open.ts';
import type { GenerateRequest } from '../../../src/generate/types.ts';
import { renderStudioArt } from '../../../src/image/studio-art.ts';
import { createLogger } from '../../../src/log.ts';
import {
  chatReply,
  errorReply,
  type FakeOpenAI,
  imageReply,
  startFakeOpenAI,
  type TestVariant,
  variantsReply,
} from '../../helpers/fake-openai.ts';
import { fakeEncoder } from '../../helpers/generate-fakes.ts';

const KEY = 'sk-test-abcdefghijklmnop1234';

let fake: FakeOpenAI;
let logs: string[];

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.requests.length = 0;
});

function generator(env: Record<string, string> = {}) {
  logs = [];
  const cfg = loadConfig({
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: fake.url,
    OPENAI_MAX_RETRIES: '2',
    OPENAI_TIMEOUT_MS: '10000',
    GENERATE_CONCURRENCY: '2',
    BRANDS_DIR: 'brands',
    ...env,
  });
  return createGenerator({
    cfg,
    encoder: fakeEncoder(),
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
    // ceil(1.5 × 2) = 3 candidates drawn, 2 shown.
    expect(r.cost).toEqual({ textCalls: 1, imageCalls: 3, usd: Math.round((0.002 + 3 * 0.042) * 10000) / 10000 });
    const chat = fake.requests.filter((q) => q.endpoint === 'chat');
    expect(chat).toHaveLength(1);
    const rf = chat[0].body.response_format as { type: string; json_schema: { strict: boolean; name: string } };
    expect(rf.type).toBe('json_schema');
    expect(rf.json_schema.strict).toBe(true);
    expect(chat[0].body.model).toBe('gpt-4o-mini');
    expect(JSON.stringify(chat[0].body.messages)).toContain('Never use these words: cheap, guaranteed');
    const gens = fake.requests.filter((q) => q.endpoint === 'generations');
    expect(gens).toHaveLength(3);
    expect(gens[0].body.model).toBe('gpt-image-1');
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
  });

  it('stops when the caller cancels', async () => {
    answerChat(variants(3));
    answerImages();
    const ctl = new AbortController();
    const p = generator().generate(req({ signal: ctl.signal, onProgress: (x) => x.stage === 'drawing' && x.done === 0 && ctl.abort() }));
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
