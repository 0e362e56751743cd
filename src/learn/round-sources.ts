/**
 * The round store seen by the learning loop: rounds with their variants' scores and vote
 * counts (for the report and `/adcreative stats`), and votes as preference training data.
 *
 * A vote's training record needs each shown variant's image embedding (kept with its assets
 * when the round was generated) and copy embedding (made again from the stored copy with
 * the current encoder, the library's caption rule: "headline — body"). Only rounds that
 * are over (closed, or superseded by a later round) count: an open round's votes may move.
 */
import type { Encoder } from '../clip/types.ts';
import type { AssetStore } from '../rounds/assets.ts';
import type { Round, RoundStore, VariantRecord } from '../rounds/types.ts';
import { copyText, type ShownVariant, type VoteRecord } from './preference.ts';
import type { RoundStatsSource, RoundSummary, VoteSource } from './sources.ts';

type StoreView = Pick<RoundStore, 'roundsWithStatus' | 'listVariants' | 'listVotes'>;

const briefOf = (r: Round) => `${r.channel}:${r.threadTs}`;

/** Every round that got as far as variants, oldest first, as the reports see it. */
export async function roundSummaries(store: StoreView): Promise<RoundSummary[]> {
  const rounds = await store.roundsWithStatus(['open', 'closed', 'superseded']);
  rounds.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  const out: RoundSummary[] = [];
  for (const r of rounds) {
    const [variants, votes] = await Promise.all([store.listVariants(r.id), store.listVotes(r.id)]);
    const count = new Map<string, number>();
    for (const v of votes) count.set(v.variantId, (count.get(v.variantId) ?? 0) + 1);
    out.push({
      roundId: r.id,
      briefId: briefOf(r),
      brief: r.brief,
      number: r.number,
      status: r.status === 'open' ? 'open' : 'closed',
      closedAt: r.closedAt ?? undefined,
      variants: variants.map((v) => ({
        variantId: v.id,
        label: v.label,
        scores: { relevance: v.scores.relevance, novelty: v.scores.novelty, preference: v.scores.preference },
        votes: count.get(v.id) ?? 0,
        winner: r.winnerVariantId === v.id,
      })),
    });
  }
  return out;
}

export function roundStatsSource(store: StoreView): RoundStatsSource {
  return { rounds: () => roundSummaries(store) };
}

/**
 * The variants a round showed, with their image embedding (from the assets kept when the
 * round was made) and copy embedding (the stored copy, embedded again); variants without
 * stored assets are left out.
 */
export async function shownVariants(
  deps: { store: Pick<RoundStore, 'listVariants'>; assets: Pick<AssetStore, 'load'>; encoder: Pick<Encoder, 'embedTexts'> },
  roundId: string,
): Promise<ShownVariant[]> {
  const variants: VariantRecord[] = await deps.store.listVariants(roundId);
  const withAssets = await Promise.all(variants.map(async (v) => ({ v, a: await deps.assets.load(roundId, v.id).catch(() => undefined) })));
  const usable = withAssets.filter((x) => x.a?.imageEmbedding.length);
  if (!usable.length) return [];
  const texts = await deps.encoder.embedTexts(usable.map((x) => copyText(x.v)));
  return usable.map((x, i) => ({
    variantId: x.v.id,
    imageEmbedding: x.a?.imageEmbedding as Float32Array,
    textEmbedding: texts[i],
    ...(x.v.audience ? { audience: x.v.audience } : {}),
  }));
}

/** Votes of finished rounds with the shown variants' embeddings; variants without stored assets are left out. */
export function roundVoteSource(deps: {
  store: StoreView;
  assets: Pick<AssetStore, 'load'>;
  /** Opened only when votes are read (it loads CLIP). */
  encoder: () => Promise<Pick<Encoder, 'embedTexts' | 'info'>>;
}): VoteSource & { model(): Promise<{ name: string; dims: number; textModel?: string }> } {
  return {
    async model() {
      const info = (await deps.encoder()).info();
      return { name: info.model, dims: info.dims, ...(info.textModel ? { textModel: info.textModel } : {}) };
    },
    async votes() {
      const rounds = await deps.store.roundsWithStatus(['closed', 'superseded']);
      rounds.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
      const out: VoteRecord[] = [];
      let opened: Pick<Encoder, 'embedTexts'> | undefined;
      // CLIP is opened only once some round has stored assets to embed the copy of.
      const encoder = {
        embedTexts: async (t: string[]) => {
          opened ??= await deps.encoder();
          return opened.embedTexts(t);
        },
      };
      for (const r of rounds) {
        const votes = await deps.store.listVotes(r.id);
        if (!votes.length) continue;
        const shown = await shownVariants({ store: deps.store, assets: deps.assets, encoder }, r.id);
        if (shown.length < 2) continue;
        for (const vote of votes) {
          const chosen = shown.find((s) => s.variantId === vote.variantId);
          if (!chosen) continue;
          // With audiences, a vote picks among its own segment's variants: another segment's were
          // written for other people, not turned down.
          const among = shown.filter((s) => s.audience === chosen.audience);
          if (among.length < 2) continue;
          out.push({ roundId: r.id, chosenVariantId: vote.variantId, shown: among, userId: vote.user });
        }
      }
      return out;
    },
  };
}
