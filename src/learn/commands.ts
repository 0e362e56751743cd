/**
 * `adcreative train adapter`, `train preference`, `eval`: the learning loop from the CLI.
 * Built by a factory over how the sources are opened, so tests drive the real commands
 * against in-memory data.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, type CommandIO, intArg, type ParsedArgs } from '../cli/command.ts';
import { createProgress } from '../cli/progress.ts';
import { type Config, config } from '../config.ts';
import { UsageError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { formatStatsText, renderEvalReport, statsSummary, type TasteCurve } from './eval-report.ts';
import { gatherStats, type LearningConfig, reprojectLibrary, retrainAdapter, retrainPreference } from './learning.ts';
import { openLearningSources } from './open-sources.ts';
import { formatRecall } from './recall.ts';
import type { LearningSources } from './sources.ts';

export interface LearningCommandDeps {
  config(): LearningConfig;
  openSources(cfg: LearningConfig, opts: { logger: Logger }): Promise<LearningSources>;
  logger?: Logger;
  now?(): Date;
}

function numArg(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const v = args.values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number between ${min} and ${max}; got ${JSON.stringify(v)}`);
  }
  return n;
}

async function withSources<T>(
  deps: LearningCommandDeps,
  fn: (s: LearningSources, cfg: LearningConfig, logger: Logger) => Promise<T>,
): Promise<T> {
  const cfg = deps.config();
  const logger = deps.logger ?? createLogger({ base: { module: 'learning' } });
  const sources = await deps.openSources(cfg, { logger });
  try {
    return await fn(sources, cfg, logger);
  } finally {
    await sources.close();
  }
}

const line = (io: CommandIO, s: string) => io.stdout.write(`${s}\n`);

/** The benchmark's learning curve: the file named, else bench/results/taste.json when it is there. */
function readTasteCurve(path: string | undefined): TasteCurve | undefined {
  const p = resolve(path ?? join('bench', 'results', 'taste.json'));
  if (!path && !existsSync(p)) return undefined;
  let raw: TasteCurve;
  try {
    raw = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new UsageError(
      `--taste: cannot read ${p} as JSON (${(e as Error).message}); expected bench/results/taste.json from \`npm run bench -- taste\``,
    );
  }
  if (!raw?.curve?.new || !raw.regret?.favouriteShareWindow5) {
    throw new UsageError(
      `--taste: ${p} is not a taste benchmark result (no curve or regret); expected the file \`npm run bench -- taste\` writes`,
    );
  }
  return raw;
}

