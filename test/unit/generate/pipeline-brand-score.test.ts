/**
 * The brand score through the pipeline with the offline studio: every variant is scored on its
 * final renders, and a kit's minimum makes exactly one regeneration, then a warning.
 */
import { describe, expect, it } from 'vitest';
import { BRAND_RULES, brandScoreLine } from '../../../src/generate/brand-score.ts';
import { type BrandKit, loadBrand } from '../../../src/generate/brands.ts';
import type { CopyContext, Copywriter } from '../../../src/generate/copy.ts';
import type { ImageProvider } from '../../../src/generate/images.ts';
import { createOfflineCopywriter } from '../../../src/generate/offline-copy.ts';
import { createPipeline, type PipelineDeps } from '../../../src/generate/pipeline.ts';
import { priceTable } from '../../../src/generate/pricing.ts';
import { createStudioImages } from '../../../src/generate/studio.ts';
import type { Copy, GenerateRequest } from '../../../src/generate/types.ts';
import { silentLogger } from '../../../src/log.ts';
import { DEFAULT_WEIGHTS } from '../../../src/rank/score.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';

const fonts = new Set(['dejavu sans', 'dejavu serif', 'dejavu sans condensed']);
const northwind = loadBrand('brands', 'northwind', { fonts });

/** The studio, counting what it is asked to draw. */
function countingStudio(): { images: ImageProvider; concepts: string[] } {
  const studio = createStudioImages({ size: 256 });
  const concepts: string[] = [];
  return {
    concepts,
    images: { ...studio, draw: (job, s) => (concepts.push(job.concept), studio.draw(job, s)) },
  };
}

/** A copywriter that writes `batches[n]` on its n-th call (the last one again after that) and records each call. */
function scripted(batches: ((i: number) => Copy)[]): { copywriter: Copywriter; calls: CopyContext[] } {
  const calls: CopyContext[] = [];
  return {
    calls,
    copywriter: {
      offline: true,
      async write(ctx) {
        calls.push(ctx);
        const make = batches[Math.min(calls.length - 1, batches.length - 1)];
        const drafts = Array.from({ length: ctx.count }, (_, i) => ({
          ...make(i),
          concept: `coffee beans on a table, call ${calls.length}, draft ${i}`,
          flags: [],
          offline: true,
        }));
        return { drafts, failures: [], textCalls: 0 };
      },
    },
  };
}

function deps(kit: BrandKit, over: Partial<PipelineDeps> = {}): PipelineDeps {
  return {
    copywriter: createOfflineCopywriter(),
    images: createStudioImages({ size: 256 }),
    encoder: fakeEncoder({ dims: 64 }),
    maxSimilarity: async (e) => e.map(() => 0.25),
    brand: () => kit,
    limits: (ch) => limitsFor(ch),
    weights: DEFAULT_WEIGHTS,
    candidateFactor: 1,
    concurrency: 2,
    prices: priceTable(),
    logger: silentLogger,
    ...over,
  };
}

const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  brief: 'Single-origin coffee beans roasted this week, delivered in two days',
  brand: 'northwind',
  channel: 'meta',
  formats: ['square', 'story'],
  count: 2,
  inspiration: [],
  feedback: [],
  ...over,
});

const noBrandName = (i: number): Copy => ({ headline: `Roasted this week ${i + 1}`, body: 'Fresh beans at your door.', cta: 'Order now' });
const withBrandName = (i: number): Copy => ({ headline: `Northwind roast ${i + 1}`, body: 'Fresh beans at your door.', cta: 'Order now' });

