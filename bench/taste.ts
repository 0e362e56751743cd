/**
 * `npm run bench -- taste [--seeds 20] [--rounds 80] [--shown 4] [--dims 512] [--retrain-every 5]
 *   [--preference-weight W] [--held-out 40] [--jobs 2] [--ctr-alignment 0.5] [--past-rounds 24]`
 *
 * How fast the bot learns a team's taste, with the simulated team of src/learn/taste-sim.ts
 * voting through the real RoundService, seed by seed (each seed a new world and team):
 *
 * - the learning curve: held-out pairwise accuracy against the team's true preference after
 *   n votes, for today's model (the point estimate, retrained at each checkpoint, used from
 *   PREFERENCE_MIN_VOTES) and the new one (priors, online updates, a full retrain every
 *   `--retrain-every` rounds, Thompson sampling inside MMR), mean and worst seed; beside it
 *   the accuracy on simulated held-out votes, with the ceiling the team's own true
 *   preference reaches on them;
 * - regret: per round, the share of seeds whose round winner is the team's true favourite
 *   among all the candidates, for a random choice of what to show, today's and the new;
 * - the cost of an online update on the vote path.
 *
 * Seeds run in `--jobs` child processes. Writes bench/results/taste.json, which
 * `adcreative eval` plots.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { featuresOf } from '../src/learn/taste.ts';
import { fitTaste } from '../src/learn/taste-fit.ts';
import { tasteInput } from '../src/learn/taste-prior.ts';
import { createWorld, DEFAULT_WORLD } from '../src/learn/taste-sim.ts';
import { type Arm, heldOutVotes, oracleVoteAccuracy, runTrial, type TrialResult } from '../src/learn/taste-trial.ts';
import { machine } from './machine.ts';

const ARMS: Arm[] = ['random', 'today', 'new'];
const CHECKPOINTS = [0, 5, 10, 20, 30, 40, 50, 75, 100, 150, 200, 250, 300];
/** PREFERENCE_MIN_VOTES as it was before the taste model: today's model showed nothing below it. */
const TODAY_MIN_VOTES = 50;

const OPTIONS = {
  seeds: { type: 'string', default: '20' },
  rounds: { type: 'string', default: '80' },
  shown: { type: 'string', default: '4' },
  dims: { type: 'string', default: '512' },
  'retrain-every': { type: 'string', default: '5' },
  'preference-weight': { type: 'string' },
  'held-out': { type: 'string', default: '40' },
  jobs: { type: 'string', default: String(Math.min(2, cpus().length)) },
  'ctr-alignment': { type: 'string', default: String(DEFAULT_WORLD.ctrAlignment) },
  'past-rounds': { type: 'string', default: String(DEFAULT_WORLD.pastRounds) },
  'worker-seed': { type: 'string' },
} as const;

function settingsFrom(values: Record<string, string | undefined>) {
  const cfg = loadConfig({});
  return {
    seeds: Number(values.seeds),
    rounds: Number(values.rounds),
    shown: Number(values.shown),
    dims: Number(values.dims),
    retrainEvery: Number(values['retrain-every']),
    heldOutBriefs: Number(values['held-out']),
    minVotes: TODAY_MIN_VOTES,
    weights: {
      relevance: cfg.rankWeightRelevance,
      novelty: cfg.rankWeightNovelty,
      preference: values['preference-weight'] === undefined ? cfg.rankWeightPreference : Number(values['preference-weight']),
      lambda: cfg.rankMmrLambda,
    },
    world: {
      ...DEFAULT_WORLD,
      dims: Number(values.dims),
      ctrAlignment: Number(values['ctr-alignment']),
      pastRounds: Number(values['past-rounds']),
    },
    checkpoints: CHECKPOINTS,
  };
}

type Settings = ReturnType<typeof settingsFrom>;

