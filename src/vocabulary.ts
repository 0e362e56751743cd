/**
 * The ad vocabulary: the channels, formats, image types and bounds that the Slack options,
 * the modal, the CLI, the configuration, generation, composition and the library all speak.
 * Defined here once, at the ground floor (it imports only `errors.ts`), so `config.ts` can
 * validate settings with it and every other module agrees with what config accepted.
 */
import { ConfigError } from './errors.ts';

// --- channels ---

/**
 * Where `adcreative export` writes to: one per ad channel, Google's named for what takes the file
 * (Google Ads Editor). Kept here with the channels so a new one is one edit.
 */
export const PLATFORMS = ['google-ads', 'meta', 'linkedin', 'tiktok'] as const;
export type Platform = (typeof PLATFORMS)[number];

export function isPlatform(s: string): s is Platform {
  return (PLATFORMS as readonly string[]).includes(s);
}

/** The platforms whose performance reports `adcreative results import` reads. */
export const REPORT_PLATFORMS = ['meta', 'google'] as const;
export type ReportPlatform = (typeof REPORT_PLATFORMS)[number];

export function isReportPlatform(s: string): s is ReportPlatform {
  return (REPORT_PLATFORMS as readonly string[]).includes(s);
}

/** Ad channels: the values of `--channel`, the modal, `DEFAULT_AD_CHANNEL` and brand kits' default channel. */
export const CHANNELS = ['meta', 'google', 'linkedin', 'tiktok'] as const;
export type ChannelName = (typeof CHANNELS)[number];

export function isChannel(s: string): s is ChannelName {
  return (CHANNELS as readonly string[]).includes(s);
}

// --- formats ---

export interface FormatSpec {
  width: number;
  height: number;
  /** Pixels at the top and bottom kept free of text (the story UI's overlays). */
  safeTop: number;
  safeBottom: number;
}

/** Every format a variant is rendered to (design §5), with its size and text-free zones. */
export const FORMAT_SPECS = {
  square: { width: 1080, height: 1080, safeTop: 0, safeBottom: 0 },
  portrait: { width: 1080, height: 1350, safeTop: 0, safeBottom: 0 },
  story: { width: 1080, height: 1920, safeTop: 250, safeBottom: 340 },
  landscape: { width: 1200, height: 628, safeTop: 0, safeBottom: 0 },
} as const satisfies Record<string, FormatSpec>;

export type FormatName = keyof typeof FORMAT_SPECS;
export const FORMATS = Object.keys(FORMAT_SPECS) as readonly FormatName[];

export function isFormat(s: string): s is FormatName {
  return Object.hasOwn(FORMAT_SPECS, s);
}

/**
 * A list of formats as people type it ("square, story", "Square story"): lower-cased and
 * de-duplicated; `unknown` holds the words that name no format, for the caller's message.
 */
