/**
 * What OpenAI requests cost: a per-model price table (USD per 1M tokens for input, cached input
 * and output, text and image tokens; USD per image for models billed per image), the usage the
 * API reported for each billed request, and the sum of a generation priced with the table.
 * The estimate shown before a round is made from the same table and says it is one.
 */
import { ConfigError } from '../errors.ts';
import type { ImageSettings } from './image-models.ts';

/** USD per 1M tokens. */
export interface TokenPrices {
  input: number;
  cachedInput: number;
  output: number;
}

export interface ModelPrice {
  /** Text tokens (a chat model's prompt and completion; an image model's prompt). */
  text?: Partial<TokenPrices>;
  /** Image tokens (an image model's input images and the image it draws). */
  image?: Partial<TokenPrices>;
  /** Models billed per image (dall-e): USD per image, keyed `<size>/<quality>`. */
  perImage?: Record<string, number>;
}

export type PriceTable = Record<string, ModelPrice>;

/**
 * Defaults: OpenAI's published prices. Source: the model pages
 * (https://developers.openai.com/api/docs/models/<model>, "Pricing") and https://openai.com/api/pricing.
 * gpt-image-1 and gpt-image-1-mini were read from their model pages on 2026-12-04, gpt-image-2.6-sunburst
 * on 2026-12-05 (gpt-image-2.6-flare's page gave no figures: set it with OPENAI_PRICES); the chat models,
 * dall-e-3 and dall-e-2 are the figures published on the pricing page in 2025 (not re-read for this
 * table). Prices change: OPENAI_PRICES overrides any entry field by field (see `parsePriceOverrides`).
 */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-4o-mini': { text: { input: 0.15, cachedInput: 0.075, output: 0.6 } },
  'gpt-4o': { text: { input: 2.5, cachedInput: 1.25, output: 10 } },
  'gpt-4.1': { text: { input: 2, cachedInput: 0.5, output: 8 } },
  'gpt-4.1-mini': { text: { input: 0.4, cachedInput: 0.1, output: 1.6 } },
  'gpt-4.1-nano': { text: { input: 0.1, cachedInput: 0.025, output: 0.4 } },
  'gpt-5': { text: { input: 1.25, cachedInput: 0.125, output: 10 } },
  'gpt-5-mini': { text: { input: 0.25, cachedInput: 0.025, output: 2 } },
  'gpt-5-nano': { text: { input: 0.05, cachedInput: 0.005, output: 0.4 } },
  'gpt-image-2.6-sunburst': { text: { input: 5, cachedInput: 1.25 }, image: { input: 8, cachedInput: 2, output: 30 } },
  'gpt-image-1': { text: { input: 5, cachedInput: 1.25 }, image: { input: 10, cachedInput: 2.5, output: 40 } },
  'gpt-image-1-mini': { text: { input: 2, cachedInput: 0.2 }, image: { input: 2.5, cachedInput: 0.25, output: 8 } },
  'dall-e-3': {
    perImage: {
      '1024x1024/standard': 0.04,
      '1024x1792/standard': 0.08,
      '1792x1024/standard': 0.08,
      '1024x1024/hd': 0.08,
      '1024x1792/hd': 0.12,
      '1792x1024/hd': 0.12,
    },
  },
  'dall-e-2': { perImage: { '256x256/standard': 0.016, '512x512/standard': 0.018, '1024x1024/standard': 0.02 } },
};

/**
 * Image tokens a GPT image model draws, by quality and size, as the image generation guide
 * documents them for gpt-image-1 ("Cost and latency"): the basis of the estimate before a round, for
 * the later GPT image models too until a guide gives theirs (the cost counted after a round comes
 * from the usage the API reports, not from this table).
 */
export const GPT_IMAGE_OUTPUT_TOKENS: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
};

const TOKEN_FIELDS = {
  input: ['text', 'input'],
  cached_input: ['text', 'cachedInput'],
  output: ['text', 'output'],
  image_input: ['image', 'input'],
  image_cached_input: ['image', 'cachedInput'],
  image_output: ['image', 'output'],
} as const;

const FORMAT =
  'comma-separated MODEL:FIELD=USD entries, FIELD being input, cached_input, output, image_input, image_cached_input or image_output (USD per 1M tokens) or SIZE/QUALITY (USD per image), e.g. gpt-4o-mini:input=0.15,gpt-image-2.6-sunburst:image_output=30,dall-e-3:1024x1024/hd=0.08';

