/**
 * Copy per locale for the variants a round shows. With a key: one Chat Completions call (JSON
 * schema) asks the copywriter to rewrite every variant for every locale within that locale's
 * limits, told how much longer a straight translation would run; whatever comes back is
 * checked against the limits and, if still over, shortened at a word (a CJK word, never inside
 * one or a grapheme) with the fact recorded. Without a key the brief's own language is kept
 * and every other locale is marked "not translated".
 */
import { GenerationError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ChannelLimits, ChannelName, CopyField } from '../vocabulary.ts';
import { countLength } from '../words.ts';
import type { BrandKit } from './brands.ts';
import { trimToLimit } from './limits.ts';
import { expansionOf, type Locale, localeName } from './locales.ts';
import { describeOpenAIError, type OpenAIClient } from './openai.ts';
import { type BilledRequest, chatUsage } from './pricing.ts';
import type { Copy, GenerationFailure, LocaleCopy } from './types.ts';

export interface LocalizeContext {
  brief: string;
  /** The brief's language (a primary subtag, from `briefLanguage`). */
  source: string;
  locales: Locale[];
  /** The variants' copy in the brief's language, in order. */
  variants: Copy[];
  brand: BrandKit;
  channel: ChannelName;
  /** The platform's limits: every locale's copy must fit them. */
  limits: ChannelLimits;
  signal?: AbortSignal;
  billed?: (r: BilledRequest) => void;
}

export interface LocalizeOutcome {
  /** Per variant, per locale (in the order asked). */
  copies: LocaleCopy[][];
  failures: GenerationFailure[];
}

export interface Localizer {
  readonly offline: boolean;
  localize(ctx: LocalizeContext): Promise<LocalizeOutcome>;
}

const FIELDS: readonly CopyField[] = ['headline', 'body', 'cta'];

/** The brief's own language needs no translation: "en-GB" for an English brief is its copy as written. */
const isSource = (l: Locale, source: string) => l.lang === source;

function sourceCopy(l: Locale, v: Copy): LocaleCopy {
  return { locale: l.tag, status: 'source', headline: v.headline, body: v.body, cta: v.cta, flags: [] };
}

export function notTranslated(l: Locale, why: string): LocaleCopy {
  return {
    locale: l.tag,
    status: 'not-translated',
    headline: '',
    body: '',
    cta: '',
    flags: [`${localeName(l.tag)}: not translated (${why})`],
  };
}

/** Fits a translated copy to the limits: a field still over is shortened at a word, and that is recorded. */
export function fitLocaleCopy(c: LocaleCopy, limits: ChannelLimits, channel: ChannelName): LocaleCopy {
  const out: LocaleCopy = { ...c, flags: [...c.flags] };
  for (const f of FIELDS) {
    const max = limits[f].max;
    const n = countLength(out[f], limits.count);
    if (n <= max) continue;
    out[f] = trimToLimit(out[f], max, limits.count, c.locale.split('-')[0].toLowerCase());
    out.flags.push(
      `${localeName(c.locale)} ${limits[f].label} was ${n} characters; shortened at a word to fit the ${channel} limit of ${max}`,
    );
  }
  return out;
}

/** Offline: the brief's language as written, every other locale marked not translated. */
export function createOfflineLocalizer(): Localizer {
  return {
    offline: true,
    async localize(ctx) {
      return {
        copies: ctx.variants.map((v) =>
          ctx.locales.map((l) => (isSource(l, ctx.source) ? sourceCopy(l, v) : notTranslated(l, 'no text model: offline'))),
        ),
        failures: [],
      };
    },
  };
}

const SCHEMA = {
  type: 'object',
  properties: {
    variants: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          locales: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                locale: { type: 'string' },
                headline: { type: 'string' },
                primary_text: { type: 'string' },
                cta: { type: 'string' },
              },
              required: ['locale', 'headline', 'primary_text', 'cta'],
              additionalProperties: false,
            },
          },
        },
        required: ['locales'],
        additionalProperties: false,
      },
    },
  },
  required: ['variants'],
  additionalProperties: false,
} as const;

interface RawLocale {
  locale: string;
  headline: string;
  primary_text: string;
  cta: string;
}

