/**
 * Briefs in other languages, for retrieval: CLIP's text tower was trained on English captions,
 * so a Chinese, German or Spanish brief embedded as-is lands far from the English captions and
 * images of the past creatives it should find. With OpenAI available the brief is translated
 * to English for the search (cached by text and model, so a repeated brief costs one call);
 * the copy is still written from the brief itself.
 */
import type { Config } from '../config.ts';
import { GenerationError } from '../errors.ts';
import { createOpenAIClient, describeOpenAIError, type OpenAIClient } from './openai.ts';
import { type BilledRequest, chatUsage, createCostMeter, type GenerateCost, type PriceTable, priceTable } from './pricing.ts';
import { openaiPriceTable } from './providers.ts';

/** Bounded so a long-running bot fed arbitrary briefs does not grow without limit. */
const CACHE_MAX = 2000;
/** A brief longer than this is cut before translation: the CLIP text tower reads 77 tokens anyway. */
const MAX_CHARS = 2000;

/**
 * The brief's language as far as retrieval cares, from its script: `en` for plain ASCII (no
 * translation), an ISO 639-1 code where the script or its letters say which language it is, or
 * `und` (some other non-English text).
 */
export function detectLanguage(text: string): string {
  if (/^[\x00-\x7f]*$/.test(text)) return 'en';
  if (/[\u3040-\u30ff]/u.test(text)) return 'ja';
  if (/\p{Script=Hangul}/u.test(text)) return 'ko';
  if (/\p{Script=Han}/u.test(text)) return 'zh';
  if (/\p{Script=Arabic}/u.test(text)) return 'ar';
  if (/\p{Script=Cyrillic}/u.test(text)) return 'ru';
  if (/\p{Script=Greek}/u.test(text)) return 'el';
  if (/\p{Script=Hebrew}/u.test(text)) return 'he';
  if (/\p{Script=Devanagari}/u.test(text)) return 'hi';
  if (/\p{Script=Thai}/u.test(text)) return 'th';
  if (/[äöüßÄÖÜẞ]/u.test(text)) return 'de';
  if (/[ãõ]/iu.test(text)) return 'pt';
  if (/[ñÑ¿¡]/u.test(text)) return 'es';
  // Letters Spanish does not use before the accents it shares with French.
  if (/[çœèêëàâîïôûù]/iu.test(text)) return 'fr';
  if (/[áéíóú].*\b(de|la|el|para|con|los|las|en|y)\b/iu.test(text)) return 'es';
  // Latin letters with a few accents or typographic punctuation ("café", "—"): English enough.
  return /\p{L}/u.test(text.replace(/[\p{Script=Latin}]/gu, '')) ? 'und' : 'en';
}

export interface Translation {
  /** The English text to embed. */
  text: string;
  /** The source language (`detectLanguage`). */
  from: string;
  /** True when the cache answered (no API call). */
  cached: boolean;
  /** The request the API billed for it (absent when cached or not sent). */
  billed?: BilledRequest;
  /**
   * That request priced (with `billed`): what a round or the CLI records as spent when a later
   * step fails before generation could count `billed` itself.
   */
  cost?: GenerateCost;
}

export interface Translator {
  readonly model: string;
  /** English for the text; the text itself (no call) when it is English already. */
  translate(text: string, opts?: { signal?: AbortSignal }): Promise<Translation>;
}

export function createTranslator(opts: {
  client: OpenAIClient;
  model: string;
  retries: number;
  /** The price table (OPENAI_PRICES over OpenAI's); default: OpenAI's published prices. */
  prices?: PriceTable;
}): Translator {
  const prices = opts.prices ?? priceTable({});
  const priced = (billed: BilledRequest): GenerateCost => {
    const meter = createCostMeter(prices);
    meter.record(billed);
    return meter.cost();
  };
  const cache = new Map<string, string>();
  const inflight = new Map<string, Promise<{ english: string; billed: BilledRequest }>>();
  const system = [
    'Translate the advertising brief into English for an image search over past ads.',
    'Keep product names, brand names, numbers and offers as they are. Reply with the English text only: no quotes, no notes.',
  ].join(' ');

  const call = async (text: string, signal?: AbortSignal): Promise<{ english: string; billed: BilledRequest }> => {
    let res: Awaited<ReturnType<OpenAIClient['chat']['completions']['create']>>;
    try {
      res = await opts.client.chat.completions.create(
        {
          model: opts.model,
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: text.slice(0, MAX_CHARS) },
          ],
        },
        { signal },
      );
    } catch (e) {
      throw new GenerationError(
        'TRANSLATION_FAILED',
        `translating the brief for the library search: ${describeOpenAIError(e, opts.retries)}`,
        {
          cause: e,
        },
      );
    }
    const msg = res.choices[0]?.message;
    if (msg?.refusal) throw new GenerationError('TRANSLATION_FAILED', `the text model declined to translate the brief: ${msg.refusal}`);
    const out = (msg?.content ?? '').trim().replace(/^"(.*)"$/s, '$1');
    if (!out) throw new GenerationError('TRANSLATION_FAILED', 'the text model returned an empty translation of the brief');
    return { english: out, billed: chatUsage(opts.model, res.usage) };
  };

  return {
    model: opts.model,
    async translate(text, o = {}) {
      const from = detectLanguage(text);
      if (from === 'en') return { text, from, cached: false };
      const key = `${opts.model}\u0000${text}`;
      const hit = cache.get(key);
      if (hit !== undefined) {
        // Refreshed, so the briefs a team repeats stay while one-offs age out.
        cache.delete(key);
        cache.set(key, hit);
        return { text: hit, from, cached: true };
      }
      // Two rounds of the same brief at once share one call.
      let p = inflight.get(key);
      const first = !p;
      if (!p) {
        p = call(text, o.signal).finally(() => inflight.delete(key));
        inflight.set(key, p);
      }
      const { english, billed } = await p;
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
      cache.set(key, english);
      // The round that sent the request pays for it; one that shared it does not.
      return first ? { text: english, from, cached: false, billed, cost: priced(billed) } : { text: english, from, cached: true };
    },
  };
}

/** The translator the configuration gives: OpenAI's text model when OPENAI_API_KEY is set, else none. */
export function translatorFor(
  cfg: Pick<Config, 'openaiApiKey' | 'openaiBaseUrl' | 'openaiTimeoutMs' | 'openaiMaxRetries' | 'openaiTextModel' | 'openaiPrices'>,
): Translator | undefined {
  if (!cfg.openaiApiKey) return undefined;
  return createTranslator({
    client: createOpenAIClient(cfg),
    model: cfg.openaiTextModel,
    retries: cfg.openaiMaxRetries,
    prices: openaiPriceTable(cfg),
  });
}
