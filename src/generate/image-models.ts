/**
 * What each OpenAI image model accepts, as OpenAI's API description documents it
 * (github.com/openai/openai-openapi, openapi.yaml: `CreateImageRequest` and
 * `CreateImageEditRequest`, the descriptions of `size`, `quality`, `background`,
 * `output_format`, `response_format`, `prompt`, `n` and `image`). The settings are checked
 * against it once at start-up, so a value the model refuses never reaches a round.
 */
import type { Config } from '../config.ts';

export type ImageModelFamily = 'gpt-image' | 'dall-e-3' | 'dall-e-2';

export interface ImageModelSpec {
  family: ImageModelFamily;
  /** `size`: "The standard sizes 1024x1024, 1536x1024, and 1024x1536 are supported by the GPT image models; auto …; For dall-e-2, use one of 256x256, 512x512, or 1024x1024. For dall-e-3, use one of 1024x1024, 1792x1024, or 1024x1792." */
  sizes: readonly string[];
  /** `quality`: "high, medium and low are supported for the GPT image models; hd and standard are supported for dall-e-3; standard is the only option for dall-e-2." */
  qualities: readonly string[];
  /** What the bot asks for when OPENAI_IMAGE_QUALITY is not set. */
  defaultQuality: string;
  /** `background` and `output_format`: "only supported for the GPT image models". */
  backgrounds: readonly string[] | null;
  outputFormats: readonly string[] | null;
  /** `prompt`: "32000 characters for the GPT image models, 1000 characters for dall-e-2 and 4000 characters for dall-e-3". */
  maxPromptChars: number;
  /**
   * The images edit endpoint ("supports GPT Image models … and dall-e-2"): how many input
   * images (GPT: up to 16 png/webp/jpg under 50MB; dall-e-2: one square png under 4MB).
   * null: the model cannot edit (dall-e-3).
   */
  edits: { maxImages: number; squarePng: boolean; maxBytes: number } | null;
  /** `response_format` is "only supported for dall-e-2 and dall-e-3"; they answer with URLs unless asked for b64_json. */
  responseFormat: boolean;
}

const GPT_IMAGE: ImageModelSpec = {
  family: 'gpt-image',
  sizes: ['1024x1024', '1536x1024', '1024x1536', 'auto'],
  qualities: ['low', 'medium', 'high', 'auto'],
  defaultQuality: 'auto',
  backgrounds: ['transparent', 'opaque', 'auto'],
  outputFormats: ['png', 'jpeg', 'webp'],
  maxPromptChars: 32_000,
  edits: { maxImages: 16, squarePng: false, maxBytes: 50 * 1024 * 1024 },
  responseFormat: false,
};

export const IMAGE_MODELS: Readonly<Record<string, ImageModelSpec>> = {
  // The current GPT image models (OpenAI's recommended replacements for gpt-image-1.x, see
  // model-lifecycle.ts). They take more than the family's shared values (qualities xhigh and
  // max, a complexity setting, larger sizes); the bot asks only for what every GPT image model
  // takes, so a setting checked here is one the API accepts.
  'gpt-image-2.6-sunburst': GPT_IMAGE,
  'gpt-image-2.6-flare': GPT_IMAGE,
  // Shut down on OpenAI's API (model-lifecycle.ts refuses them there); OpenAI-compatible
  // servers may still serve them under these names, with these documented values.
  'gpt-image-1': GPT_IMAGE,
  'gpt-image-1-mini': GPT_IMAGE,
  'gpt-image-1.5': GPT_IMAGE,
  'dall-e-3': {
    family: 'dall-e-3',
    sizes: ['1024x1024', '1792x1024', '1024x1792'],
    qualities: ['standard', 'hd'],
    defaultQuality: 'standard',
    backgrounds: null,
    outputFormats: null,
    maxPromptChars: 4000,
    edits: null,
    responseFormat: true,
  },
  'dall-e-2': {
    family: 'dall-e-2',
    sizes: ['256x256', '512x512', '1024x1024'],
    qualities: ['standard'],
    defaultQuality: 'standard',
    backgrounds: null,
    outputFormats: null,
    maxPromptChars: 1000,
    edits: { maxImages: 1, squarePng: true, maxBytes: 4 * 1024 * 1024 },
    responseFormat: true,
  },
};

export function imageModelSpec(model: string): ImageModelSpec | undefined {
  return Object.hasOwn(IMAGE_MODELS, model) ? IMAGE_MODELS[model] : undefined;
}

/**
 * For a model this table does not know (an OpenAI-compatible server's own): sizes as given,
 * quality passed through, no background/format, edits with one image. The server is the judge.
 */
