/**
 * The generation pipeline: copy for more candidates than are shown, a visual for each, CLIP
 * embeddings, ranking (relevance, novelty, preference, MMR for variety), then composition of
 * the picked variants into every requested format. Each stage reports progress; a failure
 * of one candidate is reported and the rest go on.
 */
import { randomBytes } from 'node:crypto';
import type { Encoder } from '../clip/types.ts';
import { AdError, GenerationError, InputError, UsageError } from '../errors.ts';
import type { ComposeInput, ComposeResult } from '../image/compose.ts';
import { createImageWorker, type ImageWorker } from '../image/pool.ts';
import { checkLocaleFonts } from '../image/scripts.ts';
import { hashString } from '../image/studio-art.ts';
import type { Logger } from '../log.ts';
import { type PreferenceInput, type RankWeights, rank } from '../rank/score.ts';
import {
  BRIEF_MAX_CHARS_RANGE,
  CHANNELS,
  type ChannelLimits,
  charCount,
  FORMATS,
  type FormatName,
  isChannel,
  isFormat,
  VARIANTS_RANGE,
} from '../vocabulary.ts';
import { regenerateUnderMinimum } from './brand-regenerate.ts';
import { type BrandScore, belowMinimum, belowMinimumWarning, brandScore, type RenderFacts, renderFacts } from './brand-score.ts';
import { type BrandKit, composeStyle } from './brands.ts';
import { parseBrief } from './brief-parse.ts';
import type { CopyDraft, Copywriter } from './copy.ts';
import { drawAll, type ImageJob, type ImageProvider, mapLimit } from './images.ts';
import { createOfflineLocalizer, type Localizer } from './locale-copy.ts';
import { briefLanguage, parseLocales, sourceLimits } from './locales.ts';
import { asksForProduct, studioPalette } from './mood.ts';
import { attachCost, type CostMeter, createCostMeter, type PriceTable } from './pricing.ts';
import {
  type Copy,
  type GeneratedVariant,
  type GenerateRequest,
  type GenerateResult,
  type GenerationFailure,
  type Generator,
  type LocaleCopy,
  labelFor,
} from './types.ts';

/** What a preference model sees of a candidate. */
export interface PreferenceCandidate extends Copy {
  concept: string;
  imageEmbedding: Float32Array;
}

export type TimedStage = 'copy' | 'image' | 'clip' | 'ranking' | 'composition';

export interface PipelineDeps {
  copywriter: Copywriter;
  images: ImageProvider;
  encoder: Encoder;
  maxSimilarity: (imageEmbeddings: Float32Array[]) => Promise<number[]>;
  /**
   * The team's predicted preference per candidate (learn/taste-learner.ts), with its interval
   * and `draws` posterior draws for choosing what to show; null where there is none.
   */
  preference?: (variants: PreferenceCandidate[], opts: { draws: number }) => Promise<(PreferenceInput | number | null)[]>;
  brand: (name?: string) => BrandKit;
  limits: (channel: GenerateRequest['channel']) => ChannelLimits;
  weights: RankWeights;
  candidateFactor: number;
  concurrency: number;
  /** What billed requests cost (config: the defaults with OPENAI_PRICES over them). */
  prices: PriceTable;
  logger: Logger;
  /** Stable ids (tests); default: random 10-character base36. */
  newId?: () => string;
  /** Wall time per stage, for the benchmark. */
  onTiming?: (stage: TimedStage, ms: number) => void;
  /**
   * Composes one format of a variant; default: `composeAd` in a worker thread of this
   * pipeline's own, so composition never holds the bot's event loop.
   */
  compose?: (input: ComposeInput) => Promise<ComposeResult>;
  /** Copy per locale (`req.locales`); default: the offline one (brief language only, others "not translated"). */
  localizer?: Localizer;
}

export function randomId(): string {
  const bytes = randomBytes(10);
  let s = '';
  for (const b of bytes) s += (b % 36).toString(36);
  return s;
}

