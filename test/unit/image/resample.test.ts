import { describe, expect, it } from 'vitest';
import { coefficients, resizeWindowRgb } from '../../../src/image/resample.ts';

function pattern(w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + ((i / 3) | 0) * 11) & 255;
  return px;
}

describe('resizeWindowRgb (Pillow resampler)', () => {
  it('keeps a flat colour flat at any scale, for both filters', () => {
    const w = 97;
    const h = 61;
    const flat = new Uint8Array(w * h * 3);
    for (let i = 0; i < flat.length; i += 3) flat.set([10, 128, 250], i);
    for (const filter of ['bicubic', 'bilinear'] as const) {
      for (const [ow, oh] of [
        [30, 20],
        [224, 140],
        [97, 30],
      ]) {
        const out = resizeWindowRgb(flat, w, h, ow, oh, { left: 0, top: 0, width: ow, height: oh }, filter);
        for (let i = 0; i < out.length; i += 3) expect([out[i], out[i + 1], out[i + 2]]).toEqual([10, 128, 250]);
      }
    }
  });

  it('returns the source window unchanged when the size does not change', () => {
    const src = pattern(50, 40);
    const out = resizeWindowRgb(src, 50, 40, 50, 40, { left: 5, top: 7, width: 20, height: 10 }, 'bicubic');
    for (let y = 0; y < 10; y++) {
      expect(Array.from(out.subarray(y * 60, (y + 1) * 60))).toEqual(
        Array.from(src.subarray(((y + 7) * 50 + 5) * 3, ((y + 7) * 50 + 25) * 3)),
      );
    }
  });

  it('computes a window equal to the same part of the full resize', () => {
    const src = pattern(300, 200);
    const full = resizeWindowRgb(src, 300, 200, 111, 74, { left: 0, top: 0, width: 111, height: 74 }, 'bicubic');
    const win = resizeWindowRgb(src, 300, 200, 111, 74, { left: 13, top: 9, width: 50, height: 40 }, 'bicubic');
    for (let y = 0; y < 40; y++) {
      expect(Array.from(win.subarray(y * 150, (y + 1) * 150))).toEqual(
        Array.from(full.subarray(((y + 9) * 111 + 13) * 3, ((y + 9) * 111 + 63) * 3)),
      );
    }
  });

  it('widens the filter by the downscale factor (antialiasing), as Pillow does', () => {
    // 4× downscale with bicubic: support 2 × 4 = 8 → up to 2·8+1 taps; upscaling keeps the 5-tap kernel.
    expect(coefficients(400, 100, 0, 100, 'bicubic').ksize).toBe(17);
    expect(coefficients(100, 400, 0, 400, 'bicubic').ksize).toBe(5);
    // Fixed-point weights of each output sum to 1.0 (2^22) within rounding.
    const c = coefficients(1024, 298, 0, 298, 'bicubic');
    for (let j = 0; j < 298; j++) {
      let s = 0;
      for (let i = 0; i < c.bounds[j * 2 + 1]; i++) s += c.weights[j * c.ksize + i];
      expect(Math.abs(s - 2 ** 22)).toBeLessThanOrEqual(c.ksize);
    }
  });
});
