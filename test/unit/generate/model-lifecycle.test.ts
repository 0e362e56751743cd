import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { checkLifecycles, lifecycleOf } from '../../../src/generate/model-lifecycle.ts';
import { checkOpenAISettings } from '../../../src/generate/providers.ts';

const KEY = { OPENAI_API_KEY: 'sk-test-1234567890' };
const DEC_5_2026 = new Date('2026-12-05T09:00:00Z');

describe('models OpenAI has shut down', () => {
  it('knows a model is shut down from its shutdown day on, and how many days a deprecated one has left', () => {
    expect(lifecycleOf('gpt-image-1.5', new Date('2026-11-30T23:59:00Z'))).toMatchObject({ state: 'deprecated', daysLeft: 1 });
    expect(lifecycleOf('gpt-image-1.5', new Date('2026-12-01T00:00:00Z'))).toMatchObject({
      state: 'shut-down',
      replacement: 'gpt-image-2.6-sunburst',
    });
    expect(lifecycleOf('gpt-4o-mini', DEC_5_2026)).toMatchObject({ state: 'deprecated', daysLeft: 40, replacement: 'gpt-6-luna' });
    expect(lifecycleOf('gpt-image-2.6-sunburst', DEC_5_2026)).toEqual({ state: 'active' });
  });

  it("the defaults start on OpenAI's API today, with a warning for the text model near its shutdown", () => {
    const { warnings } = checkOpenAISettings(loadConfig(KEY), DEC_5_2026);
    expect(warnings).toEqual([
      'OPENAI_TEXT_MODEL=gpt-4o-mini: OpenAI shuts this model down on 2027-01-14 (40 days left); its recommended replacement is gpt-6-luna',
    ]);
  });

  it("refuses a shut-down image model on OpenAI's API, naming the variable, the date and the replacement", () => {
    expect(() => checkOpenAISettings(loadConfig({ ...KEY, OPENAI_IMAGE_MODEL: 'gpt-image-1' }), DEC_5_2026)).toThrow(
      'OPENAI_IMAGE_MODEL=gpt-image-1: OpenAI shut this model down on 2026-10-23; set OPENAI_IMAGE_MODEL=gpt-image-2.6-sunburst',
    );
  });

  it('lists every shut-down model in use at once', () => {
    expect(() =>
      checkOpenAISettings(
        loadConfig({ ...KEY, OPENAI_TEXT_MODEL: 'gpt-5-mini', OPENAI_IMAGE_MODEL: 'dall-e-3' }),
        new Date('2026-12-12T00:00:00Z'),
      ),
    ).toThrow(/invalid settings:\n {2}- OPENAI_TEXT_MODEL=gpt-5-mini: .*gpt-6\.1-terra.*\n {2}- OPENAI_IMAGE_MODEL=dall-e-3: .*2026-05-12/);
  });

  it('only warns through OPENAI_BASE_URL, where the server decides what it serves', () => {
    const r = checkOpenAISettings(
      loadConfig({ ...KEY, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_IMAGE_MODEL: 'gpt-image-1' }),
      DEC_5_2026,
    );
    expect(r.warnings).toContain(
      "OPENAI_IMAGE_MODEL=gpt-image-1: OpenAI shut this model down on 2026-10-23; set OPENAI_IMAGE_MODEL=gpt-image-2.6-sunburst (OpenAI's recommended replacement) or another current model (kept: OPENAI_BASE_URL is set)",
    );
  });

  it('checks nothing offline, and not the image model when the studio draws', () => {
    expect(checkOpenAISettings(loadConfig({ OPENAI_IMAGE_MODEL: 'gpt-image-1' }), DEC_5_2026).warnings).toEqual([]);
    expect(() =>
      checkOpenAISettings(loadConfig({ ...KEY, IMAGE_PROVIDER: 'studio', OPENAI_IMAGE_MODEL: 'gpt-image-1' }), DEC_5_2026),
    ).not.toThrow();
    expect(checkLifecycles([{ variable: 'X', model: 'gpt-4o-mini' }], new Date('2026-10-01T00:00:00Z'), false).warnings).toEqual([]);
  });

  it('following the advice to gpt-image-2.6-flare asks for its image prices, not text ones that would cost its pictures $0', () => {
    expect(() => checkOpenAISettings(loadConfig({ ...KEY, OPENAI_IMAGE_MODEL: 'gpt-image-2.6-flare' }), DEC_5_2026)).toThrow(
      /OPENAI_IMAGE_MODEL=gpt-image-2\.6-flare has no price.*gpt-image-2\.6-flare:image_input=USD,gpt-image-2\.6-flare:image_output=USD/,
    );
  });

  it('through OPENAI_BASE_URL, says the default image model is asked for (the server may serve only older names)', () => {
    const base = { ...KEY, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' };
    expect(checkOpenAISettings(loadConfig(base), DEC_5_2026).warnings).toContain(
      'OPENAI_IMAGE_MODEL is gpt-image-2.6-sunburst (the default) and OPENAI_BASE_URL is set: check that server serves it, or set OPENAI_IMAGE_MODEL to a model it does',
    );
    expect(
      checkOpenAISettings(loadConfig({ ...base, OPENAI_IMAGE_MODEL: 'my-image-model' }), DEC_5_2026).warnings.some((w) =>
        w.includes('(the default)'),
      ),
    ).toBe(false);
  });
});