function validate(req: GenerateRequest): void {
  const brief = req.brief?.trim() ?? '';
  if (!brief) throw new InputError('BRIEF_EMPTY', 'the brief is empty; describe the product, audience and offer');
  const chars = charCount(brief);
  if (chars > BRIEF_MAX_CHARS_RANGE.max) {
    throw new InputError('BRIEF_TOO_LONG', `the brief is ${chars} characters; the limit is ${BRIEF_MAX_CHARS_RANGE.max}`);
  }
  const { min, max } = VARIANTS_RANGE;
  if (!Number.isInteger(req.count) || req.count < min || req.count > max) {
    throw new UsageError(`the number of variants must be between ${min} and ${max}; got ${req.count}`);
  }
  if (!isChannel(req.channel))
    throw new UsageError(`unknown channel ${JSON.stringify(req.channel)}; expected one of: ${CHANNELS.join(', ')}`);
  if (!req.formats.length) throw new UsageError(`no formats asked for; expected some of: ${FORMATS.join(', ')}`);
  for (const f of req.formats)
    if (!isFormat(f)) throw new UsageError(`unknown format ${JSON.stringify(f)}; expected some of: ${FORMATS.join(', ')}`);
}

/**
 * What the pictures of a round are made of: the palette (the brief's mood, the brand's accent,
 * colour feedback) and which photo each candidate shows. The reference image is a photo of the
 * product: every other candidate shows it, every one when feedback asks to see the product. A
 * library image is shown only when it carries no copy of its own (no headline): a past ad's
 * words would compete with the new ones.
 */
export function visualPlan(
  req: Pick<GenerateRequest, 'referenceImage' | 'inspiration' | 'feedback' | 'fields' | 'brand'>,
  brief: string,
  kit: BrandKit,
): { palette: string[]; photoFor: (i: number) => Uint8Array | undefined } {
  const parsed = parseBrief(brief, req.fields);
  const { palette } = studioPalette({ brief: { ...parsed, text: brief }, brand: kit.colors, feedback: req.feedback });
  const clean = req.inspiration
    .filter((i) => i.image?.length && !i.headline.trim() && (i.brand === undefined || i.brand === kit.name))
    .map((i) => i.image as Uint8Array);
  const ref = req.referenceImage?.length ? req.referenceImage : undefined;
  const everyOne = ref && asksForProduct(req.feedback);
  return {
    palette,
    photoFor: (i) => {
      if (ref && (everyOne || i % 2 === 0)) return ref;
      if (clean.length && i % 3 === 1) return clean[Math.floor(i / 3) % clean.length];
      return undefined;
    },
  };
}

