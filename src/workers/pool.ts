/**
 * A pool of identical worker threads behind one `call`: at most one request per thread at a
 * time (more wait here, first come first served), each to an idle worker, spawned on first
 * use; so N concurrent requests use N threads and no thread holds a queue of its own. The
 * size can change while running (the CLIP preprocessing pool learns it once the execution
 * provider is known); workers beyond a shrunk size take no new work.
 */
import { InferenceError } from '../errors.ts';
import { type WireError, WorkerRpc, type WorkerRpcOptions } from './rpc.ts';

/** A FIFO counting semaphore whose capacity can change. */
export function createSemaphore(n: number) {
  let capacity = n;
  let used = 0;
  const waiters: (() => void)[] = [];
  const wake = () => {
    while (used < capacity && waiters.length) {
      used++;
      waiters.shift()?.();
    }
  };
  return {
    acquire(): Promise<void> {
      if (used < capacity && waiters.length === 0) {
        used++;
        return Promise.resolve();
      }
      return new Promise((r) => {
        waiters.push(r);
      });
    },
    release(): void {
      used--;
      wake();
    },
    resize(c: number): void {
      capacity = Math.max(1, c);
      wake();
    },
  };
}

export class WorkerPool<Req> {
  private readonly workers: WorkerRpc<Req>[] = [];
  private n: number;
  private readonly slots: ReturnType<typeof createSemaphore>;
  private closed = false;

  constructor(
    private readonly opts: WorkerRpcOptions,
    size: number,
  ) {
    this.n = WorkerPool.check(size);
    this.slots = createSemaphore(this.n);
  }

  private static check(size: number): number {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a worker pool needs a positive integer size; got ${size}`);
    return size;
  }

  get size(): number {
    return this.n;
  }

  /** Workers started so far (never more than the largest size the pool had). */
  get started(): number {
    return this.workers.filter((w) => w.alive).length;
  }

  resize(size: number): void {
    this.n = WorkerPool.check(size);
    this.slots.resize(this.n);
  }

  /** Runs `req` on a free worker (waiting for one); `transfer` moves those buffers to it. */
  async call<R>(req: Req, transfer?: ArrayBuffer[], revive?: (e: WireError) => Error): Promise<R> {
    await this.slots.acquire();
    try {
      // Closed while this call waited for a worker: a new one must not be spawned for it.
      if (this.closed) throw this.opts.closedError?.() ?? new InferenceError('WORKER_CLOSED', `${this.opts.name} has been closed`);
      return await this.pick().call<R>(req, transfer, revive);
    } finally {
      this.slots.release();
    }
  }

  private pick(): WorkerRpc<Req> {
    let best: WorkerRpc<Req> | undefined;
    for (let i = 0; i < this.n; i++) {
      this.workers[i] ??= new WorkerRpc<Req>(this.opts);
      const w = this.workers[i];
      // An idle live worker beats spawning one; an idle slot beats queueing behind a busy one.
      if (w.load === 0 && w.alive) {
        best = w;
        break;
      }
      if (!best || w.load < best.load || (w.load === best.load && !best.alive && w.alive)) best = w;
    }
    return best as WorkerRpc<Req>;
  }

  async close(opts: { farewell?: Req; graceMs?: number } = {}): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.close(opts)));
  }
}
