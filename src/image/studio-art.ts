/**
 * The offline studio's drafts: a scene in the draft's palette (the brief's mood, the brand's
 * accent, the team's colour feedback: generate/mood.ts), shapes chosen from the visual
 * concept's words, and the photo it is given shown as a photo. Deterministic for a seed, so
 * tests and reruns give the same picture.
 */
import sharp, { type OverlayOptions } from 'sharp';
import { mulberry32 } from '../random.ts';
import { parseHex, type RGB, toHex } from './contrast.ts';

export interface StudioArtInput {
  palette: string[]; // #rrggbb, at least one
  concept: string;
  seed: number;
  /** A photo to show as it is: the brief's reference image, the leader's visual, a text-free library image. */
  photo?: Uint8Array;
  size?: number;
}

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

type Motif = 'peaks' | 'waves' | 'sun' | 'leaves' | 'bands' | 'orbs';

const MOTIF_WORDS: [Motif, RegExp][] = [
  ['peaks', /\b(mountain|peak|trail|hike|hiking|summit|climb|outdoor|adventure|rock|camp)/i],
  ['waves', /\b(wave|ocean|sea|water|flow|river|surf|calm|smooth|hydrat)/i],
  ['sun', /\b(sun|morning|warm|bright|summer|glow|coffee|energy|radiant|golden|grill)/i],
  ['leaves', /\b(leaf|leaves|plant|green|garden|fresh|organic|natural|vegan|herb|grow)/i],
  ['bands', /\b(speed|fast|city|urban|ride|move|commute|electric|bold|dynamic)/i],
];

const ALL_MOTIFS: Motif[] = ['peaks', 'waves', 'sun', 'leaves', 'bands', 'orbs'];

/**
 * The concept's motif most of the time; otherwise another one, so candidates drawn from the
 * same concept still differ enough for the ranking to choose between.
 */
export function motifFor(concept: string, rnd: () => number, faithful = 1): Motif {
  const hit = MOTIF_WORDS.find(([, re]) => re.test(concept));
  if (hit && rnd() < faithful) return hit[0];
  return ALL_MOTIFS[Math.floor(rnd() * ALL_MOTIFS.length)];
}

function shade([r, g, b]: RGB, f: number): string {
  return f >= 0 ? toHex([r + (255 - r) * f, g + (255 - g) * f, b + (255 - b) * f]) : toHex([r * (1 + f), g * (1 + f), b * (1 + f)]);
}

function motifSvg(motif: Motif, S: number, cols: RGB[], rnd: () => number): string {
  const pick = () => cols[Math.floor(rnd() * cols.length)];
  const parts: string[] = [];
  const n = (lo: number, hi: number) => lo + rnd() * (hi - lo);
  switch (motif) {
    case 'peaks':
      for (let layer = 0; layer < 3; layer++) {
        const base = S * (0.55 + 0.15 * layer);
        let d = `M0 ${S} L0 ${base}`;
        for (let x = 0; x <= S; x += S / 4) d += ` L${x + n(0, S / 8)} ${base - n(S * 0.05, S * 0.3)} L${x + S / 8} ${base}`;
        parts.push(`<path d="${d} L${S} ${S} Z" fill="${shade(pick(), -0.15 * layer)}" fill-opacity="${0.55 + 0.15 * layer}"/>`);
      }
      break;
    case 'waves':
      for (let k = 0; k < 5; k++) {
        const y = S * (0.35 + 0.13 * k);
        const a = n(S * 0.03, S * 0.08);
        parts.push(
          `<path d="M0 ${y} C ${S * 0.25} ${y - a}, ${S * 0.5} ${y + a}, ${S} ${y - a / 2} L${S} ${S} L0 ${S} Z" fill="${shade(pick(), 0.1 * k - 0.2)}" fill-opacity="0.45"/>`,
        );
      }
      break;
    case 'sun': {
      const cx = n(S * 0.3, S * 0.7);
      const cy = n(S * 0.2, S * 0.45);
      for (let k = 5; k >= 1; k--)
        parts.push(
          `<circle cx="${cx}" cy="${cy}" r="${S * 0.08 * k}" fill="${shade(pick(), 0.12 * k)}" fill-opacity="${0.18 + 0.1 * (5 - k)}"/>`,
        );
      break;
    }
    case 'leaves':
      for (let k = 0; k < 9; k++) {
        const x = n(0, S);
        const y = n(0, S);
        const l = n(S * 0.15, S * 0.35);
        const rot = n(0, 360);
        parts.push(
          `<path transform="translate(${x} ${y}) rotate(${rot})" d="M0 0 C ${l * 0.4} ${-l * 0.35}, ${l * 0.8} ${-l * 0.2}, ${l} 0 C ${l * 0.8} ${l * 0.2}, ${l * 0.4} ${l * 0.35}, 0 0 Z" fill="${toHex(pick())}" fill-opacity="0.6"/>`,
        );
      }
      break;
    case 'bands':
      for (let k = 0; k < 6; k++) {
        const w = n(S * 0.04, S * 0.16);
        const x = n(-S * 0.3, S);
        parts.push(
          `<rect x="${x}" y="${-S}" width="${w}" height="${S * 3}" transform="rotate(${n(20, 40)} ${S / 2} ${S / 2})" fill="${toHex(pick())}" fill-opacity="0.55"/>`,
        );
      }
      break;
    default:
      for (let k = 0; k < 7; k++)
        parts.push(`<circle cx="${n(0, S)}" cy="${n(0, S)}" r="${n(S * 0.05, S * 0.3)}" fill="${toHex(pick())}" fill-opacity="0.5"/>`);
  }
  return parts.join('');
}

