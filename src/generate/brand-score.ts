/**
 * A variant's brand score: the share of its brand kit's rules it passes, with every failed rule
 * named. The rules: the kit's colours present in the rendered image, the logo at ≥ 3:1 against
 * what is behind it, the must-say words present, the never-say words absent, the copy within the
 * channel's limits, the text inside each format's safe zone, and the tone words respected (the
 * OpenAI copywriter's own check, asked in the same call). A rule that cannot be judged for this
 * variant (no logo in the kit, no tone words, offline copy with no self-check) is "not
 * applicable": it leaves the denominator and says why. It never counts as passed.
 */
import { COLOUR_PRESENCE_MIN_SHARE, type ColourShare, colourShares } from '../image/brand-colours.ts';
import { type ComposeResult, LOGO_CONTRAST, type Rect } from '../image/compose.ts';
import { type ChannelLimits, FORMAT_SPECS, type FormatName } from '../vocabulary.ts';
import { countLength } from '../words.ts';
import type { BrandRuleId, BrandRuleResult, BrandScore, ToneSelfCheck } from './brand-score-types.ts';
import type { BrandKit } from './brands.ts';
import { findBanned } from './copy.ts';
import type { Copy } from './types.ts';

export type { BrandRuleId, BrandRuleResult, BrandScore, ToneSelfCheck } from './brand-score-types.ts';
export { BRAND_RULES } from './brand-score-types.ts';

/** How each rule is named to people (the thread, the CLI). */
export const BRAND_RULE_NAMES: Record<BrandRuleId, string> = {
  colours: 'brand colours in the image',
  logo_contrast: `logo contrast ≥ ${LOGO_CONTRAST}:1`,
  must_say: 'must-say words',
  never_say: 'never-say words',
  channel_limits: 'channel copy limits',
  safe_zones: 'text inside safe zones',
  tone: 'tone words (copywriter self-check)',
};

/** What composition reported of one format, plus the colour shares measured in its final render. */
export interface RenderFacts {
  format: FormatName;
  headlineBox: Rect;
  ctaBox: Rect;
  /** Absent when the kit has no logo. */
  logoContrast?: number;
  colours: ColourShare[];
}

