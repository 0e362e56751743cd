/**
 * Copywriting. With a key: one Chat Completions call with a JSON schema (structured output)
 * for all candidates, then channel limits and never-say words are checked; offending
 * variants are regenerated once, then over-long fields are trimmed at a word boundary and
 * flagged, and copy that still uses a banned word is rejected. Without a key: the offline
 * copywriter (offline-copy.ts), labelled offline.
 */
import { GenerationError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ChannelLimits, ChannelName } from '../vocabulary.ts';
import { countLength as length } from '../words.ts';
import type { ToneSelfCheck } from './brand-score-types.ts';
import type { BrandKit } from './brands.ts';
import { trimToLimit } from './limits.ts';
import { describeOpenAIError, type OpenAIClient } from './openai.ts';
import { type BilledRequest, chatUsage } from './pricing.ts';
import type { BriefFields, Copy, GenerationFailure, Inspiration } from './types.ts';

export interface CopyDraft extends Copy {
  concept: string;
  flags: string[];
  offline: boolean;
  /** The copywriter's own check against the kit's tone words (OpenAI, when the kit names some). */
  tone?: ToneSelfCheck;
}

export interface CopyContext {
  brief: string;
  /** The brief's parts when a form gave them (never printed as labels). */
  fields?: BriefFields;
  brand: BrandKit;
  channel: ChannelName;
  limits: ChannelLimits;
  inspiration: Inspiration[];
  feedback: string[];
  leader?: Copy;
  count: number;
  signal?: AbortSignal;
  /** Hears of every request the text API answered (so billed), with the usage it reported. */
  billed?: (r: BilledRequest) => void;
}

export interface CopyOutcome {
  drafts: CopyDraft[];
  failures: GenerationFailure[];
  textCalls: number;
}

export interface Copywriter {
  readonly offline: boolean;
  write(ctx: CopyContext): Promise<CopyOutcome>;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A letter or digit that joins a word: Chinese, Japanese, Thai and the like are written without
 * spaces, so their letters never make a word boundary ("Acme跑鞋" says "Acme"; "超便宜的" says
 * "便宜"). Without this, must-say and never-say words were never found in such copy.
 */
const WORD_CHAR = '(?![\\p{sc=Han}\\p{sc=Hiragana}\\p{sc=Katakana}\\p{sc=Thai}\\p{sc=Lao}\\p{sc=Khmer}\\p{sc=Myanmar}])[\\p{L}\\p{N}]';

/** The never-say words/phrases that occur in `text` as whole words (any case). */
export function findBanned(text: string, banned: string[]): string[] {
  return banned.filter((w) => new RegExp(`(?<!${WORD_CHAR})${escapeRe(w)}(?!${WORD_CHAR})`, 'iu').test(text));
}

interface Issue {
  field: 'headline' | 'body' | 'cta';
  text: string;
}

function issuesOf(c: Copy, ctx: CopyContext): Issue[] {
  const out: Issue[] = [];
  for (const field of ['headline', 'body', 'cta'] as const) {
    const lim = ctx.limits[field];
    const n = length(c[field], ctx.limits.count);
    if (n > lim.max) out.push({ field, text: `${lim.label} is ${n} characters; the ${ctx.channel} limit is ${lim.max}` });
    const banned = findBanned(c[field], ctx.brand.neverSay);
    if (banned.length)
      out.push({
        field,
        text: `${lim.label} uses the never-say ${banned.length > 1 ? 'words' : 'word'} ${banned.map((b) => `"${b}"`).join(', ')}`,
      });
  }
  return out;
}

/** Final pass: trims what is still too long (flagged) and rejects what still says a banned word. */
export function finalise(c: CopyDraft, ctx: CopyContext): { draft?: CopyDraft; rejected?: string } {
  const flags = [...c.flags];
  const out: CopyDraft = { ...c, flags };
  for (const field of ['headline', 'body', 'cta'] as const) {
    const banned = findBanned(out[field], ctx.brand.neverSay);
    if (banned.length)
      return {
        rejected: `copy rejected: the ${ctx.limits[field].label} uses the never-say word ${banned.map((b) => `"${b}"`).join(', ')}`,
      };
    const lim = ctx.limits[field];
    if (length(out[field], ctx.limits.count) > lim.max) {
      out[field] = trimToLimit(out[field], lim.max, ctx.limits.count);
      flags.push(`${lim.label} trimmed to ${lim.max} characters for ${ctx.channel}`);
    }
  }
  return { draft: out };
}

const SCHEMA = {
  type: 'object',
  properties: {
    variants: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          headline: { type: 'string' },
          primary_text: { type: 'string' },
          cta: { type: 'string' },
          visual_concept: { type: 'string' },
        },
        required: ['headline', 'primary_text', 'cta', 'visual_concept'],
        additionalProperties: false,
      },
    },
  },
  required: ['variants'],
  additionalProperties: false,
} as const;

