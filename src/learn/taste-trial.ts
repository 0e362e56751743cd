/**
 * One simulated trial of learning a team's taste: round after round, the bot ranks a brief's
 * candidates and shows some, the simulated team (taste-sim.ts) votes on them through the
 * real RoundService over the real SQLite store, opened by openState in a DATA_DIR of its own
 * (button clicks, moved votes, reactions, retractions, the double-click rule), the round
 * closes with the real winner rule, and the model learns. Three arms share the world and the
 * team:
 *
 * - `random`: shows a random set (the baseline for regret);
 * - `today`: the point-estimate model (preference.ts), retrained at each checkpoint, its
 *   score used only from PREFERENCE_MIN_VOTES votes, the top of the ranking shown;
 * - `new`: the taste model, with priors, online updates through the service's `onVote`
 *   (taste-learner.ts), a full retrain every `retrainEvery` rounds and Thompson sampling
 *   inside MMR to choose what to show.
 *
 * Used by `npm run bench -- taste` and the tests; nothing here is used by the bot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosine } from '../clip/types.ts';
import { loadConfig } from '../config.ts';
import { createRng, type Rng, shuffle } from '../linalg.ts';
import { type PreferenceInput, type RankWeights, rank } from '../rank/score.ts';
import { RoundService } from '../rounds/service.ts';
import { openState } from '../rounds/state.ts';
import type { VariantRecord } from '../rounds/types.ts';
import { type PreferenceModel, type ShownVariant, trainPreference, type VoteRecord } from './preference.ts';
import type { TasteModel } from './taste.ts';
import { fitTaste } from './taste-fit.ts';
import { createTasteLearner } from './taste-learner.ts';
import { tasteInput } from './taste-prior.ts';
import type { SimBrief, SimCreative, SimWorld } from './taste-sim.ts';

export type Arm = 'random' | 'today' | 'new';

export interface TrialOptions {
  world: SimWorld;
  arm: Arm;
  rounds: number;
  /** Variants shown per round. */
  shown: number;
  weights: RankWeights;
  /** New arm: full retrain every this many rounds (online updates in between). */
  retrainEvery: number;
  /** Today's arm: votes before its score is used. */
  minVotes: number;
  /** Vote counts at which accuracy is measured (at the first round end at or past each). */
  checkpoints: number[];
  /** Briefs never shown, for held-out accuracy. */
  heldOut: SimBrief[];
  seed: number;
  /** Principal directions per embedding for the new model. */
  rank?: number;
}

export interface Checkpoint {
  /** The checkpoint asked for, and the votes actually cast by then. */
  at: number;
  votes: number;
  /** Pairwise accuracy against the team's true preference on held-out candidate pairs. */
  accuracy: number;
  /** What the bot uses: today's model counts as chance (0.5) below its vote threshold. */
  accuracyUsed: number;
  /** Pairwise accuracy on simulated held-out votes (chosen ≻ each other shown), as `train preference` reports it. */
  voteAccuracy: number;
}

export interface RoundOutcome {
  round: number;
  votes: number;
  /** The round's winner is the team's true favourite among all candidates. */
  favourite: boolean;
  /** The favourite was among the variants shown. */
  favouriteShown: boolean;
  /** Variants shown to learn (Thompson picks the mean would not have made). */
  shownToLearn: number;
}

export interface TrialResult {
  arm: Arm;
  seed: number;
  checkpoints: Checkpoint[];
  rounds: RoundOutcome[];
  /** Milliseconds of each online update (new arm). */
  updateMs: number[];
}

/** Held-out votes: each held-out brief shows `shown` random candidates to the team once. */
export function heldOutVotes(
  world: SimWorld,
  briefs: SimBrief[],
  shown: number,
  seed: number,
): { brief: SimBrief; choices: { chosen: SimCreative; others: SimCreative[] }[] }[] {
  const rng = createRng(seed ^ 0x4e1d);
  return briefs.map((brief) => {
    const ids = brief.candidates.map((c) => c.id);
    shuffle(ids, rng);
    const show = ids.slice(0, shown);
    const byId = new Map(brief.candidates.map((c) => [c.id, c]));
    const finals = new Map<string, string>();
    for (const a of world.vote(brief, show, rng)) {
      // Held-out votes need no flow: each member's considered pick is their last add.
      if (a.via === 'button' || a.op === 'add') finals.set(a.user, a.variantId);
    }
    return {
      brief,
      choices: [...finals.values()].map((id) => ({
        chosen: byId.get(id) as SimCreative,
        others: show.filter((s) => s !== id).map((s) => byId.get(s) as SimCreative),
      })),
    };
  });
}