export interface BrandScoreInput {
  copy: Copy;
  kit: BrandKit;
  channel: string;
  limits: ChannelLimits;
  renders: RenderFacts[];
  /** Absent: the copywriter gave none (offline copy, or a person edited the copy). */
  tone?: ToneSelfCheck;
  /** Why there is no tone self-check, when there is none. */
  toneAbsentWhy?: string;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const quote = (ws: string[]) => ws.map((w) => `"${w}"`).join(', ');

function copyText(c: Copy): string {
  return [c.headline, c.body, c.cta].join('\n');
}

function coloursRule(renders: RenderFacts[]): BrandRuleResult {
  if (!renders.length) return { rule: 'colours', status: 'not_applicable', detail: 'no rendered format to measure' };
  const missing: string[] = [];
  for (const r of renders)
    for (const c of r.colours)
      if (c.share < COLOUR_PRESENCE_MIN_SHARE) missing.push(`${c.name} ${c.hex} covers ${pct(c.share)} of ${r.format}`);
  return missing.length
    ? { rule: 'colours', status: 'failed', detail: `${missing.join('; ')} (needs ≥ ${pct(COLOUR_PRESENCE_MIN_SHARE)})` }
    : {
        rule: 'colours',
        status: 'passed',
        detail: renders[0].colours.map((c) => `${c.name} ${pct(c.share)}`).join(', ') + ` in ${renders[0].format}`,
      };
}

function logoRule(kit: BrandKit, renders: RenderFacts[]): BrandRuleResult {
  if (!kit.logo.length) return { rule: 'logo_contrast', status: 'not_applicable', detail: 'the brand kit has no logo' };
  const measured = renders.filter((r) => typeof r.logoContrast === 'number');
  if (!measured.length) return { rule: 'logo_contrast', status: 'not_applicable', detail: 'no format drew the logo' };
  const low = measured.filter((r) => (r.logoContrast as number) < LOGO_CONTRAST);
  const fmt = (r: RenderFacts) => `${r.format} ${(r.logoContrast as number).toFixed(2)}:1`;
  return low.length
    ? { rule: 'logo_contrast', status: 'failed', detail: `logo contrast below ${LOGO_CONTRAST}:1 in ${low.map(fmt).join(', ')}` }
    : { rule: 'logo_contrast', status: 'passed', detail: measured.map(fmt).join(', ') };
}

function mustSayRule(kit: BrandKit, copy: Copy): BrandRuleResult {
  if (!kit.mustSay.length) return { rule: 'must_say', status: 'not_applicable', detail: 'the brand kit has no must-say words' };
  const present = findBanned(copyText(copy), kit.mustSay);
  const missing = kit.mustSay.filter((w) => !present.includes(w));
  return missing.length
    ? { rule: 'must_say', status: 'failed', detail: `missing ${quote(missing)}` }
    : { rule: 'must_say', status: 'passed', detail: `says ${quote(kit.mustSay)}` };
}

function neverSayRule(kit: BrandKit, copy: Copy): BrandRuleResult {
  if (!kit.neverSay.length) return { rule: 'never_say', status: 'not_applicable', detail: 'the brand kit has no never-say words' };
  const found = findBanned(copyText(copy), kit.neverSay);
  return found.length
    ? { rule: 'never_say', status: 'failed', detail: `uses ${quote(found)}` }
    : { rule: 'never_say', status: 'passed', detail: 'none used' };
}

function limitsRule(copy: Copy, channel: string, limits: ChannelLimits): BrandRuleResult {
  const over: string[] = [];
  for (const field of ['headline', 'body', 'cta'] as const) {
    const n = countLength(copy[field], limits.count);
    if (n > limits[field].max) over.push(`${limits[field].label} is ${n}, limit ${limits[field].max}`);
  }
  return over.length
    ? { rule: 'channel_limits', status: 'failed', detail: `${channel}: ${over.join('; ')}` }
    : { rule: 'channel_limits', status: 'passed', detail: `within ${channel} limits` };
}

/** A box lies in the format's safe area: inside the canvas and clear of the top and bottom zones kept free of text (stories). */
function outside(box: Rect, format: FormatName): string | undefined {
  const s = FORMAT_SPECS[format];
  const problems: string[] = [];
  // Half a pixel of slack: boxes are placed at fractional positions and drawn rounded.
  if (box.y < s.safeTop - 0.5) problems.push(`top at ${Math.round(box.y)} px, safe zone starts at ${s.safeTop}`);
  if (box.y + box.height > s.height - s.safeBottom + 0.5)
    problems.push(`bottom at ${Math.round(box.y + box.height)} px, safe zone ends at ${s.height - s.safeBottom}`);
  if (box.x < -0.5 || box.x + box.width > s.width + 0.5) problems.push('runs past the side of the canvas');
  return problems.length ? problems.join(', ') : undefined;
}

function safeZonesRule(renders: RenderFacts[]): BrandRuleResult {
  if (!renders.length) return { rule: 'safe_zones', status: 'not_applicable', detail: 'no rendered format to measure' };
  const bad: string[] = [];
  for (const r of renders) {
    const h = outside(r.headlineBox, r.format);
    if (h) bad.push(`${r.format} headline: ${h}`);
    const c = outside(r.ctaBox, r.format);
    if (c) bad.push(`${r.format} CTA: ${c}`);
  }
  return bad.length
    ? { rule: 'safe_zones', status: 'failed', detail: bad.join('; ') }
    : { rule: 'safe_zones', status: 'passed', detail: `inside the safe zones of ${renders.map((r) => r.format).join(', ')}` };
}

function toneRule(kit: BrandKit, tone: ToneSelfCheck | undefined, absentWhy: string | undefined): BrandRuleResult {
  if (!kit.toneWords.length) return { rule: 'tone', status: 'not_applicable', detail: 'the brand kit names no tone words' };
  if (!tone) return { rule: 'tone', status: 'not_applicable', detail: absentWhy ?? 'the copywriter gave no tone self-check' };
  const note = tone.note.trim();
  return tone.respected
    ? { rule: 'tone', status: 'passed', detail: note ? `copywriter: ${note}` : `copywriter says it respects ${quote(kit.toneWords)}` }
    : { rule: 'tone', status: 'failed', detail: note ? `copywriter: ${note}` : `copywriter says it misses ${quote(kit.toneWords)}` };
}

export function brandScore(input: BrandScoreInput): BrandScore {
  const rules: BrandRuleResult[] = [
    coloursRule(input.renders),
    logoRule(input.kit, input.renders),
    mustSayRule(input.kit, input.copy),
    neverSayRule(input.kit, input.copy),
    limitsRule(input.copy, input.channel, input.limits),
    safeZonesRule(input.renders),
    toneRule(input.kit, input.tone, input.toneAbsentWhy),
  ];
  const applicable = rules.filter((r) => r.status !== 'not_applicable').length;
  const passed = rules.filter((r) => r.status === 'passed').length;
  return {
    score: applicable ? passed / applicable : null,
    passed,
    applicable,
    rules,
    ...(input.kit.minBrandScore !== undefined ? { minimum: input.kit.minBrandScore } : {}),
  };
}

/** Below the kit's minimum (a variant with no applicable rule is never below it). */
export function belowMinimum(s: BrandScore): boolean {
  return s.minimum !== undefined && s.score !== null && s.score < s.minimum;
}

/** "83% (5 of 6 rules)" or "n/a (no rule applies)". */
export function brandScoreSummary(s: BrandScore): string {
  if (s.score === null) return 'brand score n/a (no rule applies)';
  return `brand score ${Math.round(100 * s.score)}% (${s.passed} of ${s.applicable} rules)`;
}

/** The failed rules, each with what was found: "must-say words: missing "Northwind"". */
export function failedRules(s: BrandScore): string[] {
  return s.rules.filter((r) => r.status === 'failed').map((r) => `${BRAND_RULE_NAMES[r.rule]}: ${r.detail}`);
}

/** The warning a variant carries when it is shown under the kit's minimum after its one regeneration. */
export function belowMinimumWarning(s: BrandScore): string {
  const min = Math.round(100 * (s.minimum ?? 0));
  return `brand score ${Math.round(100 * (s.score ?? 0))}% is below the kit's minimum ${min}%${s.regenerated ? ' after one regeneration' : ''}; failed: ${failedRules(s).join('; ')}`;
}

/** The kit's colours the "colours present" rule looks for. The text colour is left out: the headline is drawn in it by construction, so finding it would measure nothing about the brand. */
export function brandColours(kit: BrandKit): { name: string; hex: string }[] {
  return [
    { name: 'primary', hex: kit.colors.primary },
    { name: 'accent', hex: kit.colors.accent },
  ];
}

/** What one composed format contributes to the score: composition's own measurements, and the colours counted in its final PNG. */
export async function renderFacts(format: FormatName, r: ComposeResult, kit: BrandKit): Promise<RenderFacts> {
  return {
    format,
    headlineBox: r.headlineBox,
    ctaBox: r.ctaBox,
    logoContrast: r.logoContrast,
    colours: await colourShares(r.png, brandColours(kit)),
  };
}

/** The rules that could not be judged, named: "tone words (copywriter self-check): offline copy: no copywriter self-check". */
export function notApplicableRules(s: BrandScore): string[] {
  return s.rules.filter((r) => r.status === 'not_applicable').map((r) => `${BRAND_RULE_NAMES[r.rule]}: ${r.detail}`);
}

/** One line for people (the thread, the CLI): the score, then each failed rule, then what was not judged. */
export function brandScoreLine(s: BrandScore): string {
  const failed = failedRules(s);
  const na = notApplicableRules(s);
  return [
    brandScoreSummary(s) + (s.regenerated ? ', regenerated once' : ''),
    failed.length ? `failed: ${failed.join('; ')}` : '',
    na.length ? `not applicable: ${na.join('; ')}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}
