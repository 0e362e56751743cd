/**
 * What the settings select, without loading any client: the providers (OpenAI or offline), the
 * image settings checked against the model, and the estimate of a round's cost before it is made.
 */
import { type Config, SETTINGS } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { checkImageSettings, type ImageSettings, imageSettingsOf } from './image-models.ts';
import { checkLifecycles, type ModelInUse } from './model-lifecycle.ts';
import { type CostEstimate, estimateRound, type PriceTable, parsePriceOverrides, priceTable } from './pricing.ts';

export interface Providers {
  copy: 'openai' | 'offline';
  images: 'openai' | 'studio';
}

/** Which providers the settings select; IMAGE_PROVIDER=openai without a key is a config error. */
export function selectProviders(cfg: Pick<Config, 'openaiApiKey' | 'imageProvider'>): Providers {
  const key = Boolean(cfg.openaiApiKey);
  if (cfg.imageProvider === 'openai' && !key) {
    throw new ConfigError('IMAGE_PROVIDER=openai needs OPENAI_API_KEY; set the key or use IMAGE_PROVIDER=studio (or auto)');
  }
  return { copy: key ? 'openai' : 'offline', images: key && cfg.imageProvider !== 'studio' ? 'openai' : 'studio' };
}

type OpenAISettings = Pick<
  Config,
  | 'openaiApiKey'
  | 'openaiBaseUrl'
  | 'imageProvider'
  | 'openaiTextModel'
  | 'openaiImageModel'
  | 'openaiImageSize'
  | 'openaiImageQuality'
  | 'openaiImageBackground'
  | 'openaiImageOutputFormat'
  | 'openaiPrices'
>;

/**
 * The OpenAI settings checked together, at start (`adcreative start`, and whenever a generator
 * or the round estimate is built): the image settings against the configured model's documented
 * values, OPENAI_PRICES readable, and a price for every OpenAI model in use (on OpenAI's API; a
 * compatible server's own models may go unpriced, which the generator's log says). Every problem
 * is listed, each naming the variable and what it takes. A model OpenAI has shut down is refused
 * on OpenAI's API (see model-lifecycle.ts); one near its shutdown comes back as a warning to log.
 */
export function checkOpenAISettings(cfg: OpenAISettings, today: Date = new Date()): { warnings: string[] } {
  const problems = [...checkImageSettings(imageSettingsOf(cfg)).problems];
  const warnings: string[] = [];
  if (cfg.openaiApiKey) {
    const used: ModelInUse[] = [{ variable: 'OPENAI_TEXT_MODEL', model: cfg.openaiTextModel }];
    if (cfg.imageProvider !== 'studio') used.push({ variable: 'OPENAI_IMAGE_MODEL', model: cfg.openaiImageModel });
    const life = checkLifecycles(used, today, Boolean(cfg.openaiBaseUrl));
    problems.push(...life.problems);
    warnings.push(...life.warnings);
  }
  // The default image model moved to OpenAI's current one (2026-12); a compatible server (Azure, a
  // proxy) may serve only older names, and would refuse every picture: say which one is asked for.
  const defaultModel = SETTINGS.openaiImageModel.default;
  if (cfg.openaiApiKey && cfg.openaiBaseUrl && cfg.imageProvider !== 'studio' && cfg.openaiImageModel === defaultModel) {
    warnings.push(
      `OPENAI_IMAGE_MODEL is ${defaultModel} (the default) and OPENAI_BASE_URL is set: check that server serves it, or set OPENAI_IMAGE_MODEL to a model it does`,
    );
  }
  let table: PriceTable | undefined;
  try {
    table = openaiPriceTable(cfg);
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  if (table && cfg.openaiApiKey && !cfg.openaiBaseUrl) {
    const used: [string, string][] = [['OPENAI_TEXT_MODEL', cfg.openaiTextModel]];
    if (cfg.imageProvider !== 'studio') used.push(['OPENAI_IMAGE_MODEL', cfg.openaiImageModel]);
    for (const [name, model] of used.filter(([, m]) => !table[m])) {
      // An image model priced with text fields only would cost its pictures $0: name the image fields.
      const fields =
        name === 'OPENAI_IMAGE_MODEL'
          ? `${model}:input=USD,${model}:image_input=USD,${model}:image_output=USD`
          : `${model}:input=USD,${model}:cached_input=USD,${model}:output=USD`;
      problems.push(
        `${name}=${model} has no price, so its cost could not be counted: add it to OPENAI_PRICES (e.g. ${fields} per 1M tokens; see the model's page on developers.openai.com)`,
      );
    }
  }
  if (problems.length === 1) throw new ConfigError(problems[0]);
  if (problems.length > 1) throw new ConfigError(`invalid settings:\n  - ${problems.join('\n  - ')}`);
  return { warnings };
}

/** The price table: OpenAI's published prices with OPENAI_PRICES over them. */
export function openaiPriceTable(cfg: Pick<Config, 'openaiPrices'>): PriceTable {
  return priceTable(cfg.openaiPrices ? parsePriceOverrides(cfg.openaiPrices) : {});
}

/** The image settings, checked against the model's documented values. */
export function imageSettings(cfg: OpenAISettings): ImageSettings {
  checkOpenAISettings(cfg);
  return checkImageSettings(imageSettingsOf(cfg)).settings;
}

/** The estimate shown before a round: the price table over the configured models, size and quality. */
export function createRoundPricing(cfg: Config): { estimate(variants: number, o?: { locales?: number }): CostEstimate } {
  const providers = selectProviders(cfg);
  const p = {
    table: openaiPriceTable(cfg),
    textModel: providers.copy === 'openai' ? cfg.openaiTextModel : undefined,
    image: providers.images === 'openai' ? imageSettings(cfg) : undefined,
    candidateFactor: cfg.candidateFactor,
  };
  return { estimate: (variants, o) => estimateRound(p, variants, o) };
}
