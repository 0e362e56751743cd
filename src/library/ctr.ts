/**
 * Smoothed CTR: the posterior mean of a Beta prior centred on the library's overall CTR.
 * With mean m and strength s (pseudo-impressions), smoothed = (clicks + m·s) / (impressions + s),
 * so 1 click in 2 impressions stays near the library average while 500 in 20,000 keeps its 2.5 %.
 * The strength is estimated from the library itself (empirical Bayes, method of moments on the
 * per-creative CTRs) unless configured.
 */
export interface CtrPrior {
  mean: number;
  strength: number;
  /** True when the strength came from the data rather than the fallback or the setting. */
  estimated: boolean;
}

export const DEFAULT_PRIOR_MEAN = 0.01;
export const DEFAULT_PRIOR_STRENGTH = 1000;
const MIN_ROWS_FOR_ESTIMATE = 20;
/** Creatives with fewer impressions add more binomial noise than signal to the variance. */
const MIN_IMPRESSIONS_FOR_ESTIMATE = 100;

export function smoothedCtr(clicks: number, impressions: number, prior: CtrPrior): number {
  const c = Math.max(0, Math.min(clicks, impressions));
  return (c + prior.mean * prior.strength) / (Math.max(0, impressions) + prior.strength);
}

export function rawCtr(clicks: number, impressions: number): number {
  return impressions > 0 ? Math.min(clicks, impressions) / impressions : 0;
}

/**
 * Fits the prior to per-creative (clicks, impressions). The variance of observed CTRs is the
 * prior's variance m(1−m)/(s+1) plus binomial noise m(1−m)/n; solving for s gives the strength.
 */
export function estimatePrior(rows: { clicks: number; impressions: number }[], configured: number | 'auto'): CtrPrior {
  let clicks = 0;
  let imps = 0;
  for (const r of rows) {
    if (r.impressions > 0) {
      clicks += Math.min(r.clicks, r.impressions);
      imps += r.impressions;
    }
  }
  const mean = imps > 0 && clicks > 0 ? clicks / imps : DEFAULT_PRIOR_MEAN;
  if (configured !== 'auto') return { mean, strength: configured, estimated: false };
  const usable = rows.filter((r) => r.impressions >= MIN_IMPRESSIONS_FOR_ESTIMATE);
  if (usable.length < MIN_ROWS_FOR_ESTIMATE) return { mean, strength: DEFAULT_PRIOR_STRENGTH, estimated: false };
  let varSum = 0;
  let noise = 0;
  for (const r of usable) {
    const p = Math.min(r.clicks, r.impressions) / r.impressions;
    varSum += (p - mean) ** 2;
    noise += (mean * (1 - mean)) / r.impressions;
  }
  const between = varSum / usable.length - noise / usable.length;
  if (!(between > 0)) return { mean, strength: 1e6, estimated: true }; // no spread beyond noise: pool hard
  const strength = (mean * (1 - mean)) / between - 1;
  return { mean, strength: Math.min(1e6, Math.max(10, strength)), estimated: true };
}

/** log2(smoothed / library mean), clamped to ±1: +1 for twice the average CTR, −1 for half. */
export function performanceLift(smoothed: number, prior: CtrPrior): number {
  if (!(prior.mean > 0) || !(smoothed > 0)) return 0;
  return Math.max(-1, Math.min(1, Math.log2(smoothed / prior.mean)));
}
