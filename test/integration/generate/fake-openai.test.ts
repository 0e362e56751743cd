/**
 * The OpenAI stand-in itself: it refuses what the API refuses (checked against the published
 * description), in the API's error shape, bills only what it answered, and answers like the API.
 * A stand-in that let these through would let the bot's mistakes through.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorReply, type FakeOpenAI, imageReply, startFakeOpenAI, variantsReply } from '../../helpers/fake-openai.ts';
import { tinyPng } from '../../helpers/png.ts';

const KEY = 'sk-test-fake-0000000000';
let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
  fake.on('chat', () => variantsReply([{ headline: 'h', primary_text: 'p', cta: 'c', visual_concept: 'v' }]));
  fake.on('generations', () => imageReply(tinyPng(8, 8, [1, 2, 3])));
  fake.on('edits', () => imageReply(tinyPng(8, 8, [1, 2, 3])));
});
afterAll(() => fake.close());
afterEach(() => fake.reset());

// Answers are read loosely here; their shape is what the tests assert.
// biome-ignore lint/suspicious/noExplicitAny: a JSON answer of any shape
type Json = Record<string, any>;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const form = body instanceof FormData;
  // FormData sets its own multipart content type, boundary included.
  const res = await fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, ...(form ? {} : { 'content-type': 'application/json' }), ...headers },
    body: form ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

function edit(fields: Record<string, string>, images: { name: string; bytes: Uint8Array; field?: string }[]) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const i of images) form.append(i.field ?? 'image', new Blob([Buffer.from(i.bytes)], { type: 'image/png' }), i.name);
  return form;
}

const strictSchema = {
  type: 'object',
  properties: {
    variants: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          headline: { type: 'string' },
          primary_text: { type: 'string' },
          cta: { type: 'string' },
          visual_concept: { type: 'string' },
        },
        required: ['headline', 'primary_text', 'cta', 'visual_concept'],
        additionalProperties: false,
      },
    },
  },
  required: ['variants'],
  additionalProperties: false,
};
const chat = (over: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'hello' }],
  response_format: { type: 'json_schema', json_schema: { name: 'ad_variants', strict: true, schema: strictSchema } },
  ...over,
});

describe('the OpenAI stand-in refuses what the API refuses', () => {
  it('answers a well-formed request with the usage it bills, and bills it', async () => {
    const r = await post('/chat/completions', chat());
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toMatch(/^req_/);
    expect(r.body.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    expect(r.body.usage.prompt_tokens_details.cached_tokens).toBe(0);
    const img = await post('/images/generations', { model: 'gpt-image-1', prompt: 'a tent', size: '1536x1024', quality: 'medium' });
    expect(img.body).toMatchObject({ size: '1536x1024', quality: 'medium', output_format: 'png', usage: { output_tokens: 1568 } });
    expect(fake.billed.map((b) => b.endpoint)).toEqual(['chat', 'generations']);
    expect(fake.answerProblems).toEqual([]);
  });

  it('reports an answer that does not match the strict schema it was asked for (a field the app added must be answered)', async () => {
    const items = strictSchema.properties.variants.items;
    const withTone = {
      ...strictSchema,
      properties: {
        variants: {
          type: 'array',
          items: {
            ...items,
            properties: { ...items.properties, tone_respected: { type: 'boolean' } },
            required: [...items.required, 'tone_respected'],
          },
        },
      },
    };
    const r = await post(
      '/chat/completions',
      chat({ response_format: { type: 'json_schema', json_schema: { name: 'ad_variants', strict: true, schema: withTone } } }),
    );
    expect(r.status).toBe(200);
    expect(fake.answerProblems).toEqual([
      "chat: content.variants[0].tone_respected Missing required parameter: 'content.variants[0].tone_respected'.",
    ]);
  });

  it('refuses a size, quality or parameter the image model does not take, in the error shape of the API', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [
        { size: '1080x1920' },
        'size',
        /Invalid value: '1080x1920'\. Supported values are: '1024x1024', '1536x1024', '1024x1536', and 'auto'\./,
      ],
      [{ quality: 'hd' }, 'quality', /Supported values are: 'low', 'medium', 'high', and 'auto'/],
      [{ response_format: 'b64_json' }, 'response_format', /always returns base64/],
      [{ style: 'vivid' }, 'style', /only supported for dall-e-3/],
      [{ background: 'transparent', output_format: 'jpeg' }, 'background', /png' or 'webp/],
      [{ n: 11 }, 'n', /greater than the maximum of 10/],
      [{ colour: 'red' }, 'colour', /Unrecognized request argument supplied: colour/],
      [{ prompt: undefined }, 'prompt', /Missing required parameter: 'prompt'/],
    ];
    for (const [over, param, message] of cases) {
      const r = await post('/images/generations', { model: 'gpt-image-1', prompt: 'a tent', ...over });
      expect(r.status, JSON.stringify(over)).toBe(400);
      expect(Object.keys(r.body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(r.body.error).toMatchObject({ type: 'invalid_request_error', param });
      expect(r.body.error.message).toMatch(message);
    }
    const d3 = await post('/images/generations', { model: 'dall-e-3', prompt: 'x'.repeat(4001), n: 1 });
    expect(d3.body.error).toMatchObject({ param: 'prompt', code: 'string_above_max_length' });
    expect((await post('/images/generations', { model: 'dall-e-3', prompt: 'a', n: 2 })).body.error.message).toBe(
      'For dall-e-3, only n=1 is supported.',
    );
    expect((await post('/images/generations', { prompt: 'a' })).body.error.param).toBe('model');
    expect(fake.billed).toEqual([]);
    expect(fake.refused.length).toBe(cases.length + 3);
  });

  it('checks edits: multipart, the models that edit, their inputs', async () => {
    const png = tinyPng(16, 16, [9, 9, 9]);
    const ok = await post('/images/edits', edit({ model: 'gpt-image-1', prompt: 'p', quality: 'low' }, [{ name: 'a.png', bytes: png }]));
    expect(ok.status).toBe(200);
    expect(ok.body.usage.input_tokens_details.image_tokens).toBeGreaterThan(0);
    const refusedWith = async (fields: Record<string, string>, images: { name: string; bytes: Uint8Array; field?: string }[]) =>
      (await post('/images/edits', edit(fields, images))).body.error;
    expect(await refusedWith({ model: 'dall-e-3', prompt: 'p' }, [{ name: 'a.png', bytes: png }])).toMatchObject({ param: 'model' });
    expect(await refusedWith({ model: 'dall-e-2', prompt: 'p' }, [{ name: 'a.png', bytes: tinyPng(16, 8, [1, 1, 1]) }])).toMatchObject({
      code: 'invalid_image_dimensions',
    });
    expect(
      await refusedWith({ model: 'dall-e-2', prompt: 'p' }, [
        { name: 'a.png', bytes: png, field: 'image[]' },
        { name: 'b.png', bytes: png, field: 'image[]' },
      ]),
    ).toMatchObject({ param: 'image' });
    expect(
      await refusedWith({ model: 'gpt-image-1', prompt: 'p' }, [{ name: 'a.txt', bytes: new TextEncoder().encode('hello') }]),
    ).toMatchObject({
      code: 'invalid_image_format',
    });
    expect(await refusedWith({ model: 'gpt-image-1', prompt: 'p', quality: 'standard' }, [{ name: 'a.png', bytes: png }])).toMatchObject({
      param: 'quality',
    });
    expect(await refusedWith({ model: 'gpt-image-1' }, [{ name: 'a.png', bytes: png }])).toMatchObject({
      code: 'missing_required_parameter',
    });
    // A JSON edit is another form of the endpoint, which the bot does not use.
    expect((await post('/images/edits', { model: 'gpt-image-1', prompt: 'p' })).status).toBe(400);
  });

  it('checks chat requests: the model, the message shapes, the strict schema rules', async () => {
    expect((await post('/chat/completions', chat({ model: 'gpt-9' }))).body.error).toMatchObject({ code: 'model_not_found' });
    expect((await post('/chat/completions', chat({ messages: [] }))).body.error.message).toMatch(/empty array/);
    expect((await post('/chat/completions', chat({ messages: [{ role: 'robot', content: 'x' }] }))).status).toBe(400);
    const loose = {
      ...strictSchema,
      properties: { variants: { type: 'array', items: { type: 'object', properties: { a: { type: 'string' } } } } },
    };
    const r = await post(
      '/chat/completions',
      chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true, schema: loose } } }),
    );
    expect(r.body.error.message).toMatch(/'additionalProperties' is required to be supplied and to be false/);
    const badName = await post(
      '/chat/completions',
      chat({ response_format: { type: 'json_schema', json_schema: { name: 'ad variants', schema: strictSchema } } }),
    );
    expect(badName.body.error.param).toBe('response_format.json_schema.name');
    expect(fake.billed).toEqual([]);
  });

  it('asks for the API key and answers errors with the retry headers the SDK reads', async () => {
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat()),
    });
    expect(res.status).toBe(401);
    expect((await post('/chat/completions', chat(), { authorization: 'Bearer sk-wrong' })).body.error.code).toBe('invalid_api_key');
    fake.on('chat', () => errorReply(429, 'Rate limit reached', 'rate_limit_exceeded'));
    const limited = await post('/chat/completions', chat());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after-ms')).toBe('5');
    expect(limited.headers.get('retry-after')).toBe('0');
    expect(fake.billed).toEqual([]);
  });

  it('reports cached prompt tokens once a long prompt repeats, in steps of 128', async () => {
    fake.on('chat', () => variantsReply([{ headline: 'h', primary_text: 'p', cta: 'c', visual_concept: 'v' }]));
    const long = 'brand voice and rules. '.repeat(300);
    const first = await post(
      '/chat/completions',
      chat({
        messages: [
          { role: 'system', content: long },
          { role: 'user', content: 'one' },
        ],
      }),
    );
    const second = await post(
      '/chat/completions',
      chat({
        messages: [
          { role: 'system', content: long },
          { role: 'user', content: 'two' },
        ],
      }),
    );
    expect(first.body.usage.prompt_tokens_details.cached_tokens).toBe(0);
    const cached = second.body.usage.prompt_tokens_details.cached_tokens;
    expect(cached).toBeGreaterThanOrEqual(1024);
    expect(cached % 128).toBe(0);
    expect(cached).toBeLessThan(second.body.usage.prompt_tokens);
  });
});
