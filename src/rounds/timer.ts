/**
 * Auto-close and reminders. One interval reads due rounds from the store, so rounds opened
 * before a restart are picked up again with no timers to rebuild.
 */
import type { Logger } from '../log.ts';
import type { RoundService } from './service.ts';
import type { Round } from './types.ts';

export interface RoundTimer {
  /** Runs one pass now (tests call it directly). */
  tick(): Promise<void>;
  start(): void;
  stop(): void;
}

export function createRoundTimer(deps: {
  rounds: RoundService;
  onRemind: (round: Round) => Promise<void>;
  onClose: (round: Round) => Promise<void>;
  intervalMs?: number;
  logger?: Logger;
}): RoundTimer {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const pass = async () => {
    const { remind, close } = await deps.rounds.due();
    for (const r of close) {
      try {
        await deps.onClose(r);
      } catch (e) {
        deps.logger?.error('auto-close failed', { round: r.id, error: e });
      }
    }
    for (const r of remind) {
      try {
        await deps.rounds.markReminded(r.id);
        await deps.onRemind(r);
      } catch (e) {
        deps.logger?.error('reminder failed', { round: r.id, error: e });
      }
    }
  };
  const tick = async () => {
    // Never two passes at once: a slow Slack call must not close a round twice.
    if (running) return running;
    running = pass().finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    tick,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        tick().catch((e: unknown) => deps.logger?.error('round timer failed', { error: e }));
      }, deps.intervalMs ?? 30_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