async function runSeed(seed: number, s: Settings): Promise<{ seed: number; trials: TrialResult[]; oracleVoteAccuracy: number }> {
  const world = createWorld({ ...s.world, seed });
  const heldOut = Array.from({ length: s.heldOutBriefs }, (_, i) => world.heldOutBrief(i));
  const trials: TrialResult[] = [];
  for (const arm of ARMS) {
    trials.push(
      await runTrial({
        world,
        arm,
        rounds: s.rounds,
        shown: s.shown,
        weights: s.weights,
        retrainEvery: s.retrainEvery,
        minVotes: s.minVotes,
        checkpoints: s.checkpoints,
        heldOut,
        seed,
      }),
    );
  }
  return { seed, trials, oracleVoteAccuracy: oracleVoteAccuracy(heldOutVotes(world, heldOut, s.shown, seed)) };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : Number.NaN;
};

function summarise(s: Settings, seeds: Awaited<ReturnType<typeof runSeed>>[]) {
  const trials = (arm: Arm) => seeds.map((x) => x.trials.find((t) => t.arm === arm) as TrialResult);
  const curve = (arm: Arm) =>
    s.checkpoints.map((at, i) => {
      const cps = trials(arm)
        .map((t) => t.checkpoints[i])
        .filter(Boolean);
      return {
        at,
        votes: r3(mean(cps.map((c) => c.votes))),
        accuracy: { mean: r3(mean(cps.map((c) => c.accuracy))), worst: r3(Math.min(...cps.map((c) => c.accuracy))) },
        accuracyUsed: { mean: r3(mean(cps.map((c) => c.accuracyUsed))), worst: r3(Math.min(...cps.map((c) => c.accuracyUsed))) },
        voteAccuracy: { mean: r3(mean(cps.map((c) => c.voteAccuracy))), worst: r3(Math.min(...cps.map((c) => c.voteAccuracy))) },
      };
    });
  const perRound = (arm: Arm) =>
    Array.from({ length: s.rounds }, (_, r) => r3(mean(trials(arm).map((t) => (t.rounds[r]?.favourite ? 1 : 0)))));
  const windowed = (xs: number[], w = 5) => xs.map((_, i) => r3(mean(xs.slice(Math.max(0, i - w + 1), i + 1))));
  const random = perRound('random');
  const randomShare = r3(mean(random));
  const shareOf = (arm: Arm, from: number, to: number) =>
    r3(mean(trials(arm).flatMap((t) => t.rounds.slice(from, to).map((x) => (x.favourite ? 1 : 0)))));
  const newWindow = windowed(perRound('new'));
  const firstAbove = newWindow.findIndex((v, i) => i >= 4 && v > randomShare);
  const updates = seeds.flatMap((x) => x.trials.flatMap((t) => t.updateMs));
  const at = (arm: Arm, votes: number) => curve(arm).find((c) => c.at === votes);
  const n30 = at('new', 30);
  const n200 = at('new', 200);
  return {
    curve: { today: curve('today'), new: curve('new'), oracleVoteAccuracy: r3(mean(seeds.map((x) => x.oracleVoteAccuracy))) },
    regret: {
      rounds: Array.from({ length: s.rounds }, (_, i) => i + 1),
      favouriteShare: { random, today: perRound('today'), new: perRound('new') },
      favouriteShareWindow5: { random: windowed(random), today: windowed(perRound('today')), new: newWindow },
      randomShare,
      firstTen: { random: shareOf('random', 0, 10), today: shareOf('today', 0, 10), new: shareOf('new', 0, 10) },
      lastTwenty: {
        random: shareOf('random', s.rounds - 20, s.rounds),
        today: shareOf('today', s.rounds - 20, s.rounds),
        new: shareOf('new', s.rounds - 20, s.rounds),
      },
      /** First round r (≥ 5) whose 5-round window share of the new arm exceeds the random share; null: never. */
      newAboveRandomFromRound: firstAbove < 0 ? null : firstAbove + 1,
      shownToLearnShare: r3(mean(trials('new').flatMap((t) => t.rounds.map((x) => x.shownToLearn / s.shown)))),
    },
    /** Wall time of each update inside the trials (other processes share the cores: spikes are theirs as much as ours). */
    updateInTrials: {
      votes: updates.length,
      medianMs: r3(quantile(updates, 0.5)),
      p95Ms: r3(quantile(updates, 0.95)),
      maxMs: r3(Math.max(...updates)),
    },
    targets: {
      accuracyAt30: {
        target: 0.75,
        mean: n30?.accuracy.mean ?? null,
        worst: n30?.accuracy.worst ?? null,
        met: (n30?.accuracy.mean ?? 0) >= 0.75,
      },
      accuracyAt200: {
        target: 0.85,
        mean: n200?.accuracy.mean ?? null,
        worst: n200?.accuracy.worst ?? null,
        met: (n200?.accuracy.mean ?? 0) >= 0.85,
      },
      regretWithin10Rounds: { met: firstAbove >= 0 && firstAbove + 1 <= 10 },
      /** Judged on the microbenchmark's median wall time per update (`update`); its worst batch is beside it. */
      updateUnder5ms: { medianMs: Number.NaN, worstBatchMs: Number.NaN, met: false },
    },
  };
}