export function makeLearningCommands(deps: LearningCommandDeps): Command[] {
  const trainAdapter: Command = {
    name: 'train adapter',
    summary:
      "Fine-tune CLIP on the library's caption/image pairs as an adapter (contrastive, on the CPU); reports held-out recall before and after.",
    usage:
      '[--epochs N] [--batch N] [--lr X] [--weight-decay X] [--held-out SHARE] [--patience N] [--seed N] [--out PATH] [--no-reproject] [--quiet]',
    options: {
      epochs: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      'weight-decay': { type: 'string' },
      'held-out': { type: 'string' },
      patience: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'no-reproject': { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    async run(args, io) {
      const epochs = intArg(args, 'epochs', 30, 1, 1000);
      const batchSize = intArg(args, 'batch', 256, 8, 4096);
      const learningRate = numArg(args, 'lr', 2e-3, 1e-6, 1);
      const weightDecay = numArg(args, 'weight-decay', 1e-3, 0, 10);
      const heldOutShare = numArg(args, 'held-out', 0.1, 0.01, 0.5);
      const patience = intArg(args, 'patience', 3, 1, 1000);
      const seed = intArg(args, 'seed', 42, 0, 2 ** 31);
      const out = typeof args.values.out === 'string' ? resolve(args.values.out) : undefined;
      const quiet = args.values.quiet === true;
      return withSources(deps, async (sources, _cfg, logger) => {
        let progress: ReturnType<typeof createProgress> | undefined;
        let lastRecall = '';
        const run = await retrainAdapter(
          { cfg: deps.config(), sources, logger },
          {
            epochs,
            batchSize,
            learningRate,
            weightDecay,
            heldOutShare,
            patience,
            seed,
            out,
            reproject: args.values['no-reproject'] !== true,
            onStep: ({ epoch, step, stepsPerEpoch, loss }) => {
              progress ??= createProgress('training adapter', epochs * stepsPerEpoch, {
                stream: io.stderr,
                unit: 'steps',
                enabled: !quiet,
              });
              progress.tick(1, `epoch ${epoch} step ${step}/${stepsPerEpoch} loss ${loss.toFixed(3)}${lastRecall}`);
            },
            onEpoch: (e) => {
              lastRecall = ` held-out R@1 ${(100 * e.heldOut.textToImage.r1).toFixed(1)}%/${(100 * e.heldOut.imageToText.r1).toFixed(1)}%`;
              if (!quiet)
                io.stderr.write(
                  `epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, temperature 1/${e.logitScale.toFixed(1)}, ${formatRecall(e.heldOut)}${e.best ? ' (best)' : ''}\n`,
                );
            },
          },
        );
        progress?.done(`best epoch ${run.result.bestEpoch}`);
        const r = run.result;
        line(io, `Trained on ${r.pairs.train} pairs, held out ${r.pairs.heldOut}; ${r.epochs} epochs, best ${r.bestEpoch}.`);
        if (run.skipped) line(io, `Skipped ${run.skipped} rows whose embeddings are not ${sources.model.dims}-d.`);
        line(io, `Before (raw CLIP): ${formatRecall(r.before)}`);
        line(io, `After (adapter):   ${formatRecall(r.after)}`);
        if (r.bestEpoch === 0) line(io, 'No epoch beat raw CLIP on the held-out pairs: the adapter is the identity.');
        line(io, `Saved adapter ${run.adapter.id} for ${run.adapter.model} to ${run.path}`);
        if (run.reprojected !== null)
          line(io, `Re-projected ${run.reprojected} library rows into the adapter's space (no CLIP run needed).`);
        else
          line(
            io,
            "The library's stored embeddings were not re-projected; run `adcreative train adapter` again without --no-reproject before serving.",
          );
        if (out) line(io, `Set CLIP_ADAPTER=${run.path} for the bot to use it.`);
        return 0;
      });
    },
  };

  const reprojectCmd: Command = {
    name: 'train reproject',
    summary:
      "Move the library's stored embeddings into the configured adapter's space (or back to raw CLIP when CLIP_ADAPTER=off), without running CLIP.",
    usage: '',
    options: {},
    async run(_args, io) {
      return withSources(deps, async (sources, cfg, logger) => {
        const r = await reprojectLibrary({ cfg, sources, logger });
        line(
          io,
          r.rows
            ? `Re-projected ${r.rows} rows from ${r.from ?? 'raw CLIP'} to ${r.to ?? 'raw CLIP'}.`
            : `The library is already in ${r.to ?? 'raw CLIP'} space.`,
        );
        return 0;
      });
    },
  };

  const trainPref: Command = {
    name: 'train preference',
    summary:
      "Learn the team's taste: priors from the library (CTR, past winners) and every vote, as a posterior over image and copy embeddings.",
    usage: '[--seed N] [--held-out SHARE] [--out PATH]',
    options: { seed: { type: 'string' }, 'held-out': { type: 'string' }, out: { type: 'string' } },
    async run(args, io) {
      const seed = intArg(args, 'seed', 42, 0, 2 ** 31);
      const heldOutShare = numArg(args, 'held-out', 0.2, 0.05, 0.5);
      const out = typeof args.values.out === 'string' ? resolve(args.values.out) : undefined;
      return withSources(deps, async (sources, cfg, logger) => {
        const run = await retrainPreference({ cfg, sources, logger }, { seed, heldOutShare, out });
        const m = run.model.meta;
        line(io, `Trained on ${m.votes} votes in ${m.rounds} rounds (${m.comparisons.votes} comparisons).`);
        line(
          io,
          m.prior.ctrRows || m.prior.winners
            ? `Priors: the CTR of ${m.prior.ctrRows} library creatives and ${m.prior.winners} past winners (leans ${Object.entries(
                m.prior.leans,
              )
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}; spread ${m.prior.spread}).`
            : 'Priors: none (no library creatives with metrics, no past winners): the model learns from votes alone.',
        );
        line(
          io,
          m.heldOut.accuracy === null
            ? 'Held-out pairwise accuracy: not measured (fewer than 5 rounds to hold out).'
            : `Held-out pairwise accuracy: ${(100 * m.heldOut.accuracy).toFixed(1)}% on ${m.heldOut.comparisons} comparisons from ${m.heldOut.rounds} rounds.`,
        );
        const st = run.model.status(cfg.preferenceMinVotes);
        line(
          io,
          st.state === 'insufficient'
            ? `Insufficient data: without priors the bot shows scores from ${st.needed} votes (PREFERENCE_MIN_VOTES); it has ${st.votes}.`
            : 'The bot shows predicted preference with its 80% interval ("uncertain" while wide) and learns from each vote as it comes.',
        );
        line(io, `Saved the preference model to ${run.path}`);
        return 0;
      });
    },
  };

  const evalCmd: Command = {
    name: 'eval',
    summary:
      "Write the learning report (recall before/after the adapter, score distributions, calibration, the taste model's learning curve, rounds and votes) as one HTML file.",
    usage: '[--out report.html] [--taste bench/results/taste.json]',
    options: { out: { type: 'string' }, taste: { type: 'string' } },
    async run(args, io) {
      const out = resolve(typeof args.values.out === 'string' ? args.values.out : 'report.html');
      const curve = readTasteCurve(typeof args.values.taste === 'string' ? args.values.taste : undefined);
      return withSources(deps, async (sources, cfg, logger) => {
        const stats = await gatherStats({ cfg, sources, logger });
        writeFileSync(out, renderEvalReport({ ...stats, generatedAt: deps.now?.() ?? new Date(), tasteCurve: curve }));
        for (const l of formatStatsText(statsSummary(stats))) line(io, l);
        line(io, `Wrote ${out}`);
        return 0;
      });
    },
  };

  return [trainAdapter, reprojectCmd, trainPref, evalCmd];
}

export const commands: Command[] = makeLearningCommands({
  config: () => config(),
  openSources: (cfg, opts) => openLearningSources(cfg as Config, opts),
});
