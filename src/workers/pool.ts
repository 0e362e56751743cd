/**
 * A pool of identical worker threads behind one `call`: each request goes to the least busy
 * worker (an idle one first, spawning it on first use), so N concurrent requests use N
 * threads. The size can change while running (the CLIP preprocessing pool learns it once the
 * execution provider is known); workers beyond a shrunk size take no new work.
 */
import { type WireError, WorkerRpc, type WorkerRpcOptions } from './rpc.ts';

export class WorkerPool<Req> {
  private readonly workers: WorkerRpc<Req>[] = [];
  private n: number;

  constructor(
    private readonly opts: WorkerRpcOptions,
    size: number,
  ) {
    this.n = WorkerPool.check(size);
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
  }

  call<R>(req: Req, transfer?: ArrayBuffer[], revive?: (e: WireError) => Error): Promise<R> {
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
    return (best as WorkerRpc<Req>).call<R>(req, transfer, revive);
  }

  async close(opts: { farewell?: Req; graceMs?: number } = {}): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close(opts)));
  }
}
