import { describe, expect, it } from 'vitest';
import { cosine } from '../../../src/clip/types.ts';
import { loadConfig } from '../../../src/config.ts';
import { DEFAULT_BRAND, loadBrand } from '../../../src/generate/brands.ts';
import type { ImageProvider } from '../../../src/generate/images.ts';
import { warmth } from '../../../src/generate/mood.ts';
import { createOfflineCopywriter } from '../../../src/generate/offline-copy.ts';
import { createPipeline, type PipelineDeps, visualPlan } from '../../../src/generate/pipeline.ts';
import { chatUsage, emptyCost, priceTable } from '../../../src/generate/pricing.ts';
import { createStudioImages } from '../../../src/generate/studio.ts';
import type { GenerateProgress, GenerateRequest } from '../../../src/generate/types.ts';
import { labelFor } from '../../../src/generate/types.ts';
import { silentLogger } from '../../../src/log.ts';
import { DEFAULT_WEIGHTS } from '../../../src/rank/score.ts';
import { parseCommand } from '../../../src/rounds/brief.ts';
import { BRIEF_MAX_CHARS_RANGE, limitsFor } from '../../../src/vocabulary.ts';
import { fakeEncoder, textVector } from '../../helpers/fake-encoder.ts';

function pngSize(b: Uint8Array): { width: number; height: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  expect(Array.from(b.slice(1, 4))).toEqual([0x50, 0x4e, 0x47]);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

const fonts = new Set(['dejavu sans', 'dejavu serif', 'dejavu sans condensed']);

function deps(over: Partial<PipelineDeps> = {}) {
  const encoder = fakeEncoder({ dims: 64 });
  const d: PipelineDeps = {
    copywriter: createOfflineCopywriter(),
    images: createStudioImages({ size: 256 }),
    encoder,
    maxSimilarity: async (e) => e.map(() => 0.25),
    brand: (name) => (name ? loadBrand('brands', name, { fonts }) : DEFAULT_BRAND),
    limits: (ch) => limitsFor(ch),
    weights: DEFAULT_WEIGHTS,
    candidateFactor: 1.5,
    concurrency: 2,
    prices: priceTable(),
    logger: silentLogger,
    ...over,
  };
  return { d, encoder };
}

const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  brief: 'Single-origin coffee beans roasted this week, delivered in two days',
  brand: 'northwind',
  channel: 'meta',
  formats: ['square', 'landscape'],
  count: 3,
  inspiration: [],
  feedback: [],
  ...over,
});

