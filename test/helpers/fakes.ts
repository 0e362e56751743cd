/**
 * In-memory stand-ins for the generator and the library, for tests of the Slack layer.
 * They return real (tiny) PNGs so uploads and image blocks carry real bytes.
 */
import { emptyCost } from '../../src/generate/pricing.ts';
import type { Copy, GeneratedVariant, GenerateRequest, GenerateResult, Generator } from '../../src/generate/types.ts';
import type { AddResult, Creative, Library, NewCreative, SearchHit, SearchQuery } from '../../src/library/types.ts';

type RoundLibrary = Pick<Library, 'count' | 'search' | 'add' | 'get' | 'maxSimilarity' | 'close'>;

import { tinyPng } from './png.ts';

const COLOURS: [number, number, number][] = [
  [230, 80, 60],
  [40, 150, 220],
  [90, 200, 120],
  [240, 200, 40],
  [150, 90, 200],
  [30, 30, 30],
];

export interface FakeGenerator extends Generator {
  requests: GenerateRequest[];
  rerenders: Copy[];
  /** Labels whose image "fails" in the next generate call. */
  failLabels: string[];
  /** Make the next generate() throw this. */
  throwNext?: Error;
  /** Wait on this before answering (to hold a round in "generating"). */
  gate?: Promise<void>;
}

export function fakeGenerator(): FakeGenerator {
  const g: FakeGenerator = {
    requests: [],
    rerenders: [],
    failLabels: [],
    async generate(req) {
      g.requests.push(req);
      if (g.throwNext) {
        const e = g.throwNext;
        g.throwNext = undefined;
        throw e;
      }
      for (const stage of ['writing', 'drawing', 'composing', 'ranking'] as const) req.onProgress?.({ stage, done: 1, total: req.count });
      if (g.gate) {
        const signal = req.signal;
        await Promise.race([
          g.gate,
          new Promise<never>((_, reject) => {
            if (signal?.aborted) reject(signal.reason);
            signal?.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')));
          }),
        ]);
      }
      const variants: GeneratedVariant[] = [];
      const failures: GenerateResult['failures'] = [];
      for (let i = 0; i < req.count; i++) {
        const label = String.fromCharCode(65 + i);
        if (g.failLabels.includes(label)) {
          failures.push({ label, stage: 'image', message: 'image model timed out after 3 tries' });
          continue;
        }
        const colour = COLOURS[(i + g.requests.length) % COLOURS.length];
        const images = Object.fromEntries(req.formats.map((f, j) => [f, tinyPng(4 + j, 4, colour)]));
        variants.push({
          id: `gen-${g.requests.length}-${label}`,
          label,
          headline: `${label}: ${req.brief.slice(0, 20)}`,
          body: `Body ${label}${req.feedback.length ? ` (${req.feedback.join('; ')})` : ''}`,
          cta: 'Shop now',
          concept: `concept ${label}`,
          images,
          preview: tinyPng(4, 4, colour),
          visual: tinyPng(3, 3, colour),
          imageEmbedding: new Float32Array([1, i, 0, 0]),
          scores: { relevance: 0.3, novelty: 0.5, diversity: 0.4, preference: null, total: 0.4 - i * 0.01 },
          reason: 'close to the brief',
          offline: true,
          flags: [],
        });
      }
      g.failLabels = [];
      return { variants, failures, cost: emptyCost(), offline: true };
    },
    async rerender(variant, copy) {
      g.rerenders.push(copy);
      return {
        ...variant,
        ...copy,
        images: Object.fromEntries(Object.keys(variant.images).map((f) => [f, tinyPng(5, 5, [1, 2, 3])])),
        preview: tinyPng(5, 5, [1, 2, 3]),
      };
    },
  };
  return g;
}

export interface FakeLibrary extends RoundLibrary {
  items: (NewCreative & { id: string })[];
}

export function fakeLibrary(seed: { headline: string; brand?: string }[] = []): FakeLibrary {
  const items: (NewCreative & { id: string })[] = seed.map((s, i) => ({
    id: `lib-${i}`,
    image: tinyPng(2, 2, [9, 9, 9]),
    headline: s.headline,
    brand: s.brand ?? '',
    channel: 'meta',
    demo: true,
  }));
  const hit = (c: NewCreative & { id: string }, i: number): SearchHit => ({
    id: c.id,
    headline: c.headline ?? '',
    body: c.body ?? '',
    cta: c.cta ?? '',
    brand: c.brand ?? '',
    channel: c.channel ?? '',
    format: c.format ?? 'square',
    thumbnail: c.image,
    impressions: 1000,
    clicks: 20,
    conversions: 1,
    ctr: { raw: 0.02, smoothed: 0.019 },
    scores: { image: 0.3, caption: 0.3, performance: 0, fused: 0.3 - i * 0.01 },
    demo: !!c.demo,
    createdAt: new Date(0),
    sha256: c.id,
    tags: c.tags ?? [],
    source: c.source ?? 'demo',
    duplicates: [],
  });
  return {
    items,
    async count() {
      return items.length;
    },
    async search(q: SearchQuery) {
      return items
        .filter((c) => !q.filters?.brand || c.brand === q.filters.brand)
        .slice(0, q.k ?? 5)
        .map(hit);
    },
    async add(news: NewCreative[]): Promise<AddResult> {
      const ids: string[] = [];
      for (const n of news) {
        const id = `lib-${items.length}`;
        items.push({ ...n, id });
        ids.push(id);
      }
      return { ingested: news.length, updated: 0, ids, failed: [] };
    },
    async get(id: string) {
      return items.find((c) => c.id === id) as unknown as Creative | undefined;
    },
    async maxSimilarity(e: Float32Array[]) {
      return e.map(() => 0.5);
    },
    async close() {},
  };
}
