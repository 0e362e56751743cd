/**
 * The first step of every round, for the bot and the `generate` CLI alike: the brief is
 * embedded once, that embedding finds the closest past creatives in the library (the brand's
 * own first, then any), and the same embedding goes on to the ranking
 * (`GenerateRequest.briefEmbedding`), so a round embeds its brief exactly once.
 */
import type { Encoder } from '../clip/types.ts';
import { describeError } from '../errors.ts';
import type { Library, SearchHit } from '../library/types.ts';
import { type Inspiration, inspirationFromHit } from './types.ts';

export interface Inspired {
  /** The brief's text embedding; pass it on as `briefEmbedding`. */
  embedding: Float32Array;
  hits: SearchHit[];
  inspiration: Inspiration[];
  /** ok: hits found; empty: the library has nothing (close enough); unavailable: it could not be searched. */
  state: 'ok' | 'empty' | 'unavailable';
  /** Why the library could not be searched. */
  detail?: string;
}

export async function inspire(p: {
  brief: string;
  brand?: string;
  k: number;
  encoder: Pick<Encoder, 'embedTexts'>;
  /** The library, or a promise of it that rejects while it is unavailable. */
  library: Pick<Library, 'count' | 'search'> | (() => Promise<Pick<Library, 'count' | 'search'>>) | undefined;
}): Promise<Inspired> {
  const [embedding] = await p.encoder.embedTexts([p.brief]);
  let hits: SearchHit[] = [];
  try {
    const lib = typeof p.library === 'function' ? await p.library() : p.library;
    if (!lib) return { embedding, hits, inspiration: [], state: 'unavailable', detail: 'no creative library' };
    if ((await lib.count()) > 0) {
      hits = await lib.search({ vector: embedding, k: p.k, filters: p.brand ? { brand: p.brand } : undefined });
      // A brand with no past creatives of its own still learns from the rest of the library.
      if (!hits.length && p.brand) hits = await lib.search({ vector: embedding, k: p.k });
    }
  } catch (e) {
    return { embedding, hits: [], inspiration: [], state: 'unavailable', detail: describeError(e) };
  }
  return { embedding, hits, inspiration: hits.map(inspirationFromHit), state: hits.length ? 'ok' : 'empty' };
}
