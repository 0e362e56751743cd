import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import {
  chatUsage,
  createCostMeter,
  describeCost,
  estimateRound,
  imageUsage,
  parsePriceOverrides,
  priceRequest,
  priceTable,
} from '../../../src/generate/pricing.ts';
import { checkOpenAISettings, createRoundPricing } from '../../../src/generate/providers.ts';

const KEY = { OPENAI_API_KEY: 'sk-test-1234567890' };
const check = (env: Record<string, string>) => checkOpenAISettings(loadConfig(env));

describe('the price table', () => {
  it("starts from OpenAI's published prices and takes overrides field by field", () => {
    const t = priceTable(
      parsePriceOverrides('gpt-4o-mini:output=0.5, gpt-image-1:image_output=32,dall-e-3:1024x1024/hd=0.09,my-llm:input=1'),
    );
    expect(t['gpt-4o-mini'].text).toEqual({ input: 0.15, cachedInput: 0.075, output: 0.5 });
    expect(t['gpt-image-1']).toEqual({ text: { input: 5, cachedInput: 1.25 }, image: { input: 10, cachedInput: 2.5, output: 32 } });
    expect(t['dall-e-3'].perImage?.['1024x1024/hd']).toBe(0.09);
    expect(t['dall-e-3'].perImage?.['1024x1024/standard']).toBe(0.04);
    expect(t['my-llm']).toEqual({ text: { input: 1 } });
  });

  it('refuses an override it cannot read, saying the format', () => {
    expect(() => check({ OPENAI_PRICES: 'gpt-4o-mini=0.15' })).toThrow(
      /OPENAI_PRICES must be comma-separated MODEL:FIELD=USD entries, .*; "gpt-4o-mini=0.15" is not MODEL:FIELD=USD/,
    );
    expect(() => check({ OPENAI_PRICES: 'gpt-4o-mini:inptu=0.15' })).toThrow(/OPENAI_PRICES: unknown field "inptu"/);
    expect(() => check({ OPENAI_PRICES: 'gpt-4o-mini:input=-1' })).toThrow(/must be a number of US dollars, 0 or more/);
  });

  it("on OpenAI's API a model in use needs a price; a compatible server's model may go without", () => {
    expect(() => check({ ...KEY, OPENAI_TEXT_MODEL: 'gpt-9' })).toThrow(
      /OPENAI_TEXT_MODEL=gpt-9 has no price.*OPENAI_PRICES \(e\.g\. gpt-9:input=USD/,
    );
    expect(() => check({ ...KEY, OPENAI_TEXT_MODEL: 'gpt-9', OPENAI_PRICES: 'gpt-9:input=1,gpt-9:output=2' })).not.toThrow();
    expect(() => check({ ...KEY, OPENAI_TEXT_MODEL: 'llama3', OPENAI_BASE_URL: 'http://llm:8000/v1' })).not.toThrow();
  });
});

describe('pricing billed requests', () => {
  const table = priceTable();

  it('splits cached prompt tokens out of the chat usage and prices each at its rate', () => {
    const r = chatUsage('gpt-4o-mini', { prompt_tokens: 2000, completion_tokens: 500, prompt_tokens_details: { cached_tokens: 1280 } });
    expect(r.text).toEqual({ input: 720, cachedInput: 1280, output: 500 });
    expect(priceRequest(table, r).usd).toBeCloseTo((720 * 0.15 + 1280 * 0.075 + 500 * 0.6) / 1e6, 12);
  });

  it("reads a GPT image model's text and image input tokens and its image output tokens", () => {
    const r = imageUsage(
      'gpt-image-1',
      'edits',
      { input_tokens: 400, output_tokens: 1056, input_tokens_details: { text_tokens: 60, image_tokens: 340 } },
      { size: '1024x1024', quality: 'medium' },
    );
    expect(r).toMatchObject({ text: { input: 60, output: 0 }, image: { input: 340, output: 1056 } });
    expect(r.perImage).toBeUndefined();
    expect(priceRequest(table, r).usd).toBeCloseTo((60 * 5 + 340 * 10 + 1056 * 40) / 1e6, 12);
  });

  it('prices an answer without usage per image, and says when no price is known', () => {
    const d = imageUsage('dall-e-3', 'generations', undefined, { size: '1792x1024', quality: 'hd' });
    expect(priceRequest(table, d)).toEqual({ usd: 0.12 });
    expect(priceRequest(table, imageUsage('dall-e-3', 'generations', undefined, { size: '512x512', quality: 'hd' })).missing).toMatch(
      /no per-image price for 512x512\/hd \(set OPENAI_PRICES=dall-e-3:512x512\/hd=USD\)/,
    );
    expect(priceRequest(table, chatUsage('llama3', { prompt_tokens: 10, completion_tokens: 5 }))).toEqual({
      usd: 0,
      missing: 'no price is known for llama3 (set OPENAI_PRICES)',
    });
  });

  it('names a token price the table lacks; a missing cached price falls back to the input price', () => {
    const t = priceTable(parsePriceOverrides('my-llm:input=1'));
    const r = chatUsage('my-llm', { prompt_tokens: 1000, completion_tokens: 10, prompt_tokens_details: { cached_tokens: 400 } });
    expect(priceRequest(t, r)).toEqual({ usd: 1000 / 1e6, missing: 'no text output price for my-llm (set OPENAI_PRICES)' });
  });

  it('a meter adds up requests per model and keeps the notes', () => {
    const m = createCostMeter(table);
    m.record(chatUsage('gpt-4o-mini', { prompt_tokens: 100, completion_tokens: 50 }));
    m.record(chatUsage('gpt-4o-mini', { prompt_tokens: 100, completion_tokens: 50 }));
    m.record(imageUsage('gpt-image-1', 'generations', { input_tokens: 20, output_tokens: 272 }, { size: '1024x1024', quality: 'low' }));
    m.record(imageUsage('mystery', 'generations', undefined, { size: '1024x1024', quality: 'auto' }));
    const c = m.cost();
    expect(c).toMatchObject({ textCalls: 2, imageCalls: 2, tokens: { text: { input: 220, output: 100 }, image: { output: 272 } } });
    expect(c.byModel['gpt-4o-mini'].requests).toBe(2);
    expect(c.usd).toBeCloseTo((200 * 0.15 + 100 * 0.6) / 1e6 + (20 * 5 + 272 * 40) / 1e6, 12);
    expect(c.notes).toEqual(['no price is known for mystery (set OPENAI_PRICES)']);
    expect(describeCost(c)).toBe(
      '$0.0111 (2 text calls, 2 image calls; tokens: text 220 in, 100 out; image 272 out) — no price is known for mystery (set OPENAI_PRICES)',
    );
  });
});

describe('the estimate before a round', () => {
  it('prices one copy call and one image per candidate; quality auto at the dearest (high)', () => {
    const table = priceTable();
    const base = { table, textModel: 'gpt-4o-mini', candidateFactor: 1.5 };
    const image = (quality: string, size = '1024x1024') => ({
      model: 'gpt-image-1',
      size,
      quality,
      spec: {} as never,
      unknownModel: false,
    });
    const low = estimateRound({ ...base, image: image('low') }, 4);
    expect(low).toMatchObject({ textCalls: 1, imageCalls: 6 });
    const copy = (900 * 0.15 + 80 * 6 * 0.6) / 1e6;
    expect(low.usd).toBeCloseTo(copy + 6 * ((120 * 5 + 272 * 40) / 1e6), 12);
    const auto = estimateRound({ ...base, image: image('auto') }, 4);
    expect(auto.usd).toBeCloseTo(copy + 6 * ((120 * 5 + 4160 * 40) / 1e6), 12);
    expect(estimateRound({ ...base, image: image('high', 'auto') }, 1).usd).toBeCloseTo(
      (900 * 0.15 + 80 * 0.6 * 2) / 1e6 + 2 * ((120 * 5 + 6240 * 40) / 1e6),
      12,
    );
  });

  it('with locales, adds the one call that writes the picked variants in every locale', () => {
    const base = { table: priceTable(), textModel: 'gpt-4o-mini', candidateFactor: 1.5 };
    const none = estimateRound(base, 4);
    const three = estimateRound(base, 4, { locales: 3 });
    expect(three).toMatchObject({ textCalls: 2, imageCalls: 0 });
    // Instructions, 4 variants with a limits line per locale in; 4 × 3 locales of copy out.
    expect(three.usd - none.usd).toBeCloseTo(((300 + 4 * (60 + 3 * 25)) * 0.15 + 80 * 4 * 3 * 0.6) / 1e6, 12);
    expect(estimateRound(base, 4, { locales: 1 }).usd).toBeLessThan(three.usd);
    // Offline copy writes no locales: nothing to price.
    expect(estimateRound({ ...base, textModel: undefined }, 4, { locales: 3 })).toEqual({ usd: 0, textCalls: 0, imageCalls: 0 });
  });

  it('follows the configuration: nothing offline, per image for dall-e', () => {
    expect(createRoundPricing(loadConfig({})).estimate(3)).toEqual({ usd: 0, textCalls: 0, imageCalls: 0 });
    // dall-e-3 is shut down on OpenAI's API (model-lifecycle.ts); a compatible server may still serve it.
    const dalle = createRoundPricing(
      loadConfig({ ...KEY, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_IMAGE_MODEL: 'dall-e-3', OPENAI_IMAGE_QUALITY: 'hd' }),
    ).estimate(2);
    expect(dalle.imageCalls).toBe(3);
    expect(dalle.usd).toBeCloseTo((900 * 0.15 + 80 * 3 * 0.6) / 1e6 + 3 * 0.08, 12);
    const studio = createRoundPricing(loadConfig({ ...KEY, IMAGE_PROVIDER: 'studio' })).estimate(2);
    expect(studio).toMatchObject({ textCalls: 1, imageCalls: 0 });
  });
});