export function splitFormats(raw: string): { formats: FormatName[]; unknown: string[] } {
  const words = raw
    .split(/[,\s]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return { formats: [...new Set(words.filter(isFormat))], unknown: words.filter((w) => !isFormat(w)) };
}

// --- images from Slack ---

/** Each accepted image type: its name in messages and its file name extensions. */
const IMAGE_TYPE_INFO = {
  'image/png': { name: 'PNG', extensions: ['png'] },
  'image/jpeg': { name: 'JPEG', extensions: ['jpg', 'jpeg'] },
  'image/webp': { name: 'WebP', extensions: ['webp'] },
  'image/gif': { name: 'GIF', extensions: ['gif'] },
} as const;

/**
 * MIME types of the images accepted from Slack (the modal's reference image, the library
 * shortcut): what the image module decodes and Slack previews.
 */
export const IMAGE_TYPES: ReadonlySet<string> = new Set(Object.keys(IMAGE_TYPE_INFO));

/** The file name extensions of those types, for Slack's `file_input` element (`filetypes`). */
export const IMAGE_EXTENSIONS: readonly string[] = Object.values(IMAGE_TYPE_INFO).flatMap((t) => t.extensions);

/** "PNG, JPEG, WebP or GIF", for messages that say what to use instead. */
export const IMAGE_TYPES_TEXT = (() => {
  const names = Object.values(IMAGE_TYPE_INFO).map((t) => t.name);
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
})();

// --- briefs and variants ---

/**
 * Characters as a person counts them (code points, so an emoji is one), for briefs and copy
 * limits alike.
 */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Bounds of BRIEF_MAX_CHARS. The upper one is also the longest brief generation accepts
 * (what the copywriter's prompt is sized for), so a brief that passed the configured check
 * at the edge is never refused later, mid-round.
 */
export const BRIEF_MAX_CHARS_RANGE = { min: 20, max: 2000 } as const;

/** Variants one round may ask for; MAX_VARIANTS and DEFAULT_VARIANTS are set within it. */
export const VARIANTS_RANGE = { min: 1, max: 10 } as const;

// --- copy limits ---

export interface FieldLimit {
  max: number;
  /** What the channel calls the field, for messages ("primary text", "description"). */
  label: string;
}

/**
 * How a platform counts a text's length: every character once, or East Asian wide characters
 * (Chinese, Japanese, Korean) twice, as Google Ads and TikTok do.
 */
export type CountRule = 'chars' | 'double-width';

export interface ChannelLimits {
  headline: FieldLimit;
  body: FieldLimit;
  cta: FieldLimit;
  count: CountRule;
}

export type CopyField = Exclude<keyof ChannelLimits, 'count'>;
const COPY_FIELDS: readonly CopyField[] = ['headline', 'body', 'cta'];

/** Copy limits per channel, in characters as each platform counts them (design §5); COPY_LIMITS overrides entries. */
export const DEFAULT_LIMITS: Record<ChannelName, ChannelLimits> = {
  meta: {
    headline: { max: 27, label: 'headline' },
    body: { max: 125, label: 'primary text' },
    cta: { max: 20, label: 'CTA' },
    count: 'chars',
  },
  // Google Ads: "double-width characters (Chinese, Japanese, Korean) count as 2" against every limit.
  google: {
    headline: { max: 30, label: 'headline' },
    body: { max: 90, label: 'description' },
    cta: { max: 20, label: 'CTA' },
    count: 'double-width',
  },
  linkedin: {
    headline: { max: 70, label: 'headline' },
    body: { max: 150, label: 'intro text' },
    cta: { max: 20, label: 'CTA' },
    count: 'chars',
  },
  // TikTok has one ad text (100 Latin characters; Asian characters count as 2); the headline
  // drawn on the creative shares that limit.
  tiktok: {
    headline: { max: 100, label: 'ad text' },
    body: { max: 100, label: 'ad text' },
    cta: { max: 20, label: 'CTA' },
    count: 'double-width',
  },
};

export type LimitOverrides = Partial<Record<ChannelName, Partial<Record<CopyField, number>>>>;

/** Parses "meta.headline=40,google.body=80" (the COPY_LIMITS setting). */
export function parseLimitOverrides(raw: string, name = 'COPY_LIMITS'): LimitOverrides {
  const out: LimitOverrides = {};
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([a-z]+)\.([a-z]+)=(\d{1,4})$/.exec(part);
    if (!m || !isChannel(m[1]) || !(COPY_FIELDS as readonly string[]).includes(m[2]) || Number(m[3]) < 1) {
      throw new ConfigError(
        `${name} must be comma-separated channel.field=chars entries (channels: ${CHANNELS.join(', ')}; fields: ${COPY_FIELDS.join(', ')}); got ${JSON.stringify(part)}`,
      );
    }
    const ch = m[1];
    out[ch] = { ...out[ch], [m[2]]: Number(m[3]) };
  }
  return out;
}

export function limitsFor(channel: ChannelName, overrides: LimitOverrides = {}): ChannelLimits {
  const base = DEFAULT_LIMITS[channel];
  const o = overrides[channel] ?? {};
  return {
    headline: { ...base.headline, max: o.headline ?? base.headline.max },
    body: { ...base.body, max: o.body ?? base.body.max },
    cta: { ...base.cta, max: o.cta ?? base.cta.max },
    count: base.count,
  };
}
