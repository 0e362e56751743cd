import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { ConfigError } from '../../../src/errors.ts';
import { checkOpenAISettings, imageSettings } from '../../../src/generate/providers.ts';

/** The start-up check (`adcreative start` runs it first) on the settings `env` gives. */
const refused = (env: Record<string, string>): string => {
  try {
    checkOpenAISettings(loadConfig(env));
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
};

describe('image settings are checked against the model at start-up', () => {
  it('refuses a size or quality gpt-image-2.6-sunburst does not take, listing the ones it does', () => {
    expect(refused({ OPENAI_IMAGE_SIZE: '1080x1920' })).toBe(
      'OPENAI_IMAGE_SIZE must be one of 1024x1024, 1536x1024, 1024x1536, auto for gpt-image-2.6-sunburst; got "1080x1920"',
    );
    expect(refused({ OPENAI_IMAGE_QUALITY: 'hd' })).toBe(
      'OPENAI_IMAGE_QUALITY must be one of low, medium, high, auto for gpt-image-2.6-sunburst; got "hd"',
    );
    // Both at once: one start shows every problem.
    const both = refused({ OPENAI_IMAGE_SIZE: '1792x1024', OPENAI_IMAGE_QUALITY: 'standard' });
    expect(both).toMatch(
      /invalid settings:\n {2}- OPENAI_IMAGE_SIZE must be one of .* for gpt-image-2.6-sunburst; got "1792x1024"\n {2}- OPENAI_IMAGE_QUALITY/,
    );
  });

  it('knows dall-e-3 and dall-e-2 have their own sizes and qualities', () => {
    expect(refused({ OPENAI_IMAGE_MODEL: 'dall-e-3', OPENAI_IMAGE_SIZE: '1536x1024' })).toBe(
      'OPENAI_IMAGE_SIZE must be one of 1024x1024, 1792x1024, 1024x1792 for dall-e-3; got "1536x1024"',
    );
    expect(refused({ OPENAI_IMAGE_MODEL: 'dall-e-3', OPENAI_IMAGE_QUALITY: 'high' })).toBe(
      'OPENAI_IMAGE_QUALITY must be one of standard, hd for dall-e-3; got "high"',
    );
    expect(refused({ OPENAI_IMAGE_MODEL: 'dall-e-2', OPENAI_IMAGE_SIZE: '1024x1536' })).toBe(
      'OPENAI_IMAGE_SIZE must be one of 256x256, 512x512, 1024x1024 for dall-e-2; got "1024x1536"',
    );
    // Quality unset: the model's own default, not gpt-image's "auto".
    expect(imageSettings(loadConfig({ OPENAI_IMAGE_MODEL: 'dall-e-3', OPENAI_IMAGE_SIZE: '1792x1024' }))).toMatchObject({
      size: '1792x1024',
      quality: 'standard',
    });
    expect(imageSettings(loadConfig({ OPENAI_IMAGE_MODEL: 'dall-e-3', OPENAI_IMAGE_QUALITY: 'hd' })).quality).toBe('hd');
    expect(imageSettings(loadConfig({})).quality).toBe('auto');
  });

  it('background and output format: GPT image models only, and transparent needs png or webp', () => {
    expect(refused({ OPENAI_IMAGE_MODEL: 'dall-e-3', OPENAI_IMAGE_BACKGROUND: 'transparent' })).toMatch(
      /^OPENAI_IMAGE_BACKGROUND is only supported by the GPT image models \(gpt-image-2\.6-sunburst, gpt-image-2\.6-flare, gpt-image-1, gpt-image-1-mini, gpt-image-1\.5\); unset it for dall-e-3/,
    );
    expect(refused({ OPENAI_IMAGE_MODEL: 'dall-e-2', OPENAI_IMAGE_OUTPUT_FORMAT: 'webp' })).toMatch(
      /^OPENAI_IMAGE_OUTPUT_FORMAT is only supported by the GPT image models; dall-e-2 answers with PNG/,
    );
    expect(refused({ OPENAI_IMAGE_BACKGROUND: 'transparent', OPENAI_IMAGE_OUTPUT_FORMAT: 'jpeg' })).toMatch(
      /OPENAI_IMAGE_BACKGROUND=transparent needs OPENAI_IMAGE_OUTPUT_FORMAT png or webp/,
    );
    expect(refused({ OPENAI_IMAGE_BACKGROUND: 'clear' })).toMatch(
      /OPENAI_IMAGE_BACKGROUND must be one of auto, opaque, transparent; got "clear"/,
    );
    expect(imageSettings(loadConfig({ OPENAI_IMAGE_BACKGROUND: 'transparent', OPENAI_IMAGE_OUTPUT_FORMAT: 'webp' }))).toMatchObject({
      background: 'transparent',
      outputFormat: 'webp',
    });
    // The API defaults are not sent.
    const d = imageSettings(loadConfig({}));
    expect(d.background).toBeUndefined();
    expect(d.outputFormat).toBeUndefined();
  });

  it("refuses a model it knows nothing of on OpenAI's API, and takes it as given on a compatible server", () => {
    expect(refused({ OPENAI_IMAGE_MODEL: 'gpt-image-9' })).toMatch(
      /^OPENAI_IMAGE_MODEL must be one of gpt-image-2.6-sunburst, gpt-image-2.6-flare, gpt-image-1, gpt-image-1-mini, gpt-image-1.5, dall-e-3, dall-e-2 .*; got "gpt-image-9"\. With OPENAI_BASE_URL set/,
    );
    const s = imageSettings(
      loadConfig({ OPENAI_IMAGE_MODEL: 'flux-dev', OPENAI_IMAGE_SIZE: '768x1344', OPENAI_BASE_URL: 'http://gpu:8000/v1' }),
    );
    expect(s).toMatchObject({ model: 'flux-dev', size: '768x1344', unknownModel: true });
  });
});
