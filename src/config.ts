/**
 * Every environment setting the bot reads, in one table: name, default, parser and the
 * sentence the README's configuration table shows. Values are read and validated once;
 * a bad value names the variable, what was expected and what was given (secrets are
 * never echoed back).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import {
  BRIEF_MAX_CHARS_RANGE,
  CHANNELS,
  DEFAULT_LIMITS,
  FORMATS,
  type FormatName,
  type LimitOverrides,
  parseLimitOverrides,
  splitFormats,
  VARIANTS_RANGE,
} from './vocabulary.ts';

type Parser<T> = (raw: string, name: string) => T;

interface Setting<T> {
  env: string;
  /** Default as the README shows it; `undefined` means unset. */
  default?: string;
  parse: Parser<T>;
  doc: string;
  secret?: boolean;
  /** The group the README table puts it under. */
  group: string;
}

function bad(name: string, expected: string, given: string, secret = false): never {
  const shown = secret ? `a value of ${given.length} characters` : JSON.stringify(given);
  throw new ConfigError(`${name} must be ${expected}; got ${shown}`);
}

export const str: Parser<string> = (raw) => raw;

export function int(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  return (raw, name) => {
    const t = raw.trim();
    if (!/^-?\d+$/.test(t)) bad(name, `an integer between ${min} and ${max}`, raw);
    const n = Number(t);
    if (n < min || n > max) bad(name, `an integer between ${min} and ${max}`, raw);
    return n;
  };
}

export function num(min: number, max = Number.POSITIVE_INFINITY): Parser<number> {
  return (raw, name) => {
    const n = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      bad(name, `a number between ${min} and ${max}`, raw);
    }
    return n;
  };
}

export function oneOf<const T extends string>(...values: T[]): Parser<T> {
  return (raw, name) => {
    const v = raw.trim().toLowerCase();
    if (!(values as string[]).includes(v)) bad(name, `one of ${values.join(', ')}`, raw);
    return v as T;
  };
}

/** `key=value` pairs separated by commas (keys and values: letters, digits, `_`, `.`, `-`). */
export const keyValues: Parser<Record<string, string>> = (raw, name) => {
  const out: Record<string, string> = {};
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z][A-Za-z0-9_.]*)=([A-Za-z0-9_.-]+)$/.exec(part);
    if (!m) bad(name, 'key=value pairs separated by commas (e.g. preferredLayout=NHWC,validationMode=disabled)', raw);
    out[m[1]] = m[2];
  }
  return out;
};

/** `auto` (the value is settled later, e.g. by the CLIP execution provider), or what `p` parses. */
export function autoOr<T>(p: Parser<T>): Parser<T | 'auto'> {
  return (raw, name) => {
    if (raw.trim().toLowerCase() === 'auto') return 'auto';
    try {
      return p(raw, name);
    } catch (e) {
      throw new ConfigError(`${(e as Error).message.replace(/ must be /, ' must be auto or ')}`);
    }
  };
}

export const bool: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return bad(name, 'true or false', raw);
};

export const url: Parser<string> = (raw, name) => {
  try {
    const u = new URL(raw.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    return raw.trim();
  } catch {
    return bad(name, 'an http(s) URL', raw);
  }
};

export const list: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** "off" → null; "90m", "24h", "2d", "45s" → milliseconds (at least a minute, so a typo cannot spin). */
export const scheduleDuration: Parser<number | null> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (v === 'off' || v === '0' || v === '') return null;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(v);
  const ms = m ? Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'] : Number.NaN;
  if (!Number.isFinite(ms) || ms < 60_000) bad(name, '"off" or a duration of at least a minute such as 90m, 24h or 7d', raw);
  return ms;
};

function tokenParser(prefix: string): Parser<string> {
  return (raw, name) => {
    const v = raw.trim();
    if (!v.startsWith(prefix)) bad(name, `a token starting with "${prefix}"`, v, true);
    return v;
  };
}

const secretStr: Parser<string> = (raw, name) => {
  const v = raw.trim();
  if (v === '') bad(name, 'a non-empty value', raw, true);
  return v;
};

const imageSize: Parser<string> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (v !== 'auto' && !/^\d{2,5}x\d{2,5}$/.test(v)) bad(name, 'WIDTHxHEIGHT (e.g. 1024x1024) or auto', raw);
  return v;
};

/** A folder, or s3://bucket[/prefix]. */
const assetsLocation: Parser<string> = (raw, name) => {
  const v = raw.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v))
    bad(name, 'a folder or s3://bucket/prefix (a lower-case S3 bucket name)', raw);
  return v;
};

const copyLimits: Parser<LimitOverrides> = (raw, name) => parseLimitOverrides(raw, name);

const formatList: Parser<FormatName[]> = (raw, name) => {
  const { formats, unknown } = splitFormats(raw);
  if (!formats.length || unknown.length) bad(name, `a comma-separated list of ${FORMATS.join(', ')}`, raw);
  return formats;
};

