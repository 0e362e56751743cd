/**
 * Pillow's resampler (`Image.resize` on 8-bit images), reproduced on raw pixels: separable,
 * horizontal pass then vertical, filter support widened by the downscale factor
 * (antialiasing), coefficients in 22-bit fixed point, rounded and clipped to uint8 after
 * each pass. Same arithmetic, so the output equals Pillow's byte for byte on the same
 * decoded pixels; CLIP's preprocessing is defined by what Pillow does.
 *
 * Only a window of the resized image is computed (the centre crop), which skips most of
 * the work of resizing the whole picture.
 */

import type { Window } from './decode.ts';

export type ResampleFilter = 'bicubic' | 'bilinear';

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);
const CLIP_HIGH = ONE * 256;

const FILTERS: Record<ResampleFilter, { support: number; fn: (x: number) => number }> = {
  bicubic: {
    support: 2,
    fn(x) {
      const a = -0.5;
      const ax = x < 0 ? -x : x;
      if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
      return 0;
    },
  },
  bilinear: {
    support: 1,
    fn(x) {
      const ax = x < 0 ? -x : x;
      return ax < 1 ? 1 - ax : 0;
    },
  },
};

/** Fixed-point taps for output positions [first, first + count) of an inSize → outSize resize. */
export interface Coefficients {
  /** Taps per output position (the table's stride). */
  ksize: number;
  /** Per output position: first source index and number of taps. */
  bounds: Int32Array;
  /** count × ksize fixed-point weights. */
  weights: Int32Array;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`, for a window of outputs. */
export function coefficients(inSize: number, outSize: number, first: number, count: number, filter: ResampleFilter): Coefficients {
  const f = FILTERS[filter];
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = f.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(count * 2);
  const weights = new Int32Array(count * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let j = 0; j < count; j++) {
    const xx = first + j;
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = f.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? k[x] / ww : k[x];
      weights[j * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[j * 2] = xmin;
    bounds[j * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

function clip8(ss: number): number {
  if (ss >= CLIP_HIGH) return 255;
  if (ss <= 0) return 0;
  return ss >> PRECISION_BITS;
}

/**
 * Resizes interleaved 3-channel `src` (srcW × srcH) to outW × outH as Pillow would and
 * returns only `win` of the result (interleaved RGB, win.width × win.height). The window
 * must lie inside outW × outH.
 */
export function resizeWindowRgb(
  src: Uint8Array,
  srcW: number,
  srcH: number,
  outW: number,
  outH: number,
  win: Window,
  filter: ResampleFilter,
): Uint8Array {
  const needH = outW !== srcW;
  const needV = outH !== srcH;
  const W = win.width;
  const H = win.height;

  // Rows of the source the vertical pass reads (all of them when there is no vertical pass).
  let vc: Coefficients | undefined;
  let rowFirst = win.top;
  let rowLast = win.top + H;
  if (needV) {
    vc = coefficients(srcH, outH, win.top, H, filter);
    rowFirst = vc.bounds[0];
    rowLast = vc.bounds[(H - 1) * 2] + vc.bounds[(H - 1) * 2 + 1];
  }
  const rows = rowLast - rowFirst;

  // Horizontal pass: rows [rowFirst, rowLast) of the source → W columns of the window.
  let mid: Uint8Array;
  if (needH) {
    const hc = coefficients(srcW, outW, win.left, W, filter);
    mid = new Uint8Array(rows * W * 3);
    const { ksize, bounds, weights } = hc;
    for (let y = 0; y < rows; y++) {
      const srcRow = (y + rowFirst) * srcW * 3;
      const dstRow = y * W * 3;
      for (let x = 0; x < W; x++) {
        const xmin = bounds[x * 2];
        const n = bounds[x * 2 + 1];
        const kOff = x * ksize;
        // int32 arithmetic throughout (as Pillow's C): sums stay below 2^31 for these filters.
        let r = HALF;
        let g = HALF;
        let b = HALF;
        let p = srcRow + xmin * 3;
        for (let i = 0; i < n; i++) {
          const w = weights[kOff + i];
          r = (r + Math.imul(src[p], w)) | 0;
          g = (g + Math.imul(src[p + 1], w)) | 0;
          b = (b + Math.imul(src[p + 2], w)) | 0;
          p += 3;
        }
        const d = dstRow + x * 3;
        mid[d] = clip8(r);
        mid[d + 1] = clip8(g);
        mid[d + 2] = clip8(b);
      }
    }
  } else {
    mid = new Uint8Array(rows * W * 3);
    for (let y = 0; y < rows; y++) {
      const s = ((y + rowFirst) * srcW + win.left) * 3;
      mid.set(src.subarray(s, s + W * 3), y * W * 3);
    }
  }
  if (!vc) return mid;

  // Vertical pass over the intermediate rows: taps outer, columns inner, so every read is
  // sequential (a column-at-a-time loop strides through memory and is several times slower).
  const out = new Uint8Array(W * H * 3);
  const { ksize, bounds, weights } = vc;
  const stride = W * 3;
  const acc = new Int32Array(stride);
  for (let y = 0; y < H; y++) {
    const ymin = bounds[y * 2] - rowFirst;
    const n = bounds[y * 2 + 1];
    const kOff = y * ksize;
    acc.fill(HALF);
    for (let i = 0; i < n; i++) {
      const w = weights[kOff + i];
      const row = (ymin + i) * stride;
      for (let c = 0; c < stride; c++) acc[c] = (acc[c] + Math.imul(mid[row + c], w)) | 0;
    }
    const dstRow = y * stride;
    for (let c = 0; c < stride; c++) out[dstRow + c] = clip8(acc[c]);
  }
  return out;
}