/** A locale's limits as the prompt states them, with how long a straight translation would run. */
export function limitLine(l: Locale, source: string, v: Copy, limits: ChannelLimits): string {
  const k = expansionOf(l.lang) / expansionOf(source);
  const parts = FIELDS.map((f) => {
    const max = limits[f].max;
    const straight = Math.round(countLength(v[f], limits.count) * k);
    const key = f === 'body' ? 'primary_text' : f;
    return `${key} ≤ ${max}${straight > max ? ` (a straight translation would run ~${straight}: rewrite shorter, do not cut)` : ''}`;
  });
  return `  ${l.tag} (${localeName(l.tag)}): ${parts.join(', ')}`;
}

function prompts(ctx: LocalizeContext, targets: Locale[]): { system: string; user: string } {
  const b = ctx.brand;
  const system = [
    'You are a senior performance-marketing copywriter who adapts ads for other markets. Answer as JSON matching the schema.',
    'For every variant, write its headline, primary_text and cta in each requested locale: native, idiomatic ad copy for that market',
    '(transcreation, not word-for-word), keeping the idea and any offer, prices and product names exactly.',
    `Channel: ${ctx.channel}. Each field must fit its limit in characters${ctx.limits.count === 'double-width' ? ' (Chinese, Japanese and Korean characters count as 2)' : ''}:`,
    'write it to fit, never cut a word or a sentence short.',
    b.displayName ? `Brand: ${b.displayName}.` : '',
    b.neverSay.length ? `Never use these words: ${b.neverSay.join(', ')}.` : '',
    'Return the variants in the order given, each with one entry per requested locale, its locale field set to the tag given.',
  ]
    .filter(Boolean)
    .join('\n');
  const user = [
    `Brief: ${ctx.brief}`,
    `Locales: ${targets.map((l) => l.tag).join(', ')}`,
    ...ctx.variants.flatMap((v, i) => [
      `Variant ${i + 1}: headline "${v.headline}" / primary_text "${v.body}" / cta "${v.cta}"`,
      '  Limits:',
      ...targets.map((l) => limitLine(l, ctx.source, v, ctx.limits)),
    ]),
  ].join('\n');
  return { system, user };
}

function parseAnswer(content: string | null | undefined, n: number): RawLocale[][] {
  if (!content) throw new Error('the model returned no content');
  const data = JSON.parse(content) as { variants?: { locales?: unknown }[] };
  if (!Array.isArray(data.variants)) throw new Error('the model returned no variants');
  return Array.from({ length: n }, (_, i) => {
    const ls = data.variants?.[i]?.locales;
    if (!Array.isArray(ls)) return [];
    return ls.filter(
      (x): x is RawLocale =>
        typeof x === 'object' &&
        x !== null &&
        ['locale', 'headline', 'primary_text', 'cta'].every((k) => typeof (x as Record<string, unknown>)[k] === 'string'),
    );
  });
}

/** The fields of a translation over their limits, as the rewrite request names them. */
function overLimits(c: RawLocale, limits: ChannelLimits): string[] {
  const out: string[] = [];
  for (const [key, f] of [
    ['headline', 'headline'],
    ['primary_text', 'body'],
    ['cta', 'cta'],
  ] as const) {
    const n = countLength(c[key], limits.count);
    if (n > limits[f].max) out.push(`${key} is ${n} characters, the limit is ${limits[f].max}`);
  }
  return out;
}

const matches = (x: RawLocale, l: Locale) => x.locale.trim().toLowerCase().replace('_', '-') === l.tag.toLowerCase();