describe('brand score in generation', () => {
  it('scores every variant on its final renders, every format measured, with offline tone out of the denominator', async () => {
    const kit = { ...northwind, toneWords: ['warm'] };
    const r = await createPipeline(deps(kit)).generate(req());
    expect(r.variants).toHaveLength(2);
    for (const v of r.variants) {
      const b = v.scores.brand;
      if (!b) throw new Error(`variant ${v.label} has no brand score`);
      expect(b.rules.map((x) => x.rule)).toEqual([...BRAND_RULES]);
      expect(b.rules.find((x) => x.rule === 'tone')).toEqual({
        rule: 'tone',
        status: 'not_applicable',
        detail: 'offline copy: no copywriter self-check',
      });
      expect(b.applicable).toBe(6);
      expect(b.score).toBeCloseTo(b.passed / b.applicable, 10);
      // Northwind's logo is drawn (on a plate where the picture is too busy) at 3:1 or better in both formats.
      expect(b.rules.find((x) => x.rule === 'logo_contrast')).toMatchObject({
        status: 'passed',
        detail: expect.stringMatching(/^square \d+\.\d\d:1, story \d+\.\d\d:1$/),
      });
      expect(b.rules.find((x) => x.rule === 'safe_zones')).toMatchObject({ status: 'passed' });
      expect(b.regenerated).toBeUndefined();
    }
  });

  it('regenerates the variants under the kit minimum exactly once, telling the copywriter what failed, then warns', async () => {
    const kit = { ...northwind, minBrandScore: 0.9 };
    const { copywriter, calls } = scripted([noBrandName]);
    const { images, concepts } = countingStudio();
    const r = await createPipeline(deps(kit, { copywriter, images })).generate(req());
    // One first call for both variants, one regeneration for the two that missed "Northwind": no third.
    expect(calls.map((c) => c.count)).toEqual([2, 2]);
    expect(calls[1].feedback).toEqual([
      expect.stringContaining('must-say words: missing "Northwind"'),
      expect.stringContaining('must-say words: missing "Northwind"'),
    ]);
    expect(concepts).toHaveLength(4);
    expect(concepts.slice(2).every((c) => c.includes('call 2'))).toBe(true);
    expect(r.variants).toHaveLength(2);
    for (const v of r.variants) {
      const b = v.scores.brand;
      expect(b).toMatchObject({ regenerated: true, minimum: 0.9 });
      expect(b?.score).toBeLessThan(0.9);
      expect(v.flags).toContainEqual(
        expect.stringMatching(
          /^brand score \d+% is below the kit's minimum 90% after one regeneration; failed: .*must-say words: missing "Northwind"/,
        ),
      );
      expect(brandScoreLine(b!)).toContain('regenerated once');
    }
  });

  it('shows the regenerated variant, without a warning, when the second attempt meets the minimum', async () => {
    // Missing "Northwind" alone costs one rule of six (83 %), under this minimum.
    const kit = { ...northwind, minBrandScore: 0.9 };
    const { copywriter, calls } = scripted([noBrandName, withBrandName]);
    const r = await createPipeline(deps(kit, { copywriter })).generate(req({ count: 1, formats: ['square'] }));
    expect(calls).toHaveLength(2);
    const [v] = r.variants;
    expect(v.headline).toBe('Northwind roast 1');
    expect(v.scores.brand).toMatchObject({ regenerated: true });
    expect(v.scores.brand?.score).toBeGreaterThanOrEqual(0.9);
    expect(v.scores.brand?.rules.find((x) => x.rule === 'must_say')?.status).toBe('passed');
    expect(v.flags.some((f) => f.includes("below the kit's minimum"))).toBe(false);
  });

  it('makes nothing again when the kit sets no minimum, however low the score', async () => {
    const { copywriter, calls } = scripted([noBrandName]);
    const r = await createPipeline(deps(northwind, { copywriter })).generate(req({ count: 1, formats: ['square'] }));
    expect(calls).toHaveLength(1);
    expect(r.variants[0].scores.brand?.rules.find((x) => x.rule === 'must_say')).toMatchObject({ status: 'failed' });
    expect(r.variants[0].scores.brand?.regenerated).toBeUndefined();
  });

  it('re-scores a re-render of edited copy: no tone self-check, the round channel limits', async () => {
    const p = createPipeline(deps({ ...northwind, toneWords: ['warm'] }));
    const r = await p.generate(req({ count: 1, formats: ['square'] }));
    const again = await p.rerender(
      r.variants[0],
      { headline: 'Roasted cheap', body: 'x', cta: 'Order now' },
      {
        brand: 'northwind',
        formats: ['square'],
        channel: 'google',
      },
    );
    const b = again.scores.brand;
    expect(b?.rules.find((x) => x.rule === 'tone')?.detail).toBe('copy edited by a person: no copywriter self-check');
    expect(b?.rules.find((x) => x.rule === 'never_say')).toMatchObject({ status: 'failed', detail: 'uses "cheap"' });
    expect(b?.rules.find((x) => x.rule === 'channel_limits')?.detail).toBe('within google limits');
  });
});
