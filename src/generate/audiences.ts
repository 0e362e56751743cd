/**
 * Audience segments (`--audiences "students; parents of toddlers"`): the brief is written and
 * ranked once per segment. The copywriter gets the segment as the brief's audience, CLIP
 * relevance is scored against the brief and the segment together, and every variant carries
 * its segment so the thread, the tally and the library can group by it.
 *
 * `--variants N` is per audience: two audiences with --variants 3 make six variants, and the
 * cost estimate and the daily image cap count all six.
 */
import { InputError } from '../errors.ts';
import { normaliseAudience } from '../library/audience.ts';
import type { Library } from '../library/types.ts';
import { attachCost, costOf, emptyCost, type GenerateCost, type ModelSpend, type TokenCounts } from './pricing.ts';
import {
  type GeneratedVariant,
  type GenerateRequest,
  type GenerateResult,
  type Generator,
  type Inspiration,
  inspirationFromHit,
  labelFor,
} from './types.ts';

/** Segments one brief may name: each is a full generation, so a few, not a list. */
export const MAX_AUDIENCES = 5;
/** Characters in one segment: a description of people, not a brief. */
export const MAX_AUDIENCE_CHARS = 80;

const EXAMPLE = '"students; parents of toddlers"';

/**
 * `raw` as segments: split on ";", trimmed, inner spaces collapsed, duplicates (ignoring case)
 * dropped, the first spelling kept. `what` names the field in messages (`--audiences`, the form).
 */