/** Parses OPENAI_PRICES into table entries that replace the defaults field by field. */
export function parsePriceOverrides(raw: string, name = 'OPENAI_PRICES'): PriceTable {
  const out: PriceTable = {};
  for (const part of raw.split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*):([A-Za-z0-9_/]+)=(.*)$/.exec(entry);
    if (!m) throw new ConfigError(`${name} must be ${FORMAT}; ${JSON.stringify(entry)} is not MODEL:FIELD=USD`);
    const [, model, field, value] = m;
    const usd = Number(value.trim());
    if (value.trim() === '' || !Number.isFinite(usd) || usd < 0) {
      throw new ConfigError(`${name}: the price in ${JSON.stringify(entry)} must be a number of US dollars, 0 or more`);
    }
    out[model] ??= {};
    const p = out[model];
    if (Object.hasOwn(TOKEN_FIELDS, field)) {
      const [kind, key] = TOKEN_FIELDS[field as keyof typeof TOKEN_FIELDS];
      p[kind] = { ...p[kind], [key]: usd };
    } else if (/^\d{2,5}x\d{2,5}\/[a-z]+$/.test(field) || /^auto\/[a-z]+$/.test(field)) {
      p.perImage = { ...p.perImage, [field]: usd };
    } else {
      throw new ConfigError(
        `${name}: unknown field ${JSON.stringify(field)} in ${JSON.stringify(entry)}; expected ${Object.keys(TOKEN_FIELDS).join(', ')} or SIZE/QUALITY`,
      );
    }
  }
  return out;
}

/** The defaults with the overrides laid over them, field by field. */
export function priceTable(overrides: PriceTable = {}): PriceTable {
  const out: PriceTable = {};
  for (const model of new Set([...Object.keys(DEFAULT_PRICES), ...Object.keys(overrides)])) {
    const d = DEFAULT_PRICES[model] ?? {};
    const o = overrides[model] ?? {};
    out[model] = {
      ...(d.text || o.text ? { text: { ...d.text, ...o.text } } : {}),
      ...(d.image || o.image ? { image: { ...d.image, ...o.image } } : {}),
      ...(d.perImage || o.perImage ? { perImage: { ...d.perImage, ...o.perImage } } : {}),
    };
  }
  return out;
}

// ---------- usage of billed requests ----------

/** Tokens of one kind: `input` is billed at the input price, `cachedInput` at the cached price. */
export interface TokenCounts {
  input: number;
  cachedInput: number;
  output: number;
}

/** One request the API answered with success, so billed. */
export interface BilledRequest {
  model: string;
  endpoint: 'chat' | 'generations' | 'edits';
  text: TokenCounts;
  image: TokenCounts;
  /** The API reported no usage (dall-e, some compatible servers): one image at this size and quality. */
  perImage?: { size: string; quality: string };
}

const zero = (): TokenCounts => ({ input: 0, cachedInput: 0, output: 0 });
const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/** A Chat Completions answer's `usage` (CompletionUsage): cached tokens are part of `prompt_tokens`. */
export function chatUsage(model: string, usage: unknown): BilledRequest {
  const u = (usage ?? {}) as { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } };
  const prompt = n(u.prompt_tokens);
  const cached = Math.min(prompt, n(u.prompt_tokens_details?.cached_tokens));
  return { model, endpoint: 'chat', text: { input: prompt - cached, cachedInput: cached, output: n(u.completion_tokens) }, image: zero() };
}

/**
 * An Images answer's `usage` (ImageGenUsage, "for the GPT image models only"): input split into
 * text and image tokens; output image tokens (and text tokens where `output_tokens_details` says so).
 * Without usage the request is billed per image at the size and quality it asked for.
 */
export function imageUsage(
  model: string,
  endpoint: 'generations' | 'edits',
  usage: unknown,
  asked: { size: string; quality: string },
): BilledRequest {
  const u = usage as
    | {
        input_tokens?: number;
        output_tokens?: number;
        input_tokens_details?: { text_tokens?: number; image_tokens?: number; cached_tokens?: number };
        output_tokens_details?: { text_tokens?: number; image_tokens?: number };
      }
    | undefined;
  if (!u || typeof u !== 'object' || (u.input_tokens === undefined && u.output_tokens === undefined)) {
    return { model, endpoint, text: zero(), image: zero(), perImage: asked };
  }
  const d = u.input_tokens_details;
  const textIn = d ? n(d.text_tokens) : n(u.input_tokens);
  const imageIn = d ? n(d.image_tokens) : 0;
  const od = u.output_tokens_details;
  return {
    model,
    endpoint,
    text: { input: textIn, cachedInput: 0, output: od ? n(od.text_tokens) : 0 },
    image: { input: imageIn, cachedInput: 0, output: od ? n(od.image_tokens) : n(u.output_tokens) },
  };
}

