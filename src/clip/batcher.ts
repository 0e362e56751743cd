/**
 * Dynamic batching: concurrent requests are gathered into one inference run of up to
 * `batchMax` inputs, waiting at most `waitMs` for more after the first one arrives.
 * Calls larger than `batchMax` are split; results come back in each caller's order. A run
 * that fails with inputs of several calls is run again call by call, so one caller's bad
 * input (a token id the model cannot take) fails that caller only, not its batch-mates.
 *
 * One run is in flight at a time (the worker could not run two at once anyway), so while
 * a run is busy the next batch fills up, and it starts the moment the previous one ends.
 */
export interface BatchRunInfo {
  /** Inputs in this run. */
  size: number;
  /** Number of this run, from 1. */
  seq: number;
  /** Mean time its inputs waited in the queue before this run started (metrics). */
  waitMs: number;
}

export interface BatcherOptions<I, O> {
  batchMax: number;
  waitMs: number;
  /** Runs one batch; must return one output per input, in order. */
  run(items: I[], info: BatchRunInfo): Promise<O[]>;
}

export interface Batcher<I, O> {
  /** Queues inputs; resolves with their outputs in order. */
  submit(items: readonly I[]): Promise<O[]>;
  submitOne(item: I): Promise<O>;
  /** Runs started so far. */
  readonly runs: number;
  /** Inputs queued and not yet in a run. */
  readonly queued: number;
  /** Rejects everything queued and refuses new work. */
  close(reason: Error): void;
  /** Changes the ceiling and the wait (the encoder learns them once the execution provider is known). */
  configure(limits: { batchMax: number; waitMs: number }): void;
}

interface Entry<I, O> {
  item: I;
  /** The call (`submit`) this input came with. */
  call: number;
  at: number;
  resolve(o: O): void;
  reject(e: unknown): void;
}

function checkMax(batchMax: number): number {
  if (!Number.isInteger(batchMax) || batchMax < 1) throw new RangeError(`batchMax must be a positive integer; got ${batchMax}`);
  return batchMax;
}

export function createBatcher<I, O>(opts: BatcherOptions<I, O>): Batcher<I, O> {
  let batchMax = checkMax(opts.batchMax);
  let waitMs = opts.waitMs;
  const queue: Entry<I, O>[] = [];
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  let runs = 0;
  let calls = 0;
  let closed: Error | undefined;

  const runOnce = async (batch: Entry<I, O>[]): Promise<void> => {
    runs++;
    const out = await opts.run(
      batch.map((e) => e.item),
      { size: batch.length, seq: runs, waitMs: performance.now() - batch.reduce((t, e) => t + e.at, 0) / batch.length },
    );
    if (out.length !== batch.length) throw new Error(`batch run returned ${out.length} results for ${batch.length} inputs`);
    for (let i = 0; i < batch.length; i++) batch[i].resolve(out[i]);
  };

  const schedule = () => {
    if (busy || queue.length === 0) return;
    if (queue.length >= batchMax) {
      void flush();
    } else if (!timer) {
      // Even with waitMs 0 the run starts on a later turn, so callers of the same tick share it.
      const waited = performance.now() - queue[0].at;
      timer = setTimeout(
        () => {
          timer = undefined;
          if (!busy && queue.length > 0) void flush();
        },
        Math.max(0, waitMs - waited),
      );
    }
  };

  const flush = async () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    busy = true;
    const batch = queue.splice(0, batchMax);
    try {
      await runOnce(batch);
    } catch (err) {
      const byCall = new Map<number, Entry<I, O>[]>();
      for (const e of batch) byCall.set(e.call, [...(byCall.get(e.call) ?? []), e]);
      if (byCall.size === 1 || closed) {
        for (const e of batch) e.reject(err);
      } else {
        // Whose input broke the run? Each call again on its own: the others still get answers.
        for (const group of byCall.values()) {
          await runOnce(group).catch((e: unknown) => {
            for (const x of group) x.reject(e);
          });
        }
      }
    } finally {
      busy = false;
      schedule();
    }
  };

  const enqueue = (item: I, call: number): Promise<O> =>
    new Promise<O>((resolve, reject) => {
      if (closed) reject(closed);
      else queue.push({ item, call, at: performance.now(), resolve, reject });
    });

  const submitOne = (item: I): Promise<O> => {
    const p = enqueue(item, ++calls);
    schedule();
    return p;
  };

  // All of one call's inputs are queued before scheduling, so they share runs.
  const submit = (items: readonly I[]): Promise<O[]> => {
    const call = ++calls;
    const ps = items.map((item) => enqueue(item, call));
    schedule();
    return Promise.all(ps);
  };

  return {
    submitOne,
    submit,
    get runs() {
      return runs;
    },
    get queued() {
      return queue.length;
    },
    configure(limits) {
      batchMax = checkMax(limits.batchMax);
      waitMs = limits.waitMs;
      schedule();
    },
    close(reason) {
      closed = reason;
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const e of queue.splice(0)) e.reject(reason);
    },
  };
}
