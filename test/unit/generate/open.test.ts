import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createGenerator, selectProviders } from '../../../src/generate/open.ts';
import { createLogger } from '../../../src/log.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';

describe('generator settings', () => {
  it('picks OpenAI with a key, the studio and offline copy without one', () => {
    expect(selectProviders(loadConfig({}))).toEqual({ copy: 'offline', images: 'studio' });
    expect(selectProviders(loadConfig({ OPENAI_API_KEY: 'sk-test-1234567890' }))).toEqual({ copy: 'openai', images: 'openai' });
    expect(selectProviders(loadConfig({ OPENAI_API_KEY: 'sk-test-1234567890', IMAGE_PROVIDER: 'studio' }))).toEqual({
      copy: 'openai',
      images: 'studio',
    });
  });

  it('IMAGE_PROVIDER=openai without a key is a configuration error that says what to do', () => {
    const cfg = loadConfig({ IMAGE_PROVIDER: 'openai' });
    expect(() => createGenerator({ cfg, encoder: fakeEncoder({ dims: 64 }), maxSimilarity: async (e) => e.map(() => 0) })).toThrow(
      /IMAGE_PROVIDER=openai needs OPENAI_API_KEY/,
    );
  });

  it('bad values name the variable and what was expected', () => {
    expect(() => loadConfig({ OPENAI_IMAGE_SIZE: 'huge' })).toThrow(
      /OPENAI_IMAGE_SIZE must be WIDTHxHEIGHT \(e\.g\. 1024x1024\) or auto; got "huge"/,
    );
    expect(() => loadConfig({ IMAGE_PROVIDER: 'midjourney' })).toThrow(/IMAGE_PROVIDER must be one of auto, openai, studio/);
    expect(() => loadConfig({ RANK_MMR_LAMBDA: '2' })).toThrow(/RANK_MMR_LAMBDA must be a number between 0 and 1/);
    expect(() => loadConfig({ OPENAI_BASE_URL: 'ftp://x' })).toThrow(/OPENAI_BASE_URL must be an http\(s\) URL/);
  });

  it('PRICE_PER_IMAGE_USD and PRICE_PER_TEXT_CALL_USD are deprecated: ignored, with a warning that says what to use', () => {
    const lines: string[] = [];
    const cfg = loadConfig({ PRICE_PER_IMAGE_USD: '0.05', PRICE_PER_TEXT_CALL_USD: '0.01' });
    createGenerator({
      cfg,
      encoder: fakeEncoder({ dims: 64 }),
      maxSimilarity: async (e) => e.map(() => 0),
      logger: createLogger({ write: (l) => lines.push(l) }),
    });
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn');
    expect(warnings.map((w) => w.msg)).toEqual([
      'PRICE_PER_IMAGE_USD is deprecated and ignored: costs are priced from the usage the API reports, with OPENAI_PRICES',
      'PRICE_PER_TEXT_CALL_USD is deprecated and ignored: costs are priced from the usage the API reports, with OPENAI_PRICES',
    ]);
    expect(warnings[0].hint).toMatch(/OPENAI_PRICES=gpt-image-2.6-sunburst:image_output=30/);
  });

  it('defaults match the documentation', () => {
    const c = loadConfig({});
    expect(c.openaiImageModel).toBe('gpt-image-2.6-sunburst');
    expect(c.imageProvider).toBe('auto');
    expect(c.brandsDir).toBe('brands');
    expect(c.rankWeightPreference).toBe(1);
    expect(c.candidateFactor).toBe(1.5);
  });
});
