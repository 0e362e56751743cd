import { afterEach, describe, expect, it, vi } from 'vitest';
import { type BatchRunInfo, createBatcher } from '../../../src/clip/batcher.ts';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A batcher whose runs double their inputs and record the batches they saw. */
function doubling(batchMax: number, waitMs: number, gate?: () => Promise<void>) {
  const batches: number[][] = [];
  const b = createBatcher<number, number>({
    batchMax,
    waitMs,
    run: async (items: number[], _info: BatchRunInfo) => {
      batches.push([...items]);
      if (gate) await gate();
      return items.map((x) => x * 2);
    },
  });
  return { b, batches };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('dynamic batcher', () => {
  it('puts concurrent calls into one run and gives each caller its own results in order', async () => {
    const { b, batches } = doubling(16, 5);
    const [r1, r2, r3] = await Promise.all([b.submit([1, 2, 3]), b.submit([10]), b.submit([20, 21])]);
    expect(r1).toEqual([2, 4, 6]);
    expect(r2).toEqual([20]);
    expect(r3).toEqual([40, 42]);
    expect(batches).toEqual([[1, 2, 3, 10, 20, 21]]);
    expect(b.runs).toBe(1);
  });

  it('splits a call larger than batchMax and preserves its order', async () => {
    const { b, batches } = doubling(8, 0);
    const input = Array.from({ length: 20 }, (_, i) => i);
    expect(await b.submit(input)).toEqual(input.map((x) => x * 2));
    expect(batches.map((x) => x.length)).toEqual([8, 8, 4]);
    expect(batches.flat()).toEqual(input);
  });

  it('keeps one run in flight and gathers what arrives meanwhile into the next run', async () => {
    let open = deferred();
    const { b, batches } = doubling(32, 0, () => open.promise);
    const first = b.submit([1]);
    await vi.waitFor(() => expect(batches.length).toBe(1));
    const later = [b.submit([2]), b.submit([3, 4]), b.submitOne(5)];
    const gate = open;
    open = deferred();
    open.resolve();
    gate.resolve();
    expect(await first).toEqual([2]);
    expect(await Promise.all(later)).toEqual([[4], [6, 8], 10]);
    expect(batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('a failing run rejects only the callers whose inputs were in it', async () => {
    const b = createBatcher<number, number>({
      batchMax: 2,
      waitMs: 0,
      run: async (items) => {
        if (items.includes(-1)) throw new Error('model failed');
        return items.map((x) => x + 1);
      },
    });
    const results = await Promise.allSettled([b.submit([1, 2]), b.submit([-1, 3]), b.submit([4, 5])]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: [2, 3] });
    expect(results[1].status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('model failed');
    expect(results[2]).toEqual({ status: 'fulfilled', value: [5, 6] });
  });

  it('a run shared by several calls that fails is run again call by call: only the bad call fails', async () => {
    const runs: number[][] = [];
    const b = createBatcher<number, number>({
      batchMax: 16,
      waitMs: 0,
      run: async (items) => {
        runs.push([...items]);
        if (items.includes(-1)) throw new Error('token id out of range');
        return items.map((x) => x + 1);
      },
    });
    const results = await Promise.allSettled([b.submit([1, 2]), b.submit([-1, 3]), b.submit([4]), b.submitOne(5)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: [2, 3] });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'token id out of range' } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: [5] });
    expect(results[3]).toEqual({ status: 'fulfilled', value: 6 });
    // One shared run, then one per call.
    expect(runs).toEqual([[1, 2, -1, 3, 4, 5], [1, 2], [-1, 3], [4], [5]]);
  });

  it('rejects a run that returns the wrong number of results', async () => {
    const b = createBatcher<number, number>({ batchMax: 4, waitMs: 0, run: async () => [1] });
    await expect(b.submit([1, 2])).rejects.toThrow(/1 results for 2 inputs/);
  });

  it('waits up to waitMs for more inputs, then runs what it has', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { b, batches } = doubling(8, 50);
    const a = b.submitOne(1);
    await vi.advanceTimersByTimeAsync(30);
    expect(batches).toEqual([]);
    const c = b.submitOne(2);
    await vi.advanceTimersByTimeAsync(19);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(2);
    expect(batches).toEqual([[1, 2]]);
    expect(await Promise.all([a, c])).toEqual([2, 4]);
  });

  it('runs at once when batchMax inputs are queued, without waiting', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { b, batches } = doubling(3, 10_000);
    const p = Promise.all([b.submitOne(1), b.submitOne(2), b.submitOne(3)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(await p).toEqual([2, 4, 6]);
  });

  it('close() rejects queued work and refuses new work', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { b } = doubling(8, 1000);
    const p = b.submit([1, 2]);
    b.close(new Error('closed'));
    await expect(p).rejects.toThrow('closed');
    await expect(b.submit([3])).rejects.toThrow('closed');
    expect(b.runs).toBe(0);
  });
});