/**
 * The schema with the tone self-check when the kit names tone words: strict mode makes every
 * property required, so the model answers it for every variant in the same call.
 */
function schemaFor(brand: BrandKit): object {
  if (!brand.toneWords.length) return SCHEMA;
  const item = SCHEMA.properties.variants.items;
  return {
    ...SCHEMA,
    properties: {
      variants: {
        type: 'array',
        items: {
          ...item,
          properties: { ...item.properties, tone_respected: { type: 'boolean' }, tone_note: { type: 'string' } },
          required: [...item.required, 'tone_respected', 'tone_note'],
        },
      },
    },
  };
}

function toneOf(v: RawVariant): ToneSelfCheck | undefined {
  return typeof v.tone_respected === 'boolean'
    ? { respected: v.tone_respected, note: typeof v.tone_note === 'string' ? v.tone_note.trim() : '' }
    : undefined;
}

interface RawVariant {
  headline: string;
  primary_text: string;
  cta: string;
  visual_concept: string;
  tone_respected?: boolean;
  tone_note?: string;
}

class MalformedCopy extends Error {}

function parseVariants(content: string | null | undefined): RawVariant[] {
  if (!content) throw new MalformedCopy('the model returned no content');
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch {
    throw new MalformedCopy(`the model returned malformed JSON (${JSON.stringify(content.slice(0, 60))}…)`);
  }
  const vs = (data as { variants?: unknown })?.variants;
  if (!Array.isArray(vs) || vs.length === 0) throw new MalformedCopy('the model returned no variants');
  const ok = vs.filter(
    (v): v is RawVariant =>
      typeof v === 'object' &&
      v !== null &&
      ['headline', 'primary_text', 'cta', 'visual_concept'].every(
        (k) => typeof (v as Record<string, unknown>)[k] === 'string' && (v as Record<string, string>)[k].trim() !== '',
      ),
  );
  if (ok.length === 0) throw new MalformedCopy('the model returned variants without the required fields');
  return ok;
}

function systemPrompt(ctx: CopyContext): string {
  const b = ctx.brand;
  const l = ctx.limits;
  return [
    'You are a senior performance-marketing copywriter. Write ad variants as JSON matching the schema.',
    'Write in the same language as the brief.',
    b.displayName ? `Brand: ${b.displayName}${b.description ? ` — ${b.description}` : ''}.` : '',
    `Tone: ${b.tone}`,
    b.toneWords.length
      ? `Tone words: ${b.toneWords.join(', ')}. For each variant, check your own copy against them: tone_respected is true only when it respects every one; tone_note names the word it misses, or says briefly how it meets them.`
      : '',
    b.mustSay.length ? `Every variant must mention: ${b.mustSay.join(', ')}.` : '',
    b.neverSay.length ? `Never use these words: ${b.neverSay.join(', ')}.` : '',
    `Channel: ${ctx.channel}. Hard limits in characters: headline ≤ ${l.headline.max}, primary_text ≤ ${l.body.max} (${l.body.label}), cta ≤ ${l.cta.max}.`,
    'visual_concept: one sentence describing a picture (no text in the picture) for an image model.',
    'Make the variants clearly different from each other in angle, wording and visual.',
  ]
    .filter(Boolean)
    .join('\n');
}

function userPrompt(ctx: CopyContext): string {
  const parts = [`Brief: ${ctx.brief}`, `Write ${ctx.count} variants.`];
  // The audience (the form's, or one segment of --audiences) steers the copy; naming it in an ad reads as a label.
  if (ctx.fields?.audience) parts.push(`Audience: ${ctx.fields.audience}. Write for them; do not name the audience in the copy.`);
  if (ctx.inspiration.length) {
    parts.push('Past creatives that performed (smoothed CTR), for inspiration — do not copy them:');
    for (const i of ctx.inspiration.slice(0, 5))
      parts.push(`- "${i.headline}" / "${i.body}" / CTA "${i.cta}" (CTR ${(100 * i.ctr).toFixed(2)}%)`);
  }
  if (ctx.leader)
    parts.push(
      `Current leader (most votes so far): "${ctx.leader.headline}" / "${ctx.leader.body}" / CTA "${ctx.leader.cta}". Improve on it.`,
    );
  if (ctx.feedback.length) parts.push('Team feedback so far (apply it):', ...ctx.feedback.map((f) => `- ${f}`));
  return parts.join('\n');
}

