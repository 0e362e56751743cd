/**
 * Dense linear algebra over row-major Float32Arrays and a seeded RNG: what the adapter
 * and preference trainers need, fast enough to train 10k × 512-d pairs on two cores
 * without a native BLAS. Products are blocked so a slab of the right-hand matrix stays
 * in cache, and unrolled over four rows so each loaded value is used four times.
 */

/** Deterministic PRNG (mulberry32): same seed, same training run. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** Integer in [0, n). */
  int(n: number): number;
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0 || 0x9e3779b9;
  let spare: number | undefined;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    normal() {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n) {
      return Math.floor(next() * n);
    },
  };
}

/** In-place Fisher–Yates shuffle. */
export function shuffle<T>(arr: T[] | Uint32Array | Int32Array, rng: Rng): void {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = arr[i];
    arr[i] = arr[j];
    arr[j] = t;
  }
}

const BLOCK = 64;

/** C[m×n] = A[m×k] · B[k×n] (C overwritten unless `accumulate`). */
export function gemm(A: Float32Array, B: Float32Array, C: Float32Array, m: number, k: number, n: number, accumulate = false): void {
  if (!accumulate) C.fill(0, 0, m * n);
  for (let p0 = 0; p0 < k; p0 += BLOCK) {
    const p1 = Math.min(k, p0 + BLOCK);
    let i = 0;
    for (; i + 3 < m; i += 4) {
      const c0 = i * n;
      const c1 = c0 + n;
      const c2 = c1 + n;
      const c3 = c2 + n;
      for (let p = p0; p < p1; p++) {
        const a0 = A[i * k + p];
        const a1 = A[(i + 1) * k + p];
        const a2 = A[(i + 2) * k + p];
        const a3 = A[(i + 3) * k + p];
        const bo = p * n;
        for (let j = 0; j < n; j++) {
          const b = B[bo + j];
          C[c0 + j] += a0 * b;
          C[c1 + j] += a1 * b;
          C[c2 + j] += a2 * b;
          C[c3 + j] += a3 * b;
        }
      }
    }
    for (; i < m; i++) {
      const c0 = i * n;
      for (let p = p0; p < p1; p++) {
        const a0 = A[i * k + p];
        if (a0 === 0) continue;
        const bo = p * n;
        for (let j = 0; j < n; j++) C[c0 + j] += a0 * B[bo + j];
      }
    }
  }
}

/** C[m×n] = A[m×k] · B[n×k]ᵀ: every row of A against every row of B (dot products). */
export function gemmNT(A: Float32Array, B: Float32Array, C: Float32Array, m: number, k: number, n: number): void {
  for (let i0 = 0; i0 < m; i0 += BLOCK) {
    const i1 = Math.min(m, i0 + BLOCK);
    for (let j0 = 0; j0 < n; j0 += BLOCK) {
      const j1 = Math.min(n, j0 + BLOCK);
      for (let i = i0; i < i1; i++) {
        const ao = i * k;
        let j = j0;
        for (; j + 3 < j1; j += 4) {
          const b0 = j * k;
          const b1 = b0 + k;
          const b2 = b1 + k;
          const b3 = b2 + k;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let p = 0; p < k; p++) {
            const a = A[ao + p];
            s0 += a * B[b0 + p];
            s1 += a * B[b1 + p];
            s2 += a * B[b2 + p];
            s3 += a * B[b3 + p];
          }
          const co = i * n + j;
          C[co] = s0;
          C[co + 1] = s1;
          C[co + 2] = s2;
          C[co + 3] = s3;
        }
        for (; j < j1; j++) {
          const bo = j * k;
          let s = 0;
          for (let p = 0; p < k; p++) s += A[ao + p] * B[bo + p];
          C[i * n + j] = s;
        }
      }
    }
  }
}

