/** Variant records for simulated candidates (learn/taste-sim.ts), as a round stores them. */
import type { SimCreative } from '../../src/learn/taste-sim.ts';
import type { VariantRecord } from '../../src/rounds/types.ts';

export function simVariantRecords(roundId: string, cands: SimCreative[], messageTs?: (i: number) => string): VariantRecord[] {
  return cands.map((c, i) => ({
    id: `${roundId}-${String.fromCharCode(65 + i)}`,
    roundId,
    label: String.fromCharCode(65 + i),
    position: i,
    headline: c.headline,
    body: c.body,
    cta: 'Go',
    concept: '',
    reason: '',
    scores: { relevance: 0.3, novelty: 0.2, diversity: 0.3, preference: 0.5, total: 0.6 },
    offline: true,
    flags: [],
    formats: ['square'],
    messageTs: messageTs ? messageTs(i) : null,
    fileId: null,
  }));
}
