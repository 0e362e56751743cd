/**
 * Copywriting. With a key: one Chat Completions call with a JSON schema (structured output)
 * for all candidates, then channel limits and never-say words are checked; offending
 * variants are regenerated once, then over-long fields are trimmed at a word boundary and
 * flagged, and copy that still uses a banned word is rejected. Without a key: copy
 * recombined from the retrieved creatives and the brief, labelled offline.
 */
import { GenerationError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type ChannelLimits, type ChannelName, charCount as length } from '../vocabulary.ts';
import type { BrandKit } from './brands.ts';
import { trimToLimit } from './limits.ts';
import { describeOpenAIError, type OpenAIClient } from './openai.ts';
import { type BilledRequest, chatUsage } from './pricing.ts';
import type { Copy, GenerationFailure, Inspiration } from './types.ts';

export interface CopyDraft extends Copy {
  concept: string;
  flags: string[];
  offline: boolean;
}

export interface CopyContext {
  brief: string;
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

/** The never-say words/phrases that occur in `text` as whole words (any case). */
export function findBanned(text: string, banned: string[]): string[] {
  return banned.filter((w) => new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(w)}(?![\\p{L}\\p{N}])`, 'iu').test(text));
}

interface Issue {
  field: 'headline' | 'body' | 'cta';
  text: string;
}

function issuesOf(c: Copy, ctx: CopyContext): Issue[] {
  const out: Issue[] = [];
  for (const field of ['headline', 'body', 'cta'] as const) {
    const lim = ctx.limits[field];
    const n = length(c[field]);
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
    if (length(out[field]) > lim.max) {
      out[field] = trimToLimit(out[field], lim.max);
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

interface RawVariant {
  headline: string;
  primary_text: string;
  cta: string;
  visual_concept: string;
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
    ctx: Pick<CopyContext, 'signal' | 'billed'>,
  ): Promise<RawVariant[]> {
    counter.n++;
    const res = await client.chat.completions.create(
      { model, messages, response_format: { type: 'json_schema', json_schema: { name: 'ad_variants', strict: true, schema: SCHEMA } } },
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

// ---------- offline recombination ----------

function clean(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function capitalise(s: string): string {
  return s ? s[0].toLocaleUpperCase() + s.slice(1) : s;
}

function stripBanned(s: string, banned: string[]): string {
  let out = s;
  for (const w of banned) out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(w)}(?![\\p{L}\\p{N}])`, 'giu'), '');
  return clean(out.replace(/\s+([,.;:!?])/g, '$1'));
}

/** Clauses of the brief, longest-useful first: the raw material for offline headlines. */
function clauses(brief: string): string[] {
  return clean(brief)
    .split(/(?<=[.!?。！？])\s*|[;:—–]\s+|,\s+(?=\S+\s+\S+)/u)
    .map((s) => clean(s).replace(/[.。]$/u, ''))
    .filter((s) => length(s) >= 3);
}

/**
 * Up to `count` distinct (headline, body, CTA) index triples, in the order that changes the most
 * visible part first: every headline once before a headline repeats, and a repeated headline with
 * another body or CTA. Variants repeat only when fewer than `count` combinations exist.
 */
export function distinctCombos(h: number, b: number, c: number, count: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  // Stage s holds the body/CTA pairs whose indexes sum to s; within a stage every headline comes once.
  for (let stage = 0; stage <= b + c - 2 && out.length < count; stage++) {
    for (let j = 0; j <= stage && out.length < count; j++) {
      const k = stage - j;
      if (j >= b || k >= c) continue;
      for (let i = 0; i < h && out.length < count; i++) out.push([i, j, k]);
    }
  }
  return out.length ? out : [[0, 0, 0]];
}

const SHORTER = /short|concise|brief|fewer words|kürzer|plus court|más corto|短/i;

