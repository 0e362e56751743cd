/**
 * The worker RPC that the CLIP inference worker, the CLIP preprocessing pool and the image
 * pool share: replies, transfers, typed errors, deaths, closing, and a pool that spreads
 * concurrent calls over its threads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ImageError, InferenceError } from '../../../src/errors.ts';
import { WorkerPool } from '../../../src/workers/pool.ts';
import { WorkerRpc } from '../../../src/workers/rpc.ts';
import type { EchoRequest } from '../../fixtures/workers/echo-worker.ts';

const entry = new URL('../../fixtures/workers/echo-worker.ts', import.meta.url);
type Echo = { threadId: number; bytes: ArrayBuffer };
const closing: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((c) => c.close()));
});

function rpc(onExit?: () => void) {
  const r = new WorkerRpc<EchoRequest>({ entry, name: 'the echo worker', onExit });
  closing.push(r);
  return r;
}

describe('WorkerRpc', () => {
  it('answers each call and moves transferred buffers instead of copying them', async () => {
    const r = rpc();
    const bytes = Uint8Array.of(1, 2, 3).buffer;
    const out = await r.call<Echo>({ type: 'echo', bytes }, [bytes]);
    expect([...new Uint8Array(out.bytes)]).toEqual([2, 3, 4]);
    expect(bytes.byteLength).toBe(0); // detached: it now belongs to the worker
    expect(r.alive).toBe(true);
    expect(r.load).toBe(0);
  });

  it("brings a worker's typed error back with its class, code and hint; other errors keep their name", async () => {
    const r = rpc();
    const e = await r.call({ type: 'fail', code: 'IMAGE_CORRUPT' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImageError);
    expect(e).toMatchObject({ code: 'IMAGE_CORRUPT', message: 'the image is broken', hint: 'send another' });
    const plain = await r.call({ type: 'plain-fail' }).catch((x: unknown) => x);
    expect(plain).toMatchObject({ name: 'RangeError', message: 'out of range' });
    // Still serving.
    expect((await r.call<Echo>({ type: 'echo', bytes: new ArrayBuffer(1) })).bytes.byteLength).toBe(1);
  });

  it('rejects what a dying worker owed, tells its owner, and respawns on the next call', async () => {
    let exits = 0;
    const r = rpc(() => exits++);
    const first = (await r.call<Echo>({ type: 'echo', bytes: new ArrayBuffer(1) })).threadId;
    const pending = r.call<Echo>({ type: 'echo', bytes: new ArrayBuffer(1), waitMs: 5000 });
    const death = await r.call({ type: 'exit' }).catch((x: unknown) => x);
    expect(death).toBeInstanceOf(InferenceError);
    expect(death).toMatchObject({ code: 'WORKER_EXITED', message: 'the echo worker exited (code 3)' });
    await expect(pending).rejects.toMatchObject({ code: 'WORKER_EXITED' });
    expect(exits).toBe(1);
    const again = await r.call<Echo>({ type: 'echo', bytes: new ArrayBuffer(1) });
    expect(again.threadId).not.toBe(first);
  });

  it('close() answers calls in flight and refuses later ones', async () => {
    const r = rpc();
    const slow = r.call({ type: 'echo', bytes: new ArrayBuffer(1), waitMs: 5000 });
    await new Promise((res) => setTimeout(res, 50));
    await r.close({ graceMs: 0 });
    await expect(slow).rejects.toMatchObject({ code: 'WORKER_CLOSED' });
    await expect(r.call({ type: 'echo', bytes: new ArrayBuffer(1) })).rejects.toMatchObject({ code: 'WORKER_CLOSED' });
  });
});

describe('WorkerPool', () => {
  it('runs concurrent calls on as many threads as its size, and no more', async () => {
    const pool = new WorkerPool<EchoRequest>({ entry, name: 'an echo worker' }, 3);
    closing.push(pool);
    const calls = Array.from({ length: 6 }, () => pool.call<Echo>({ type: 'echo', bytes: new ArrayBuffer(4), waitMs: 300 }));
    const threads = new Set((await Promise.all(calls)).map((r) => r.threadId));
    expect(threads.size).toBe(3);
    expect(pool.started).toBe(3);
    // An idle pool reuses its threads rather than spawning more.
    await pool.call({ type: 'echo', bytes: new ArrayBuffer(1) });
    expect(pool.started).toBe(3);
  });

  it('grows when resized', async () => {
    const pool = new WorkerPool<EchoRequest>({ entry, name: 'an echo worker' }, 1);
    closing.push(pool);
    await Promise.all([1, 2].map(() => pool.call({ type: 'echo', bytes: new ArrayBuffer(1), waitMs: 100 })));
    expect(pool.started).toBe(1);
    pool.resize(2);
    await Promise.all([1, 2].map(() => pool.call({ type: 'echo', bytes: new ArrayBuffer(1), waitMs: 100 })));
    expect(pool.started).toBe(2);
    expect(() => pool.resize(0)).toThrow(RangeError);
  });
});