export function createPipeline(deps: PipelineDeps): Generator {
  const newId = deps.newId ?? randomId;
  const log = deps.logger;
  let composer: ImageWorker | undefined;
  const composeAd =
    deps.compose ??
    ((input: ComposeInput) => {
      composer ??= createImageWorker();
      return composer.compose(input);
    });

  async function timed<T>(stage: TimedStage, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      deps.onTiming?.(stage, performance.now() - t0);
    }
  }

  async function renderFormats(
    visual: Uint8Array,
    copy: Copy,
    kit: BrandKit,
    formats: FormatName[],
    offline: boolean,
  ): Promise<{ images: Partial<Record<FormatName, Uint8Array>>; flags: string[]; renders: RenderFacts[] }> {
    const style = composeStyle(kit);
    const images: Partial<Record<FormatName, Uint8Array>> = {};
    const flags = new Set<string>();
    const renders: RenderFacts[] = [];
    for (const f of formats) {
      const r = await composeAd({ visual, format: f, headline: copy.headline, cta: copy.cta, style, offline });
      images[f] = new Uint8Array(r.png.buffer, r.png.byteOffset, r.png.byteLength);
      if (r.shortenedHeadline) flags.add(`headline shortened to fit the ${f} layout: "${r.shortenedHeadline}"`);
      renders.push(await renderFacts(f, r, kit));
    }
    return { images, flags: [...flags], renders };
  }

  /** The brand score of a draft as rendered; the tone self-check is the copywriter's, when it gave one. */
  function scoreOf(draft: CopyDraft, kit: BrandKit, channel: GenerateRequest['channel'], renders: RenderFacts[]): BrandScore {
    return brandScore({
      copy: draft,
      kit,
      channel,
      limits: deps.limits(channel),
      renders,
      tone: draft.tone,
      toneAbsentWhy: draft.offline ? 'offline copy: no copywriter self-check' : undefined,
    });
  }

  const inner = {
    async generate(req: GenerateRequest, meter: CostMeter): Promise<GenerateResult> {
      validate(req);
      const kit = deps.brand(req.brand);
      const brief = req.brief.trim();
      const locales = req.locales?.length ? parseLocales(req.locales.join(',')) : [];
      const sourceLang = briefLanguage(brief);
      // Before anything is paid for: a locale no installed font can draw is named with its package.
      checkLocaleFonts(locales);
      const localizer = deps.localizer ?? createOfflineLocalizer();
      // Only copy that will be translated is written short for the longest language (offline nothing is).
      const baseLimits = deps.limits(req.channel);
      const copyLimits = locales.length && !localizer.offline ? sourceLimits(baseLimits, sourceLang, locales) : baseLimits;
      const progress = req.onProgress ?? (() => {});
      const failures: GenerationFailure[] = [];
      const nCand = Math.max(req.count, Math.ceil(req.count * deps.candidateFactor));
      const signal = req.signal;
      const checkAbort = () => {
        if (signal?.aborted) throw new GenerationError('CANCELLED', 'generation was cancelled');
      };

      // 1. Copy for every candidate.
      progress({ stage: 'writing', done: 0, total: 1 });
      const copy = await timed('copy', () =>
        deps.copywriter.write({
          brief,
          fields: req.fields,
          brand: kit,
          channel: req.channel,
          limits: copyLimits,
          inspiration: req.inspiration,
          feedback: req.feedback,
          leader: req.leader,
          count: nCand,
          signal,
          billed: meter.record,
        }),
      );
      failures.push(...copy.failures);
      progress({ stage: 'writing', done: 1, total: 1 });
      checkAbort();

      // 2. A visual per candidate. Feedback rounds edit the leader's image for every other candidate;
      // otherwise a reference (the brief's upload, or a leader outside feedback rounds) is what every
      // candidate works from. The offline studio shows the reference as a photo (visualPlan).
      const looks = visualPlan(req, brief, kit);
      const online = !deps.images.offline;
      const maxInputs = deps.images.maxInputs ?? Number.POSITIVE_INFINITY;
      const leaderEdit = (i: number) => (req.leader?.image && req.feedback.length > 0 && i % 2 === 0 ? req.leader.image : undefined);
      const reference = online ? (req.referenceImage ?? (req.feedback.length === 0 ? req.leader?.image : undefined)) : undefined;
      const logo = online && kit.logoInVisual && kit.logo.length > 0 ? kit.logo : undefined;
      const notes: string[] = [];
      if (online && maxInputs === 0 && (reference || (req.leader?.image && req.feedback.length > 0))) {
        notes.push(
          `${reference ? 'the reference' : "the leader's"} image was not sent: ${deps.images.name} cannot work from an image (use gpt-image-1)`,
        );
      }
      // The logo goes along as a further input image, which only the GPT image models take.
      const sendLogo = logo !== undefined && maxInputs > 1;
      if (logo && !sendLogo) {
        notes.push(
          `the brand logo was not sent to the image model: ${deps.images.name} takes ${maxInputs === 0 ? 'no input image' : 'only the image it edits'}`,
        );
      }
      // An audience segment (relevanceText) draws pictures of its own: two segments never share one image.
      const baseSeed = hashString(`${brief}|${req.feedback.join('|')}${req.relevanceText ? `|${req.relevanceText}` : ''}`);
      const jobs: ImageJob[] = copy.drafts.map((d, i) => {
        const edit = maxInputs > 0 ? (leaderEdit(i) ?? reference) : undefined;
        return {
          concept: d.concept,
          copy: d,
          brand: kit,
          feedback: req.feedback,
          edit,
          editOf: edit ? (leaderEdit(i) ? 'leader' : 'reference') : undefined,
          logo: sendLogo ? logo : undefined,
          photo: looks.photoFor(i),
          palette: looks.palette,
          seed: (baseSeed + i * 7919) >>> 0,
        };
      });
      let drawn = 0;
      progress({ stage: 'drawing', done: 0, total: jobs.length });
      const outcomes = await timed('image', () =>
        drawAll(deps.images, jobs, {
          concurrency: deps.concurrency,
          signal,
          onDone: () => progress({ stage: 'drawing', done: ++drawn, total: jobs.length }),
          billed: meter.record,
        }),
      );
      checkAbort();
      const cands: { draft: (typeof copy.drafts)[number]; visual: Uint8Array; job: number }[] = [];
      outcomes.forEach((o, i) => {
        if (o.ok) cands.push({ draft: copy.drafts[i], visual: o.image, job: i });
        else failures.push({ stage: 'image', message: `candidate ${i + 1} ("${copy.drafts[i].headline}"): ${o.error}` });
      });
      const cost = meter.cost();
      const offline = deps.images.offline || copy.drafts.some((d) => d.offline);
      if (cands.length === 0) {
        log.warn('generate: no candidate got a visual', { failures: failures.length });
        return { variants: [], failures, cost, offline };
      }

      // 3. CLIP: the brief and every candidate visual.
      progress({ stage: 'ranking', done: 0, total: 1 });
      const [briefEmb, imageEmbs] = await timed('clip', async () => {
        const [t] = req.briefEmbedding ? [req.briefEmbedding] : await deps.encoder.embedTexts([req.relevanceText ?? brief]);
        const imgs = await deps.encoder.embedImages(cands.map((c) => c.visual));
        return [t, imgs] as const;
      });
      checkAbort();

      // 4. Ranking.
      const ranked = await timed('ranking', async () => {
        let libSim: number[];
        try {
          libSim = await deps.maxSimilarity(imageEmbs);
        } catch (e) {
          log.warn('generate: library similarity unavailable; novelty counts every variant as new', { error: e });
          failures.push({
            stage: 'rank',
            message: `novelty could not be measured against the library (${e instanceof Error ? e.message : String(e)})`,
          });
          libSim = imageEmbs.map(() => Number.NaN);
        }
        let pref: (PreferenceInput | number | null)[] | undefined;
        if (deps.preference) {
          try {
            pref = await deps.preference(
              cands.map((c, i) => ({ ...c.draft, imageEmbedding: imageEmbs[i] })),
              { draws: req.count },
            );
          } catch (e) {
            log.warn('generate: preference model failed; ranking without it', { error: e });
            failures.push({
              stage: 'rank',
              message: `the preference model failed (${e instanceof Error ? e.message : String(e)}); ranked without it`,
            });
          }
        }
        return rank({
          brief: briefEmb,
          images: imageEmbs,
          librarySimilarity: libSim,
          preference: pref,
          count: req.count,
          weights: deps.weights,
        });
      });
      progress({ stage: 'ranking', done: 1, total: 1 });

      // 4b. Copy per locale for the picked variants only (what is shown is what is translated).
      const localized = locales.length
        ? await localizer.localize({
            brief,
            source: sourceLang,
            locales,
            variants: ranked.map((r) => cands[r.index].draft),
            brand: kit,
            channel: req.channel,
            limits: deps.limits(req.channel),
            signal,
            billed: meter.record,
          })
        : undefined;
      if (localized) failures.push(...localized.failures);
      checkAbort();

      // 5. Composition of the picked variants into every format (and every translated locale).
      let composed = 0;
      progress({ stage: 'composing', done: 0, total: ranked.length });
      const rendered = await timed('composition', () =>
        mapLimit(ranked, Math.min(deps.concurrency, 2), async (r, k) => {
          const c = cands[r.index];
          const isOffline = deps.images.offline || c.draft.offline;
          try {
            const out = await renderFormats(c.visual, c.draft, kit, req.formats, isOffline);
            const locs = localized?.copies[k] ?? [];
            for (const lc of locs) {
              if (lc.status === 'source') lc.images = out.images;
              if (lc.status !== 'translated') continue;
              const lr = await renderFormats(c.visual, lc, kit, req.formats, isOffline);
              lc.images = lr.images;
              lc.flags.push(...lr.flags.map((f) => `${lc.locale}: ${f}`));
            }
            return { r, c, out, locs, brand: scoreOf(c.draft, kit, req.channel, out.renders), embedding: imageEmbs[r.index] };
          } catch (e) {
            // A missing font fails every variant alike: say it once, clearly.
            if (e instanceof AdError && e.code === 'FONT_MISSING') throw e;
            failures.push({ stage: 'compose', message: `"${c.draft.headline}": ${e instanceof Error ? e.message : String(e)}` });
            return undefined;
          } finally {
            progress({ stage: 'composing', done: ++composed, total: ranked.length });
          }
        }),
      );

      // 6. A variant under the kit's minimum brand score is made again once (brand-regenerate.ts).
      failures.push(
        ...(await regenerateUnderMinimum(rendered, {
          write: (feedback, count) =>
            deps.copywriter.write({
              brief,
              fields: req.fields,
              brand: kit,
              channel: req.channel,
              limits: deps.limits(req.channel),
              inspiration: req.inspiration,
              feedback: [...req.feedback, ...feedback],
              leader: req.leader,
              count,
              signal,
              billed: meter.record,
            }),
          draw: (asks) =>
            drawAll(
              deps.images,
              asks.map(({ job, draft, salt }) => ({
                ...jobs[job],
                concept: draft.concept,
                copy: draft,
                seed: (jobs[job].seed + 104_729 * salt) >>> 0,
              })),
              { concurrency: deps.concurrency, signal, billed: meter.record },
            ),
          embed: (visuals) => deps.encoder.embedImages(visuals),
          render: async (visual, draft) => {
            const out = await renderFormats(visual, draft, kit, req.formats, deps.images.offline || draft.offline);
            return { out, brand: scoreOf(draft, kit, req.channel, out.renders) };
          },
        })),
      );
      checkAbort();

      const variants: GeneratedVariant[] = [];
      for (const x of rendered) {
        if (!x) continue;
        const { r, c, out } = x;
        // Made again for the brand minimum after the translations: they were of the first attempt.
        const locs = c === cands[r.index] ? x.locs : x.locs.map((lc) => retranslationNeeded(lc, c.draft, out.images));
        const flags = [...c.draft.flags, ...out.flags, ...notes];
        if (belowMinimum(x.brand)) flags.push(belowMinimumWarning(x.brand));
        if (deps.images.offline) flags.push('offline draft: visual made by the offline studio, not an image model');
        variants.push({
          id: newId(),
          label: labelFor(variants.length),
          headline: c.draft.headline,
          body: c.draft.body,
          cta: c.draft.cta,
          concept: c.draft.concept,
          images: out.images,
          preview: out.images.square ?? (out.images[req.formats[0]] as Uint8Array),
          visual: c.visual,
          imageEmbedding: x.embedding,
          scores: { ...r.scores, brand: x.brand },
          reason: r.reason,
          offline: deps.images.offline || c.draft.offline,
          flags,
          ...(localized ? { locales: locs } : {}),
        });
      }
      // Read again: the locales' call and a regeneration for the brand minimum both bill after the first reading.
      const spent = meter.cost();
      log.info('generate: done', { variants: variants.length, failures: failures.length, candidates: nCand, offline, usd: spent.usd });
      return { variants, failures, cost: spent, offline } satisfies GenerateResult;
    },

    async rerender(...[variant, copy, opts]: Parameters<Generator['rerender']>): ReturnType<Generator['rerender']> {
      const kit = deps.brand(opts.brand);
      for (const f of opts.formats)
        if (!isFormat(f)) throw new UsageError(`unknown format ${JSON.stringify(f)}; expected some of: ${FORMATS.join(', ')}`);
      const out = await renderFormats(variant.visual, copy, kit, opts.formats, variant.offline);
      // Copy a person edited: there is no copywriter self-check of its tone.
      const channel = opts.channel ?? kit.defaultChannel;
      const brand = brandScore({
        copy,
        kit,
        channel,
        limits: deps.limits(channel),
        renders: out.renders,
        toneAbsentWhy: 'copy edited by a person: no copywriter self-check',
      });
      return {
        ...variant,
        scores: { ...variant.scores, brand },
        headline: copy.headline,
        body: copy.body,
        cta: copy.cta,
        images: out.images,
        preview: out.images.square ?? (out.images[opts.formats[0]] as Uint8Array),
        // The old brand warning goes with the old copy; the edited copy gets its own.
        flags: [
          ...variant.flags.filter((f) => !f.startsWith('headline shortened') && !f.startsWith('brand score ')),
          ...out.flags,
          ...(belowMinimum(brand) ? [belowMinimumWarning(brand)] : []),
        ],
      };
    },
  };
  return {
    rerender: inner.rerender,
    async generate(req) {
      const meter = createCostMeter(deps.prices);
      for (const b of req.billedBefore ?? []) meter.record(b);
      try {
        return await inner.generate(req, meter);
      } catch (e) {
        // Requests answered before the failure were billed: the caller can still count them.
        attachCost(e, meter.cost());
        throw e;
      }
    },
  };
}

/** A locale's copy once the variant was replaced: the source gets the new words, a translation is no longer one of them. */
function retranslationNeeded(lc: LocaleCopy, draft: Copy, images: LocaleCopy['images']): LocaleCopy {
  if (lc.status === 'source') return { ...lc, headline: draft.headline, body: draft.body, cta: draft.cta, images };
  if (lc.status !== 'translated') return lc;
  const why = `${lc.locale}: not translated: the variant was made again for the brand minimum after its translation`;
  return { locale: lc.locale, status: 'not-translated', headline: '', body: '', cta: '', flags: [...lc.flags, why] };
}