export function createOpenAILocalizer(opts: { client: OpenAIClient; model: string; retries: number; logger: Logger }): Localizer {
  async function ask(ctx: LocalizeContext, system: string, user: string, n: number): Promise<RawLocale[][]> {
    const res = await opts.client.chat.completions.create(
      {
        model: opts.model,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: user },
        ],
        response_format: { type: 'json_schema', json_schema: { name: 'ad_locales', strict: true, schema: SCHEMA } },
      },
      { signal: ctx.signal },
    );
    // Answered, so billed, whatever it says.
    ctx.billed?.(chatUsage(opts.model, res.usage));
    const msg = res.choices[0]?.message;
    if (msg?.refusal) throw new Error(`the text model declined: ${msg.refusal}`);
    return parseAnswer(msg?.content, n);
  }

  /**
   * One rewrite for the translations that came back over a limit ("write to fit" before
   * "shorten"): the model is shown each one with its numbers; what is still over is shortened
   * at a word afterwards. A failed rewrite keeps the first answer.
   */
  async function rewriteOverLimit(ctx: LocalizeContext, system: string, raw: RawLocale[][], targets: Locale[]): Promise<void> {
    const over = raw.flatMap((ls, i) =>
      ls.flatMap((c) => {
        const problems = targets.some((l) => matches(c, l)) ? overLimits(c, ctx.limits) : [];
        return problems.length ? [{ i, c, problems }] : [];
      }),
    );
    if (!over.length) return;
    const user = [
      `These translations are over their limits. Rewrite each shorter in its own language, keeping the idea; never cut a word. Return exactly ${over.length} variants, in order, each with the one locale named.`,
      ...over.map(
        (o, k) =>
          `Variant ${k + 1} (${o.c.locale}): headline "${o.c.headline}" / primary_text "${o.c.primary_text}" / cta "${o.c.cta}" — ${o.problems.join('; ')}`,
      ),
    ].join('\n');
    try {
      const again = await ask(ctx, system, user, over.length);
      over.forEach((o, k) => {
        const r = again[k]?.find((x) => x.locale.trim().toLowerCase() === o.c.locale.trim().toLowerCase());
        if (r?.headline.trim() && r.cta.trim()) Object.assign(o.c, r, { rewritten: true });
      });
    } catch (e) {
      if (ctx.signal?.aborted) throw new GenerationError('CANCELLED', 'generation was cancelled');
      // describeOpenAIError, never the raw message: a 401's message quotes part of the API key.
      const reason = e instanceof SyntaxError ? 'the model returned malformed JSON' : describeOpenAIError(e, opts.retries);
      opts.logger.warn('locales: rewrite failed; shortening at a word instead', { reason });
    }
  }

  return {
    offline: false,
    async localize(ctx) {
      const targets = ctx.locales.filter((l) => !isSource(l, ctx.source));
      if (!targets.length) return createOfflineLocalizer().localize(ctx);
      const failures: GenerationFailure[] = [];
      const p = prompts(ctx, targets);
      let raw: RawLocale[][];
      try {
        raw = await ask(ctx, p.system, p.user, ctx.variants.length);
      } catch (e) {
        if (ctx.signal?.aborted) throw new GenerationError('CANCELLED', 'generation was cancelled');
        const why = e instanceof SyntaxError ? 'the model returned malformed JSON' : describeOpenAIError(e, opts.retries);
        opts.logger.warn('locales: translation failed; other locales are not translated', { reason: why });
        failures.push({ stage: 'copy', message: `translating into ${targets.map((l) => l.tag).join(', ')} failed (${why})` });
        return {
          copies: ctx.variants.map((v) =>
            ctx.locales.map((l) => (isSource(l, ctx.source) ? sourceCopy(l, v) : notTranslated(l, 'translation failed'))),
          ),
          failures,
        };
      }
      await rewriteOverLimit(ctx, p.system, raw, targets);
      const copies = ctx.variants.map((v, i) =>
        ctx.locales.map((l): LocaleCopy => {
          if (isSource(l, ctx.source)) return sourceCopy(l, v);
          const r = raw[i].find((x) => matches(x, l)) as (RawLocale & { rewritten?: boolean }) | undefined;
          if (!r?.headline.trim() || !r.cta.trim())
            return notTranslated(l, `the text model returned no ${localeName(l.tag)} copy for this variant`);
          const c: LocaleCopy = {
            locale: l.tag,
            status: 'translated',
            headline: r.headline.trim(),
            body: r.primary_text.trim(),
            cta: r.cta.trim(),
            flags: r.rewritten ? [`${localeName(l.tag)} rewritten once to fit the ${ctx.channel} limits`] : [],
          };
          return fitLocaleCopy(c, ctx.limits, ctx.channel);
        }),
      );
      return { copies, failures };
    },
  };
}