export function createOpenAICopywriter(opts: {
  client: OpenAIClient;
  model: string;
  retries: number;
  fallback: Copywriter;
  logger: Logger;
}): Copywriter {
  const { client, model, logger } = opts;

  async function ask(
    counter: { n: number },
    messages: { role: 'system' | 'user'; content: string }[],
    ctx: Pick<CopyContext, 'signal' | 'billed' | 'brand'>,
  ): Promise<RawVariant[]> {
    counter.n++;
    const schema = schemaFor(ctx.brand) as Record<string, unknown>;
    const res = await client.chat.completions.create(
      { model, messages, response_format: { type: 'json_schema', json_schema: { name: 'ad_variants', strict: true, schema } } },
      { signal: ctx.signal },
    );
    // Answered, so billed: a refusal or malformed JSON costs the same as good copy. Priced by the
    // model asked for: the answer names a dated snapshot (gpt-4o-mini-2024-07-18) the table need not list.
    ctx.billed?.(chatUsage(model, res.usage));
    const msg = res.choices[0]?.message;
    if (msg?.refusal) throw new GenerationError('COPY_REFUSED', `the text model declined to write this copy: ${msg.refusal}`);
    return parseVariants(msg?.content);
  }

  return {
    offline: false,
    async write(ctx) {
      const calls = { n: 0 };
      const failures: GenerationFailure[] = [];
      const messages = [
        { role: 'system' as const, content: systemPrompt(ctx) },
        { role: 'user' as const, content: userPrompt(ctx) },
      ];
      let raw: RawVariant[];
      try {
        try {
          raw = await ask(calls, messages, ctx);
        } catch (e) {
          if (!(e instanceof MalformedCopy)) throw e;
          logger.warn('copy: malformed answer, asking once more', { reason: e.message });
          raw = await ask(calls, messages, ctx);
        }
      } catch (e) {
        if (e instanceof GenerationError) throw e; // a refusal is the answer, not a fault to paper over
        if (ctx.signal?.aborted) throw new GenerationError('CANCELLED', 'generation was cancelled');
        const why = e instanceof MalformedCopy ? `${e.message}, twice` : describeOpenAIError(e, opts.retries);
        logger.warn('copy: OpenAI failed; using offline copy', { reason: why });
        const off = await opts.fallback.write(ctx);
        failures.push({
          stage: 'copy',
          message: `OpenAI copywriting failed (${why}); the copy below is recombined offline from the library and the brief`,
        });
        return { drafts: off.drafts, failures: [...failures, ...off.failures], textCalls: calls.n };
      }

      let drafts: CopyDraft[] = raw.slice(0, ctx.count).map((v) => ({
        headline: v.headline.trim(),
        body: v.primary_text.trim(),
        cta: v.cta.trim(),
        concept: v.visual_concept.trim(),
        flags: [],
        offline: false,
        tone: toneOf(v),
      }));

      // One regeneration for the variants that broke a limit or a never-say rule.
      const bad = drafts.map((d, i) => ({ i, issues: issuesOf(d, ctx) })).filter((x) => x.issues.length > 0);
      if (bad.length) {
        const fix = [
          `Rewrite these ${bad.length} variants so they keep their idea but fix the problems noted. Return exactly ${bad.length} variants, in order.`,
          ...bad.map(
            (b, k) =>
              `${k + 1}. headline "${drafts[b.i].headline}" / primary_text "${drafts[b.i].body}" / cta "${drafts[b.i].cta}" / visual_concept "${drafts[b.i].concept}" — problems: ${b.issues.map((x) => x.text).join('; ')}`,
          ),
        ].join('\n');
        try {
          const again = await ask(calls, [messages[0], { role: 'user', content: `${userPrompt(ctx)}\n\n${fix}` }], ctx);
          drafts = drafts.map((d, i) => {
            const k = bad.findIndex((b) => b.i === i);
            const r = k >= 0 ? again[k] : undefined;
            return r
              ? {
                  ...d,
                  headline: r.headline.trim(),
                  body: r.primary_text.trim(),
                  cta: r.cta.trim(),
                  concept: r.visual_concept.trim(),
                  tone: toneOf(r),
                  flags: ['rewritten once to meet the channel limits or brand rules'],
                }
              : d;
          });
        } catch (e) {
          if (e instanceof GenerationError) throw e;
          logger.warn('copy: regeneration failed; trimming instead', { reason: e instanceof Error ? e.message : String(e) });
        }
      }

      const out: CopyDraft[] = [];
      for (const d of drafts) {
        const r = finalise(d, ctx);
        if (r.draft) out.push(r.draft);
        else failures.push({ stage: 'copy', message: `${r.rejected} ("${d.headline}")` });
      }
      if (out.length === 0) {
        throw new GenerationError(
          'COPY_REJECTED',
          `every variant the text model wrote broke the brand rules: ${failures.map((f) => f.message).join('; ')}`,
        );
      }
      return { drafts: out, failures, textCalls: calls.n };
    },
  };
}