/**
 * The online update on its own, on a quiet process: a vote cast, moved and taken back
 * (three updates) for 100 people in turn, timed in batches of 50 updates; wall and CPU time
 * per update, median and worst batch. The updates inside the trials are timed too, but
 * there other processes share the cores.
 */
function updateMicrobench(s: Settings): {
  dims: number;
  features: number;
  updates: number;
  wallMs: { median: number; worstBatch: number };
  cpuMs: { median: number; worstBatch: number };
} {
  const world = createWorld({ ...s.world, seed: 1 });
  const model = fitTaste(tasteInput({ votes: [], library: world.library, model: 'sim' }, { seed: 1 }));
  const rounds = Array.from({ length: 40 }, (_, r) =>
    world
      .brief(r)
      .candidates.slice(0, s.shown)
      .map((c) => featuresOf(model.basis, c)),
  );
  const ops: (() => void)[] = [];
  for (let i = 0; i < 1200; i++) {
    const key = `u${i % 100}`;
    const f = rounds[i % rounds.length];
    ops.push(
      () => model.observe(key, f, 0),
      () => model.observe(key, f, 1),
      () => model.observe(key, f, null),
    );
  }
  for (const op of ops.slice(0, 300)) op(); // warm-up
  const wall: number[] = [];
  const cpu: number[] = [];
  const batch = 50;
  for (let i = 300; i + batch <= ops.length; i += batch) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let j = i; j < i + batch; j++) ops[j]();
    wall.push((performance.now() - t0) / batch);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / batch);
  }
  return {
    dims: s.dims,
    features: model.features,
    updates: wall.length * batch,
    wallMs: { median: r3(quantile(wall, 0.5)), worstBatch: r3(Math.max(...wall)) },
    cpuMs: { median: r3(quantile(cpu, 0.5)), worstBatch: r3(Math.max(...cpu)) },
  };
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  const s = settingsFrom(values);
  if (values['worker-seed'] !== undefined) {
    const out = await runSeed(Number(values['worker-seed']), s);
    process.send?.(out);
    return;
  }
  const jobs = Math.max(1, Number(values.jobs));
  process.stderr.write(
    `bench taste: ${s.seeds} seeds × ${s.rounds} rounds × arms ${ARMS.join('/')}, ${s.dims}-d, ${jobs} jobs, preference weight ${s.weights.preference}\n`,
  );
  const t0 = performance.now();
  const runFile = fileURLToPath(new URL('./run.ts', import.meta.url));
  const queue = Array.from({ length: s.seeds }, (_, i) => i + 1);
  const results: Awaited<ReturnType<typeof runSeed>>[] = [];
  const worker = async () => {
    for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) {
      const started = performance.now();
      const got = await new Promise<Awaited<ReturnType<typeof runSeed>>>((resolve, reject) => {
        const child = fork(runFile, ['taste', ...argv, '--worker-seed', String(seed)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        let result: Awaited<ReturnType<typeof runSeed>> | undefined;
        child.on('message', (m) => {
          result = m as Awaited<ReturnType<typeof runSeed>>;
        });
        child.on('error', reject);
        child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`seed ${seed}: worker exited with ${code}`))));
      });
      results.push(got);
      const nw = got.trials.find((t) => t.arm === 'new');
      const at30 = nw?.checkpoints.find((c) => c.at === 30);
      const at200 = nw?.checkpoints.find((c) => c.at === 200);
      process.stderr.write(
        `  seed ${seed} (${results.length}/${s.seeds}) in ${((performance.now() - started) / 1000).toFixed(0)} s: new model accuracy ${at30?.accuracy.toFixed(3)} at 30 votes, ${at200?.accuracy.toFixed(3)} at 200\n`,
      );
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  results.sort((a, b) => a.seed - b.seed);
  const summary = summarise(s, results);
  const micro = updateMicrobench(s);
  summary.targets.updateUnder5ms = { medianMs: micro.wallMs.median, worstBatchMs: micro.wallMs.worstBatch, met: micro.wallMs.median < 5 };
  const out = {
    name: 'taste',
    date: new Date().toISOString(),
    machine: machine(),
    seconds: Math.round((performance.now() - t0) / 1000),
    settings: s,
    ...summary,
    update: micro,
  };
  mkdirSync(join('bench', 'results'), { recursive: true });
  writeFileSync(join('bench', 'results', 'taste.json'), `${JSON.stringify(out, null, 2)}\n`);
  const c = (arm: 'today' | 'new', at: number) => out.curve[arm].find((x) => x.at === at);
  const row = (at: number) => {
    const t = c('today', at);
    const n = c('new', at);
    return `  ${String(at).padStart(3)} votes: today ${t?.accuracy.mean.toFixed(3)} (worst ${t?.accuracy.worst.toFixed(3)}, as used ${t?.accuracyUsed.mean.toFixed(3)}) · new ${n?.accuracy.mean.toFixed(3)} (worst ${n?.accuracy.worst.toFixed(3)})`;
  };
  const t = out.targets;
  process.stdout.write(
    [
      `machine: ${out.machine.cpu}, ${out.machine.cores} cores, load ${out.machine.load.join('/')}, node ${out.machine.node}; ${out.seconds} s`,
      'held-out pairwise accuracy against the team’s true preference (mean over seeds):',
      ...[0, 10, 30, 50, 100, 200, 300].map(row),
      `held-out vote accuracy at 200 votes: today ${c('today', 200)?.voteAccuracy.mean.toFixed(3)}, new ${c('new', 200)?.voteAccuracy.mean.toFixed(3)}, ceiling (the team's true preference) ${out.curve.oracleVoteAccuracy.toFixed(3)}`,
      `rounds won by the team's favourite: random ${out.regret.randomShare.toFixed(3)}; rounds 1–10: today ${out.regret.firstTen.today.toFixed(3)}, new ${out.regret.firstTen.new.toFixed(3)}; last 20: today ${out.regret.lastTwenty.today.toFixed(3)}, new ${out.regret.lastTwenty.new.toFixed(3)}; new above random from round ${out.regret.newAboveRandomFromRound ?? 'never'}`,
      `online update per vote (${micro.features} features): ${micro.wallMs.median} ms median, worst batch ${micro.wallMs.worstBatch} ms (CPU ${micro.cpuMs.median} ms); inside the trials median ${out.updateInTrials.medianMs} ms, p95 ${out.updateInTrials.p95Ms} ms`,
      `targets: accuracy ≥ 0.75 at 30 votes ${t.accuracyAt30.met ? 'met' : 'NOT met'} (${t.accuracyAt30.mean}, worst ${t.accuracyAt30.worst}); ≥ 0.85 at 200 ${t.accuracyAt200.met ? 'met' : 'NOT met'} (${t.accuracyAt200.mean}, worst ${t.accuracyAt200.worst}); regret above random within 10 rounds ${t.regretWithin10Rounds.met ? 'met' : 'NOT met'}; update < 5 ms ${t.updateUnder5ms.met ? 'met' : 'NOT met'}`,
      'wrote bench/results/taste.json',
    ].join('\n') + '\n',
  );
}
