/**
 * The ad platforms' published limits that an export must stay inside, each with the page it
 * comes from. The exporter fits copy and images to these and then checks everything it wrote
 * against them again (`checkText`, `checkImage`): an export with a violation is refused, never
 * written. Characters are counted as people count them (code points), as the platforms do for
 * Latin text; CJK text counts twice where Google says so (`googleWidth`).
 */
import { charCount, type Platform } from '../vocabulary.ts';

export interface TextRule {
  /** Where the rule comes from: a platform's published documentation. */
  doc: string;
  field: string;
  min?: number;
  max: number;
  /** Counting rule: plain characters, or Google's display width (full-width characters count 2). */
  width?: 'chars' | 'google';
  /** Characters the field may not contain at all. */
  forbid?: RegExp;
  forbidWhat?: string;
}

export interface ImageRule {
  doc: string;
  slot: string;
  /** Width / height, with the tolerance the platform accepts. */
  ratio: number;
  tolerance: number;
  minWidth: number;
  minHeight: number;
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  types: ('png' | 'jpeg')[];
  /** Rows of pixels at the top and bottom the platform keeps free of text (its UI overlays), if any. */
  safeTop?: number;
  safeBottom?: number;
}

// Emoji (pictographs, with their joiners and variation selectors): TikTok refuses them in ad text.
const EMOJI = /\p{Extended_Pictographic}|[\u{1F1E6}-\u{1F1FF}]|\u200D|\uFE0F/u;

// --- Google Ads ---
// Responsive display ads: Google Ads API reference, ResponsiveDisplayAdInfo
// (developers.google.com/google-ads/api/reference/rpc/latest/ResponsiveDisplayAdInfo).
const RDA = 'Google Ads API, ResponsiveDisplayAdInfo';
// Emoji: Google Ads policy, Editorial requirements (symbols): emoji are not allowed in ad text.
const NO_EMOJI = { forbidWhat: 'emoji (Google Ads editorial policy)' };
// Performance Max: Google Ads API, "Asset requirements" for asset groups
// (developers.google.com/google-ads/api/performance-max/asset-requirements), and Google Ads Help
// "About text assets for Performance Max campaigns" (support.google.com/google-ads/answer/14528373),
// which asks for 3 descriptions where the API takes 2: the stricter count is kept.
const PMAX_TEXT = 'Google Ads API, Performance Max asset requirements; Google Ads Help 14528373';
const PMAX_IMAGES = 'Google Ads API, Performance Max asset requirements';

const MB = 1024 * 1024;
const KB = 1024;

/** A text rule; Google's count double-width characters twice and take no emoji. */
const text = (doc: string, field: string, max: number, more: Partial<TextRule> = {}): TextRule => ({ doc, field, max, ...more });
const gText = (doc: string, field: string, max: number): TextRule => text(doc, field, max, { width: 'google', ...NO_EMOJI });

/** An image rule: aspect ratio (±1%), smallest size, largest file, JPEG or PNG. */
const image = (
  doc: string,
  slot: string,
  ratio: number,
  [minWidth, minHeight]: [number, number],
  maxBytes: number,
  more: Partial<ImageRule> = {},
): ImageRule => ({
  doc,
  slot,
  ratio,
  tolerance: 0.01,
  minWidth,
  minHeight,
  maxBytes,
  types: ['png', 'jpeg'],
  ...more,
});

export const GOOGLE = {
  rda: {
    headline: gText(RDA, 'Headline', 30),
    headlines: { min: 1, max: 5 },
    longHeadline: gText(RDA, 'Long headline', 90),
    description: gText(RDA, 'Description', 90),
    descriptions: { min: 1, max: 5 },
    businessName: gText(RDA, 'Business name', 25),
    marketing: image(RDA, 'marketing image', 1.91, [600, 314], 5120 * KB),
    square: image(RDA, 'square marketing image', 1, [300, 300], 5120 * KB),
    logo: image(RDA, 'logo (4:1)', 4, [512, 128], 5120 * KB),
    squareLogo: image(RDA, 'square logo', 1, [128, 128], 5120 * KB),
  },
  pmax: {
    headline: gText(PMAX_TEXT, 'Headline', 30),
    /** At least one headline must be this short. */
    shortHeadline: gText(PMAX_TEXT, 'Headline (one of them)', 15),
    headlines: { min: 3, max: 15 },
    longHeadline: gText(PMAX_TEXT, 'Long headline', 90),
    longHeadlines: { min: 1, max: 5 },
    description: gText(PMAX_TEXT, 'Description', 90),
    /** At least one description must be this short. */
    shortDescription: gText(PMAX_TEXT, 'Description (one of them)', 60),
    descriptions: { min: 3, max: 5 },
    businessName: gText(PMAX_TEXT, 'Business name', 25),
    landscape: image(PMAX_IMAGES, 'landscape image', 1.91, [600, 314], 5120 * KB),
    square: image(PMAX_IMAGES, 'square image', 1, [300, 300], 5120 * KB),
    logo: image(PMAX_IMAGES, 'logo', 1, [128, 128], 5120 * KB),
    landscapeLogo: image(PMAX_IMAGES, 'landscape logo', 4, [512, 128], 5120 * KB),
  },
} as const;

