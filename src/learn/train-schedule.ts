/**
 * Optional retraining inside the bot (LEARNING_SCHEDULE, off by default): every interval,
 * retrain the adapter when the library has grown by ADAPTER_RETRAIN_SHARE since the last
 * one (or there is none), and the preference (taste) model when new votes arrived or there
 * is none yet (its priors come from the library, so it is worth fitting before any vote;
 * with no model the first pass runs at once). Between passes each vote reaches the taste
 * model online (taste-learner.ts). Runs never overlap, training yields to the event loop
 * between minibatches so Slack acks keep flowing, and a failure is logged and retried at
 * the next tick rather than crashing the bot.
 */
import { existsSync } from 'node:fs';
import { Adapter, adapterOutputPath, resolveAdapterPath } from '../clip/adapter.ts';
import { isAdError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type LearningConfig, loadConfiguredPreference, retrainAdapter, retrainPreference } from './learning.ts';
import type { LearningSources } from './sources.ts';

export interface ScheduleOutcome {
  adapter: 'trained' | 'skipped' | 'failed';
  preference: 'trained' | 'skipped' | 'failed';
}

export interface LearningSchedule {
  /** Runs one retraining pass now (also what each tick does). */
  runOnce(): Promise<ScheduleOutcome>;
  stop(): void;
}

export interface ScheduleDeps {
  cfg: LearningConfig;
  openSources(): Promise<LearningSources>;
  logger: Logger;
  /** Called after a pass that trained something, e.g. to reload the encoder's adapter. */
  onTrained?(outcome: ScheduleOutcome): void | Promise<void>;
  setTimer?: (fn: () => void, ms: number) => { unref?(): void };
  clearTimer?: (t: unknown) => void;
}

/** One pass: decides what is due and trains it. */
export async function retrainDue(deps: Omit<ScheduleDeps, 'setTimer' | 'clearTimer'>): Promise<ScheduleOutcome> {
  const { cfg, logger } = deps;
  const outcome: ScheduleOutcome = { adapter: 'skipped', preference: 'skipped' };
  const sources = await deps.openSources();
  try {
    if (sources.library) {
      try {
        const path = resolveAdapterPath(cfg) ?? adapterOutputPath(cfg);
        const current = existsSync(path) ? Adapter.load(path) : null;
        const rows = await sources.library.count();
        const off = cfg.clipAdapter?.trim().toLowerCase() === 'off';
        if (!off && (!current || current.needsRetraining(rows, cfg.adapterRetrainShare))) {
          await retrainAdapter({ cfg, sources, logger }, { yieldEvery: 1 });
          outcome.adapter = 'trained';
        }
      } catch (e) {
        // Too small a library is not a failure: it waits for more creatives.
        if (isAdError(e) && e.code === 'TOO_FEW_PAIRS') logger.debug('adapter training waits for more pairs', { error: e });
        else {
          outcome.adapter = 'failed';
          logger.warn('scheduled adapter training failed', { error: e });
        }
      }
    }
    if (sources.votes || sources.library) {
      try {
        const votes = sources.votes ? (await sources.votes.votes()).length : 0;
        const current = loadConfiguredPreference(cfg, logger);
        if (!current || votes > current.meta.votes) {
          await retrainPreference({ cfg, sources, logger });
          outcome.preference = 'trained';
        }
      } catch (e) {
        outcome.preference = 'failed';
        logger.warn('scheduled preference training failed', { error: e });
      }
    }
  } finally {
    await sources.close();
  }
  logger.info('scheduled retraining', { ...outcome });
  if (outcome.adapter === 'trained' || outcome.preference === 'trained') await deps.onTrained?.(outcome);
  return outcome;
}

/** Starts the schedule; returns null when LEARNING_SCHEDULE is off. */
export function startLearningSchedule(deps: ScheduleDeps): LearningSchedule | null {
  const every = deps.cfg.learningSchedule;
  if (every === null) return null;
  const setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = deps.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  let timer: ReturnType<typeof setTimer> | undefined;
  let running: Promise<ScheduleOutcome> | undefined;
  let stopped = false;
  const runOnce = () => {
    running ??= retrainDue(deps).finally(() => {
      running = undefined;
    });
    return running;
  };
  const arm = (ms: number) => {
    if (stopped) return;
    timer = setTimer(() => {
      runOnce()
        .catch((e) => deps.logger.warn('scheduled retraining failed', { error: e }))
        .finally(() => arm(every));
    }, ms);
    // Never keeps the process alive on its own.
    timer.unref?.();
  };
  // No preference model yet: fit one from the library's priors now rather than a whole interval later.
  let first = every;
  try {
    if (!loadConfiguredPreference(deps.cfg)) first = 0;
  } catch {
    // An unreadable file is for the pass to report.
  }
  arm(first);
  deps.logger.info('learning schedule on', { everyMs: every });
  return {
    runOnce,
    stop() {
      stopped = true;
      if (timer) clearTimer(timer);
    },
  };
}
