/**
 * Turning candidate rows into ranked search hits: exact cosine scores against both embeddings,
 * weighted fusion with past performance, and near-duplicate images collapsed into the best one.
 */
import { type CtrPrior, performanceLift, rawCtr, smoothedCtr } from './ctr.ts';
import type { StoredCreative } from './schema.ts';
import type { SearchHit } from './types.ts';

export interface FusionWeights {
  image: number;
  caption: number;
  ctr: number;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

export type Candidate = Omit<StoredCreative, 'image'>;

interface Scored {
  c: Candidate;
  hit: SearchHit;
}

/** Scores every candidate against `query` (L2-normalised), best first, near-duplicates collapsed, top `k`. */
export function rankCandidates(
  candidates: Candidate[],
  query: Float32Array,
  opts: { k: number; weights: FusionWeights; prior: CtrPrior; nearDuplicate: number },
): SearchHit[] {
  const { weights, prior } = opts;
  const scored: Scored[] = candidates.map((c) => {
    const image = dot(query, c.imageEmbedding);
    const caption = dot(query, c.textEmbedding);
    const smoothed = smoothedCtr(c.clicks, c.impressions, prior);
    const performance = performanceLift(smoothed, prior);
    const fused = weights.image * image + weights.caption * caption + weights.ctr * performance;
    return {
      c,
      hit: {
        id: c.id,
        headline: c.headline,
        body: c.body,
        cta: c.cta,
        brand: c.brand,
        channel: c.channel,
        format: c.format,
        thumbnail: c.thumbnail,
        impressions: c.impressions,
        clicks: c.clicks,
        conversions: c.conversions,
        ctr: { raw: rawCtr(c.clicks, c.impressions), smoothed },
        scores: { image, caption, performance, fused },
        demo: c.demo,
        createdAt: c.createdAt,
        sha256: c.sha256,
        tags: c.tags,
        source: c.source,
        duplicates: [],
      },
    };
  });
  // Ties broken by id so the same query always gives the same order.
  scored.sort((a, b) => b.hit.scores.fused - a.hit.scores.fused || (a.hit.id < b.hit.id ? -1 : 1));
  const kept: Scored[] = [];
  for (const s of scored) {
    const twin = kept.find((k) => dot(k.c.imageEmbedding, s.c.imageEmbedding) >= opts.nearDuplicate);
    if (twin) {
      twin.hit.duplicates.push(s.hit.id);
      continue;
    }
    if (kept.length < opts.k) kept.push(s);
    else break;
  }
  return kept.map((s) => s.hit);
}