/** A photo drawn as itself, full bleed when it has the pixels for it, else framed on the scene. */
async function photoLayers(photo: Uint8Array, S: number, rnd: () => number, frame: string): Promise<OverlayOptions[]> {
  const meta = await sharp(photo).metadata();
  const w = meta.autoOrient?.width ?? meta.width ?? 0;
  const h = meta.autoOrient?.height ?? meta.height ?? 0;
  if (!w || !h) throw new Error('unreadable photo');
  if (Math.min(w, h) >= S * 0.5) {
    const full = await sharp(photo)
      .rotate()
      .resize(S, S, { fit: 'cover', position: sharp.strategy.attention })
      .flatten({ background: '#ffffff' })
      .png()
      .toBuffer();
    return [{ input: full, left: 0, top: 0 }];
  }
  // A small photo (a library thumbnail) is shown at a size it can carry, framed like a print,
  // in the upper part of the picture where the copy does not go.
  const boxW = Math.round(S * 0.64);
  const boxH = Math.round(S * 0.5);
  const scale = Math.min(boxW / w, boxH / h, 2.5);
  const pw = Math.max(1, Math.round(w * scale));
  const ph = Math.max(1, Math.round(h * scale));
  const pic = await sharp(photo).rotate().resize(pw, ph, { kernel: 'lanczos3' }).flatten({ background: '#ffffff' }).png().toBuffer();
  const border = Math.round(S * 0.012);
  const left = Math.round((S - pw) / 2 + (rnd() - 0.5) * S * 0.06);
  const top = Math.round(S * 0.08 + rnd() * S * 0.04);
  // The frame and its soft shadow, drawn over the frame's own area only (a blur over the whole
  // canvas costs more than the rest of the draft).
  const m = Math.round(S * 0.05);
  const fx = Math.max(0, left - border - m);
  const fy = Math.max(0, top - border - m);
  const fw = Math.min(S - fx, pw + 2 * border + 2 * m);
  const fh = Math.min(S - fy, ph + 2 * border + 2 * m);
  const rx = left - border - fx;
  const ry = top - border - fy;
  const shadow = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fw}" height="${fh}"><defs><filter id="s" x="-20%" y="-20%" width="140%" height="140%"><feGaussianBlur stdDeviation="${S * 0.012}"/></filter></defs><rect x="${rx + S * 0.008}" y="${ry + S * 0.014}" width="${pw + 2 * border}" height="${ph + 2 * border}" rx="${border}" fill="#000" fill-opacity="0.28" filter="url(#s)"/><rect x="${rx}" y="${ry}" width="${pw + 2 * border}" height="${ph + 2 * border}" rx="${border}" fill="${frame}"/></svg>`,
  );
  return [
    { input: shadow, left: fx, top: fy },
    { input: pic, left, top },
  ];
}

/**
 * A square PNG draft (default 1024 px, like the image API's): a scene in the palette, whose
 * order means something — two background tones, a motif colour, a highlight — with the photo,
 * when there is one, shown as a photo (never blurred or tinted into the scene).
 */
export async function renderStudioArt(input: StudioArtInput): Promise<Buffer> {
  const S = input.size ?? 1024;
  const rnd = mulberry32(input.seed ^ hashString(input.concept));
  const cols = input.palette.map((p) => parseHex(p)).filter((c): c is RGB => c !== undefined);
  if (cols.length === 0) cols.push([80, 80, 80]);
  while (cols.length < 4) cols.push(cols[cols.length - 1]);
  const [bgA, bgB] = rnd() < 0.5 ? [cols[0], cols[1]] : [cols[1], cols[0]];
  const angle = Math.floor(rnd() * 360);
  const motif = motifFor(input.concept, rnd, 0.7);
  const shapes = motifSvg(motif, S, [cols[2], cols[3], cols[0]], rnd);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}"><defs><linearGradient id="bg" gradientTransform="rotate(${angle} 0.5 0.5)"><stop offset="0" stop-color="${toHex(bgA)}"/><stop offset="1" stop-color="${shade(bgB, -0.05)}"/></linearGradient></defs><rect width="${S}" height="${S}" fill="url(#bg)"/>${shapes}</svg>`;

  const layers: OverlayOptions[] = [{ input: Buffer.from(svg), left: 0, top: 0 }];
  if (input.photo?.length) {
    try {
      layers.push(...(await photoLayers(input.photo, S, rnd, '#ffffff')));
    } catch {
      // An unreadable photo costs the draft its photo, not the draft.
    }
  }
  return (
    sharp({ create: { width: S, height: S, channels: 3, background: toHex(bgA) } })
      .composite(layers)
      // Compositing adds an alpha channel, always opaque here: dropped, so every decoder of the
      // draft (CLIP preprocessing, composition) skips flattening a million pixels onto white.
      .removeAlpha()
      .png({ compressionLevel: 3 })
      .toBuffer()
  );
}
