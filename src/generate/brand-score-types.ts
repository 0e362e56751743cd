/**
 * The brand score as data (what a variant carries, what rounds store in its scores JSON, what
 * variants.json shows). The rules that compute it are in brand-score.ts; these types stand apart
 * so the copywriter and the variant types can name them without importing the rules.
 */
export const BRAND_RULES = ['colours', 'logo_contrast', 'must_say', 'never_say', 'channel_limits', 'safe_zones', 'tone'] as const;
export type BrandRuleId = (typeof BRAND_RULES)[number];

export interface BrandRuleResult {
  rule: BrandRuleId;
  status: 'passed' | 'failed' | 'not_applicable';
  /** What was found: why it failed, why it could not be judged, or what passed. */
  detail: string;
}

/** Stored as JSON with the variant's scores (rounds keep `scores` as JSON): fields added later must be optional. */
export interface BrandScore {
  /** passed / applicable, 0..1; null when no rule applied. */
  score: number | null;
  passed: number;
  applicable: number;
  rules: BrandRuleResult[];
  /** The kit's minimum, when it sets one. */
  minimum?: number;
  /** The variant was made again once because its first attempt scored under the minimum. */
  regenerated?: boolean;
}

/** What the copywriter said of its own copy against the kit's tone words (OpenAI only). */
export interface ToneSelfCheck {
  respected: boolean;
  note: string;
}