/** Share of within-brief candidate pairs ordered as the team's true preference orders them. */
export function pairwiseAccuracy(briefs: SimBrief[], score: (c: SimCreative) => number): number {
  let ok = 0;
  let n = 0;
  for (const b of briefs) {
    const s = b.candidates.map(score);
    for (let i = 0; i < s.length; i++) {
      for (let j = i + 1; j < s.length; j++) {
        const t = b.candidates[i].teamUtility - b.candidates[j].teamUtility;
        const m = s[i] - s[j];
        ok += m === 0 ? 0.5 : m > 0 === t > 0 ? 1 : 0;
        n++;
      }
    }
  }
  return n ? ok / n : 0.5;
}

function voteAccuracy(held: ReturnType<typeof heldOutVotes>, score: (c: SimCreative) => number): number {
  let ok = 0;
  let n = 0;
  for (const h of held) {
    for (const c of h.choices) {
      const u = score(c.chosen);
      for (const o of c.others) {
        const m = u - score(o);
        ok += m === 0 ? 0.5 : m > 0 ? 1 : 0;
        n++;
      }
    }
  }
  return n ? ok / n : 0.5;
}

/** The oracle's held-out vote accuracy: the team's true preference predicting its members' votes (the ceiling). */
export function oracleVoteAccuracy(held: ReturnType<typeof heldOutVotes>): number {
  return voteAccuracy(held, (c) => c.teamUtility);
}

const settings = {
  ratePerHour: 1e6,
  dailyImageCap: 1e9,
  monthlyUsdCap: 0,
  autoCloseMinutes: 0,
  reminderMinutes: 0,
  doubleClickMs: 1500,
  pricing: { estimate: (n: number) => ({ usd: 0, textCalls: 0, imageCalls: n }) },
};