// --- Meta ---
// Text: Meta Ads Guide, image ads (facebook.com/business/ads-guide/image): primary text 125, headline 27
// and description 27 characters before the feed truncates them; the issue asks for no truncation.
// Images: the same guide: 1:1 at 1080×1080, 4:5 at 1080×1350 for feeds, 9:16 at 1080×1920 for Stories
// and Reels, at least 600 px wide, JPG or PNG, 30 MB at most; Stories keep about 14% (250 px) at the
// top and bottom free of text and logos.
const META_GUIDE = 'Meta Ads Guide, image ads (facebook.com/business/ads-guide/image)';
export const META = {
  primaryText: text(META_GUIDE, 'Primary text', 125),
  headline: text(META_GUIDE, 'Headline', 27),
  description: text(META_GUIDE, 'Description', 27),
  /** asset_feed_spec holds up to 5 bodies and 5 titles (Marketing API, Dynamic Creative / asset feed spec). */
  bodies: { max: 5 },
  titles: { max: 5 },
  square: image(META_GUIDE, '1:1 feed', 1, [1080, 1080], 30 * MB),
  portrait: image(META_GUIDE, '4:5 feed', 0.8, [1080, 1350], 30 * MB),
  story: image(META_GUIDE, '9:16 Stories and Reels', 9 / 16, [1080, 1920], 30 * MB, { safeTop: 250, safeBottom: 250 }),
} as const;

/** call_to_action_types the Marketing API takes for a link ad (the common ones; Marketing API, CallToAction reference). */
export const META_CTA_TYPES = [
  'SHOP_NOW',
  'LEARN_MORE',
  'SIGN_UP',
  'BUY_NOW',
  'ORDER_NOW',
  'BOOK_TRAVEL',
  'CONTACT_US',
  'DOWNLOAD',
  'GET_OFFER',
  'GET_QUOTE',
  'SUBSCRIBE',
  'APPLY_NOW',
  'SEE_MORE',
] as const;

// --- LinkedIn ---
// Single image ads: LinkedIn Marketing Solutions, "Single image ads specifications"
// (business.linkedin.com/marketing-solutions/success/ads-guide/single-image-ads): introductory text
// up to 600 characters but 150 before "see more", headline up to 200 but 70 before it is cut on
// desktop; the issue asks for the untruncated lengths. Images 1.91:1 (1200×627) or 1:1 (1200×1200),
// JPG, PNG or GIF, 5 MB at most.
const LINKEDIN_GUIDE = 'LinkedIn ads guide, single image ads specifications';
export const LINKEDIN = {
  intro: text(LINKEDIN_GUIDE, 'Introductory text', 150),
  headline: text(LINKEDIN_GUIDE, 'Headline', 70),
  landscape: image(LINKEDIN_GUIDE, '1.91:1', 1.91, [640, 335], 5 * MB),
  square: image(LINKEDIN_GUIDE, '1:1', 1, [360, 360], 5 * MB),
} as const;