const variantCount = int(VARIANTS_RANGE.min, VARIANTS_RANGE.max);

/** "meta 27/125, google 30/90, …": the default copy limits as COPY_LIMITS's doc shows them. */
const defaultLimitsText = Object.entries(DEFAULT_LIMITS)
  .map(([ch, l]) => `${ch} ${l.headline.max}/${l.body.max}`)
  .join(', ');

/**
 * The table. Modules add their settings here, in their own group, so the README table
 * and the validation stay one list.
 */
export const SETTINGS = {
  // --- general ---
  dataDir: { env: 'DATA_DIR', default: './data', parse: str, group: 'general', doc: 'Where everything the bot writes locally lives.' },
  logLevel: {
    env: 'LOG_LEVEL',
    default: 'info',
    parse: oneOf('debug', 'info', 'warn', 'error'),
    group: 'general',
    doc: 'Log level of the JSON logs on stderr.',
  },
  port: {
    env: 'PORT',
    default: '3000',
    parse: int(1, 65535),
    group: 'general',
    doc: 'HTTP port: Slack events (HTTP mode), the sandbox page, /healthz, /readyz, /metrics.',
  },

  // --- slack ---
  slackBotToken: {
    env: 'SLACK_BOT_TOKEN',
    parse: tokenParser('xoxb-'),
    secret: true,
    group: 'slack',
    doc: 'Bot token (xoxb-…). Unset with no other Slack token: the local sandbox starts.',
  },
  slackAppToken: {
    env: 'SLACK_APP_TOKEN',
    parse: tokenParser('xapp-'),
    secret: true,
    group: 'slack',
    doc: 'App-level token (xapp-…) for Socket Mode.',
  },
  slackSigningSecret: {
    env: 'SLACK_SIGNING_SECRET',
    parse: secretStr,
    secret: true,
    group: 'slack',
    doc: 'Signing secret for HTTP mode (requests failing the signature check are refused).',
  },
  slackApiUrl: {
    env: 'SLACK_API_URL',
    parse: url,
    group: 'slack',
    doc: "Web API base including /api/ (GovSlack, the sandbox, tests). Default: Slack's.",
  },
  sandboxHost: { env: 'SANDBOX_HOST', default: '127.0.0.1', parse: str, group: 'slack', doc: 'Address the local sandbox page binds to.' },
  slackChannelAllowlist: {
    env: 'SLACK_CHANNEL_ALLOWLIST',
    default: '',
    parse: list,
    group: 'slack',
    doc: 'Comma-separated channel ids or names where briefs are accepted; empty means every channel the bot is in.',
  },
  slackAdminUserIds: {
    env: 'SLACK_ADMIN_USER_IDS',
    default: '',
    parse: list,
    group: 'slack',
    doc: "User ids who may close anyone's round (besides Slack workspace admins and owners).",
  },
  voteReaction: {
    env: 'VOTE_REACTION',
    default: '+1',
    parse: (raw, name) => {
      const v = raw.trim().replace(/^:|:$/g, '');
      if (!/^[a-z0-9_+'-]+$/.test(v)) bad(name, 'an emoji name such as +1 or heart', raw);
      return v;
    },
    group: 'slack',
    doc: 'Reaction that counts as a vote on a variant message (emoji name without colons).',
  },
  tallyUpdateMs: {
    env: 'TALLY_UPDATE_MS',
    default: '1200',
    parse: int(0, 60_000),
    group: 'slack',
    doc: "Shortest time between two edits of a tally message; vote bursts are coalesced to respect Slack's chat.update limits.",
  },
  shutdownGraceSeconds: {
    env: 'SHUTDOWN_GRACE_SECONDS',
    default: '25',
    parse: int(0, 600),
    group: 'slack',
    doc: 'On SIGTERM/SIGINT, how long in-flight rounds may finish their writes before the bot exits.',
  },

  // --- rounds ---
  briefRatePerHour: {
    env: 'BRIEF_RATE_PER_HOUR',
    default: '10',
    parse: int(1, 10_000),
    group: 'rounds',
    doc: 'Rounds one person may start per hour: new briefs and next rounds (mentions, New round, Try again) alike.',
  },
  dailyImageCap: {
    env: 'DAILY_IMAGE_CAP',
    default: '200',
    parse: int(1),
    group: 'rounds',
    doc: 'Generated images per UTC day, workspace-wide.',
  },
  monthlySpendCapUsd: {
    env: 'MONTHLY_SPEND_CAP_USD',
    default: '100',
    parse: num(0),
    group: 'rounds',
    doc: 'Estimated API spend per calendar month (UTC) after which briefs are refused; 0 means no cap.',
  },
  roundAutoCloseMinutes: {
    env: 'ROUND_AUTO_CLOSE_MINUTES',
    default: '1440',
    parse: int(0, 525_600),
    group: 'rounds',
    doc: 'Voting closes by itself this long after a round opens; 0 means never.',
  },
  roundReminderMinutes: {
    env: 'ROUND_REMINDER_MINUTES',
    default: '60',
    parse: int(0, 525_600),
    group: 'rounds',
    doc: 'A reminder is posted in the thread this long before the automatic close; 0 means none.',
  },
  voteDoubleClickMs: {
    env: 'VOTE_DOUBLE_CLICK_MS',
    default: '800',
    parse: int(0, 10_000),
    group: 'rounds',
    doc: 'A second click on the same Vote button within this time is a double click, not a retraction.',
  },
  roundConcurrency: {
    env: 'ROUND_CONCURRENCY',
    default: '2',
    parse: int(1, 64),
    group: 'rounds',
    doc: 'Rounds generated at once per bot process; more briefs wait in line and say so in their status line.',
  },
  briefMaxChars: {
    env: 'BRIEF_MAX_CHARS',
    default: '1000',
    parse: int(BRIEF_MAX_CHARS_RANGE.min, BRIEF_MAX_CHARS_RANGE.max),
    group: 'rounds',
    doc: `Longest brief accepted, in characters (${BRIEF_MAX_CHARS_RANGE.min} to ${BRIEF_MAX_CHARS_RANGE.max}).`,
  },
  defaultVariants: {
    env: 'DEFAULT_VARIANTS',
    default: '4',
    parse: variantCount,
    group: 'rounds',
    doc: 'Variants per round when --variants is not given.',
  },
  maxVariants: {
    env: 'MAX_VARIANTS',
    default: '6',
    parse: variantCount,
    group: 'rounds',
    doc: `Most variants a round may ask for (at most ${VARIANTS_RANGE.max}).`,
  },
  defaultFormats: {
    env: 'DEFAULT_FORMATS',
    default: 'square',
    parse: formatList,
    group: 'rounds',
    doc: `Formats rendered when --formats is not given (${FORMATS.join(', ')}).`,
  },
  defaultAdChannel: {
    env: 'DEFAULT_AD_CHANNEL',
    default: 'meta',
    parse: oneOf(...CHANNELS),
    group: 'rounds',
    doc: 'Ad channel whose copy limits apply when --channel is not given.',
  },
  defaultBrand: { env: 'DEFAULT_BRAND', parse: str, group: 'rounds', doc: 'Brand kit used when --brand is not given (unset: none).' },

  // --- clip ---
  clipModelDir: {
    env: 'CLIP_MODEL_DIR',
    default: 'models/clip-vit-base-patch32',
    parse: str,
    group: 'clip',
    doc: 'CLIP model directory (Hugging Face layout: config.json, preprocessor_config.json, tokenizer.json, onnx/).',
  },
  clipTextModelDir: {
    env: 'CLIP_TEXT_MODEL_DIR',
    parse: str,
    group: 'clip',
    doc: "Multilingual text encoder aligned with CLIP's image space (`models fetch clip-ViT-B-32-multilingual-v1`): embeds briefs and captions in any language instead of CLIP's English text tower. Unset: English tower, non-English briefs translated when OPENAI_API_KEY is set.",
  },
  clipDevice: {
    env: 'CLIP_DEVICE',
    default: 'auto',
    parse: oneOf('auto', 'cpu', 'cuda', 'webgpu'),
    group: 'clip',
    doc: 'Execution provider: `auto` tries CUDA, then WebGPU (bundled; Vulkan on NVIDIA), then CPU, logging each attempt; `cuda` or `webgpu` fail loudly when unavailable.',
  },
  clipPrecision: {
    env: 'CLIP_PRECISION',
    default: 'auto',
    parse: oneOf('auto', 'fp32', 'fp16', 'int8'),
    group: 'clip',
    doc: 'Which ONNX files to load: `auto` = fp16 on a GPU when `onnx/*_fp16.onnx` exist (`models fp16`), else fp32; fp32, fp16, or int8 (`*_quantized.onnx`, a CPU choice).',
  },
  clipVisionInput: {
    env: 'CLIP_VISION_INPUT',
    default: 'auto',
    parse: oneOf('auto', 'float', 'rgb8'),
    group: 'clip',
    doc: 'Vision graph input: `float` (the standard export), `rgb8` (8-bit pixels normalised inside the graph, `models rgb8`), or `auto` = rgb8 where its file exists.',
  },
  clipThreads: {
    env: 'CLIP_THREADS',
    default: '0',
    parse: int(0, 256),
    group: 'clip',
    doc: 'ONNX Runtime intra-op threads; 0 means one per core.',
  },
  clipBatchMax: {
    env: 'CLIP_BATCH_MAX',
    default: 'auto',
    parse: autoOr(int(1, 1024)),
    group: 'clip',
    doc: 'Dynamic batcher: most inputs in one inference run; `auto` = 128 on a GPU, 8 on a CPU.',
  },
  clipBatchWaitMs: {
    env: 'CLIP_BATCH_WAIT_MS',
    default: 'auto',
    parse: autoOr(int(0, 1000)),
    group: 'clip',
    doc: 'Dynamic batcher: longest wait for more inputs before a run; `auto` = 5 on a GPU, 4 on a CPU.',
  },
  clipPrepThreads: {
    env: 'CLIP_PREP_THREADS',
    default: 'auto',
    parse: autoOr(int(1, 256)),
    group: 'clip',
    doc: 'Image preprocessing threads (decode, resize, normalise); `auto` = all cores but one on a GPU, the cores inference leaves free on a CPU. Set UV_THREADPOOL_SIZE above it.',
  },
  clipDecode: {
    env: 'CLIP_DECODE',
    default: 'default',
    parse: oneOf('default', 'exact', 'fast'),
    group: 'clip',
    doc: 'Image decode: `default` (libvips downscale, near Pillow), `exact` (Pillow resampler, slower), `fast` (JPEG shrink-on-load: faster, further from the reference; see README).',
  },
  clipWebgpuOptions: {
    env: 'CLIP_WEBGPU_OPTIONS',
    default: '',
    parse: keyValues,
    group: 'clip',
    doc: 'WebGPU provider options as `key=value,…`: `preferredLayout=NHWC`, or any `ep.webgpuexecutionprovider.<key>` entry (e.g. `validationMode=disabled`).',
  },
  clipEndpoint: {
    env: 'CLIP_ENDPOINT',
    parse: url,
    group: 'clip',
    doc: 'Remote CLIP server (KServe v2 protocol). Set: the bot loads no ONNX itself.',
  },
  clipHubEndpoint: {
    env: 'HF_ENDPOINT',
    default: 'https://huggingface.co',
    parse: url,
    group: 'clip',
    doc: 'Hugging Face hub (or mirror) that `models fetch` downloads the real CLIP model from.',
  },
  imageMaxPixels: {
    env: 'IMAGE_MAX_PIXELS',
    default: '40000000',
    parse: int(1),
    group: 'clip',
    doc: 'Largest image (width × height) accepted; bigger ones are refused as decompression bombs.',
  },
  imageMaxBytes: {
    env: 'IMAGE_MAX_BYTES',
    default: '26214400',
    parse: int(1),
    group: 'clip',
    doc: 'Largest image file accepted, in bytes.',
  },

  // --- library ---
  lancedbUri: {
    env: 'LANCEDB_URI',
    parse: str,
    group: 'library',
    doc: 'Where the creative library lives (unset: `$DATA_DIR/lancedb`): a folder, `s3://bucket/prefix` (object storage, settings below), `s3+ddb://bucket/prefix?ddbTableName=T` (S3 with a DynamoDB commit store), or any other URI LanceDB accepts (gs://, az://, db:// for LanceDB Cloud).',
  },
  assetsUri: {
    env: 'ASSETS_URI',
    parse: assetsLocation,
    group: 'library',
    doc: "Where each variant's rendered images and embedding live (unset: `$DATA_DIR/variants`): a folder, or `s3://bucket/prefix` so every replica can upload, export or promote any round's winner.",
  },
  s3Endpoint: {
    env: 'AWS_ENDPOINT_URL_S3',
    parse: url,
    group: 'library',
    doc: 'Endpoint of an S3-compatible store (MinIO, Ceph, R2, …) for `s3://` URIs, e.g. http://minio:9000 (http:// is allowed then). Unset: `AWS_ENDPOINT_URL`, else AWS S3.',
  },
  awsEndpoint: {
    env: 'AWS_ENDPOINT_URL',
    parse: url,
    group: 'library',
    doc: 'The standard AWS endpoint override, used for S3 when `AWS_ENDPOINT_URL_S3` is unset.',
  },
  awsRegion: {
    env: 'AWS_REGION',
    parse: str,
    group: 'library',
    doc: "Region of the S3 buckets. Unset: `us-east-1` with a custom endpoint; on AWS S3 the SDKs' own lookup (LanceDB asks the bucket).",
  },
  awsAccessKeyId: {
    env: 'AWS_ACCESS_KEY_ID',
    parse: secretStr,
    secret: true,
    group: 'library',
    doc: "S3 access key id. Unset (with the secret): the AWS SDKs' default credential chain (instance or task role, web identity, ~/.aws).",
  },
  awsSecretAccessKey: {
    env: 'AWS_SECRET_ACCESS_KEY',
    parse: secretStr,
    secret: true,
    group: 'library',
    doc: 'S3 secret access key (set together with `AWS_ACCESS_KEY_ID`). Never logged.',
  },
  awsSessionToken: {
    env: 'AWS_SESSION_TOKEN',
    parse: secretStr,
    secret: true,
    group: 'library',
    doc: 'Session token for temporary S3 credentials. Never logged.',
  },
  s3ForcePathStyle: {
    env: 'S3_FORCE_PATH_STYLE',
    default: 'false',
    parse: bool,
    group: 'library',
    doc: 'Path-style S3 requests (`http://host/bucket/key`), as MinIO and most self-hosted stores need; false: virtual-hosted style (`bucket.host`), as AWS prefers.',
  },
  libraryIndexMinRows: {
    env: 'LIBRARY_INDEX_MIN_ROWS',
    default: '20000',
    parse: int(256),
    group: 'library',
    doc: 'Row count past which the library builds its ANN (IVF_PQ) and filter-column indexes by itself; below it, search is exact (flat).',
  },
  libraryWeightImage: {
    env: 'LIBRARY_WEIGHT_IMAGE',
    default: '0.6',
    parse: num(0, 1),
    group: 'library',
    doc: 'Search fusion: weight of the query-to-image similarity (cross-modal for a text brief).',
  },
  libraryWeightCaption: {
    env: 'LIBRARY_WEIGHT_CAPTION',
    default: '0.4',
    parse: num(0, 1),
    group: 'library',
    doc: 'Search fusion: weight of the query-to-caption similarity.',
  },
  libraryWeightCtr: {
    env: 'LIBRARY_WEIGHT_CTR',
    default: '0.05',
    parse: num(0, 1),
    group: 'library',
    doc: 'Search fusion: weight of past performance (smoothed CTR relative to the library average); 0 ranks on similarity alone.',
  },
  libraryCtrPriorStrength: {
    env: 'LIBRARY_CTR_PRIOR_STRENGTH',
    default: 'auto',
    parse: (raw: string, name: string): number | 'auto' => (raw.trim().toLowerCase() === 'auto' ? 'auto' : num(1, 1e9)(raw, name)),
    group: 'library',
    doc: 'Smoothed CTR: strength (in impressions) of the Beta prior centred on the library CTR; auto estimates it from the library (empirical Bayes).',
  },
  libraryNearDuplicate: {
    env: 'LIBRARY_NEAR_DUPLICATE',
    default: '0.985',
    parse: num(0, 1),
    group: 'library',
    doc: 'Image-embedding cosine at or above which two search results count as the same picture and are collapsed into one.',
  },
  libraryOptimizeEvery: {
    env: 'LIBRARY_OPTIMIZE_EVERY',
    default: '20',
    parse: int(0),
    group: 'library',
    doc: 'Compact the table and update its indexes after this many writes (0: only on `adcreative library index`).',
  },
  libraryReindexGrowth: {
    env: 'LIBRARY_REINDEX_GROWTH',
    default: '4',
    parse: num(1.5, 1000),
    group: 'library',
    doc: 'Rebuild the ANN index (beside the write queue) once the library holds this many times the rows its settings were picked for.',
  },
  libraryBatch: {
    env: 'LIBRARY_BATCH',
    default: '32',
    parse: int(1, 1024),
    group: 'library',
    doc: 'Ingest: images read, embedded and written per batch.',
  },

  // --- generation ---
  openaiApiKey: {
    env: 'OPENAI_API_KEY',
    parse: secretStr,
    secret: true,
    group: 'generation',
    doc: 'OpenAI API key. Unset: copy is written offline from the brief by rules, images come from the offline studio (labelled offline drafts).',
  },
  openaiBaseUrl: {
    env: 'OPENAI_BASE_URL',
    parse: url,
    group: 'generation',
    doc: "OpenAI-compatible API base (e.g. a self-hosted server's https://host/v1). Default: OpenAI's.",
  },
  openaiTextModel: {
    env: 'OPENAI_TEXT_MODEL',
    default: 'gpt-4o-mini',
    parse: str,
    group: 'generation',
    doc: 'Chat model that writes the copy (structured output).',
  },
  openaiImageModel: {
    env: 'OPENAI_IMAGE_MODEL',
    default: 'gpt-image-2.6-sunburst',
    parse: str,
    group: 'generation',
    doc: "Image model that draws the visuals: gpt-image-2.6-sunburst or gpt-image-2.6-flare (whose documented sizes and qualities are checked at start; gpt-image-1.x and dall-e-2/3 are shut down on OpenAI's API and refused there, with the replacement named); with OPENAI_BASE_URL, a compatible server's own model name.",
  },
  openaiImageSize: {
    env: 'OPENAI_IMAGE_SIZE',
    default: '1024x1024',
    parse: imageSize,
    group: 'generation',
    doc: "Size asked of the image model; composition crops it to each format. Checked at start (with quality, background and output format) against the model's documented sizes: GPT image models 1024x1024, 1536x1024, 1024x1536, auto; dall-e-3 1024x1024, 1792x1024, 1024x1792; dall-e-2 256x256, 512x512, 1024x1024.",
  },
  openaiImageQuality: {
    env: 'OPENAI_IMAGE_QUALITY',
    parse: oneOf('auto', 'low', 'medium', 'high', 'standard', 'hd'),
    group: 'generation',
    doc: 'Image quality, checked against the model: low, medium, high or auto (GPT image models); standard or hd (dall-e-3); standard (dall-e-2). Unset: auto for GPT image models, standard for dall-e. Edits ask for it too.',
  },
  openaiImageBackground: {
    env: 'OPENAI_IMAGE_BACKGROUND',
    default: 'auto',
    parse: oneOf('auto', 'opaque', 'transparent'),
    group: 'generation',
    doc: 'Background of drawn visuals (GPT image models only): auto, opaque, or transparent (needs png or webp output).',
  },
  openaiImageOutputFormat: {
    env: 'OPENAI_IMAGE_OUTPUT_FORMAT',
    default: 'png',
    parse: oneOf('png', 'jpeg', 'webp'),
    group: 'generation',
    doc: 'File format the image model answers in (GPT image models only; dall-e always answers PNG).',
  },
  openaiPrices: {
    env: 'OPENAI_PRICES',
    parse: str,
    group: 'generation',
    doc: "Overrides of the price table that costs are computed with, as MODEL:FIELD=USD entries: input, cached_input, output, image_input, image_cached_input, image_output in USD per 1M tokens, or SIZE/QUALITY in USD per image, e.g. gpt-4o-mini:input=0.15,dall-e-3:1024x1024/hd=0.08. Built in: OpenAI's published prices for the gpt-4o, gpt-4.1 and gpt-5 families, gpt-image-2.6-sunburst, gpt-image-1(-mini), dall-e-3 and dall-e-2. Checked at start.",
  },
  imageProvider: {
    env: 'IMAGE_PROVIDER',
    default: 'auto',
    parse: oneOf('auto', 'openai', 'studio'),
    group: 'generation',
    doc: 'Who draws visuals: auto (OpenAI when OPENAI_API_KEY is set, else the offline studio), openai, or studio.',
  },
  generateConcurrency: {
    env: 'GENERATE_CONCURRENCY',
    default: '4',
    parse: int(1, 64),
    group: 'generation',
    doc: 'Image requests (or studio drafts) in flight at once.',
  },
  openaiTimeoutMs: {
    env: 'OPENAI_TIMEOUT_MS',
    default: '120000',
    parse: int(1000, 3_600_000),
    group: 'generation',
    doc: 'Timeout of one OpenAI request, in milliseconds.',
  },
  openaiMaxRetries: {
    env: 'OPENAI_MAX_RETRIES',
    default: '2',
    parse: int(0, 10),
    group: 'generation',
    doc: 'Retries of a failed OpenAI request (429, 5xx, timeouts), with backoff.',
  },
  priceImageUsd: {
    env: 'PRICE_PER_IMAGE_USD',
    parse: num(0),
    group: 'generation',
    doc: 'Deprecated, ignored: costs are priced from the usage the API reports, with OPENAI_PRICES. A warning at start says so while it is set.',
  },
  priceTextUsd: {
    env: 'PRICE_PER_TEXT_CALL_USD',
    parse: num(0),
    group: 'generation',
    doc: 'Deprecated, ignored: costs are priced from the usage the API reports, with OPENAI_PRICES. A warning at start says so while it is set.',
  },
  brandsDir: {
    env: 'BRANDS_DIR',
    default: 'brands',
    parse: str,
    group: 'generation',
    doc: 'Directory of brand kits (<name>.json with colours, fonts, logo, tone, must-say, never-say).',
  },
  candidateFactor: {
    env: 'GENERATE_CANDIDATE_FACTOR',
    default: '1.5',
    parse: num(1, 4),
    group: 'generation',
    doc: 'Candidates drawn per shown variant (ceil(factor × N)); MMR picks the N shown. Above 1 costs extra image calls with OpenAI.',
  },
  rankWeightRelevance: {
    env: 'RANK_WEIGHT_RELEVANCE',
    default: '1',
    parse: num(0, 10),
    group: 'generation',
    doc: "Weight of relevance, cos(brief, image), in a variant's score.",
  },
  rankWeightNovelty: {
    env: 'RANK_WEIGHT_NOVELTY',
    default: '0.3',
    parse: num(0, 10),
    group: 'generation',
    doc: "Weight of novelty, 1 − max cos(image, library), in a variant's score.",
  },
  rankWeightPreference: {
    env: 'RANK_WEIGHT_PREFERENCE',
    default: '1',
    parse: num(0, 10),
    group: 'generation',
    doc: "Weight of the team's predicted preference (a 0–1 percentile) in a variant's score; above 0 it also picks variants to learn from (Thompson sampling). 0 shows the score but ranks without it.",
  },
  rankMmrLambda: {
    env: 'RANK_MMR_LAMBDA',
    default: '0.7',
    parse: num(0, 1),
    group: 'generation',
    doc: 'Maximal marginal relevance trade-off: 1 ranks by score alone, lower favours variety.',
  },
  copyLimits: {
    env: 'COPY_LIMITS',
    default: '',
    parse: copyLimits,
    group: 'generation',
    doc: `Overrides of the channel copy limits, e.g. meta.headline=40,google.body=80 (defaults, headline/body: ${defaultLimitsText}).`,
  },

  // --- deploy (serve-clip, remote encoder, PostgreSQL, replicas) ---
  databaseUrl: {
    env: 'DATABASE_URL',
    parse: secretStr,
    secret: true,
    group: 'deploy',
    doc: 'PostgreSQL connection string (postgres://user:password@host:5432/db). Set: rounds state lives in PostgreSQL instead of SQLite, and replicas share it.',
  },
  replicaId: {
    env: 'REPLICA_ID',
    parse: str,
    group: 'deploy',
    doc: "This replica's name in round leases and logs (unset: hostname-pid).",
  },
  roundLeaseSeconds: {
    env: 'ROUND_LEASE_SECONDS',
    default: '30',
    parse: int(3, 3600),
    group: 'deploy',
    doc: 'PostgreSQL round leases: a replica that stops renewing for this long loses its rounds to another replica.',
  },
  roundTimerSeconds: {
    env: 'ROUND_TIMER_SECONDS',
    default: '30',
    parse: int(1, 3600),
    group: 'deploy',
    doc: 'How often each replica closes due rounds, sends reminders and takes over rounds whose replica died.',
  },
  serveClipPort: {
    env: 'SERVE_CLIP_PORT',
    default: '8000',
    parse: int(0, 65535),
    group: 'deploy',
    doc: 'Port of `adcreative serve-clip` (KServe v2 / Open Inference Protocol over HTTP).',
  },
  serveClipToken: {
    env: 'SERVE_CLIP_TOKEN',
    parse: secretStr,
    secret: true,
    group: 'deploy',
    doc: 'Bearer token serve-clip requires on every route but its health probes (inference, model metadata, /metrics), and the remote encoder (CLIP_ENDPOINT) sends. Unset: no authentication, so keep serve-clip on loopback or a private network.',
  },
  serveClipMaxBodyBytes: {
    env: 'SERVE_CLIP_MAX_BODY_BYTES',
    default: '67108864',
    parse: int(1024),
    group: 'deploy',
    doc: 'serve-clip: largest request body (413 above it, refused before it is read). 64 MiB is ~110 preprocessed images; the remote encoder sends at most 32 per request.',
  },
  serveClipMaxInflightBytes: {
    env: 'SERVE_CLIP_MAX_INFLIGHT_BYTES',
    default: '268435456',
    parse: int(1024),
    group: 'deploy',
    doc: 'serve-clip: request bytes being read or embedded at once, over all clients; a request that would pass it gets 503 with Retry-After (the remote encoder waits and retries).',
  },
  clipRemoteTimeoutMs: {
    env: 'CLIP_REMOTE_TIMEOUT_MS',
    default: '15000',
    parse: int(100, 600_000),
    group: 'deploy',
    doc: 'Remote encoder: timeout of one inference request to CLIP_ENDPOINT.',
  },
  clipRemoteRetries: {
    env: 'CLIP_REMOTE_RETRIES',
    default: '2',
    parse: int(0, 10),
    group: 'deploy',
    doc: 'Remote encoder: retries of a failed request (exponential backoff with jitter).',
  },
  clipBreakerFailures: {
    env: 'CLIP_BREAKER_FAILURES',
    default: '5',
    parse: int(1, 1000),
    group: 'deploy',
    doc: 'Remote encoder: consecutive failed requests that open the circuit breaker (calls then fail at once).',
  },
  clipBreakerCooldownMs: {
    env: 'CLIP_BREAKER_COOLDOWN_MS',
    default: '20000',
    parse: int(100, 3_600_000),
    group: 'deploy',
    doc: 'Remote encoder: how long the open breaker waits before one probe request tries the server again.',
  },

  // --- learning ---
  clipAdapter: {
    env: 'CLIP_ADAPTER',
    parse: str,
    group: 'learning',
    doc: 'Adapter over CLIP embeddings (made by `train adapter`): a path, or `off`. Unset: `$DATA_DIR/adapter.json` when present.',
  },
  adapterRetrainShare: {
    env: 'ADAPTER_RETRAIN_SHARE',
    default: '0.25',
    parse: num(0.01, 100),
    group: 'learning',
    doc: 'Suggest retraining the adapter once the library has grown by this share since training (0.25 = 25 %).',
  },
  preferenceModel: {
    env: 'PREFERENCE_MODEL',
    parse: str,
    group: 'learning',
    doc: 'Preference model file (made by `train preference`). Unset: `$DATA_DIR/preference.json`.',
  },
  preferenceMinVotes: {
    env: 'PREFERENCE_MIN_VOTES',
    default: '10',
    parse: int(1),
    group: 'learning',
    doc: 'Without priors (no library metrics, no past winners), votes the preference model needs before scores are shown; below it variants show "insufficient data". With priors scores show from the start, "uncertain" while the interval is wide.',
  },
  learningSchedule: {
    env: 'LEARNING_SCHEDULE',
    default: 'off',
    parse: scheduleDuration,
    group: 'learning',
    doc: 'Retrain the adapter and preference model inside the bot every this long (e.g. `24h`, `90m`); `off` disables.',
  },

  // --- export (issue 17) ---
  exportFinalUrl: {
    env: 'EXPORT_FINAL_URL',
    parse: url,
    group: 'export',
    doc: 'Landing page of exported ads (Google Final URL, Meta link, LinkedIn destination); `export --final-url` overrides it.',
  },
  metaAccessToken: {
    env: 'META_ACCESS_TOKEN',
    parse: secretStr,
    secret: true,
    group: 'export',
    doc: 'Marketing API access token (ads_management) for `export --publish`; unset: exports are files only.',
  },
  metaAdAccountId: {
    env: 'META_AD_ACCOUNT_ID',
    parse: (raw, name) => {
      const v = raw.trim();
      if (!/^(act_)?\d+$/.test(v)) bad(name, 'an ad account id such as act_1234567890', raw);
      return v;
    },
    group: 'export',
    doc: 'Ad account `export --publish` creates creatives and paused ads in (act_…).',
  },
  metaPageId: { env: 'META_PAGE_ID', parse: str, group: 'export', doc: 'Facebook Page the published creatives run as.' },
  metaAdsetId: { env: 'META_ADSET_ID', parse: str, group: 'export', doc: 'Ad set the published (paused) ads are created in.' },
  metaGraphUrl: {
    env: 'META_GRAPH_URL',
    default: 'https://graph.facebook.com/v21.0',
    parse: url,
    group: 'export',
    doc: 'Graph API base including its version (a stand-in in tests).',
  },
} satisfies Record<string, Setting<unknown>>;

type Specs = typeof SETTINGS;
type ValueOf<S> = S extends { parse: Parser<infer T>; default: string } ? T : S extends { parse: Parser<infer T> } ? T | undefined : never;
export type Config = { -readonly [K in keyof Specs]: ValueOf<Specs[K]> };

/** Reads `.env` (KEY=VALUE lines) without overriding variables already set. */
export function readDotEnv(path: string, env: NodeJS.ProcessEnv): void {
  if (!existsSync(path)) return;
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    let value = m[2];
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    if (env[m[1]] === undefined) env[m[1]] = value;
  }
}

/** Parses every setting; collects all problems so one run shows them all. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = env[spec.env];
    const value = raw === undefined || (raw === '' && spec.default === undefined) ? spec.default : raw;
    if (value === undefined) {
      out[key] = undefined;
      continue;
    }
    try {
      out[key] = spec.parse(value, spec.env);
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (problems.length === 1) throw new ConfigError(problems[0]);
  if (problems.length > 1) throw new ConfigError(`invalid settings:\n  - ${problems.join('\n  - ')}`);
  return out as Config;
}

let cached: Config | undefined;

/** The process's configuration, read (with `.env`) on first use. */
export function config(): Config {
  if (!cached) {
    readDotEnv(resolve('.env'), process.env);
    cached = loadConfig(process.env);
  }
  return cached;
}

/** Derived paths, so every module agrees where things live. */
export function dataPath(cfg: Pick<Config, 'dataDir'>, ...parts: string[]): string {
  const base = isAbsolute(cfg.dataDir) ? cfg.dataDir : resolve(cfg.dataDir);
  return join(base, ...parts);
}

/** The library's LanceDB URI, with `$DATA_DIR` resolved (remote URIs pass through unchanged). */
export function libraryUri(cfg: Pick<Config, 'dataDir' | 'lancedbUri'>): string {
  const u = cfg.lancedbUri?.trim() || '$DATA_DIR/lancedb';
  if (u.startsWith('$DATA_DIR')) return dataPath(cfg, u.slice('$DATA_DIR'.length).replace(/^[/\\]+/, ''));
  return u;
}

/** Where variant assets live: a folder (with `$DATA_DIR` resolved), or an s3:// URI as given. */
export function assetsUri(cfg: Pick<Config, 'dataDir' | 'assetsUri'>): string {
  const u = cfg.assetsUri?.trim() || '$DATA_DIR/variants';
  if (u.startsWith('$DATA_DIR')) return dataPath(cfg, u.slice('$DATA_DIR'.length).replace(/^[/\\]+/, ''));
  if (/^s3:\/\//.test(u)) return u;
  return isAbsolute(u) ? u : resolve(u);
}

/** The README's configuration table, generated from SETTINGS so they cannot drift. */
export function settingsMarkdown(): string {
  const rows = ['| Variable | Default | What it does |', '|---|---|---|'];
  for (const spec of Object.values(SETTINGS) as Setting<unknown>[]) {
    rows.push(`| \`${spec.env}\` | ${spec.default === undefined ? '—' : `\`${spec.default}\``} | ${spec.doc} |`);
  }
  return rows.join('\n');
}

/** Names of settings whose values must never be logged. */
export const SECRET_ENV_NAMES: readonly string[] = (Object.values(SETTINGS) as Setting<unknown>[])
  .filter((s) => s.secret)
  .map((s) => s.env);
