import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.ts';
import { adapterFromResult, splitPairs, syntheticPairs, trainAdapter } from '../../../src/learn/adapter-train.ts';
import { gemm, gemmNT, gemmTN, invert } from '../../../src/linalg.ts';

describe('contrastive adapter training', () => {
  it('lifts held-out recall@1 from near chance to ≥ 0.9 when images are a hidden rotation of captions', async () => {
    const data = syntheticPairs(2000, 64, { seed: 11, noise: 0.5 });
    const epochs: number[] = [];
    const r = await trainAdapter(data, { seed: 5, batchSize: 128, onEpoch: (e) => epochs.push(e.loss) });
    expect(r.pairs.heldOut).toBe(200);
    // Chance is 1/200; anything a raw cosine finds here is luck.
    expect(r.before.textToImage.r1).toBeLessThan(0.05);
    expect(r.before.imageToText.r1).toBeLessThan(0.05);
    expect(r.after.textToImage.r1).toBeGreaterThanOrEqual(0.9);
    expect(r.after.imageToText.r1).toBeGreaterThanOrEqual(0.9);
    // The loss falls and the temperature was learned.
    expect(epochs[epochs.length - 1]).toBeLessThan(epochs[0] / 4);
    expect(r.logitScale).not.toBeCloseTo(1 / 0.07, 1);
    // The adapter as saved reproduces the held-out result on fresh pairs from the same rotation.
    const adapter = adapterFromResult(r, { model: 'test/model', dims: 64, libraryRows: 2000 });
    const fresh = syntheticPairs(2000, 64, { seed: 11, noise: 0.5 });
    let hits = 0;
    const probe = 100;
    const imgs = Array.from({ length: probe }, (_, i) => adapter.applyImage(fresh.image.slice(i * 64, (i + 1) * 64)));
    for (let i = 0; i < probe; i++) {
      const t = adapter.applyText(fresh.text.slice(i * 64, (i + 1) * 64));
      let best = -1;
      let bi = -1;
      imgs.forEach((v, j) => {
        let s = 0;
        for (let k = 0; k < 64; k++) s += t[k] * v[k];
        if (s > best) {
          best = s;
          bi = j;
        }
      });
      if (bi === i) hits++;
    }
    expect(hits / probe).toBeGreaterThanOrEqual(0.9);
  });

  it('is reproducible: the same seed gives the same adapter bit for bit', async () => {
    const data = syntheticPairs(300, 16, { seed: 2 });
    const a = await trainAdapter(data, { seed: 9, batchSize: 64, epochs: 3 });
    const b = await trainAdapter(data, { seed: 9, batchSize: 64, epochs: 3 });
    const c = await trainAdapter(data, { seed: 10, batchSize: 64, epochs: 3 });
    expect(Buffer.from(a.textDelta.buffer).equals(Buffer.from(b.textDelta.buffer))).toBe(true);
    expect(a.history.map((h) => h.loss)).toEqual(b.history.map((h) => h.loss));
    expect(Buffer.from(a.textDelta.buffer).equals(Buffer.from(c.textDelta.buffer))).toBe(false);
  });

  it('stays at the identity when captions already match their images', async () => {
    // Pairs already perfectly aligned: nothing to learn, the best epoch is "before" and the adapter is the identity.
    const data = syntheticPairs(200, 16, { seed: 3, noise: 0 });
    data.image.set(data.text);
    const r = await trainAdapter(data, { seed: 1, batchSize: 64, epochs: 5 });
    expect(r.before.textToImage.r1).toBe(1);
    expect(r.bestEpoch).toBe(0);
    expect(r.textDelta.every((x) => x === 0)).toBe(true);
  });

  it('stops early once held-out recall stops improving', async () => {
    const data = syntheticPairs(400, 16, { seed: 4, noise: 3 });
    const r = await trainAdapter(data, { seed: 1, batchSize: 64, epochs: 200, patience: 2 });
    expect(r.epochs).toBeLessThan(200);
    expect(r.epochs - r.bestEpoch).toBeLessThanOrEqual(2);
  });

  it('refuses too few pairs with a clear error', async () => {
    const data = syntheticPairs(10, 8);
    await expect(trainAdapter(data)).rejects.toThrow(InputError);
    await expect(trainAdapter(data)).rejects.toThrow(/at least 40 caption\/image pairs; the library has 10/);
  });

  it('splits held-out pairs deterministically and disjointly', () => {
    const a = splitPairs(1000, 0.1, 2000, 1);
    expect(a.heldOut.length).toBe(100);
    expect(new Set([...a.heldOut, ...a.train]).size).toBe(1000);
    expect([...splitPairs(1000, 0.1, 2000, 1).heldOut]).toEqual([...a.heldOut]);
    expect(splitPairs(100000, 0.1, 2000, 1).heldOut.length).toBe(2000);
  });
});

describe('matrix kernels', () => {
  const naive = (A: number[], B: number[], m: number, k: number, n: number) => {
    const C = new Array(m * n).fill(0);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) C[i * n + j] += A[i * k + p] * B[p * n + j];
    return C;
  };
  const rand = (len: number, s: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(i * 12.9898 + s) * 3);
  const transpose = (A: Float32Array, r: number, c: number) => {
    const T = new Float32Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) T[j * r + i] = A[i * c + j];
    return T;
  };

  it('agree with the textbook product on odd shapes and across blocks', () => {
    for (const [m, k, n] of [
      [5, 7, 3],
      [67, 130, 9],
      [1, 65, 66],
    ]) {
      const A = rand(m * k, 1);
      const B = rand(k * n, 2);
      const want = naive([...A], [...B], m, k, n);
      const C = new Float32Array(m * n);
      gemm(A, B, C, m, k, n);
      C.forEach((v, i) => {
        expect(v).toBeCloseTo(want[i], 2);
      });
      gemmNT(A, transpose(B, k, n), C, m, k, n);
      C.forEach((v, i) => {
        expect(v).toBeCloseTo(want[i], 2);
      });
      gemmTN(transpose(A, m, k), B, C, k, m, n);
      C.forEach((v, i) => {
        expect(v).toBeCloseTo(want[i], 2);
      });
    }
  });

  it('inverts a well-conditioned matrix and refuses a singular one', () => {
    const d = 6;
    const M = rand(d * d, 3).map((x, i) => x * 0.1 + (i % (d + 1) === 0 ? 2 : 0));
    const inv = invert(M, d)!;
    const P = new Float32Array(d * d);
    gemm(M, inv, P, d, d, d);
    P.forEach((v, i) => {
      expect(v).toBeCloseTo(i % (d + 1) === 0 ? 1 : 0, 4);
    });
    expect(invert(new Float32Array(d * d), d)).toBeUndefined();
  });
});