// --- TikTok ---
// TikTok Ads Manager, "Image Ads Specification" (ads.tiktok.com/help/article?aid=6701253237862825989):
// ad description 12–100 characters (Latin), no emoji, no "{ }" or "#"; brand name 2–20 characters,
// no emoji; JPG or PNG, 1.91:1 at 1200×628 or more suggested (and 9:16 for full-screen placements).
// The 500 KB file size is a suggestion there, reported as a warning, not a limit.
const TIKTOK_GUIDE = 'TikTok Ads Manager, Image Ads Specification (aid 6701253237862825989)';
export const TIKTOK = {
  text: text(TIKTOK_GUIDE, 'Ad text', 100, { min: 12, forbid: /[{}#]/u, forbidWhat: 'emoji, "{", "}" or "#"' }),
  brandName: text(TIKTOK_GUIDE, 'Brand name', 20, { min: 2, forbidWhat: 'emoji' }),
  landscape: image(TIKTOK_GUIDE, '1.91:1', 1.91, [1200, 628], 100 * MB),
  vertical: image(TIKTOK_GUIDE, '9:16', 9 / 16, [720, 1280], 100 * MB),
  suggestedMaxBytes: 500 * KB,
} as const;

/**
 * Google's display width: double-width characters (Chinese, Japanese, Korean and other full-width
 * forms) count as two toward a limit (Google Ads Help, character limits for double-width languages).
 */
export function googleWidth(text: string): number {
  let n = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x20000 && cp <= 0x3fffd);
    n += wide ? 2 : 1;
  }
  return n;
}

export function textLength(text: string, rule: Pick<TextRule, 'width'>): number {
  return rule.width === 'google' ? googleWidth(text) : charCount(text);
}

export function hasEmoji(text: string): boolean {
  return EMOJI.test(text);
}

/** Whether `text` fits the rule (length, forbidden characters; emoji where the rule forbids them). */
export function fits(text: string, rule: TextRule): boolean {
  return checkText(text, rule, '').length === 0;
}

export interface Violation {
  platform: Platform | 'all';
  /** The ad key (or "—" for the export as a whole) and the field or image slot. */
  where: string;
  rule: string;
  doc: string;
}

/** What `text` breaks of `rule` (empty: nothing). */
export function checkText(text: string, rule: TextRule, where: string, platform: Platform | 'all' = 'all'): Violation[] {
  const out: Violation[] = [];
  const n = textLength(text, rule);
  if (!text.trim()) out.push({ platform, where, rule: `${rule.field} is empty`, doc: rule.doc });
  else {
    if (n > rule.max) out.push({ platform, where, rule: `${rule.field} is ${n} characters; at most ${rule.max}`, doc: rule.doc });
    if (rule.min !== undefined && n < rule.min)
      out.push({ platform, where, rule: `${rule.field} is ${n} characters; at least ${rule.min}`, doc: rule.doc });
  }
  if (rule.forbidWhat && (rule.forbid?.test(text) || hasEmoji(text)))
    out.push({ platform, where, rule: `${rule.field} may not contain ${rule.forbidWhat}`, doc: rule.doc });
  return out;
}

export interface ImageFacts {
  width: number;
  height: number;
  /** The file's size in bytes, or its bytes. */
  bytes: number | Uint8Array;
  type: string;
}

/** What an image breaks of `rule`; `safe`: the text-free rows the image was composed with. */
export function checkImage(
  img: ImageFacts,
  rule: ImageRule,
  where: string,
  platform: Platform,
  safe?: { top: number; bottom: number },
): Violation[] {
  const out: Violation[] = [];
  const v = (r: string) => out.push({ platform, where, rule: `${rule.slot}: ${r}`, doc: rule.doc });
  const ratio = img.width / img.height;
  if (Math.abs(ratio - rule.ratio) > rule.ratio * rule.tolerance)
    v(`aspect ratio ${ratio.toFixed(3)}; needs ${rule.ratio.toFixed(3)} ±${Math.round(rule.tolerance * 100)}%`);
  if (img.width < rule.minWidth || img.height < rule.minHeight)
    v(`${img.width}×${img.height} px; at least ${rule.minWidth}×${rule.minHeight}`);
  const size = typeof img.bytes === 'number' ? img.bytes : img.bytes.byteLength;
  if (size > rule.maxBytes) v(`${size} bytes; at most ${rule.maxBytes}`);
  if (!(rule.types as string[]).includes(img.type)) v(`${img.type || 'unknown'} file; needs ${rule.types.join(' or ')}`);
  if (rule.safeTop !== undefined || rule.safeBottom !== undefined) {
    const top = safe?.top ?? 0;
    const bottom = safe?.bottom ?? 0;
    if (top < (rule.safeTop ?? 0) || bottom < (rule.safeBottom ?? 0))
      v(`text-free zones ${top}/${bottom} px (top/bottom); needs ${rule.safeTop ?? 0}/${rule.safeBottom ?? 0}`);
  }
  return out;
}