export async function runTrial(o: TrialOptions): Promise<TrialResult> {
  const { world } = o;
  const rng: Rng = createRng(o.seed * 7919 + { random: 1, today: 2, new: 3 }[o.arm]);
  // State as the bot opens it (SQLite under a DATA_DIR of the trial's own).
  const dataDir = mkdtempSync(join(tmpdir(), 'taste-trial-'));
  const state = await openState(loadConfig({ DATA_DIR: dataDir }));
  const { store } = state;
  let clock = Date.UTC(2026, 0, 5, 9);
  const libImages = world.library.map((r) => r.imageEmbedding);
  const votes: VoteRecord[] = [];
  const shownByRound = new Map<string, ShownVariant[]>();
  const updateMs: number[] = [];
  const held = heldOutVotes(world, o.heldOut, o.shown, o.seed);

  // The new arm's model: the last fit plus every vote since, through the service's onVote.
  let fitted: TasteModel | null = null;
  let basis: { basis: TasteModel['basis']; items: number } | undefined;
  const refit = () => {
    const input = tasteInput({ votes, library: world.library, model: 'sim' }, { seed: o.seed, basis, rank: o.rank });
    basis = { basis: input.basis, items: input.basisItems ?? 0 };
    fitted = fitTaste(input, { seed: o.seed });
  };
  const learner = createTasteLearner({
    fitted: () => fitted,
    shown: async (roundId) => shownByRound.get(roundId) ?? [],
    onUpdate: (ms) => updateMs.push(ms),
  });
  if (o.arm === 'new') refit();
  let today = null as PreferenceModel | null;

  const rounds = new RoundService({
    store,
    settings,
    clock: () => new Date(clock),
    onVote: o.arm === 'new' ? (c) => learner.observe(c) : undefined,
  });

  const checkpoints: Checkpoint[] = [];
  let nextCp = 0;
  const measure = () => {
    while (nextCp < o.checkpoints.length && votes.length >= o.checkpoints[nextCp]) {
      let score: (c: SimCreative) => number;
      let used = true;
      if (o.arm === 'new') {
        const m = learner.current() as TasteModel;
        score = (c) => m.predict(c).mean;
      } else if (o.arm === 'today') {
        today = votes.length ? safeTrain(votes, o.seed) : null;
        const t = today;
        score = t ? (c) => t.utility(c) : () => 0;
        used = votes.length >= o.minVotes;
      } else score = () => 0;
      const accuracy = pairwiseAccuracy(o.heldOut, score);
      checkpoints.push({
        at: o.checkpoints[nextCp],
        votes: votes.length,
        accuracy,
        accuracyUsed: used ? accuracy : 0.5,
        voteAccuracy: voteAccuracy(held, score),
      });
      nextCp++;
    }
  };
  measure();

  const outcomes: RoundOutcome[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const brief = world.brief(r);
    const cands = brief.candidates;
    let picks: { index: number; scores: VariantRecord['scores']; reason: string }[];
    if (o.arm === 'random') {
      const idx = cands.map((_, i) => i);
      shuffle(idx, rng);
      picks = idx.slice(0, o.shown).map((index) => ({
        index,
        scores: { relevance: 0, novelty: 0, diversity: 0, preference: null, total: 0 },
        reason: 'random',
      }));
    } else {
      let preference: (PreferenceInput | number | null)[] | undefined;
      if (o.arm === 'new') {
        const m = learner.current();
        preference = m ? m.estimate(cands, { draws: o.shown, rng }) : undefined;
      } else if (today && votes.length >= o.minVotes) {
        const t = today;
        preference = cands.map((c) => (t.score(c, o.minVotes)?.percentile ?? 50) / 100);
      }
      picks = rank({
        brief: brief.embedding,
        images: cands.map((c) => c.imageEmbedding),
        librarySimilarity: cands.map((c) => Math.max(...libImages.map((l) => cosine(c.imageEmbedding, l)))),
        preference,
        count: o.shown,
        weights: o.weights,
      });
    }
    const shown = picks.map((p) => cands[p.index]);
    const round = await rounds.createRound({
      channel: 'C0SIM',
      threadTs: `${1000 + r}.000100`,
      number: 1,
      brief: brief.id,
      author: 'U000',
      options: { variants: o.shown, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false },
    });
    const records: VariantRecord[] = picks.map((p, i) => ({
      id: `${round.id}-${String.fromCharCode(65 + i)}`,
      roundId: round.id,
      label: String.fromCharCode(65 + i),
      position: i,
      headline: cands[p.index].headline,
      body: cands[p.index].body,
      cta: 'Shop now',
      concept: '',
      reason: p.reason,
      scores: p.scores,
      offline: true,
      flags: [],
      formats: ['square'],
      messageTs: `${2000 + r}.${String(i).padStart(6, '0')}`,
      fileId: null,
    }));
    await store.insertVariants(records);
    const idOf = new Map(shown.map((c, i) => [c.id, records[i]]));
    const sv: ShownVariant[] = shown.map((c, i) => ({
      variantId: records[i].id,
      imageEmbedding: c.imageEmbedding,
      textEmbedding: c.textEmbedding,
    }));
    shownByRound.set(round.id, sv);
    await rounds.open(round.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });

    for (const a of world.vote(
      brief,
      shown.map((c) => c.id),
      rng,
    )) {
      clock += 5000;
      const v = idOf.get(a.variantId) as VariantRecord;
      if (a.via === 'button') await rounds.buttonVote(v.id, a.user);
      else if (a.op === 'add') await rounds.reactionAdded('C0SIM', v.messageTs as string, a.user);
      else await rounds.reactionRemoved('C0SIM', v.messageTs as string, a.user);
    }
    await learner.settled();
    clock += 60_000;
    const closed = await rounds.close(round.id, 'U000');
    const final = await store.listVotes(round.id);
    for (const v of final) votes.push({ roundId: round.id, chosenVariantId: v.variantId, shown: sv, userId: v.user });
    const best = cands.reduce((a, b) => (b.teamUtility > a.teamUtility ? b : a));
    const winner = closed?.winner ? shown[records.findIndex((x) => x.id === closed.winner?.id)] : undefined;
    outcomes.push({
      round: r + 1,
      votes: final.length,
      favourite: winner?.id === best.id,
      favouriteShown: shown.some((c) => c.id === best.id),
      shownToLearn: picks.filter((p) => p.scores.shownToLearn).length,
    });
    measure();
    if (o.arm === 'new' && (r + 1) % o.retrainEvery === 0) refit();
    clock += 3_600_000;
  }
  await state.close();
  rmSync(dataDir, { recursive: true, force: true });
  return { arm: o.arm, seed: o.seed, checkpoints, rounds: outcomes, updateMs };
}

function safeTrain(votes: VoteRecord[], seed: number): PreferenceModel | null {
  try {
    return trainPreference({ votes, model: 'sim' }, { seed });
  } catch {
    return null;
  }
}
