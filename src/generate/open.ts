/**
 * Builds the generator from the configuration: OpenAI copy and images when OPENAI_API_KEY is
 * set (and IMAGE_PROVIDER allows), the offline studio and the offline copywriter otherwise.
 */
import type { Encoder } from '../clip/types.ts';
import type { Config } from '../config.ts';
import { type Logger, silentLogger } from '../log.ts';
import { limitsFor } from '../vocabulary.ts';
import { type BrandKit, DEFAULT_BRAND, loadBrand } from './brands.ts';
import { type Copywriter, createOpenAICopywriter } from './copy.ts';
import { createOpenAIImages, type ImageProvider } from './images.ts';
import { createOfflineLocalizer, createOpenAILocalizer } from './locale-copy.ts';
import { createOfflineCopywriter } from './offline-copy.ts';
import { createOpenAIClient } from './openai.ts';
import { createPipeline, type PipelineDeps, type TimedStage } from './pipeline.ts';
import { checkOpenAISettings, imageSettings, openaiPriceTable, type Providers, selectProviders } from './providers.ts';
import { createStudioImages } from './studio.ts';
import type { Generator } from './types.ts';

export interface GeneratorDeps {
  cfg: Config;
  encoder: Encoder;
  /** Highest similarity of each image embedding to the library (novelty = 1 − it). */
  maxSimilarity: (imageEmbeddings: Float32Array[]) => Promise<number[]>;
  logger?: Logger;
  /** The team's taste model (learn/taste-learner.ts); its weight is RANK_WEIGHT_PREFERENCE. */
  preference?: PipelineDeps['preference'];
  /** Wall time per stage, for the benchmark. */
  onTiming?: (stage: TimedStage, ms: number) => void;
}

export { type Providers, selectProviders } from './providers.ts';

export function createGenerator(deps: GeneratorDeps): Generator & { providers: Providers } {
  const { cfg } = deps;
  const logger = deps.logger ?? silentLogger;
  const providers = selectProviders(cfg);
  for (const w of checkOpenAISettings(cfg).warnings) logger.warn(w);
  const prices = openaiPriceTable(cfg);
  for (const [name, v] of [
    ['PRICE_PER_IMAGE_USD', cfg.priceImageUsd],
    ['PRICE_PER_TEXT_CALL_USD', cfg.priceTextUsd],
  ] as const) {
    if (v !== undefined) {
      logger.warn(`${name} is deprecated and ignored: costs are priced from the usage the API reports, with OPENAI_PRICES`, {
        hint: 'remove it; to change a price set e.g. OPENAI_PRICES=gpt-image-2.6-sunburst:image_output=30',
      });
    }
  }
  const used = [
    ...(providers.copy === 'openai' ? [cfg.openaiTextModel] : []),
    ...(providers.images === 'openai' ? [cfg.openaiImageModel] : []),
  ];
  for (const model of used.filter((m) => !prices[m])) {
    // Only reachable with OPENAI_BASE_URL (checkOpenAISettings refuses an unpriced model on OpenAI's API).
    logger.warn('no price for a model in use: its requests count as $0 in round costs, the monthly cap and /metrics', {
      model,
      hint: `set OPENAI_PRICES=${model}:input=USD,${model}:output=USD`,
    });
  }
  const offlineCopy = createOfflineCopywriter();
  const client = providers.copy === 'openai' || providers.images === 'openai' ? createOpenAIClient(cfg) : undefined;
  const copywriter: Copywriter = client
    ? createOpenAICopywriter({ client, model: cfg.openaiTextModel, retries: cfg.openaiMaxRetries, fallback: offlineCopy, logger })
    : offlineCopy;
  const images: ImageProvider =
    client && providers.images === 'openai'
      ? createOpenAIImages({ client, image: imageSettings(cfg), retries: cfg.openaiMaxRetries, logger })
      : createStudioImages();
  const kits = new Map<string, BrandKit>();
  const brand = (name?: string): BrandKit => {
    if (!name) return DEFAULT_BRAND;
    let k = kits.get(name);
    if (!k) {
      k = loadBrand(cfg.brandsDir, name);
      kits.set(name, k);
    }
    return k;
  };
  logger.info('generator ready', {
    copy: providers.copy,
    images: providers.images,
    textModel: cfg.openaiTextModel,
    imageModel: cfg.openaiImageModel,
  });
  const pipeline = createPipeline({
    copywriter,
    images,
    encoder: deps.encoder,
    maxSimilarity: deps.maxSimilarity,
    preference: deps.preference,
    brand,
    limits: (ch) => limitsFor(ch, cfg.copyLimits),
    weights: {
      relevance: cfg.rankWeightRelevance,
      novelty: cfg.rankWeightNovelty,
      preference: cfg.rankWeightPreference,
      lambda: cfg.rankMmrLambda,
    },
    candidateFactor: cfg.candidateFactor,
    concurrency: cfg.generateConcurrency,
    prices,
    logger,
    onTiming: deps.onTiming,
    localizer:
      client && providers.copy === 'openai'
        ? createOpenAILocalizer({ client, model: cfg.openaiTextModel, retries: cfg.openaiMaxRetries, logger })
        : createOfflineLocalizer(),
  });
  return { ...pipeline, providers };
}
