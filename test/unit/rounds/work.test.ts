import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { WorkQueue } from '../../../src/rounds/work.ts';

describe('the work queue', () => {
  it('runs at most N rounds at once; the others hear their place in line and go in order', async () => {
    const q = new WorkQueue({ maxConcurrent: 2, logger: silentLogger });
    const order: string[] = [];
    const queued: number[] = [];
    const a = await q.slot(() => queued.push(-1));
    const b = await q.slot(() => queued.push(-1));
    const took = (name: string) => (s: Awaited<ReturnType<WorkQueue['slot']>>) => {
      order.push(name);
      return s;
    };
    const c = q.slot((ahead) => queued.push(ahead)).then(took('c'));
    const d = q.slot((ahead) => queued.push(ahead)).then(took('d'));
    await new Promise((r) => setImmediate(r));
    expect(queued).toEqual([1, 2]);
    expect(order).toEqual([]);
    a.release();
    a.release(); // twice is once
    const cs = await c;
    expect(order).toEqual(['c']);
    b.release();
    const ds = await d;
    expect(order).toEqual(['c', 'd']);
    cs.release();
    ds.release();
    // All slots free again: the next one goes straight in.
    const e = await q.slot(() => queued.push(99));
    expect(queued).toEqual([1, 2]);
    e.release();
  });

  it('at shutdown, waits for tracked work, then aborts what still runs and frees rounds waiting in line', async () => {
    const q = new WorkQueue({ maxConcurrent: 1, logger: silentLogger });
    const running = await q.slot(() => {});
    const waiting = q.slot(() => {});
    let aborted = false;
    q.track(
      new Promise<void>((resolve) =>
        running.signal.addEventListener('abort', () => {
          aborted = true;
          resolve();
        }),
      ),
      'generation',
    );
    expect(q.busy).toBe(1);
    await q.drain(30);
    expect(aborted).toBe(true);
    expect(q.stopping).toBe(true);
    expect((await waiting).signal.aborted).toBe(true);
    // After shutdown began, a new slot is aborted from the start.
    expect((await q.slot(() => {})).signal.aborted).toBe(true);
  });

  it('a failed piece of work is logged, not thrown', async () => {
    const lines: string[] = [];
    const { createLogger } = await import('../../../src/log.ts');
    const q = new WorkQueue({ maxConcurrent: 1, logger: createLogger({ write: (l) => lines.push(l) }) });
    q.track(async () => {
      throw new Error('boom');
    }, 'brief');
    await q.idle();
    expect(lines.some((l) => l.includes('brief failed') && l.includes('boom'))).toBe(true);
  });
});