/** C[m×n] = A[k×m]ᵀ · B[k×n] (C overwritten unless `accumulate`): the weight gradient Xᵀ·dY. */
export function gemmTN(A: Float32Array, B: Float32Array, C: Float32Array, k: number, m: number, n: number, accumulate = false): void {
  if (!accumulate) C.fill(0, 0, m * n);
  // Four rows of C stay in L1 while a cache-sized slab of B's rows streams past.
  for (let p0 = 0; p0 < k; p0 += BLOCK) {
    const p1 = Math.min(k, p0 + BLOCK);
    gemmTNSlab(A, B, C, p0, p1, m, n);
  }
}

function gemmTNSlab(A: Float32Array, B: Float32Array, C: Float32Array, p0: number, p1: number, m: number, n: number): void {
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const c0 = i * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    for (let p = p0; p < p1; p++) {
      const ao = p * m + i;
      const a0 = A[ao];
      const a1 = A[ao + 1];
      const a2 = A[ao + 2];
      const a3 = A[ao + 3];
      const bo = p * n;
      for (let j = 0; j < n; j++) {
        const b = B[bo + j];
        C[c0 + j] += a0 * b;
        C[c1 + j] += a1 * b;
        C[c2 + j] += a2 * b;
        C[c3 + j] += a3 * b;
      }
    }
  }
  for (; i < m; i++) {
    const c0 = i * n;
    for (let p = p0; p < p1; p++) {
      const a0 = A[p * m + i];
      if (a0 === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) C[c0 + j] += a0 * B[bo + j];
    }
  }
}

/** Normalises each of the `rows` rows of X (width d) in place; returns the norms before. */
export function normalizeRows(X: Float32Array, rows: number, d: number, norms: Float32Array = new Float32Array(rows)): Float32Array {
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += X[o + j] * X[o + j];
    const n = Math.sqrt(s);
    norms[i] = n;
    if (n > 0) {
      const inv = 1 / n;
      for (let j = 0; j < d; j++) X[o + j] *= inv;
    }
  }
  return norms;
}

/** A d×d identity. */
export function identity(d: number): Float32Array {
  const m = new Float32Array(d * d);
  for (let i = 0; i < d; i++) m[i * d + i] = 1;
  return m;
}

/**
 * Inverse of a square matrix by Gauss–Jordan with partial pivoting, in float64.
 * Returns undefined when the matrix is (numerically) singular.
 */
export function invert(M: Float32Array, d: number): Float32Array | undefined {
  const a = new Float64Array(d * d);
  a.set(M);
  const inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) inv[i * d + i] = 1;
  for (let c = 0; c < d; c++) {
    let piv = c;
    let best = Math.abs(a[c * d + c]);
    for (let r = c + 1; r < d; r++) {
      const v = Math.abs(a[r * d + c]);
      if (v > best) {
        best = v;
        piv = r;
      }
    }
    if (best < 1e-12) return undefined;
    if (piv !== c) {
      for (let j = 0; j < d; j++) {
        let t = a[c * d + j];
        a[c * d + j] = a[piv * d + j];
        a[piv * d + j] = t;
        t = inv[c * d + j];
        inv[c * d + j] = inv[piv * d + j];
        inv[piv * d + j] = t;
      }
    }
    const pv = 1 / a[c * d + c];
    for (let j = 0; j < d; j++) {
      a[c * d + j] *= pv;
      inv[c * d + j] *= pv;
    }
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = a[r * d + c];
      if (f === 0) continue;
      for (let j = 0; j < d; j++) {
        a[r * d + j] -= f * a[c * d + j];
        inv[r * d + j] -= f * inv[c * d + j];
      }
    }
  }
  return Float32Array.from(inv);
}

/** A uniformly random rotation (Haar) by Gram–Schmidt on a Gaussian matrix; for synthetic data. */
export function randomRotation(d: number, rng: Rng): Float32Array {
  const q = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) q[i] = rng.normal();
  for (let i = 0; i < d; i++) {
    const oi = i * d;
    for (let r = 0; r < i; r++) {
      const or = r * d;
      let dot = 0;
      for (let j = 0; j < d; j++) dot += q[oi + j] * q[or + j];
      for (let j = 0; j < d; j++) q[oi + j] -= dot * q[or + j];
    }
    let s = 0;
    for (let j = 0; j < d; j++) s += q[oi + j] * q[oi + j];
    const n = Math.sqrt(s);
    for (let j = 0; j < d; j++) q[oi + j] /= n;
  }
  return Float32Array.from(q);
}

