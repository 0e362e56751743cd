/**
 * When OpenAI shuts a model down. After its shutdown date a model "no longer accepts requests
 * through the standard API" (https://developers.openai.com/api/docs/deprecations), so a bot
 * configured with it would start, take a brief, and fail every round at the first image. The
 * start-up check below refuses such a setting and names the replacement OpenAI recommends, and
 * warns about a model whose date is near, while there is still time to move.
 *
 * Sources, read 2026-12-05: OpenAI's deprecations page (gpt-image-1-mini, gpt-image-1.5 on
 * 2026-12-01 → gpt-image-2.6-sunburst or -flare; gpt-5, gpt-5-mini, gpt-5-nano on 2026-12-11);
 * the legacy-models notice of 2026-04-22 on the same page's history (gpt-image-1, gpt-4.1-nano
 * on 2026-10-23); the DALL·E notice (dall-e-2, dall-e-3 on 2026-05-12); the notice of 2026-10-14
 * (gpt-4o, gpt-4o-mini, gpt-4.1, gpt-4.1-mini on 2027-01-14). Dates change: OpenAI also serves
 * each model's `shutdown_date` from GET /v1/models, which is the authority when they disagree.
 */

export interface Retirement {
  /** YYYY-MM-DD, the first day the model is refused. */
  shutdown: string;
  /** What OpenAI recommends instead. */
  replacement: string;
}

export const RETIREMENTS: Readonly<Record<string, Retirement>> = {
  'dall-e-2': { shutdown: '2026-05-12', replacement: 'gpt-image-2.6-sunburst' },
  'dall-e-3': { shutdown: '2026-05-12', replacement: 'gpt-image-2.6-sunburst' },
  'gpt-image-1': { shutdown: '2026-10-23', replacement: 'gpt-image-2.6-sunburst' },
  'gpt-image-1-mini': { shutdown: '2026-12-01', replacement: 'gpt-image-2.6-flare' },
  'gpt-image-1.5': { shutdown: '2026-12-01', replacement: 'gpt-image-2.6-sunburst' },
  'gpt-4.1-nano': { shutdown: '2026-10-23', replacement: 'gpt-6-luna' },
  'gpt-5': { shutdown: '2026-12-11', replacement: 'gpt-6.1-sol' },
  'gpt-5-mini': { shutdown: '2026-12-11', replacement: 'gpt-6.1-terra' },
  'gpt-5-nano': { shutdown: '2026-12-11', replacement: 'gpt-6-luna' },
  'gpt-4o': { shutdown: '2027-01-14', replacement: 'gpt-6.1-sol' },
  'gpt-4o-mini': { shutdown: '2027-01-14', replacement: 'gpt-6-luna' },
  'gpt-4.1': { shutdown: '2027-01-14', replacement: 'gpt-6.1-sol' },
  'gpt-4.1-mini': { shutdown: '2027-01-14', replacement: 'gpt-6-luna' },
};

/** How long before its shutdown a model in use is warned about at every start. */
export const WARN_DAYS = 60;

const DAY_MS = 86_400_000;

export type Lifecycle =
  | { state: 'active' }
  | { state: 'deprecated'; shutdown: string; replacement: string; daysLeft: number }
  | { state: 'shut-down'; shutdown: string; replacement: string };

/** The model's state on `today`; a model the table does not list is active. */
export function lifecycleOf(model: string, today: Date): Lifecycle {
  const r = Object.hasOwn(RETIREMENTS, model) ? RETIREMENTS[model] : undefined;
  if (!r) return { state: 'active' };
  const daysLeft = Math.ceil((Date.parse(`${r.shutdown}T00:00:00Z`) - today.getTime()) / DAY_MS);
  if (daysLeft <= 0) return { state: 'shut-down', ...r };
  return { state: 'deprecated', ...r, daysLeft };
}

export interface ModelInUse {
  /** The setting that names it, e.g. OPENAI_IMAGE_MODEL. */
  variable: string;
  model: string;
}

/**
 * Problems (refuse to start) and warnings (start, and say so) for the models in use. On OpenAI's
 * own API a shut-down model is a problem; through OPENAI_BASE_URL the server is the judge (Azure,
 * a proxy or a local server may still serve the name), so it is only a warning there.
 */
export function checkLifecycles(
  models: readonly ModelInUse[],
  today: Date,
  compatibleServer: boolean,
): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const { variable, model } of models) {
    const l = lifecycleOf(model, today);
    if (l.state === 'shut-down') {
      const msg = `${variable}=${model}: OpenAI shut this model down on ${l.shutdown}; set ${variable}=${l.replacement} (OpenAI's recommended replacement) or another current model`;
      (compatibleServer ? warnings : problems).push(compatibleServer ? `${msg} (kept: OPENAI_BASE_URL is set)` : msg);
    } else if (l.state === 'deprecated' && l.daysLeft <= WARN_DAYS) {
      warnings.push(
        `${variable}=${model}: OpenAI shuts this model down on ${l.shutdown} (${l.daysLeft} day${l.daysLeft === 1 ? '' : 's'} left); its recommended replacement is ${l.replacement}`,
      );
    }
  }
  return { problems, warnings };
}
