/**
 * The first step of every round, for the bot and the `generate` CLI alike: the brief is
 * embedded once, that embedding finds the closest past creatives in the library (the brand's
 * own first, then any), and the same embedding goes on to the ranking
 * (`GenerateRequest.briefEmbedding`), so a round embeds its brief exactly once.
 */
import type { Encoder } from '../clip/types.ts';
import { describeError } from '../errors.ts';
import type { Library, SearchHit } from '../library/types.ts';
import { attachCost, type BilledRequest, type GenerateCost } from './pricing.ts';
import { detectLanguage, type Translator } from './translate.ts';
import { type Inspiration, inspirationFromHit } from './types.ts';

/** How the brief reached CLIP's text space, for the inspiration note. */
export interface QueryPath {
  kind: 'english' | 'translated' | 'multilingual' | 'untranslated';
  /** The brief's language (`detectLanguage`). */
  from: string;
  /** What was embedded. */
  text: string;
  /** One line for people: "translated from zh: …", "multilingual text encoder", "English CLIP text tower, untranslated". */
  note?: string;
  /** The translation request the API billed (pass on as `billedBefore`, so the round's cost counts it). */
  billed?: BilledRequest;
  /** `billed` priced: spent even when the round fails before generation counts `billed`. */
  cost?: GenerateCost;
}

/**
 * Which text the brief is embedded as: as written when the text encoder is multilingual or the
 * brief is English; otherwise its English translation where a translator is set (a failed
 * translation falls back to the brief, and the note says why).
 */
export async function queryPath(
  brief: string,
  encoder: Partial<Pick<Encoder, 'info'>>,
  translator: Pick<Translator, 'translate'> | undefined,
): Promise<QueryPath> {
  const info = encoder.info?.();
  const from = detectLanguage(brief);
  if (info?.multilingualText) {
    return { kind: 'multilingual', from, text: brief, note: `multilingual text encoder (${info.textModel ?? info.model})` };
  }
  if (from === 'en') return { kind: 'english', from, text: brief };
  if (translator) {
    try {
      const t = await translator.translate(brief);
      return { kind: 'translated', from, text: t.text, note: `translated from ${from}: ${t.text}`, billed: t.billed, cost: t.cost };
    } catch (e) {
      return { kind: 'untranslated', from, text: brief, note: `English CLIP text tower, untranslated (${describeError(e)})` };
    }
  }
  return { kind: 'untranslated', from, text: brief, note: 'English CLIP text tower, untranslated' };
}

export interface Inspired {
  /** The brief's text embedding; pass it on as `briefEmbedding`. */
  embedding: Float32Array;
  hits: SearchHit[];
  inspiration: Inspiration[];
  /** ok: hits found; empty: the library has nothing (close enough); unavailable: it could not be searched. */
  state: 'ok' | 'empty' | 'unavailable';
  /** Why the library could not be searched. */
  detail?: string;
  /** How the brief was embedded (translated, multilingual encoder, as written). */
  query: QueryPath;
}

export async function inspire(p: {
  brief: string;
  brand?: string;
  k: number;
  encoder: Pick<Encoder, 'embedTexts'> & Partial<Pick<Encoder, 'info'>>;
  /** Translates a non-English brief for the English CLIP text tower (OpenAI); absent: embedded as written. */
  translator?: Pick<Translator, 'translate'>;
  /** The library, or a promise of it that rejects while it is unavailable. */
  library: Pick<Library, 'count' | 'search'> | (() => Promise<Pick<Library, 'count' | 'search'>>) | undefined;
}): Promise<Inspired> {
  const query = await queryPath(p.brief, p.encoder, p.translator);
  let embedding: Float32Array;
  try {
    [embedding] = await p.encoder.embedTexts([query.text]);
  } catch (e) {
    // The brief was translated (and billed) before CLIP failed: the error carries that spend.
    if (query.cost) attachCost(e, query.cost);
    throw e;
  }
  let hits: SearchHit[] = [];
  try {
    const lib = typeof p.library === 'function' ? await p.library() : p.library;
    if (!lib) return { embedding, hits, inspiration: [], state: 'unavailable', detail: 'no creative library', query };
    if ((await lib.count()) > 0) {
      hits = await lib.search({ vector: embedding, k: p.k, filters: p.brand ? { brand: p.brand } : undefined });
      // A brand with no past creatives of its own still learns from the rest of the library.
      if (!hits.length && p.brand) hits = await lib.search({ vector: embedding, k: p.k });
    }
  } catch (e) {
    return { embedding, hits: [], inspiration: [], state: 'unavailable', detail: describeError(e), query };
  }
  return { embedding, hits, inspiration: hits.map(inspirationFromHit), state: hits.length ? 'ok' : 'empty', query };
}