/** Packs a list of equal-length vectors into one row-major matrix. */
export function stack(vs: ArrayLike<number>[], d: number): Float32Array {
  const out = new Float32Array(vs.length * d);
  for (let i = 0; i < vs.length; i++) {
    if (vs[i].length !== d) throw new RangeError(`vector ${i} has ${vs[i].length} dimensions, expected ${d}`);
    out.set(vs[i], i * d);
  }
  return out;
}

/** Float32Array ⇄ base64 (little-endian), for JSON model files. */
export function floatsToBase64(a: Float32Array): string {
  const bytes = new Uint8Array(a.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i], true);
  return Buffer.from(bytes).toString('base64');
}

export function base64ToFloats(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length % 4 !== 0) throw new RangeError(`base64 float data has ${bytes.length} bytes, not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function median(xs: number[]): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Cholesky factor L (lower, row-major, float64) of a symmetric positive-definite d×d matrix,
 * with `jitter` added to the diagonal; undefined when it is not positive definite.
 */
export function cholesky(A: ArrayLike<number>, d: number, jitter = 0): Float64Array | undefined {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const oi = i * d;
    for (let j = 0; j <= i; j++) {
      const oj = j * d;
      let s = A[oi + j] + (i === j ? jitter : 0);
      for (let k = 0; k < j; k++) s -= L[oi + k] * L[oj + k];
      if (i === j) {
        if (!(s > 0)) return undefined;
        L[oi + i] = Math.sqrt(s);
      } else L[oi + j] = s / L[oj + j];
    }
  }
  return L;
}

/** Solves (L Lᵀ) x = b for x, given the Cholesky factor L. */
export function choleskySolve(L: Float64Array, b: ArrayLike<number>, d: number): Float64Array {
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * d + k] * y[k];
    y[i] = s / L[i * d + i];
  }
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < d; k++) s -= L[k * d + i] * y[k];
    y[i] = s / L[i * d + i];
  }
  return y;
}

/** Inverse of a symmetric positive-definite matrix from its Cholesky factor. */
export function choleskyInverse(L: Float64Array, d: number): Float64Array {
  const inv = new Float64Array(d * d);
  const e = new Float64Array(d);
  for (let c = 0; c < d; c++) {
    e.fill(0);
    e[c] = 1;
    const col = choleskySolve(L, e, d);
    for (let r = 0; r < d; r++) inv[r * d + c] = col[r];
  }
  return inv;
}

/** log det(L Lᵀ). */
export function choleskyLogDet(L: Float64Array, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += Math.log(L[i * d + i]);
  return 2 * s;
}

/** Gram–Schmidt (twice, for stability) on the k rows of a k×d matrix, in place; a row that vanishes is left zero. */
export function orthonormalizeRows(Q: Float64Array, k: number, d: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < k; i++) {
      const oi = i * d;
      for (let r = 0; r < i; r++) {
        const or = r * d;
        let dot = 0;
        for (let j = 0; j < d; j++) dot += Q[oi + j] * Q[or + j];
        for (let j = 0; j < d; j++) Q[oi + j] -= dot * Q[or + j];
      }
      let s = 0;
      for (let j = 0; j < d; j++) s += Q[oi + j] * Q[oi + j];
      const n = Math.sqrt(s);
      for (let j = 0; j < d; j++) Q[oi + j] = n > 1e-12 ? Q[oi + j] / n : 0;
    }
  }
}

/**
 * The top-k principal directions of the n×d rows of X (centred on their mean), as the rows of
 * a k×d matrix, by subspace iteration (Y = X̄Qᵀ, Q = orth(YᵀX̄)) on the blocked products
 * above; with the mean and each direction's variance. k is capped at min(n − 1, d).
 */
export function principalComponents(
  X: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  iterations = 10,
): { mean: Float32Array; components: Float32Array; variances: number[]; k: number } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= Math.max(1, n);
  const kk = Math.max(0, Math.min(k, n - 1, d));
  const Xc = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) Xc[i * d + j] = X[i * d + j] - mean[j];
  // A few extra directions speed convergence of the last wanted ones.
  const m = Math.min(d, kk + 8);
  let Q = new Float64Array(m * d);
  for (let i = 0; i < Q.length; i++) Q[i] = rng.normal();
  orthonormalizeRows(Q, m, d);
  const Qf = new Float32Array(m * d);
  const Y = new Float32Array(n * m);
  const next = new Float32Array(m * d);
  for (let it = 0; it < iterations; it++) {
    Qf.set(Q);
    gemmNT(Xc, Qf, Y, n, d, m);
    gemmTN(Y, Xc, next, n, m, d);
    Q = Float64Array.from(next);
    orthonormalizeRows(Q, m, d);
  }
  // Variance along each direction (‖X̄q‖²/(n−1)), and order by it: subspace iteration leaves the basis unordered within it.
  Qf.set(Q);
  gemmNT(Xc, Qf, Y, n, d, m);
  const variances: number[] = [];
  for (let r = 0; r < m; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Y[i * m + r] * Y[i * m + r];
    variances.push(s / Math.max(1, n - 1));
  }
  const order = variances
    .map((_, i) => i)
    .sort((a, b) => variances[b] - variances[a])
    .slice(0, kk);
  const components = new Float32Array(kk * d);
  order.forEach((o, r) => {
    for (let j = 0; j < d; j++) components[r * d + j] = Q[o * d + j];
  });
  return { mean: Float32Array.from(mean), components, variances: order.map((o) => variances[o]), k: kk };
}

/** Solves the small dense system A X = B (A n×n, B n×m, row-major) by Gaussian elimination with partial pivoting. */
export function solveDense(A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const a = Float64Array.from(A);
  const x = Float64Array.from(B);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[piv * n + c])) piv = r;
    if (piv !== c) {
      for (let j = 0; j < n; j++) [a[c * n + j], a[piv * n + j]] = [a[piv * n + j], a[c * n + j]];
      for (let j = 0; j < m; j++) [x[c * m + j], x[piv * m + j]] = [x[piv * m + j], x[c * m + j]];
    }
    const p = a[c * n + c] || 1e-300;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c] / p;
      if (f === 0) continue;
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j];
      for (let j = 0; j < m; j++) x[r * m + j] -= f * x[c * m + j];
    }
  }
  for (let r = 0; r < n; r++) {
    const p = a[r * n + r] || 1e-300;
    for (let j = 0; j < m; j++) x[r * m + j] /= p;
  }
  return x;
}

/** M·v for a D×D row-major M. */
export function matVec(M: Float64Array, v: ArrayLike<number>, D: number, out = new Float64Array(D)): Float64Array {
  for (let i = 0; i < D; i++) {
    let s = 0;
    const o = i * D;
    for (let j = 0; j < D; j++) s += M[o + j] * v[j];
    out[i] = s;
  }
  return out;
}

/** a · b over the length of a. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Cholesky with a growing diagonal jitter when round-off has left a positive-definite matrix
 * just short of it; undefined when even a large jitter does not help.
 */
export function choleskyJittered(A: ArrayLike<number>, D: number): Float64Array | undefined {
  let L = cholesky(A, D);
  for (let jitter = 1e-10; !L && jitter < 1; jitter *= 100) L = cholesky(A, D, jitter);
  return L;
}

/** Inverse of a symmetric positive-definite matrix; throws RangeError when it is not one. */
export function invertSpd(A: Float64Array, D: number): Float64Array {
  const L = choleskyJittered(A, D);
  if (!L) throw new RangeError('the matrix is not positive definite');
  return choleskyInverse(L, D);
}
