/**
 * Rounds with audience segments (generate/audiences.ts): each segment's variants compete among
 * themselves. The tally names each segment's leader; at close each segment with votes has a
 * winner of its own, which goes to the library tagged with its audience.
 */
import { describeError } from '../errors.ts';
import { audienceTag } from '../library/audience.ts';
import type { Library } from '../library/types.ts';
import type { VariantAssets } from './assets.ts';
import { promoteWinner, type WinnerProvenance, type winnerCreative } from './promote.ts';
import type { CloseOutcome } from './service.ts';
import { decideWinner, type Tally, type TallyVariant } from './tally.ts';
import type { RoundOptions, VariantRecord } from './types.ts';
import type { SegmentStanding } from './view.ts';

export function hasAudiences(o: Pick<RoundOptions, 'audiences'>): boolean {
  return (o.audiences?.length ?? 0) > 0;
}

/** The variants of each segment, segments in the order their first variant comes. */
export function groupByAudience<V extends Pick<VariantRecord, 'audience' | 'position'>>(
  variants: V[],
): { audience: string; variants: V[] }[] {
  const groups = new Map<string, V[]>();
  for (const v of [...variants].sort((a, b) => a.position - b.position)) {
    const key = v.audience ?? '';
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  return [...groups].map(([audience, vs]) => ({ audience, variants: vs }));
}

/**
 * Each segment's standing, decided as the round's winner is (most votes, then predicted
 * preference, then position) among that segment's variants only. `forced`: a winner chosen
 * otherwise (an approvers' quorum) leads its own segment whatever the votes say.
 */
export function segmentStandings(
  variants: VariantRecord[],
  t: Tally,
  toTally: (v: VariantRecord) => TallyVariant,
  forced?: string | null,
): SegmentStanding[] {
  return groupByAudience(variants)
    .filter((g) => g.audience)
    .map(({ audience, variants: vs }) => {
      const ids = new Set(vs.map((v) => v.id));
      const entries = t.entries.filter((e) => ids.has(e.variantId));
      const total = entries.reduce((n, e) => n + e.votes, 0);
      const d = decideWinner(vs.map(toTally), { total, entries });
      const winnerId = forced && ids.has(forced) ? forced : d.winnerId;
      const w = vs.find((v) => v.id === winnerId);
      const votes = entries.find((e) => e.variantId === winnerId)?.votes ?? 0;
      return {
        audience,
        labels: vs.map((v) => v.label),
        votes: total,
        leader: w ? { variantId: w.id, label: w.label, headline: w.headline, votes, tie: d.tie && winnerId === d.winnerId } : null,
      };
    });
}

/**
 * A next round's leader per segment: the variant a person picked ("more like this") leads its
 * own segment; every other segment is led by its vote leader in the previous round, if it had one.
 */
export function segmentLeaderIds(
  variants: VariantRecord[],
  t: Tally,
  toTally: (v: VariantRecord) => TallyVariant,
  picked?: string,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of segmentStandings(variants, t, toTally, picked)) if (s.leader) out.set(s.audience, s.leader.variantId);
  return out;
}

/** What became of one segment's winner at close. */
export type SegmentPromotion =
  | { audience: string; label: string; kind: 'stored'; creativeId: string; assets: VariantAssets }
  | { audience: string; label: string; kind: 'store_failed'; detail: string; assets: VariantAssets }
  | { audience: string; label: string; kind: 'images_missing' };

/**
 * Promotes every segment's winner (segments without votes have none) into the library, tagged
 * with its audience (`audience:<segment>`) beside "winner", its provenance naming the segment.
 */
export async function promoteSegmentWinners(
  o: CloseOutcome,
  toTally: (v: VariantRecord) => TallyVariant,
  load: (variant: VariantRecord) => Promise<VariantAssets | undefined>,
  library: () => Promise<Pick<Library, 'add'>>,
): Promise<SegmentPromotion[]> {
  const out: SegmentPromotion[] = [];
  for (const s of segmentStandings(o.variants, o.tally, toTally, o.decision.winnerId)) {
    const winner = o.variants.find((v) => v.id === s.leader?.variantId);
    if (!winner || !s.leader) continue;
    const assets = await load(winner).catch(() => undefined);
    if (!assets) {
      out.push({ audience: s.audience, label: winner.label, kind: 'images_missing' });
      continue;
    }
    try {
      const seg: CloseOutcome = { ...o, winner, decision: { ...o.decision, winnerId: winner.id, tie: s.leader.tie } };
      const creativeId = await promoteWinner(seg, assets, {
        add: async (items) => (await library()).add(items.map((c) => segmentCreative(c, s.audience))),
      });
      out.push({ audience: s.audience, label: winner.label, kind: 'stored', creativeId, assets });
    } catch (e) {
      out.push({ audience: s.audience, label: winner.label, kind: 'store_failed', detail: describeError(e), assets });
    }
  }
  return out;
}

/** A winner's library row for one segment: the audience tag, and the segment in its provenance. */
function segmentCreative<C extends ReturnType<typeof winnerCreative>>(c: C, audience: string): C {
  const provenance: WinnerProvenance & { audience: string } = { ...(JSON.parse(c.provenance ?? '{}') as WinnerProvenance), audience };
  return { ...c, tags: [...(c.tags ?? []), audienceTag(audience)], provenance: JSON.stringify(provenance) };
}
