/**
 * Wires the configuration into the running parts: encoder → library → generator → round
 * store → Slack app. `npm start` uses it for every mode (the sandbox too); tests pass
 * overrides for the parts they replace.
 */
import { describeEncoder, type Encoder, engineOf } from './clip/types.ts';
import { type Config, dataPath, libraryUri } from './config.ts';
import { probeWritable } from './disk.ts';
import { describeError } from './errors.ts';
import { exportBrand } from './export/brand.ts';
import { listBrands } from './generate/brands.ts';
import { extraCopyWriter } from './generate/extra-copy.ts';
import { createRoundPricing } from './generate/providers.ts';
import { type Translator, translatorFor } from './generate/translate.ts';
import type { Generator } from './generate/types.ts';
import { formatStatsText, statsSummary } from './learn/eval-report.ts';
import { followPreferenceModel, learningStatsInput } from './learn/learning.ts';
import { openLearningSources } from './learn/open-sources.ts';
import { roundSummaries, shownVariants } from './learn/round-sources.ts';
import { cachingTextEncoder, createTasteLearner, makeTasteScorer, type TasteLearner } from './learn/taste-learner.ts';
import { startLearningSchedule } from './learn/train-schedule.ts';
import type { Library } from './library/types.ts';
import { createLogger, type Logger } from './log.ts';
import { describeLocation, libraryStorageOptions, s3Settings } from './object-storage.ts';
import { createReadiness, type Readiness } from './ops/http.ts';
import { createMetrics, instrumentEncoder, instrumentGenerator, instrumentStore, type MetricsRegistry } from './ops/metrics.ts';
import type { AssetStore } from './rounds/assets.ts';
import type { BriefDefaults } from './rounds/brief.ts';
import { RoundService, type RoundSettings } from './rounds/service.ts';
import { openState, replicaId } from './rounds/state.ts';
import type { RoundStore } from './rounds/types.ts';
import type { SlackAppDeps, SlackBot, SlackMode, SlackSettings } from './slack/app.ts';

export interface Services {
  cfg: Config;
  logger: Logger;
  encoder: Encoder;
  /** Opens the library on first use (and again after a failure); rejects while it is unavailable. */
  library: () => Promise<Library>;
  generator: Generator;
  store: RoundStore;
  rounds: RoundService;
  /** The team's taste model: the fitted file plus every vote since (learn/taste-learner.ts). */
  taste: TasteLearner;
  assets: AssetStore;
  /** Brand kits found in BRANDS_DIR, read again on each call so a new kit needs no restart. */
  brands: () => string[];
  synthetic: boolean;
  defaults: () => BriefDefaults;
  slackSettings: SlackSettings;
  roundSettings: RoundSettings;
  /** Builds the Bolt app on these services. */
  createBot(opts: BotOptions): Promise<SlackBot>;
  /** Prometheus registry behind /metrics. */
  metrics: MetricsRegistry;
  /** Background probe of store, library and encoder behind /readyz. */
  readiness: Readiness;
  close(): Promise<void>;
}

export interface BotOptions {
  mode: SlackMode;
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  slackApiUrl?: string;
  port: number;
  host?: string;
  botUserId?: string;
  botId?: string;
  retries?: number;
  timerIntervalMs?: number;
}

export interface ServiceOverrides {
  logger?: Logger;
  encoder?: Encoder;
  library?: Library;
  generator?: Generator;
  /** Translates non-English briefs for the library search; default: OpenAI's when OPENAI_API_KEY is set. */
  translator?: Translator;
  store?: RoundStore;
  assets?: AssetStore & { close?(): void };
  metrics?: MetricsRegistry;
}

/** A library URI that is a folder on this machine (not s3://, gs://, db://, …). */
function isLocalPath(uri: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(uri);
}

export function roundSettings(cfg: Config): RoundSettings {
  return {
    ratePerHour: cfg.briefRatePerHour,
    dailyImageCap: cfg.dailyImageCap,
    monthlyUsdCap: cfg.monthlySpendCapUsd,
    autoCloseMinutes: cfg.roundAutoCloseMinutes,
    reminderMinutes: cfg.roundReminderMinutes,
    doubleClickMs: cfg.voteDoubleClickMs,
    pricing: createRoundPricing(cfg),
  };
}