export function createOfflineCopywriter(): Copywriter {
  return {
    offline: true,
    async write(ctx) {
      const banned = ctx.brand.neverSay;
      // Only the same brand's past copy is reused word for word: another brand's headline ("Decaf
      // that tastes like coffee") under a sunscreen brief reads as nonsense to the team.
      const insp = ctx.inspiration
        .filter((i) => i.brand !== undefined && i.brand === ctx.brand.name)
        .sort((a, b) => b.ctr * (0.5 + b.similarity) - a.ctr * (0.5 + a.similarity));
      const ok = (s: string) => s.length > 0 && findBanned(s, banned).length === 0;
      const brandName = ctx.brand.mustSay[0] ?? ctx.brand.displayName;

      // Offline headlines are our own cut of the brief: whole leading words that fit, no ellipsis.
      const fitHeadline = (s: string) => {
        if (length(s) <= ctx.limits.headline.max) return s;
        const words = s.split(' ');
        let out = '';
        for (const w of words) {
          const next = out ? `${out} ${w}` : w;
          if (length(next) > ctx.limits.headline.max) break;
          out = next;
        }
        return out.replace(/[\s,.;:–—-]+$/u, '') || s;
      };
      const parts = clauses(ctx.brief).map((c) => fitHeadline(capitalise(stripBanned(c, banned))));
      const headlines: string[] = [];
      const push = (list: string[], s: string) => {
        const c = clean(s);
        if (ok(c) && !list.some((x) => x.toLowerCase() === c.toLowerCase())) list.push(c);
      };
      for (const p of parts) push(headlines, p);
      for (const i of insp) push(headlines, i.headline);
      // Brand-first headlines only whole: "Acme: Trail pack for day" (cut to fit) reads as a mistake.
      if (brandName)
        for (const p of parts.slice(0, 2)) {
          const h = `${brandName}: ${p}`;
          if (length(h) <= ctx.limits.headline.max) push(headlines, h);
        }
      if (ctx.leader) push(headlines, ctx.leader.headline);
      if (headlines.length === 0) push(headlines, capitalise(stripBanned(clean(ctx.brief), banned)) || brandName || 'New');
      if (ctx.feedback.some((f) => SHORTER.test(f))) headlines.sort((a, b) => length(a) - length(b));

      const bodies: string[] = [];
      const briefBody = capitalise(stripBanned(clean(ctx.brief), banned));
      push(bodies, brandName && !findBanned(briefBody, [brandName]).length ? `${briefBody} — ${brandName}.` : briefBody);
      for (const i of insp) push(bodies, i.body);
      if (ctx.leader) push(bodies, ctx.leader.body);
      // When there is little else to use: the brief's clauses in another order, and a brand-first
      // form. Each names the brand, as every variant must.
      const stop = (x: string) => (/[.!?。！？]$/u.test(x) ? x : `${x}.`);
      const signed = (x: string) => (brandName && !findBanned(x, [brandName]).length ? `${x} — ${brandName}.` : stop(x));
      const reordered = clauses(ctx.brief)
        .reverse()
        .map((c) => capitalise(stripBanned(c, banned)));
      if (reordered.length > 1) push(bodies, signed(reordered.map(stop).join(' ').replace(/[.]$/u, '')));
      if (brandName && !findBanned(briefBody, [brandName]).length) push(bodies, `${brandName}: ${stop(briefBody)}`);
      const about = stripBanned(clean(ctx.brand.description), banned);
      if (about) push(bodies, signed(`${stop(briefBody)} ${about.replace(/[.。]$/u, '')}`));

      const ctas: string[] = [];
      push(ctas, ctx.brand.defaultCta);
      for (const i of insp) push(ctas, i.cta);

      const feedbackNote = ctx.feedback.length ? `; reflecting: ${ctx.feedback.slice(-3).join('; ')}` : '';
      const drafts: CopyDraft[] = [];
      const combos = distinctCombos(headlines.length, bodies.length, ctas.length, ctx.count);
      for (let i = 0; i < ctx.count; i++) {
        const inspiredBy = insp.length ? insp[i % insp.length] : undefined;
        const [h, b, c] = combos[i % combos.length];
        const d: CopyDraft = {
          headline: headlines[h],
          body: bodies[b],
          cta: ctas[c],
          concept: `${clean(ctx.brief).slice(0, 160)}${inspiredBy ? `; echoing "${inspiredBy.headline}"` : ''}${feedbackNote}; variation ${i + 1}`,
          flags: ['offline copy: recombined from the library and the brief (no OPENAI_API_KEY)'],
          offline: true,
        };
        const r = finalise(d, ctx);
        if (r.draft) drafts.push(r.draft);
      }
      return { drafts, failures: [], textCalls: 0 };
    },
  };
}
