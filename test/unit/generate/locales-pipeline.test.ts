import { describe, expect, it } from 'vitest';
import { DEFAULT_BRAND } from '../../../src/generate/brands.ts';
import type { CopyContext } from '../../../src/generate/copy.ts';
import type { Localizer } from '../../../src/generate/locale-copy.ts';
import { createOfflineCopywriter } from '../../../src/generate/offline-copy.ts';
import { createPipeline } from '../../../src/generate/pipeline.ts';
import { priceTable } from '../../../src/generate/pricing.ts';
import { createStudioImages } from '../../../src/generate/studio.ts';
import { silentLogger } from '../../../src/log.ts';
import { DEFAULT_WEIGHTS } from '../../../src/rank/score.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { tinyPng } from '../../helpers/png.ts';

function pipeline(localizer?: Localizer) {
  const seen: CopyContext[] = [];
  const offline = createOfflineCopywriter();
  const p = createPipeline({
    copywriter: {
      offline: true,
      write: (ctx) => {
        seen.push(ctx);
        return offline.write(ctx);
      },
    },
    images: createStudioImages({ size: 96 }),
    encoder: fakeEncoder(),
    maxSimilarity: async (e) => e.map(() => 0.2),
    brand: () => DEFAULT_BRAND,
    limits: (ch) => limitsFor(ch),
    weights: DEFAULT_WEIGHTS,
    candidateFactor: 1,
    concurrency: 2,
    prices: priceTable(),
    logger: silentLogger,
    compose: async () => ({
      // A real PNG: the brand score decodes the render to measure its colours.
      png: Buffer.from(tinyPng(1, 1, [34, 34, 34])),
      width: 1,
      height: 1,
      scrim: 0,
      contrast: 21,
      headlineSize: 40,
      headlineBox: { x: 0, y: 0, width: 1, height: 1 },
      ctaBox: { x: 0, y: 0, width: 1, height: 1 },
    }),
    ...(localizer ? { localizer } : {}),
  });
  return { p, seen };
}

const req = {
  brief: 'Trail-running sunscreen that stays out of your eyes',
  channel: 'meta' as const,
  formats: ['square' as const],
  count: 1,
  inspiration: [],
  feedback: [],
  locales: ['en', 'de'],
};

describe('limits of the brief-language copy with locales', () => {
  it('are tightened for the longest language only when the copy will be translated', async () => {
    const translating: Localizer = {
      offline: false,
      localize: async (ctx) => ({
        copies: ctx.variants.map((v) =>
          ctx.locales.map((l) => ({
            locale: l.tag,
            status: l.lang === 'en' ? ('source' as const) : ('translated' as const),
            ...v,
            flags: [],
          })),
        ),
        failures: [],
      }),
    };
    const online = pipeline(translating);
    const r = await online.p.generate(req);
    expect(r.failures).toEqual([]);
    // German runs ~35 % longer than English: 27 / 1.35 = 20.
    expect(online.seen[0].limits.headline.max).toBe(20);
    expect(r.variants[0].locales?.map((l) => [l.locale, l.status, !!l.images?.square])).toEqual([
      ['en', 'source', true],
      ['de', 'translated', true],
    ]);
    // Offline nothing is translated, so the brief's copy keeps the whole limit.
    const offline = pipeline();
    await offline.p.generate(req);
    expect(offline.seen[0].limits.headline.max).toBe(27);
  });
});
