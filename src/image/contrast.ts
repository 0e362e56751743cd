/**
 * WCAG 2 contrast: relative luminance of sRGB colours and the contrast ratio between two.
 * Composition uses it to decide whether headline text needs a scrim behind it.
 */
export type RGB = [number, number, number];

export const WCAG_AA = 4.5;

/** "#1F6F50" or "#fff" → [31, 111, 80]; undefined when it is not a hex colour. */
export function parseHex(hex: string): RGB | undefined {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex.trim());
  if (!m) return undefined;
  const h =
    m[1].length === 3
      ? m[1]
          .split('')
          .map((c) => c + c)
          .join('')
      : m[1];
  return [Number.parseInt(h.slice(0, 2), 16), Number.parseInt(h.slice(2, 4), 16), Number.parseInt(h.slice(4, 6), 16)];
}

export function toHex([r, g, b]: RGB): string {
  return `#${[r, g, b]
    .map((v) =>
      Math.round(Math.max(0, Math.min(255, v)))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

// sRGB → linear lookup: the channel values are bytes, so a table beats pow() per pixel.
const LINEAR = Array.from({ length: 256 }, (_, i) => {
  const c = i / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/** An sRGB channel byte as linear light, 0..1 (also the first step to CIE Lab: image/brand-colours.ts). */
export function lin(v: number): number {
  const i = Math.round(Math.max(0, Math.min(255, v)));
  return LINEAR[i];
}

export function luminance([r, g, b]: RGB): number {
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrastRatio(a: RGB, b: RGB): number {
  const la = luminance(a);
  const lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** Of black and white, the one that reads better on `bg`. */
export function readableOn(bg: RGB): RGB {
  return contrastRatio([0, 0, 0], bg) >= contrastRatio([255, 255, 255], bg) ? [0, 0, 0] : [255, 255, 255];
}

// Contrast ratio is monotonic in |ln(L1 + 0.05) − ln(L2 + 0.05)|, so a percentile of the ratio
// is a percentile of that distance: a fixed histogram finds it in one pass, with no sort.
const LOG_SPAN = Math.log(1.05 / 0.05);
const BINS = 2048;

function pixelLogLum(r: number, g: number, b: number): number {
  return Math.log(0.2126 * LINEAR[r] + 0.7152 * LINEAR[g] + 0.0722 * LINEAR[b] + 0.05);
}

/**
 * Contrast of `text` against the pixels of a region (RGB bytes, 3 per pixel), taken at a low
 * percentile so a text block over a mostly dark photo with one bright patch still counts as
 * unreadable where it crosses the patch.
 */
export function regionContrast(pixels: Uint8Array, text: RGB, percentile = 0.1): number {
  const n = Math.floor(pixels.length / 3);
  if (n === 0) return Number.POSITIVE_INFINITY;
  const lt = Math.log(luminance(text) + 0.05);
  const hist = new Uint32Array(BINS);
  for (let i = 0; i < n; i++) {
    const d = Math.abs(pixelLogLum(pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) - lt);
    hist[Math.min(BINS - 1, Math.floor((d / LOG_SPAN) * BINS))]++;
  }
  const rank = Math.min(n - 1, Math.floor(percentile * n));
  let seen = 0;
  for (let b = 0; b < BINS; b++) {
    seen += hist[b];
    if (seen > rank) return Math.exp((b / BINS) * LOG_SPAN);
  }
  return Math.exp(LOG_SPAN);
}

function blend(pixels: Uint8Array, scrim: RGB, a: number, out: Uint8Array): Uint8Array {
  for (let i = 0; i < pixels.length; i += 3) {
    out[i] = a * scrim[0] + (1 - a) * pixels[i];
    out[i + 1] = a * scrim[1] + (1 - a) * pixels[i + 1];
    out[i + 2] = a * scrim[2] + (1 - a) * pixels[i + 2];
  }
  return out;
}

/**
 * The least opacity (to 0.01) of a `scrim` colour over the region that lifts its contrast with
 * `text` to `target`; 0 when none is needed, and at most `max` (returned even if the target is
 * not reached). Blending toward a colour that contrasts with the text only raises the
 * contrast, so a bisection finds it.
 */
export function scrimOpacity(pixels: Uint8Array, text: RGB, scrim: RGB, target = WCAG_AA, max = 0.92): number {
  if (regionContrast(pixels, text) >= target) return 0;
  const buf = new Uint8Array(pixels.length);
  if (regionContrast(blend(pixels, scrim, max, buf), text) < target) return max;
  let lo = 0;
  let hi = max;
  while (hi - lo > 0.01) {
    const mid = (lo + hi) / 2;
    if (regionContrast(blend(pixels, scrim, mid, buf), text) >= target) hi = mid;
    else lo = mid;
  }
  return Math.min(max, Math.ceil(hi * 100) / 100);
}

/** `pixels` with a scrim of opacity `a` over them. */
export function blendScrim(pixels: Uint8Array, scrim: RGB, a: number): Uint8Array {
  return blend(pixels, scrim, a, new Uint8Array(pixels.length));
}