describe('generation pipeline (studio)', () => {
  it("counts a request billed before generation (the brief's translation) in the round's cost", async () => {
    const { d } = deps();
    const translation = chatUsage('gpt-4o-mini', { prompt_tokens: 1000, completion_tokens: 200 });
    const r = await createPipeline(d).generate(req({ count: 1, formats: ['square'], billedBefore: [translation] }));
    expect(r.cost.textCalls).toBe(1);
    expect(r.cost.imageCalls).toBe(0);
    expect(r.cost.usd).toBeGreaterThan(0);
    expect(r.cost.byModel['gpt-4o-mini']).toBeDefined();
  });

  it('ranks more candidates than it shows and renders each shown one in every format', async () => {
    const { d, encoder } = deps();
    const progress: GenerateProgress[] = [];
    const r = await createPipeline(d).generate(req({ onProgress: (p) => progress.push(p) }));
    expect(encoder.calls.images).toBe(5); // ceil(1.5 × 3)
    expect(encoder.calls.texts).toBe(1);
    expect(r.variants.map((v) => v.label)).toEqual(['A', 'B', 'C']);
    expect(r.offline).toBe(true);
    expect(r.cost).toEqual(emptyCost()); // the studio bills nothing
    const ids = new Set(r.variants.map((v) => v.id));
    expect(ids.size).toBe(3);
    for (const v of r.variants) {
      expect(v.id).toMatch(/^[0-9a-z]{10}$/);
      expect(pngSize(v.images.square!)).toEqual({ width: 1080, height: 1080 });
      expect(pngSize(v.images.landscape!)).toEqual({ width: 1200, height: 628 });
      expect(v.images.story).toBeUndefined();
      expect(v.preview).toBe(v.images.square);
      expect(v.scores.novelty).toBeCloseTo(0.75, 6);
      expect(v.scores.total).toBeCloseTo(v.scores.relevance + 0.3 * 0.75, 6);
      expect(v.reason).toMatch(/of 5 candidates|of 5 by score/);
      expect(v.offline).toBe(true);
      expect(v.flags.join()).toMatch(/offline draft/);
      expect(v.imageEmbedding).toHaveLength(64);
    }
    // MMR order: each label's total is the best available or it was picked for variety.
    expect(r.variants[0].reason).toMatch(/highest score/);
    const stages = progress.map((p) => p.stage);
    expect(stages.indexOf('writing')).toBeLessThan(stages.indexOf('drawing'));
    expect(stages.indexOf('drawing')).toBeLessThan(stages.indexOf('ranking'));
    expect(stages.indexOf('ranking')).toBeLessThan(stages.indexOf('composing'));
    expect(progress.at(-1)).toEqual({ stage: 'composing', done: 3, total: 3 });
  });

  it('reports a failed candidate visual and goes on with the rest', async () => {
    const studio = createStudioImages({ size: 128 });
    let n = 0;
    const flaky: ImageProvider = {
      offline: true,
      name: 'flaky',
      draw: async (job, s) => {
        if (++n === 2) throw new Error('drawing the visual failed: the disk is on fire');
        return studio.draw(job, s);
      },
    };
    const { d } = deps({ images: flaky });
    const r = await createPipeline(d).generate(req({ count: 2, formats: ['square'] }));
    expect(r.variants).toHaveLength(2);
    expect(r.failures).toEqual([{ stage: 'image', message: expect.stringMatching(/^candidate 2 .*the disk is on fire/) }]);
  });

  it('returns no variants and every failure when no visual could be drawn', async () => {
    const broken: ImageProvider = { offline: true, name: 'broken', draw: async () => Promise.reject(new Error('no pixels today')) };
    const { d } = deps({ images: broken });
    const r = await createPipeline(d).generate(req({ count: 2 }));
    expect(r.variants).toEqual([]);
    expect(r.failures).toHaveLength(3);
  });

  it('ranks without novelty when the library cannot answer, and says so', async () => {
    const { d } = deps({ maxSimilarity: async () => Promise.reject(new Error('library offline')) });
    const r = await createPipeline(d).generate(req({ count: 1, formats: ['square'] }));
    expect(r.variants[0].scores.novelty).toBe(1);
    expect(r.failures[0]).toMatchObject({ stage: 'rank', message: expect.stringMatching(/library offline/) });
  });

  it('uses a brief embedding the caller already has instead of embedding the brief again', async () => {
    const { d, encoder } = deps();
    const given = textVector('some other brief', 64);
    const r = await createPipeline(d).generate(req({ count: 1, formats: ['square'], briefEmbedding: given }));
    expect(encoder.calls.texts).toBe(0);
    expect(r.variants[0].scores.relevance).toBeCloseTo(cosine(given, r.variants[0].imageEmbedding), 6);
  });

  it('passes candidates to the preference seam and shows its score', async () => {
    const seen: string[] = [];
    const { d } = deps({
      preference: async (vs) => {
        for (const v of vs) seen.push(v.headline);
        return vs.map((_, i) => (i === 0 ? null : 0.5));
      },
    });
    const r = await createPipeline(d).generate(req({ count: 2, formats: ['square'] }));
    expect(seen).toHaveLength(3);
    expect(r.variants.some((v) => v.scores.preference === 0.5 || v.scores.preference === null)).toBe(true);
  });

  it('takes a brief as long as the longest BRIEF_MAX_CHARS allows: nothing the edge accepted is refused mid-round', async () => {
    const cfg = loadConfig({ BRIEF_MAX_CHARS: String(BRIEF_MAX_CHARS_RANGE.max) });
    // Emoji are two UTF-16 units each: the edge and the pipeline must both count them as one character.
    const brief = `Coffee ${'☕'.repeat(cfg.briefMaxChars - 7)}`;
    const d = {
      variants: 1,
      maxVariants: 1,
      formats: ['square' as const],
      channel: 'meta' as const,
      maxChars: cfg.briefMaxChars,
      brands: [],
    };
    expect(parseCommand(brief, d)).toMatchObject({ kind: 'brief', brief });
    const r = await createPipeline(deps().d).generate(req({ brief, count: 1, formats: ['square'] }));
    expect(r.variants).toHaveLength(1);
  });

  it('refuses bad requests with messages naming what was wrong', async () => {
    const p = createPipeline(deps().d);
    await expect(p.generate(req({ brief: '   ' }))).rejects.toThrow(/the brief is empty/);
    await expect(p.generate(req({ brief: 'x'.repeat(2001) }))).rejects.toThrow(/2001 characters; the limit is 2000/);
    await expect(p.generate(req({ count: 0 }))).rejects.toThrow(/between 1 and 10; got 0/);
    await expect(p.generate(req({ formats: ['wide' as 'square'] }))).rejects.toThrow(
      /unknown format "wide"; expected some of: square, portrait, story, landscape/,
    );
    await expect(p.generate(req({ channel: 'myspace' as 'meta' }))).rejects.toThrow(
      /unknown channel "myspace"; expected one of: meta, google, linkedin, tiktok/,
    );
    await expect(p.generate(req({ brand: 'globex' }))).rejects.toThrow(/unknown brand "globex"/);
  });

  it('re-renders a variant with new copy on the same visual', async () => {
    const p = createPipeline(deps().d);
    const r = await p.generate(req({ count: 1, formats: ['square'] }));
    const v = r.variants[0];
    const again = await p.rerender(
      v,
      { headline: 'Fresh from the roaster', body: 'New body', cta: 'Order now' },
      { brand: 'northwind', formats: ['square', 'story'] },
    );
    expect(again.id).toBe(v.id);
    expect(again.visual).toBe(v.visual);
    expect(again.headline).toBe('Fresh from the roaster');
    expect(pngSize(again.images.story!)).toEqual({ width: 1080, height: 1920 });
    expect(Buffer.compare(Buffer.from(again.images.square!), Buffer.from(v.images.square!))).not.toBe(0);
  });

  it('labels past Z continue AA, AB…', () => {
    expect([0, 1, 25, 26, 27].map(labelFor)).toEqual(['A', 'B', 'Z', 'AA', 'AB']);
  });
});