export interface ModelSpend {
  requests: number;
  text: TokenCounts;
  image: TokenCounts;
  /** Requests priced per image (no usage reported). */
  perImage: number;
  usd: number;
}

/** What a generation cost: billed requests only, priced from the usage the API reported. */
export interface GenerateCost {
  usd: number;
  /** Billed Chat Completions requests. */
  textCalls: number;
  /** Billed image requests (generations and edits). */
  imageCalls: number;
  tokens: { text: TokenCounts; image: TokenCounts };
  byModel: Record<string, ModelSpend>;
  /** What part of the cost is not priced from reported token usage, in words (empty when all is). */
  notes: string[];
}

export function emptyCost(): GenerateCost {
  return { usd: 0, textCalls: 0, imageCalls: 0, tokens: { text: zero(), image: zero() }, byModel: {}, notes: [] };
}

/** USD of one billed request, and why it may be incomplete. */
export function priceRequest(table: PriceTable, r: BilledRequest): { usd: number; missing?: string } {
  const p = table[r.model];
  if (!p) return { usd: 0, missing: `no price is known for ${r.model} (set OPENAI_PRICES)` };
  if (r.perImage) {
    const key = `${r.perImage.size}/${r.perImage.quality}`;
    const usd = p.perImage?.[key];
    if (usd === undefined) {
      return {
        usd: 0,
        missing: `${r.model} reported no usage and has no per-image price for ${key} (set OPENAI_PRICES=${r.model}:${key}=USD)`,
      };
    }
    return { usd };
  }
  // A cached-input price left out falls back to the input price (never cheaper than billed).
  const rate = (k: 'text' | 'image', f: keyof TokenPrices) => (f === 'cachedInput' ? (p[k]?.cachedInput ?? p[k]?.input) : p[k]?.[f]);
  let usd = 0;
  const gaps: string[] = [];
  for (const k of ['text', 'image'] as const)
    for (const f of ['input', 'cachedInput', 'output'] as const) {
      if (r[k][f] === 0) continue;
      const per = rate(k, f);
      if (per === undefined) gaps.push(`${k} ${f}`);
      else usd += (r[k][f] * per) / 1_000_000;
    }
  return gaps.length ? { usd, missing: `no ${gaps.join(', ')} price for ${r.model} (set OPENAI_PRICES)` } : { usd };
}

export interface CostMeter {
  record(r: BilledRequest): void;
  cost(): GenerateCost;
}

/** Adds up billed requests for one generation. */
export function createCostMeter(table: PriceTable): CostMeter {
  const c = emptyCost();
  const notes = new Set<string>();
  let usd = 0;
  return {
    record(r) {
      const priced = priceRequest(table, r);
      if (priced.missing) notes.add(priced.missing);
      if (r.perImage && !priced.missing) notes.add(`${r.model} reports no token usage: priced per image from the table`);
      usd += priced.usd;
      if (r.endpoint === 'chat') c.textCalls++;
      else c.imageCalls++;
      c.byModel[r.model] ??= { requests: 0, text: zero(), image: zero(), perImage: 0, usd: 0 };
      const m = c.byModel[r.model];
      m.requests++;
      if (r.perImage) m.perImage++;
      m.usd += priced.usd;
      for (const kind of ['text', 'image'] as const)
        for (const f of ['input', 'cachedInput', 'output'] as const) {
          m[kind][f] += r[kind][f];
          c.tokens[kind][f] += r[kind][f];
        }
    },
    cost() {
      return structuredClone({ ...c, usd, notes: [...notes] });
    },
  };
}

/** One line for people: "$0.1714 (1 text call, 3 image calls; tokens: text 812 in, 243 out; image 12480 out)". */
export function describeCost(c: GenerateCost): string {
  const calls = (n: number, what: string) => `${n} ${what} call${n === 1 ? '' : 's'}`;
  const kind = (name: string, t: TokenCounts) => {
    const parts = [t.input && `${t.input} in`, t.cachedInput && `${t.cachedInput} cached`, t.output && `${t.output} out`].filter(Boolean);
    return parts.length ? `${name} ${parts.join(', ')}` : '';
  };
  const tokens = [kind('text', c.tokens.text), kind('image', c.tokens.image)].filter(Boolean).join('; ');
  const notes = c.notes.length ? ` — ${c.notes.join('; ')}` : '';
  return `$${c.usd.toFixed(4)} (${calls(c.textCalls, 'text')}, ${calls(c.imageCalls, 'image')}${tokens ? `; tokens: ${tokens}` : ''})${notes}`;
}

