/**
 * The brand score with the real openai SDK against the strict stand-in (helpers/fake-openai.ts):
 * the copywriter is asked, in the same structured call, whether its copy respects the kit's tone
 * words; its answer becomes the tone rule; a kit minimum makes exactly one more copy call and one
 * more picture per variant under it, then a warning.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createGenerator } from '../../../src/generate/open.ts';
import type { GenerateRequest } from '../../../src/generate/types.ts';
import { renderStudioArt } from '../../../src/image/studio-art.ts';
import { silentLogger } from '../../../src/log.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { type FakeOpenAI, imageReply, startFakeOpenAI, type TestVariant, variantsReply } from '../../helpers/fake-openai.ts';

const KEY = 'sk-test-brandscore-0000000000';
let fake: FakeOpenAI;
let brandsDir: string;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
  brandsDir = mkdtempSync(join(tmpdir(), 'brandscore-brands-'));
  cpSync('brands', brandsDir, { recursive: true });
  const acme = JSON.parse(readFileSync(join(brandsDir, 'acme.json'), 'utf8'));
  writeFileSync(join(brandsDir, 'acmetone.json'), JSON.stringify({ ...acme, name: 'acmetone', toneWords: ['plucky', 'outdoorsy'] }));
  writeFileSync(
    join(brandsDir, 'acmestrict.json'),
    JSON.stringify({ ...acme, name: 'acmestrict', toneWords: ['plucky', 'outdoorsy'], minBrandScore: 0.95 }),
  );
  let seed = 0;
  fake.on('generations', async () =>
    imageReply(await renderStudioArt({ palette: ['#1F6F50', '#F2C14E'], concept: 'test', seed: ++seed, size: 96 })),
  );
});
afterAll(async () => {
  await fake.close();
  rmSync(brandsDir, { recursive: true, force: true });
});
afterEach(() => {
  // Every request was well formed, and every answer matched the API (and the strict schema it was asked for).
  expect(fake.refused).toEqual([]);
  expect(fake.answerProblems).toEqual([]);
  fake.reset();
});

function generator() {
  const cfg = loadConfig({
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: fake.url,
    OPENAI_MAX_RETRIES: '0',
    GENERATE_CONCURRENCY: '2',
    BRANDS_DIR: brandsDir,
  });
  return createGenerator({ cfg, encoder: fakeEncoder({ dims: 64 }), maxSimilarity: async (e) => e.map(() => 0.3), logger: silentLogger });
}

const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  brief: 'Lightweight trail backpack for weekend hikers',
  brand: 'acmetone',
  channel: 'meta',
  formats: ['square'],
  count: 2,
  inspiration: [],
  feedback: [],
  ...over,
});

const variant = (i: number, tone: boolean): TestVariant => ({
  headline: `Acme trail pack ${i}`,
  primary_text: `Carry less, go further. Acme pack number ${i}.`,
  cta: 'Shop now',
  visual_concept: `concept-${i} a hiker on a ridge at dawn`,
  tone_respected: tone,
  tone_note: tone ? 'plucky and outdoorsy' : 'misses "plucky": reads like a spec sheet',
});

type ItemSchema = { properties: Record<string, unknown>; required: string[] };
type Sent = {
  messages: { role: string; content: string }[];
  response_format: { json_schema: { schema: { properties: { variants: { items: ItemSchema } } } } };
};
const sent = () => fake.requests.filter((q) => q.endpoint === 'chat').map((q) => q.body as unknown as Sent);

describe('brand score with the OpenAI copywriter', () => {
  it("asks for the tone self-check in the same call and scores the tone rule by the model's answer", async () => {
    // Each answer reports the same tone for all its variants, so the ranking's pick does not matter.
    let n = 0;
    fake.on('chat', () => variantsReply(++n === 1 ? [variant(1, false), variant(2, false), variant(3, false)] : []));
    const r = await generator().generate(req());
    const [call] = sent();
    expect(sent()).toHaveLength(1);
    const items = call.response_format.json_schema.schema.properties.variants.items;
    expect(items.properties.tone_respected).toEqual({ type: 'boolean' });
    expect(items.required).toContain('tone_respected');
    expect(call.messages[0].content).toContain('Tone words: plucky, outdoorsy.');
    expect(r.variants).toHaveLength(2);
    for (const v of r.variants) {
      expect(v.scores.brand?.rules.find((x) => x.rule === 'tone')).toEqual({
        rule: 'tone',
        status: 'failed',
        detail: 'copywriter: misses "plucky": reads like a spec sheet',
      });
      expect(v.scores.brand?.applicable).toBe(7);
    }
  });

  it('does not ask for a tone self-check when the kit names no tone words, and leaves the rule out of the score', async () => {
    fake.on('chat', () => variantsReply([1, 2, 3].map((i) => ({ ...variant(i, true), tone_respected: undefined, tone_note: undefined }))));
    const r = await generator().generate(req({ brand: 'acme' }));
    const items = sent()[0].response_format.json_schema.schema.properties.variants.items;
    expect(Object.keys(items.properties)).not.toContain('tone_respected');
    expect(r.variants[0].scores.brand?.rules.find((x) => x.rule === 'tone')).toMatchObject({ status: 'not_applicable' });
    expect(r.variants[0].scores.brand?.applicable).toBe(6);
  });

  it('regenerates the variants under the kit minimum once (one more copy call, one picture each), then warns', async () => {
    let n = 0;
    fake.on('chat', () => {
      n++;
      // First call: three candidates, all off-tone. The regeneration: two, still off-tone.
      return variantsReply(n === 1 ? [1, 2, 3].map((i) => variant(i, false)) : [4, 5].map((i) => variant(i, false)));
    });
    const r = await generator().generate(req({ brand: 'acmestrict' }));
    expect(sent()).toHaveLength(2);
    expect(sent()[1].messages[1].content).toMatch(
      /Brand rules a variant failed \(fix them\): tone words \(copywriter self-check\): copywriter: misses "plucky"/,
    );
    // ceil(1.5 × 2) = 3 first pictures, then one for each of the 2 variants made again.
    expect(fake.requests.filter((q) => q.endpoint === 'generations')).toHaveLength(5);
    expect(r.cost.textCalls).toBe(2);
    expect(r.cost.imageCalls).toBe(5);
    for (const v of r.variants) {
      expect(v.scores.brand).toMatchObject({ regenerated: true, minimum: 0.95 });
      expect(v.flags).toContainEqual(
        expect.stringMatching(/^brand score \d+% is below the kit's minimum 95% after one regeneration; failed: .*tone words/),
      );
    }
  });
});