export function parseAudiences(raw: string, what = '--audiences'): string[] {
  const parts = raw.split(';').map((p) => p.replace(/\s+/g, ' ').trim());
  if (parts.every((p) => !p)) {
    throw new InputError('BAD_AUDIENCES', `${what} needs one or more audiences separated by ";", e.g. ${EXAMPLE}; got "${raw}".`);
  }
  const empty = parts.findIndex((p) => !p);
  // `--audiences students; parents` unquoted gives "students;": the rest became words of the brief.
  if (empty === parts.length - 1) {
    throw new InputError('BAD_AUDIENCES', `${what} "${raw}" ends with ";": put the whole list in quotes, e.g. --audiences ${EXAMPLE}.`);
  }
  if (empty >= 0) {
    throw new InputError(
      'BAD_AUDIENCES',
      `${what}: audience ${empty + 1} of "${raw}" is empty; separate audiences with a single ";", e.g. ${EXAMPLE}.`,
    );
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (const p of parts) {
    const chars = [...p].length;
    if (chars > MAX_AUDIENCE_CHARS) {
      throw new InputError(
        'BAD_AUDIENCES',
        `${what}: the audience "${[...p].slice(0, 30).join('')}…" is ${chars} characters; each may have at most ${MAX_AUDIENCE_CHARS}.`,
      );
    }
    const key = normaliseAudience(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  if (out.length > MAX_AUDIENCES) {
    throw new InputError(
      'BAD_AUDIENCES',
      `${what} names ${out.length} audiences; at most ${MAX_AUDIENCES} are allowed (each is written and ranked separately).`,
    );
  }
  return out;
}

/** Variants a round makes: `perAudience` for each segment, or just that without segments. */
export function totalVariants(o: { variants: number; audiences?: readonly string[] }): number {
  return o.variants * Math.max(1, o.audiences?.length ?? 0);
}

/**
 * Checks `perAudience` × segments against the most variants a round may have; `given`: whether
 * the person chose the number (typed --variants, or picked another number in the form than the
 * one it offered): a default is lowered to fit instead of refused. `what` names the number in
 * messages (`--variants`, the form's field).
 */
export function variantsPerAudience(p: { perAudience: number; given: boolean; audiences: number; max: number; what?: string }): number {
  const what = p.what ?? '--variants';
  const fit = Math.floor(p.max / p.audiences);
  if (fit < 1) {
    throw new InputError(
      'BAD_AUDIENCES',
      `${p.audiences} audiences need at least ${p.audiences} variants, one each; a round may have at most ${p.max}. Name fewer audiences.`,
    );
  }
  if (!p.given) return Math.min(p.perAudience, fit);
  if (p.perAudience > fit) {
    throw new InputError(
      'BAD_VARIANTS',
      `${what} is per audience: ${p.perAudience} for each of ${p.audiences} audiences makes ${p.perAudience * p.audiences}, over the ${p.max} a round may have. Use ${what.startsWith('--') ? `${what} ` : ''}${fit} or fewer, or name fewer audiences.`,
    );
  }
  return p.perAudience;
}

/**
 * A round's segments and its variants per segment, from what a person gave: the one rule for the
 * slash command, the brief form and the CLI. `names` says how the messages name the two fields.
 */
export function audienceOptions(p: {
  raw: string;
  variants: number;
  given: boolean;
  max: number;
  names?: { audiences: string; variants: string };
}): { audiences: string[]; variants: number } {
  const audiences = parseAudiences(p.raw, p.names?.audiences);
  const variants = variantsPerAudience({
    perAudience: p.variants,
    given: p.given,
    audiences: audiences.length,
    max: p.max,
    what: p.names?.variants,
  });
  return { audiences, variants };
}

/** The text CLIP relevance is scored against for one segment. */
export function relevanceText(brief: string, audience: string): string {
  return `${brief} — for ${audience}`;
}

function addTokens(a: TokenCounts, b: TokenCounts): TokenCounts {
  return { input: a.input + b.input, cachedInput: a.cachedInput + b.cachedInput, output: a.output + b.output };
}

function addSpend(a: ModelSpend | undefined, b: ModelSpend): ModelSpend {
  if (!a) return { ...b };
  return {
    requests: a.requests + b.requests,
    text: addTokens(a.text, b.text),
    image: addTokens(a.image, b.image),
    perImage: a.perImage + b.perImage,
    usd: a.usd + b.usd,
  };
}

/** Two generations' spend as one. */
export function addCosts(a: GenerateCost, b: GenerateCost): GenerateCost {
  const byModel = { ...a.byModel };
  for (const [m, s] of Object.entries(b.byModel)) byModel[m] = addSpend(byModel[m], s);
  return {
    usd: a.usd + b.usd,
    textCalls: a.textCalls + b.textCalls,
    imageCalls: a.imageCalls + b.imageCalls,
    tokens: { text: addTokens(a.tokens.text, b.tokens.text), image: addTokens(a.tokens.image, b.tokens.image) },
    byModel,
    notes: [...new Set([...a.notes, ...b.notes])],
  };
}

/**
 * One generation per segment, in order, merged: variants grouped by segment (labels run on
 * across them: A–C for the first, D–F for the next), failures prefixed with their segment, the
 * spend summed. Without segments this is `generator.generate(req)` unchanged.
 */
export async function generateForAudiences(
  generator: Pick<Generator, 'generate'>,
  req: GenerateRequest,
  audiences: readonly string[] | undefined,
  opts: {
    /**
     * Each segment's own leader (a next round): one segment's copy is no model for another's, so
     * when given, a segment without one gets none. Absent: every segment gets `req.leader`.
     */
    leaders?: ReadonlyMap<string, NonNullable<GenerateRequest['leader']>>;
    /** Each segment's inspiration (audienceInspiration); absent: every segment gets `req.inspiration`. */
    inspirationFor?: (audience: string) => Promise<Inspiration[]>;
  } = {},
): Promise<GenerateResult> {
  if (!audiences?.length) return generator.generate(req);
  const variants: GeneratedVariant[] = [];
  const failures: GenerateResult['failures'] = [];
  let cost = emptyCost();
  let offline = false;
  for (const [i, audience] of audiences.entries()) {
    let r: GenerateResult;
    try {
      r = await generator.generate({
        ...req,
        // The brief's translation was one request: billed with the first segment, not once per segment.
        billedBefore: i === 0 ? req.billedBefore : undefined,
        fields: { ...req.fields, audience },
        leader: opts.leaders ? opts.leaders.get(audience) : req.leader,
        inspiration: opts.inspirationFor ? await opts.inspirationFor(audience) : req.inspiration,
        // The translated brief where there is one: the English text tower reads a Chinese brief as noise.
        relevanceText: relevanceText((req.searchText ?? req.brief).trim(), audience),
        // The brief's own embedding would score relevance without the segment.
        briefEmbedding: undefined,
        onProgress: req.onProgress && ((p) => req.onProgress?.({ ...p, done: p.done + i * p.total, total: p.total * audiences.length })),
      });
    } catch (e) {
      // The segments made before this one were billed all the same.
      attachCost(e, addCosts(cost, costOf(e) ?? emptyCost()));
      throw e;
    }
    cost = addCosts(cost, r.cost);
    offline ||= r.offline;
    failures.push(...r.failures.map((f) => ({ ...f, message: `for ${audience}: ${f.message}` })));
    for (const v of r.variants) variants.push({ ...v, label: labelFor(variants.length), audience });
  }
  return { variants, failures, cost, offline };
}

/**
 * A round's estimate from one audience's: each segment is a generation of its own (its copy call,
 * its images, and with locales its call for copy per locale, asked with the number of locales).
 */
export function estimateForAudiences<E extends { usd: number; textCalls: number; imageCalls: number }>(
  estimate: (variants: number, o: { locales: number }) => E,
  o: { variants: number; audiences?: readonly string[]; locales?: readonly string[] },
): E {
  const n = Math.max(1, o.audiences?.length ?? 0);
  const e = estimate(o.variants, { locales: o.locales?.length ?? 0 });
  return { ...e, usd: e.usd * n, textCalls: e.textCalls * n, imageCalls: e.imageCalls * n };
}

/**
 * Each segment's inspiration: the past creatives tagged with that audience (its earlier
 * winners; the brand's own first), then the brief's general inspiration, `k` in all. A library
 * that cannot be searched leaves the general inspiration as it was.
 */
export function audienceInspiration(p: {
  library: () => Promise<Pick<Library, 'search'> | undefined>;
  embedding: Float32Array;
  brand?: string;
  k: number;
  general: Inspiration[];
}): (audience: string) => Promise<Inspiration[]> {
  return async (audience) => {
    try {
      const lib = await p.library();
      if (!lib) return p.general;
      let hits = await lib.search({ vector: p.embedding, k: p.k, filters: { audience, ...(p.brand ? { brand: p.brand } : {}) } });
      if (!hits.length && p.brand) hits = await lib.search({ vector: p.embedding, k: p.k, filters: { audience } });
      const own = hits.map(inspirationFromHit);
      const ids = new Set(own.map((i) => i.id));
      return [...own, ...p.general.filter((i) => !ids.has(i.id))].slice(0, p.k);
    } catch {
      return p.general;
    }
  };
}

/** `generator` whose `generate` runs once per segment (generateForAudiences); unchanged without segments. */
export function forAudiences(
  generator: Pick<Generator, 'generate'>,
  audiences: readonly string[] | undefined,
  opts: Parameters<typeof generateForAudiences>[3] = {},
): Pick<Generator, 'generate'> {
  return { generate: (req) => generateForAudiences(generator, req, audiences, opts) };
}
