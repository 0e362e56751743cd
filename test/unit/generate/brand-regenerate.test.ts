import { describe, expect, it } from 'vitest';
import { REPLACED, type RegenerateStages, regenerateUnderMinimum, type ScoredSlot } from '../../../src/generate/brand-regenerate.ts';
import type { BrandScore } from '../../../src/generate/brand-score.ts';
import type { CopyDraft } from '../../../src/generate/copy.ts';

const score = (s: number, failed = 'missing "Northwind"'): BrandScore => ({
  score: s,
  passed: Math.round(s * 4),
  applicable: 4,
  minimum: 0.75,
  rules: s < 1 ? [{ rule: 'must_say', status: 'failed', detail: failed }] : [],
});
const draft = (headline: string): CopyDraft => ({ headline, body: 'b', cta: 'c', concept: headline, flags: [], offline: true });
const slot = (headline: string, s: number, job: number): ScoredSlot<string> => ({
  c: { draft: draft(headline), visual: new Uint8Array([job]), job },
  out: `render of ${headline}`,
  brand: score(s),
  embedding: new Float32Array([job]),
});

function stages(over: Partial<RegenerateStages<string>> & { newScore?: number } = {}) {
  const calls = { write: [] as [string[], number][], draw: [] as number[][], render: 0 };
  const s: RegenerateStages<string> = {
    write: async (feedback, count) => {
      calls.write.push([feedback, count]);
      return { drafts: Array.from({ length: count }, (_, i) => draft(`again ${i}`)), failures: [], textCalls: 1 };
    },
    draw: async (asks) => {
      calls.draw.push(asks.map((a) => a.job));
      return asks.map(() => ({ ok: true as const, image: new Uint8Array([9]) }));
    },
    embed: async (v) => v.map(() => new Float32Array([9])),
    render: async (_v, d) => {
      calls.render++;
      return { out: `render of ${d.headline}`, brand: score(over.newScore ?? 1) };
    },
    ...over,
  };
  return { s, calls };
}

describe('the one regeneration under a kit minimum', () => {
  it('makes only the slots under the minimum again, from their own image jobs, once, and keeps the better attempt', async () => {
    const slots = [slot('fine', 1, 0), slot('weak', 0.5, 3), undefined];
    const { s, calls } = stages();
    expect(await regenerateUnderMinimum(slots, s)).toEqual([]);
    expect(calls.write).toEqual([[['Brand rules a variant failed (fix them): must-say words: missing "Northwind"'], 1]]);
    expect(calls.draw).toEqual([[3]]);
    expect(slots[0]?.c.draft.headline).toBe('fine');
    expect(slots[1]).toMatchObject({
      c: { job: 3, draft: { headline: 'again 0' } },
      out: 'render of again 0',
      brand: { score: 1, regenerated: true },
    });
    expect(slots[1]?.embedding).toEqual(new Float32Array([9]));
    expect(slots[1]?.c.draft.flags).toEqual([REPLACED]);
  });

  it('keeps the first attempt when the second scores lower, and says it was made again', async () => {
    const slots = [slot('weak', 0.5, 0)];
    await regenerateUnderMinimum(slots, stages({ newScore: 0.25 }).s);
    expect(slots[0]).toMatchObject({ c: { draft: { headline: 'weak' } }, brand: { score: 0.5, regenerated: true } });
  });

  it('reports a failed regeneration and leaves the first attempts; a picture that fails is named', async () => {
    const slots = [slot('weak', 0.5, 0), slot('weaker', 0.25, 1)];
    const failed = await regenerateUnderMinimum(slots, stages({ write: async () => Promise.reject(new Error('text API down')) }).s);
    expect(failed).toEqual([{ stage: 'copy', message: expect.stringMatching(/failed \(text API down\); the first attempts are shown/) }]);
    expect(slots.map((x) => x?.c.draft.headline)).toEqual(['weak', 'weaker']);

    const { s } = stages({
      draw: async (asks) =>
        asks.map((_, i) =>
          i === 0 ? { ok: false as const, error: 'model timed out' } : { ok: true as const, image: new Uint8Array([9]) },
        ),
    });
    const failed2 = await regenerateUnderMinimum(slots, s);
    expect(failed2).toEqual([{ stage: 'image', message: 'regeneration for the brand minimum ("again 0"): model timed out' }]);
    expect(slots[0]?.c.draft.headline).toBe('weak');
    expect(slots[1]?.c.draft.headline).toBe('again 1');
  });

  it('does nothing when no slot is under the minimum', async () => {
    const { s, calls } = stages();
    await regenerateUnderMinimum([slot('fine', 1, 0)], s);
    expect(calls.write).toEqual([]);
  });
});