/** An error thrown by a generation after it was billed carries what it cost (replaceable: audiences add earlier segments' spend). */
export function attachCost(e: unknown, cost: GenerateCost): void {
  if (e instanceof Error && cost.textCalls + cost.imageCalls > 0)
    Object.defineProperty(e, 'cost', { value: cost, enumerable: false, configurable: true });
}

export function costOf(e: unknown): GenerateCost | undefined {
  return e instanceof Error ? (e as Error & { cost?: GenerateCost }).cost : undefined;
}

// ---------- the estimate before a round ----------

export interface CostEstimate {
  usd: number;
  textCalls: number;
  imageCalls: number;
}

/** Assumed size of the one copywriting call: brand, brief, schema and inspiration in; ~80 tokens of JSON per candidate out. */
export const ESTIMATE_COPY_TOKENS = { input: 900, outputPerCandidate: 80 } as const;
/** Assumed prompt of one image request (concept, brand, palette, feedback). */
export const ESTIMATE_IMAGE_PROMPT_TOKENS = 120;

/**
 * Assumed size of the one call that writes copy per locale (`--locales`, generate/locale-copy.ts):
 * instructions in, each picked variant's copy and one limits line per locale in, ~80 tokens of JSON
 * per variant per locale out.
 */
export const ESTIMATE_LOCALE_TOKENS = { input: 300, inputPerVariant: 60, inputPerVariantLocale: 25, outputPerVariantLocale: 80 } as const;

/**
 * The estimate of one round before it is made: one copywriting call and one image per candidate
 * (ceil(factor × variants)), and with locales one more call that writes the picked variants'
 * copy per locale, priced with the table for the configured models, size and quality.
 * Quality or size `auto` is estimated at the dearest the model may pick (high, the largest size),
 * and every locale as one to write (the brief's own language needs none): an upper bound, as the
 * estimate says.
 */
export function estimateRound(
  p: {
    table: PriceTable;
    textModel?: string;
    image?: ImageSettings;
    candidateFactor: number;
  },
  variants: number,
  o: { locales?: number } = {},
): CostEstimate {
  const candidates = Math.max(variants, Math.ceil(variants * p.candidateFactor));
  let usd = 0;
  let textCalls = 0;
  let imageCalls = 0;
  if (p.textModel) {
    textCalls = 1;
    usd += priceRequest(p.table, {
      model: p.textModel,
      endpoint: 'chat',
      text: { input: ESTIMATE_COPY_TOKENS.input, cachedInput: 0, output: ESTIMATE_COPY_TOKENS.outputPerCandidate * candidates },
      image: zero(),
    }).usd;
    const locales = o.locales ?? 0;
    if (locales > 0) {
      const t = ESTIMATE_LOCALE_TOKENS;
      textCalls += 1;
      usd += priceRequest(p.table, {
        model: p.textModel,
        endpoint: 'chat',
        text: {
          input: t.input + variants * (t.inputPerVariant + locales * t.inputPerVariantLocale),
          cachedInput: 0,
          output: t.outputPerVariantLocale * variants * locales,
        },
        image: zero(),
      }).usd;
    }
  }
  if (p.image) {
    imageCalls = candidates;
    usd += candidates * estimateImage(p.table, p.image);
  }
  return { usd, textCalls, imageCalls };
}

function estimateImage(table: PriceTable, s: ImageSettings): number {
  const price = table[s.model];
  if (!price) return 0;
  if (price.perImage && !price.image) {
    return price.perImage[`${s.size}/${s.quality}`] ?? 0;
  }
  const quality = s.quality === 'auto' || !GPT_IMAGE_OUTPUT_TOKENS[s.quality] ? 'high' : s.quality;
  const bySize = GPT_IMAGE_OUTPUT_TOKENS[quality];
  const output = bySize[s.size] ?? Math.max(...Object.values(bySize));
  return priceRequest(table, {
    model: s.model,
    endpoint: 'generations',
    text: { input: ESTIMATE_IMAGE_PROMPT_TOKENS, cachedInput: 0, output: 0 },
    image: { input: 0, cachedInput: 0, output },
  }).usd;
}
