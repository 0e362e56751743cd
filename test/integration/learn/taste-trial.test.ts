import { describe, expect, it } from 'vitest';
import { createWorld } from '../../../src/learn/taste-sim.ts';
import { type Arm, runTrial, type TrialResult } from '../../../src/learn/taste-trial.ts';

describe('a simulated team voting through the real round service', () => {
  it('wins more rounds with its favourite, and is understood sooner, with the taste model than with a random or today’s choice', async () => {
    const world = createWorld({ seed: 61, dims: 64, latent: 8, library: 200, pastRounds: 16 });
    const heldOut = Array.from({ length: 20 }, (_, i) => world.heldOutBrief(i));
    const run = (arm: Arm): Promise<TrialResult> =>
      runTrial({
        world,
        arm,
        rounds: 24,
        shown: 4,
        weights: { relevance: 1, novelty: 0.3, preference: 1, lambda: 0.7 },
        retrainEvery: 5,
        minVotes: 50,
        checkpoints: [0, 30, 80],
        heldOut,
        seed: 61,
        rank: 16,
      });
    const [random, today, taste] = [await run('random'), await run('today'), await run('new')];
    const share = (t: TrialResult) => t.rounds.filter((r) => r.favourite).length / t.rounds.length;
    expect(share(taste)).toBeGreaterThan(share(random));
    expect(share(taste)).toBeGreaterThan(share(today));
    const at = (t: TrialResult, n: number) => t.checkpoints.find((c) => c.at === n) as TrialResult['checkpoints'][number];
    // Before any vote the priors already order the team's candidates better than chance; today's model has nothing.
    expect(at(taste, 0).accuracy).toBeGreaterThan(0.6);
    expect(at(today, 0).accuracyUsed).toBe(0.5);
    expect(at(taste, 30).accuracy).toBeGreaterThan(at(today, 30).accuracy);
    expect(at(taste, 80).accuracy).toBeGreaterThan(0.75);
    // Every stored vote change reached the model online; some variants were shown to learn.
    expect(taste.updateMs.length).toBeGreaterThanOrEqual(taste.rounds.reduce((s, r) => s + r.votes, 0));
    expect(taste.rounds.some((r) => r.shownToLearn > 0)).toBe(true);
    expect(random.rounds.every((r) => r.shownToLearn === 0)).toBe(true);
  }, 120_000);
});
