/**
 * How much of a rendered ad shows each brand colour: the share of its pixels within a CIE Lab
 * distance (ΔE*ab, CIE76) of the colour, for the brand score's "colours present" rule
 * (generate/brand-score.ts).
 *
 * Threshold, and why: ΔE76 ≈ 2.3 is a just-noticeable difference, but a drawn or photographed
 * visual never repeats a hex value exactly (shading, JPEG-like noise from image models,
 * antialiased edges). ΔE ≤ 10 reads as "the same colour at a glance" and still separates the
 * neighbouring hues a palette is built from (e.g. the brand brown #4B2E2B and black are ΔE ≈ 27
 * apart; the accent #C08552 and its lighter tint #D9A679 ≈ 13). A colour is "present" when it
 * covers at least 0.5 % of the ad: a 76 px square patch on a 1080 × 1080 square, a 102 px one on
 * a story. The smallest deliberate brand-coloured element is the CTA button (drawn in the accent);
 * on a story it covers 0.8–1 % once its label is cut out, so a 1 % bar failed every story of
 * every kit for a button that is plainly there.
 */
import sharp from 'sharp';
import { ImageError } from '../errors.ts';
import { lin, parseHex, type RGB } from './contrast.ts';

export const COLOUR_DELTA_E = 10;
export const COLOUR_PRESENCE_MIN_SHARE = 0.005;
/** Width the render is sampled at (nearest neighbour: every counted pixel is a real pixel of the ad, none a blend). */
const SAMPLE_WIDTH = 216;

export interface ColourShare {
  /** The kit's name for it: "primary", "accent". */
  name: string;
  hex: string;
  /** Share of the render's pixels within COLOUR_DELTA_E of it, 0..1. */
  share: number;
}

type Lab = [number, number, number];

const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);

/** sRGB → CIE Lab (D65 white). */
export function toLab([r, g, b]: RGB): Lab {
  const R = lin(r);
  const G = lin(g);
  const B = lin(b);
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const fx = f(x);
  const fy = f(y);
  const fz = f(z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

export function deltaE(a: Lab, b: Lab): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Shares of raw RGB pixels (3 bytes each) near each colour. */
export function colourSharesOf(pixels: Uint8Array, colours: { name: string; hex: string }[], threshold = COLOUR_DELTA_E): ColourShare[] {
  const targets = colours.map((c) => {
    const rgb = parseHex(c.hex);
    if (!rgb) throw new ImageError('BAD_COLOUR', `${c.name}: ${JSON.stringify(c.hex)} is not a #rrggbb colour`);
    return toLab(rgb);
  });
  const n = Math.floor(pixels.length / 3);
  const hits = new Array<number>(colours.length).fill(0);
  // Ads are mostly flat areas: memoising the Lab of each distinct pixel saves most of the cube roots.
  const seen = new Map<number, Lab>();
  for (let i = 0; i < n; i++) {
    const key = (pixels[3 * i] << 16) | (pixels[3 * i + 1] << 8) | pixels[3 * i + 2];
    let lab = seen.get(key);
    if (!lab) {
      lab = toLab([pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]]);
      seen.set(key, lab);
    }
    for (let k = 0; k < targets.length; k++) if (deltaE(lab, targets[k]) <= threshold) hits[k]++;
  }
  return colours.map((c, k) => ({ name: c.name, hex: c.hex.toUpperCase(), share: n ? hits[k] / n : 0 }));
}

/** Shares of each colour in a rendered ad (PNG bytes), sampled on a grid of real pixels. */
export async function colourShares(png: Uint8Array, colours: { name: string; hex: string }[]): Promise<ColourShare[]> {
  let raw: Buffer;
  try {
    raw = await sharp(png, { failOn: 'error' })
      .resize({ width: SAMPLE_WIDTH, kernel: 'nearest', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .raw()
      .toBuffer();
  } catch (e) {
    throw new ImageError(
      'IMAGE_CORRUPT',
      `the render could not be decoded to measure its colours: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
  return colourSharesOf(raw, colours);
}