export function slackSettings(cfg: Config): SlackSettings {
  return {
    voteReaction: cfg.voteReaction,
    tallyUpdateMs: cfg.tallyUpdateMs,
    adminUserIds: cfg.slackAdminUserIds,
    channelAllowlist: cfg.slackChannelAllowlist,
    imageMaxBytes: cfg.imageMaxBytes,
    imageMaxPixels: cfg.imageMaxPixels,
    inspirationCount: 3,
    maxConcurrentRounds: cfg.roundConcurrency,
  };
}

export async function createServices(cfg: Config, o: ServiceOverrides = {}): Promise<Services> {
  const logger = o.logger ?? createLogger({ level: cfg.logLevel });
  const metrics = o.metrics ?? createMetrics({ labels: { replica: replicaId(cfg) } });
  const rawEncoder = o.encoder ?? (await (await import('./clip/open.ts')).openEncoder(cfg, { logger }));
  // In-process encoder: its runs report batch sizes. Every encoder: call latency and failures.
  // Under a CLIP adapter (learning), the engine is its `base`.
  const engine = engineOf(rawEncoder);
  engine.onRun?.((e) => {
    metrics.encoderBatch(e.kind, e.size);
    if (e.queueWaitMs !== undefined) metrics.encoderQueueWait(e.kind, e.queueWaitMs / 1000);
  });
  const encoder = instrumentEncoder(rawEncoder, metrics);
  // Loaded now, in the background: the provider is chosen (and named in the log and /readyz)
  // before the first brief, which then does not wait for it.
  const warming = engine
    .warmup?.()
    .then(() => logger.info('clip encoder ready', { encoder: describeEncoder(encoder.info()) }))
    .catch((e: unknown) => logger.error('clip encoder failed to load', { error: describeError(e) }));
  const synthetic = encoder.info().synthetic;
  if (synthetic)
    logger.warn('SYNTHETIC CLIP MODEL LOADED: similarity scores are meaningless; install the real model for real rankings', {
      model: encoder.info().model,
    });

  let libraryOpen: Promise<Library> | undefined = o.library ? Promise.resolve(o.library) : undefined;
  const library = (): Promise<Library> => {
    if (!libraryOpen) {
      libraryOpen = (async () => {
        const { openLibrary, librarySettings } = await import('./library/open.ts');
        const lib = await openLibrary({
          uri: libraryUri(cfg),
          storageOptions: libraryStorageOptions(cfg),
          encoder,
          logger,
          settings: librarySettings(cfg),
        });
        // An index that came due while no bot ran (a build cut short at shutdown, an ingest that
        // failed before it built) is built now, beside the write queue, not at the next winner.
        lib.indexIfDue().catch((e: unknown) => logger.warn('library: index build at start failed', { error: describeError(e) }));
        return lib;
      })();
      libraryOpen.catch((e: unknown) => {
        logger.warn('creative library unavailable', { error: describeError(e) });
        libraryOpen = undefined;
      });
    }
    return libraryOpen;
  };
  // Opened now so a broken library shows in the start-up log, not in the first round.
  await library().catch(() => undefined);

  // The team's taste: the fitted model (re-read when retrained) plus every vote since, applied as
  // it is stored (RoundService onVote). Copy embeddings made for ranking are kept for the votes.
  const copyEncoder = cachingTextEncoder(encoder);
  const taste = createTasteLearner({
    // A model trained with another text encoder (CLIP_TEXT_MODEL_DIR) is ignored, and the log says so.
    fitted: followPreferenceModel(cfg, logger, { encoder: () => encoder.info() }),
    shown: (roundId) => shownVariants({ store, assets, encoder: copyEncoder }, roundId),
    logger,
  });

  const translator = o.translator ?? translatorFor(cfg);
  const generator = instrumentGenerator(
    o.generator ??
      (await import('./generate/open.ts')).createGenerator({
        cfg,
        encoder,
        logger,
        // Without a library every variant counts as new.
        maxSimilarity: async (e) =>
          library()
            .then((l) => l.maxSimilarity(e))
            .catch(() => e.map(() => Number.NaN)),
        // Predicted preference with its interval and Thompson draws; null ("insufficient data") while
        // the model has no priors and fewer than PREFERENCE_MIN_VOTES votes.
        preference: makeTasteScorer({ model: taste.current, encoder: copyEncoder, minVotes: cfg.preferenceMinVotes }),
      }),
    metrics,
  );

  // DATABASE_URL: PostgreSQL shared by replicas, with round leases; otherwise SQLite under DATA_DIR.
  const state = await openState(cfg, { logger, renewLeases: true, store: o.store, assets: o.assets });
  const store = instrumentStore(state.store, metrics);
  // ASSETS_URI: variant images on S3 so any replica can serve any round; else a folder under DATA_DIR.
  const assets = state.assets;
  const where = {
    library: describeLocation(libraryUri(cfg), s3Settings(cfg)),
    assets: assets.location ?? '(not stated by the store)',
  };
  logger.info('storage', where);
  const readiness = createReadiness({
    logger,
    where,
    checks: {
      store: () => store.getRound('readyz-probe'),
      library: () => library().then((l) => l.count()),
      assets: async () => {
        await assets.ready?.();
      },
      // A full or read-only disk fails here, before a round fails on it (rounds, assets, the library).
      data_dir_writable: () => probeWritable(dataPath(cfg), 'DATA_DIR'),
      ...(isLocalPath(libraryUri(cfg)) ? { library_writable: () => probeWritable(libraryUri(cfg), 'the creative library folder') } : {}),
      // A remote encoder must answer its health endpoint; the in-process one must have loaded
      // its sessions. Either way /readyz names where CLIP runs.
      encoder: async () => {
        await warming;
        const info = encoder.info();
        if (engine.ready && !(await engine.ready())) {
          throw new Error(
            info.device.startsWith('remote') ? `CLIP server ${info.device} is not ready` : `CLIP is loading (${describeEncoder(info)})`,
          );
        }
        return describeEncoder(info);
      },
    },
  });
  const rs = roundSettings(cfg);
  const rounds = new RoundService({
    store,
    settings: rs,
    leases: state.leases,
    leaseMs: cfg.roundLeaseSeconds * 1000,
    onVote: (change) => taste.observe(change),
  });
  const brands = () => listBrands(cfg.brandsDir);
  const defaults = (): BriefDefaults => ({
    variants: Math.min(cfg.defaultVariants, cfg.maxVariants),
    maxVariants: cfg.maxVariants,
    formats: cfg.defaultFormats,
    channel: cfg.defaultAdChannel,
    brand: cfg.defaultBrand,
    maxChars: cfg.briefMaxChars,
    brands: brands(),
  });
  const ss = slackSettings(cfg);
  // Off unless LEARNING_SCHEDULE is set: retrains the adapter and preference model inside the bot.
  const schedule = startLearningSchedule({
    cfg,
    openSources: () => openLearningSources(cfg, { logger, state: { ...state, store } }),
    logger,
  });
  const learningSummary = async (): Promise<string[]> => {
    const rows = await library()
      .then((l) => l.count())
      .catch(() => null);
    return formatStatsText(statsSummary(learningStatsInput(cfg, { libraryRows: rows, rounds: await roundSummaries(store) })));
  };

  const services: Services = {
    cfg,
    logger,
    encoder,
    library,
    generator,
    store,
    rounds,
    taste,
    assets,
    brands,
    synthetic,
    defaults,
    slackSettings: ss,
    roundSettings: rs,
    async createBot(b) {
      const { createSlackApp } = await import('./slack/app.ts');
      const deps: SlackAppDeps = {
        ...b,
        slackApiUrl: b.slackApiUrl ?? cfg.slackApiUrl,
        rounds,
        generator,
        library,
        assets,
        encoder,
        // One translator (and its cache) for every round of the bot.
        translator,
        settings: ss,
        defaults,
        synthetic,
        logger,
        timerIntervalMs: b.timerIntervalMs ?? cfg.roundTimerSeconds * 1000,
        readiness,
        metrics,
        learningSummary,
        exports: {
          brand: (name) => {
            if (!name) return undefined;
            try {
              return exportBrand(cfg.brandsDir, name);
            } catch (e) {
              logger.warn('export: brand kit unreadable', { brand: name, error: describeError(e) });
              return undefined;
            }
          },
          extraCopy: extraCopyWriter(cfg),
          finalUrl: cfg.exportFinalUrl,
        },
      };
      const bot = await createSlackApp(deps);
      // Slack's rate limits, counted as API errors (the Web API client emits them).
      bot.thread.onRateLimited(() => metrics.apiError('slack', 'ratelimited'));
      return bot;
    },
    metrics,
    readiness,
    async close() {
      readiness.stop();
      schedule?.stop();
      await taste.settled();
      await state.close().catch(() => {});
      // An index build is not worth holding a shutdown past its grace time: it commits nothing half done.
      const indexWaitMs = cfg.shutdownGraceSeconds * 1000;
      if (libraryOpen) await (await libraryOpen.catch(() => undefined))?.close({ indexWaitMs }).catch(() => {});
      await encoder.close().catch(() => {});
    },
  };
  return services;
}
