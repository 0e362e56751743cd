/**
 * The one regeneration a kit's minimum brand score asks for: the variants under it get new copy
 * (the copywriter told which rules failed) and a new picture, are composed and scored again, and
 * the better of the two attempts is kept (a regeneration must not make a variant worse). Whatever
 * the outcome there is no second round: a variant still under the minimum is shown with a warning
 * (pipeline.ts). The pipeline supplies its own stages, so this holds only the rule.
 */
import { GenerationError } from '../errors.ts';
import { type BrandScore, belowMinimum, failedRules } from './brand-score.ts';
import type { CopyDraft, CopyOutcome } from './copy.ts';
import type { ImageOutcome } from './images.ts';
import type { GenerationFailure } from './types.ts';

export const REPLACED = "made again once for the kit's minimum brand score; its ranking scores are the first attempt's";

/** A shown variant as the pipeline holds it before it becomes a GeneratedVariant. */
export interface ScoredSlot<O> {
  c: { draft: CopyDraft; visual: Uint8Array; job: number };
  out: O;
  brand: BrandScore;
  embedding: Float32Array;
}

export interface RegenerateStages<O> {
  /** New copy for `count` variants, with the failed rules as feedback. */
  write(feedback: string[], count: number): Promise<CopyOutcome>;
  /** A new picture for each (from the slot's original image job, with the new copy and another seed). */
  draw(requests: { job: number; draft: CopyDraft; salt: number }[]): Promise<ImageOutcome[]>;
  embed(visuals: Uint8Array[]): Promise<Float32Array[]>;
  render(visual: Uint8Array, draft: CopyDraft): Promise<{ out: O; brand: BrandScore }>;
}

/**
 * Regenerates, in place, the slots under the kit's minimum, once. Returns what went wrong (a
 * regeneration that failed leaves the first attempt, said as a failure; it never fails the round).
 */
export async function regenerateUnderMinimum<O, S extends ScoredSlot<O>>(
  slots: (S | undefined)[],
  stages: RegenerateStages<O>,
): Promise<GenerationFailure[]> {
  const retry = slots.flatMap((x, i) => (x && belowMinimum(x.brand) ? [i] : []));
  if (!retry.length) return [];
  const failures: GenerationFailure[] = [];
  const slot = (i: number) => slots[i] as S;
  try {
    const feedback = retry.map((i) => `Brand rules a variant failed (fix them): ${failedRules(slot(i).brand).join('; ')}`);
    const again = await stages.write(feedback, retry.length);
    failures.push(...again.failures);
    if (again.drafts.length < retry.length)
      failures.push({
        stage: 'copy',
        message: `regeneration for the brand minimum wrote ${again.drafts.length} of ${retry.length} variants`,
      });
    const pairs = retry.slice(0, again.drafts.length).map((i, k) => ({ i, draft: again.drafts[k] }));
    const drawn = await stages.draw(pairs.map(({ i, draft }) => ({ job: slot(i).c.job, draft, salt: i + 1 })));
    const ready = pairs.flatMap((p, k) => {
      const o = drawn[k];
      if (o.ok) return [{ ...p, visual: o.image }];
      failures.push({ stage: 'image', message: `regeneration for the brand minimum ("${p.draft.headline}"): ${o.error}` });
      return [];
    });
    const embs = ready.length ? await stages.embed(ready.map((p) => p.visual)) : [];
    for (const [k, p] of ready.entries()) {
      const old = slot(p.i);
      const { out, brand } = await stages.render(p.visual, p.draft);
      slots[p.i] =
        (brand.score ?? 0) >= (old.brand.score ?? 0)
          ? {
              ...old,
              // Ranking is not run again for one replacement: say so rather than pass the first attempt's scores off as this one's.
              c: { draft: { ...p.draft, flags: [...p.draft.flags, REPLACED] }, visual: p.visual, job: old.c.job },
              out,
              brand: { ...brand, regenerated: true },
              embedding: embs[k],
            }
          : { ...old, brand: { ...old.brand, regenerated: true } };
    }
  } catch (e) {
    if (e instanceof GenerationError && e.code === 'CANCELLED') throw e;
    failures.push({
      stage: 'copy',
      message: `regenerating variants under the brand minimum failed (${e instanceof Error ? e.message : String(e)}); the first attempts are shown`,
    });
  }
  return failures;
}