function permissive(): ImageModelSpec {
  return {
    family: 'gpt-image',
    sizes: [],
    qualities: [],
    defaultQuality: 'auto',
    backgrounds: null,
    outputFormats: null,
    maxPromptChars: 32_000,
    edits: { maxImages: 1, squarePng: false, maxBytes: 50 * 1024 * 1024 },
    responseFormat: false,
  };
}

/** The image settings as the generator uses them, after the per-model check. */
export interface ImageSettings {
  model: string;
  size: string;
  quality: string;
  /** Sent only when set and the model takes it. */
  background?: string;
  outputFormat?: string;
  spec: ImageModelSpec;
  /** The model is not in the table (allowed only with OPENAI_BASE_URL). */
  unknownModel: boolean;
}

export interface RawImageSettings {
  model: string;
  size: string;
  /** undefined: OPENAI_IMAGE_QUALITY not set, so the model's default. */
  quality?: string;
  background?: string;
  outputFormat?: string;
  /** OPENAI_BASE_URL is set: an OpenAI-compatible server may serve models this table does not know. */
  compatibleServer: boolean;
}

/** The image settings as configured, for `checkImageSettings`. */
export function imageSettingsOf(
  cfg: Pick<
    Config,
    'openaiImageModel' | 'openaiImageSize' | 'openaiImageQuality' | 'openaiImageBackground' | 'openaiImageOutputFormat' | 'openaiBaseUrl'
  >,
): RawImageSettings {
  return {
    model: cfg.openaiImageModel,
    size: cfg.openaiImageSize,
    quality: cfg.openaiImageQuality,
    background: cfg.openaiImageBackground,
    outputFormat: cfg.openaiImageOutputFormat,
    compatibleServer: Boolean(cfg.openaiBaseUrl),
  };
}

const list = (xs: readonly string[]) => xs.join(', ');

/**
 * Checks the image settings against the configured model's documented values. Returns the
 * resolved settings and every problem as a sentence naming the variable, the allowed values
 * and what was given.
 */
export function checkImageSettings(raw: RawImageSettings): { settings: ImageSettings; problems: string[] } {
  const problems: string[] = [];
  const known = imageModelSpec(raw.model);
  if (!known && !raw.compatibleServer) {
    problems.push(
      `OPENAI_IMAGE_MODEL must be one of ${list(Object.keys(IMAGE_MODELS))} (the models whose documented sizes and qualities the bot checks); got ${JSON.stringify(raw.model)}. With OPENAI_BASE_URL set, a compatible server's own model name is accepted as given`,
    );
  }
  const spec = known ?? permissive();
  const quality = raw.quality ?? spec.defaultQuality;
  const settings: ImageSettings = { model: raw.model, size: raw.size, quality, spec, unknownModel: !known };
  if (known) {
    if (!spec.sizes.includes(raw.size)) {
      problems.push(`OPENAI_IMAGE_SIZE must be one of ${list(spec.sizes)} for ${raw.model}; got ${JSON.stringify(raw.size)}`);
    }
    if (!spec.qualities.includes(quality)) {
      problems.push(`OPENAI_IMAGE_QUALITY must be one of ${list(spec.qualities)} for ${raw.model}; got ${JSON.stringify(quality)}`);
    }
  }
  if (raw.background !== undefined && raw.background !== 'auto') {
    if (!spec.backgrounds) {
      problems.push(
        `OPENAI_IMAGE_BACKGROUND is only supported by the GPT image models (${list(Object.keys(IMAGE_MODELS).filter((m) => IMAGE_MODELS[m].backgrounds))}); unset it for ${raw.model} (got ${JSON.stringify(raw.background)})`,
      );
    } else if (!spec.backgrounds.includes(raw.background)) {
      problems.push(`OPENAI_IMAGE_BACKGROUND must be one of ${list(spec.backgrounds)}; got ${JSON.stringify(raw.background)}`);
    } else settings.background = raw.background;
  }
  if (raw.outputFormat !== undefined && raw.outputFormat !== 'png') {
    if (!spec.outputFormats) {
      problems.push(
        `OPENAI_IMAGE_OUTPUT_FORMAT is only supported by the GPT image models; ${raw.model} answers with PNG (got ${JSON.stringify(raw.outputFormat)})`,
      );
    } else if (!spec.outputFormats.includes(raw.outputFormat)) {
      problems.push(`OPENAI_IMAGE_OUTPUT_FORMAT must be one of ${list(spec.outputFormats)}; got ${JSON.stringify(raw.outputFormat)}`);
    } else settings.outputFormat = raw.outputFormat;
  }
  // `background`: "When using transparent, set the output format to png or webp."
  if (settings.background === 'transparent' && settings.outputFormat === 'jpeg') {
    problems.push('OPENAI_IMAGE_BACKGROUND=transparent needs OPENAI_IMAGE_OUTPUT_FORMAT png or webp (JPEG has no transparency); got jpeg');
  }
  return { settings, problems };
}
