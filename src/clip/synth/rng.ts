/**
 * Seeded random numbers for synthetic weights. mulberry32 is tiny, fast and good enough
 * for initialisation; the same seed gives the same bytes on every platform, which is what
 * makes synthetic model files reproducible.
 */
import { mulberry32 } from '../../random.ts';

export { mulberry32 };

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Fills `out` with normal samples of the given standard deviation (and mean). */
  fillNormal(out: Float32Array, std: number, mean?: number): Float32Array;
  /** Fills `out` uniformly in [-bound, bound). */
  fillUniform(out: Float32Array, bound: number): Float32Array;
}

export function createRng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    next,
    fillNormal(out, std, mean = 0) {
      // Box–Muller yields two samples per pair of uniforms; use both.
      const n = out.length;
      let i = 0;
      while (i < n) {
        const u1 = 1 - next(); // (0, 1]: log stays finite
        const u2 = next();
        const r = Math.sqrt(-2 * Math.log(u1)) * std;
        const th = 2 * Math.PI * u2;
        out[i++] = mean + r * Math.cos(th);
        if (i < n) out[i++] = mean + r * Math.sin(th);
      }
      return out;
    },
    fillUniform(out, bound) {
      for (let i = 0; i < out.length; i++) out[i] = (2 * next() - 1) * bound;
      return out;
    },
  };
}

/** A child seed per named tensor, so adding a tensor does not shift every other one. */
export function deriveSeed(seed: number, name: string): number {
  // FNV-1a over the name, mixed with the seed.
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
