/**
 * The bot's background work after an ack: tracked so shutdown can wait for it, limited to a
 * number of rounds generated at once (the rest wait their turn), and abortable when the
 * grace time at shutdown runs out.
 */
import { RoundError } from '../errors.ts';
import type { Logger } from '../log.ts';

export class WorkQueue {
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly aborts = new Set<AbortController>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private stopped = false;

  constructor(private readonly opts: { maxConcurrent: number; logger: Logger }) {}

  /** True once shutdown began: no new rounds are started. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Work in progress (for /readyz, /metrics and the shutdown log). */
  get busy(): number {
    return this.inflight.size;
  }

  /**
   * Runs slow work after an ack. A function starts on a later turn, so the ack's bytes leave
   * before any slow work begins. Failures are logged, never thrown at the caller.
   */
  track<T>(work: Promise<T> | (() => Promise<T>), what: string): void {
    const started = typeof work === 'function' ? new Promise<T>((resolve) => setImmediate(() => resolve(work()))) : work;
    const p = started.catch((e: unknown) => this.opts.logger.error(`${what} failed`, { error: e }));
    this.inflight.add(p);
    p.finally(() => this.inflight.delete(p));
  }

  /** Resolves once no tracked work is left (work started meanwhile included). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /**
   * Waits for a generation slot. `onQueued` hears how many rounds are ahead when it has to
   * wait. The returned handle's `signal` aborts at shutdown; `release()` frees the slot.
   */
  async slot(onQueued: (ahead: number) => void): Promise<{ signal: AbortSignal; release(): void }> {
    const abort = new AbortController();
    this.aborts.add(abort);
    if (this.stopped) abort.abort(new RoundError('SHUTTING_DOWN', 'shutting down'));
    let holding = false;
    const release = () => {
      this.aborts.delete(abort);
      if (!holding) return;
      holding = false;
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    };
    if (this.running < Math.max(1, this.opts.maxConcurrent)) {
      this.running += 1;
      holding = true;
    } else if (!abort.signal.aborted) {
      onQueued(this.waiting.length + 1);
      // A round waiting its turn at shutdown stops waiting (its signal says why) without taking a slot.
      await new Promise<void>((resolve) => {
        const turn = () => {
          abort.signal.removeEventListener('abort', gaveUp);
          holding = true;
          resolve();
        };
        const gaveUp = () => {
          const i = this.waiting.indexOf(turn);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve();
        };
        this.waiting.push(turn);
        abort.signal.addEventListener('abort', gaveUp, { once: true });
      });
    }
    return { signal: abort.signal, release };
  }

  /**
   * Stops taking new work, lets in-flight work finish for `graceMs`, then aborts generation
   * still running and gives it a few seconds to write what it has.
   */
  async drain(graceMs: number): Promise<void> {
    this.stopped = true;
    const all = () => Promise.allSettled([...this.inflight]);
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([all().then(() => 'done' as const), timeout])) === 'timeout') {
      for (const a of this.aborts) a.abort(new RoundError('SHUTTING_DOWN', 'shutting down'));
      await Promise.race([all(), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
  }
}