describe('what the pictures are made of', () => {
  const ref = new Uint8Array([1, 2, 3]);
  const acme = loadBrand('brands', 'acme', { fonts });
  const plan = (over: Partial<GenerateRequest>) =>
    visualPlan({ inspiration: [], feedback: [], ...over }, over.brief ?? 'Trail pack for day hikes', acme);

  it('the reference image is a photo in every other candidate, in every one when feedback asks to see the product', () => {
    const p = plan({ referenceImage: ref });
    expect([0, 1, 2, 3].map((i) => p.photoFor(i) === ref)).toEqual([true, false, true, false]);
    const shown = plan({ referenceImage: ref, feedback: ['show the product'] });
    expect([0, 1, 2, 3].every((i) => shown.photoFor(i) === ref)).toBe(true);
  });

  it('a library image is used only when it carries no copy of its own, and only the same brand’s', () => {
    const withCopy = {
      id: 'a',
      brand: 'acme',
      headline: 'Pack light, hike far',
      body: '',
      cta: '',
      ctr: 0.1,
      similarity: 0.9,
      image: new Uint8Array([9]),
    };
    const textFree = { ...withCopy, id: 'b', headline: '', image: new Uint8Array([7]) };
    const otherBrand = { ...textFree, id: 'c', brand: 'northwind', image: new Uint8Array([5]) };
    const p = plan({ inspiration: [withCopy, otherBrand, textFree] });
    const used = [0, 1, 2, 3, 4, 5].map((i) => p.photoFor(i)).filter(Boolean);
    expect(used.length).toBeGreaterThan(0);
    expect(used.every((x) => x === textFree.image)).toBe(true);
  });

  it('the palette follows the brief and the feedback', () => {
    expect(warmth(plan({ brief: 'Bright, energetic summer running shoes' }).palette)).toBeGreaterThan(0.5);
    const before = warmth(plan({}).palette);
    expect(warmth(plan({ feedback: ['warmer colours please'] }).palette)).toBeGreaterThan(before + 0.3);
  });
});
