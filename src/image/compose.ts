/**
 * Composition of a finished ad: the visual smart-cropped to the format, a headline wrapped
 * and fitted to its box, a CTA button, the brand's logo, a scrim where the text would not
 * reach WCAG AA contrast against the picture, and an "offline draft" tag for studio work.
 * Also the contact sheet that shows variants side by side with their scores.
 */
import sharp, { type OverlayOptions } from 'sharp';
import { ImageError } from '../errors.ts';
import { FORMAT_SPECS, FORMATS, type FormatName, type FormatSpec } from '../vocabulary.ts';
import { blendScrim, contrastRatio, parseHex, type RGB, readableOn, regionContrast, scrimOpacity, toHex, WCAG_AA } from './contrast.ts';
import { startsRtl } from './scripts.ts';
import { escapeXml, type FittedText, fitText, type RenderedText, renderText } from './text.ts';

export interface ComposeStyle {
  colors: { primary: string; accent: string; text: string };
  fonts: { headline: string; body: string };
  /** Logo file bytes (SVG or raster). */
  logo?: Uint8Array;
}

export interface ComposeInput {
  visual: Uint8Array;
  format: FormatName;
  headline: string;
  cta: string;
  style: ComposeStyle;
  /** Adds the "OFFLINE DRAFT" tag. */
  offline?: boolean;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ComposeResult {
  png: Buffer;
  width: number;
  height: number;
  /** Opacity of the scrim behind the text; 0 when the picture gave enough contrast alone. */
  scrim: number;
  /** Contrast of the headline against what is behind it (after the scrim). */
  contrast: number;
  headlineSize: number;
  /** Where the headline and the CTA landed (for checks: story safe zones). */
  headlineBox: Rect;
  ctaBox: Rect;
  /** The headline as drawn when it had to be shortened to fit. */
  shortenedHeadline?: string;
  /** Contrast of the logo with what is behind it (10th percentile of its pixels); ≥ 3 (WCAG non-text). */
  logoContrast?: number;
  /** Where the logo landed, and whether it sits on a plate because the picture alone gave too little contrast. */
  logoBox?: Rect & { plate: boolean };
}

/** WCAG 2.1 §1.4.11: graphical objects (a logo) need 3:1 against what is next to them. */
export const LOGO_CONTRAST = 3;

function colour(hex: string, field: string): RGB {
  const c = parseHex(hex);
  if (!c) throw new ImageError('BAD_COLOUR', `${field}: ${JSON.stringify(hex)} is not a #rrggbb colour`);
  return c;
}

/** Reads a region of a raw RGB buffer at a stride (enough pixels for a contrast percentile). */
function sampleRegion(raw: Buffer, width: number, r: Rect, step: number): Uint8Array {
  const x0 = Math.max(0, Math.floor(r.x));
  const y0 = Math.max(0, Math.floor(r.y));
  const x1 = Math.min(width, Math.ceil(r.x + r.width));
  const y1 = Math.min(raw.length / 3 / width, Math.ceil(r.y + r.height));
  const cols = Math.max(0, Math.ceil((x1 - x0) / step));
  const rows = Math.max(0, Math.ceil((y1 - y0) / step));
  const out = new Uint8Array(cols * rows * 3);
  let o = 0;
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const i = 3 * (y * width + x);
      out[o++] = raw[i];
      out[o++] = raw[i + 1];
      out[o++] = raw[i + 2];
    }
  }
  return out;
}

async function renderLogo(logo: Uint8Array, maxW: number, maxH: number): Promise<{ png: Buffer; width: number; height: number }> {
  try {
    const { data, info } = await sharp(logo, { density: 300 })
      .resize(Math.round(maxW), Math.round(maxH), { fit: 'inside' })
      .png()
      .toBuffer({ resolveWithObject: true });
    return { png: data, width: info.width, height: info.height };
  } catch (e) {
    throw new ImageError('LOGO_UNREADABLE', `the brand logo could not be drawn: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

function pill(width: number, height: number, fill: string, opacity = 1): Buffer {
  const r = Math.round(height / 2);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" rx="${r}" ry="${r}" fill="${fill}" fill-opacity="${opacity}"/></svg>`,
  );
}

/** Decodes and smart-crops the visual to the format: raw RGB plus its size. */
async function baseImage(visual: Uint8Array, spec: FormatSpec): Promise<Buffer> {
  try {
    return await sharp(visual, { failOn: 'error' })
      .rotate()
      .resize(spec.width, spec.height, { fit: 'cover', position: sharp.strategy.attention })
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .raw()
      .toBuffer();
  } catch (e) {
    throw new ImageError('IMAGE_CORRUPT', `the visual could not be decoded: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export async function composeAd(input: ComposeInput): Promise<ComposeResult> {
  const spec: FormatSpec = FORMAT_SPECS[input.format];
  if (!spec) throw new ImageError('BAD_FORMAT', `unknown format ${JSON.stringify(input.format)}; expected one of ${FORMATS.join(', ')}`);
  for (const [field, name] of [
    ['headline', 'headline'],
    ['cta', 'CTA'],
  ] as const) {
    if (!input[field].trim()) throw new ImageError('COPY_EMPTY', `the ${name} is empty; an ad needs a headline and a CTA to compose`);
  }
  const { width: W, height: H } = spec;
  const short = Math.min(W, H);
  const landscape = W > H * 1.4;
  const pad = Math.round(0.06 * short);
  const top = spec.safeTop + pad;
  const bottom = H - spec.safeBottom - pad;

  const textRgb = colour(input.style.colors.text, 'colors.text');
  const accentRgb = colour(input.style.colors.accent, 'colors.accent');
  const primaryRgb = colour(input.style.colors.primary, 'colors.primary');

  const ctaTextRgb = contrastRatio(textRgb, accentRgb) >= WCAG_AA ? textRgb : readableOn(accentRgb);
  const ctaSize = Math.round((landscape ? 0.045 : 0.036) * short);
  const logoH = Math.round((landscape ? 0.1 : 0.075) * short);
  // Landscape: the copy takes the left 58 % over a side scrim, the picture shows on the right.
  const textWidth = landscape ? Math.round(W * 0.58) - pad : W - 2 * pad;

  const [base, ctaText, logo, tag] = await Promise.all([
    baseImage(input.visual, spec),
    renderText(input.cta, { family: input.style.fonts.body, bold: true, size: ctaSize, color: toHex(ctaTextRgb) }, textWidth * 0.8),
    input.style.logo ? renderLogo(input.style.logo, W * 0.32, logoH) : Promise.resolve(undefined),
    input.offline
      ? renderText('OFFLINE DRAFT', { family: 'DejaVu Sans', bold: true, size: Math.round(0.022 * short), color: '#ffffff' }, W / 2)
      : Promise.resolve(undefined as RenderedText | undefined),
  ]);

  const ctaPadX = Math.round(ctaSize * 0.9);
  const ctaPadY = Math.round(ctaSize * 0.55);
  const ctaBox: Rect = { x: pad, y: 0, width: ctaText.width + 2 * ctaPadX, height: ctaText.height + 2 * ctaPadY };
  ctaBox.y = bottom - ctaBox.height;

  const gap = Math.round(ctaSize * 0.9);
  const logoBottom = logo ? top + logo.height + gap : top;
  const available = ctaBox.y - gap - logoBottom;
  const headlineMaxH = Math.max(
    ctaSize * 2,
    Math.round(landscape ? available : Math.min(available, 0.45 * (H - spec.safeTop - spec.safeBottom))),
  );
  // As large as the width allows: a short headline fills the line instead of sitting small in a corner.
  const maxSize = Math.round((landscape ? 0.12 : 0.115) * short);
  const headline: FittedText = await fitText(
    input.headline,
    { family: input.style.fonts.headline, bold: true, color: toHex(textRgb), lineSpacing: 0 },
    { width: textWidth, height: headlineMaxH },
    maxSize,
    Math.round(maxSize * 0.4),
    landscape ? 3 : 4,
  );
  const headlineBox: Rect = { x: pad, y: ctaBox.y - gap - headline.height, width: headline.width, height: headline.height };
  // Right-to-left copy reads from the right edge (the full-width scrim covers either side; the
  // landscape copy column stays on the left, over its side scrim).
  if (!landscape && startsRtl(input.headline)) {
    headlineBox.x = W - pad - headlineBox.width;
    ctaBox.x = W - pad - ctaBox.width;
  }

  // Contrast is judged where the headline's pixels are, against the cropped picture.
  const step = Math.max(1, Math.round(Math.sqrt((headlineBox.width * headlineBox.height) / 6000)));
  const region = sampleRegion(base, W, headlineBox, step);
  const scrimRgb = contrastRatio(primaryRgb, textRgb) >= WCAG_AA ? primaryRgb : readableOn(textRgb);
  const opacity = scrimOpacity(region, textRgb, scrimRgb);
  let contrast = regionContrast(region, textRgb);
  const layers: OverlayOptions[] = [];
  const scrim = opacity > 0 ? scrimShape(spec, landscape, textWidth, pad, headlineBox.y, opacity) : undefined;
  if (scrim) {
    layers.push({ input: Buffer.from(scrim.svg(toHex(scrimRgb))), left: scrim.left, top: scrim.top });
    contrast = regionContrast(blendScrim(region, scrimRgb, opacity), textRgb);
  }
  // The logo keeps 3:1 against what is behind it (the picture, under the scrim where there is
  // one); where it would not, it sits on a plate in the colour that gives it the most.
  let logoContrast: number | undefined;
  let logoBox: ComposeResult['logoBox'];
  if (logo) {
    // Parts in the brand's primary colour are knock-outs, drawn to show the brand colour behind
    // them (Lumen's crescent): the rest is what must stand out.
    const px = await logoPixels(logo.png, primaryRgb);
    const behind = (x: number, y: number): RGB => {
      const X = Math.min(W - 1, Math.max(0, Math.round(pad + x)));
      const Y = Math.min(H - 1, Math.max(0, Math.round(top + y)));
      const i = 3 * (Y * W + X);
      const c: RGB = [base[i], base[i + 1], base[i + 2]];
      const a = scrim ? scrim.alpha(X, Y) : 0;
      return a > 0 ? [a * scrimRgb[0] + (1 - a) * c[0], a * scrimRgb[1] + (1 - a) * c[1], a * scrimRgb[2] + (1 - a) * c[2]] : c;
    };
    logoContrast = logoContrastOn(px, behind);
    logoBox = { x: pad, y: top, width: logo.width, height: logo.height, plate: false };
    if (logoContrast < LOGO_CONTRAST) {
      const options: RGB[] = [primaryRgb, [255, 255, 255], [17, 17, 17], textRgb, accentRgb];
      const scored = options.map((c) => ({ c, k: logoContrastOn(px, () => c) }));
      const plate = scored.find((o) => o.k >= LOGO_CONTRAST) ?? scored.reduce((a, b) => (b.k > a.k ? b : a));
      const m = Math.round(logo.height * 0.28);
      layers.push({ input: plateSvg(logo.width + 2 * m, logo.height + 2 * m, toHex(plate.c), m), left: pad - m, top: top - m });
      logoContrast = plate.k;
      logoBox = { x: pad - m, y: top - m, width: logo.width + 2 * m, height: logo.height + 2 * m, plate: true };
    }
  }
  if (logo) layers.push({ input: logo.png, left: pad, top });
  if (tag) {
    const tw = tag.width + Math.round(tag.height * 1.2);
    const th = Math.round(tag.height * 1.6);
    const left = W - pad - tw;
    layers.push({ input: pill(tw, th, '#000000', 0.55), left, top });
    layers.push({ input: tag.png, left: left + Math.round((tw - tag.width) / 2), top: top + Math.round((th - tag.height) / 2) });
  }
  layers.push({ input: headline.png, left: headlineBox.x, top: Math.round(headlineBox.y) });
  layers.push({ input: pill(ctaBox.width, ctaBox.height, toHex(accentRgb)), left: ctaBox.x, top: ctaBox.y });
  layers.push({ input: ctaText.png, left: ctaBox.x + ctaPadX, top: ctaBox.y + ctaPadY });

  const png = await sharp(base, { raw: { width: W, height: H, channels: 3 } })
    .composite(layers)
    .png({ compressionLevel: 4 })
    .toBuffer();
  return {
    png,
    width: W,
    height: H,
    scrim: opacity,
    contrast,
    headlineSize: headline.size,
    headlineBox,
    ctaBox,
    shortenedHeadline: headline.shortened ? headline.text : undefined,
    logoContrast,
    logoBox,
  };
}

const smoothstep = (t: number) => {
  const x = Math.max(0, Math.min(1, t));
  return x * x * (3 - 2 * x);
};

/**
 * The scrim behind the copy, as a picture and as the opacity at any pixel (for contrast checks).
 * It eases in over a long distance (smoothstep), so there is no edge where it starts: above the
 * headline in portrait formats, to the right of the text column in landscape.
 */
function scrimShape(
  spec: FormatSpec,
  landscape: boolean,
  textWidth: number,
  pad: number,
  headlineTop: number,
  opacity: number,
): { svg: (colour: string) => string; left: number; top: number; alpha: (x: number, y: number) => number } {
  const { width: W, height: H } = spec;
  const steps = 12;
  // Drawn over the part it covers only: a full-canvas SVG costs its whole area to rasterise.
  if (landscape) {
    const solid = textWidth + pad;
    const fade = Math.round(W * 0.22);
    const w = Math.min(W, Math.ceil(solid + fade));
    const alpha = (x: number) => opacity * (1 - smoothstep((x - solid) / fade));
    const stops = Array.from({ length: steps + 1 }, (_, i) => {
      const x = solid + (fade * i) / steps;
      return `<stop offset="${Math.min(1, x / w).toFixed(4)}" stop-opacity="${alpha(x).toFixed(4)}" stop-color="C"/>`;
    }).join('');
    return {
      left: 0,
      top: 0,
      alpha: (x) => alpha(x),
      svg: (c) =>
        `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${H}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="C" stop-opacity="${opacity}"/>${stops}</linearGradient></defs><rect width="${w}" height="${H}" fill="url(#g)"/></svg>`.replaceAll(
          '"C"',
          `"${c}"`,
        ),
    };
  }
  const full = headlineTop - pad * 0.5;
  const fade = Math.max(pad * 5, Math.round(H * 0.4));
  const start = Math.max(spec.safeTop * 0.5, full - fade);
  const top = Math.max(0, Math.floor(start));
  const h = H - top;
  const alpha = (y: number) => opacity * smoothstep((y - start) / Math.max(1, full - start));
  const stops = Array.from({ length: steps + 1 }, (_, i) => {
    const y = start + ((full - start) * i) / steps;
    return `<stop offset="${((y - top) / h).toFixed(4)}" stop-opacity="${alpha(y).toFixed(4)}" stop-color="C"/>`;
  }).join('');
  return {
    left: 0,
    top,
    alpha: (_x, y) => alpha(y),
    svg: (c) =>
      `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}"><defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="C" stop-opacity="0"/>${stops}<stop offset="1" stop-color="C" stop-opacity="${opacity}"/></linearGradient></defs><rect width="${W}" height="${h}" fill="url(#g)"/></svg>`.replaceAll(
        '"C"',
        `"${c}"`,
      ),
  };
}

/** The logo's opaque pixels (every few, with their position) other than its knock-outs, for contrast checks. */
async function logoPixels(png: Buffer, knockout: RGB): Promise<{ x: number; y: number; c: RGB }[]> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const step = Math.max(1, Math.round(Math.sqrt((info.width * info.height) / 4000)));
  const out: { x: number; y: number; c: RGB }[] = [];
  for (let y = 0; y < info.height; y += step) {
    for (let x = 0; x < info.width; x += step) {
      const i = 4 * (y * info.width + x);
      if (data[i + 3] < 200) continue;
      const c: RGB = [data[i], data[i + 1], data[i + 2]];
      if (Math.max(...c.map((v, k) => Math.abs(v - knockout[k]))) <= 24) continue;
      out.push({ x, y, c });
    }
  }
  return out;
}

/** Contrast of the logo against what is behind each of its pixels, at the 10th percentile (its weakest part). */
function logoContrastOn(px: { x: number; y: number; c: RGB }[], behind: (x: number, y: number) => RGB): number {
  if (!px.length) return Number.POSITIVE_INFINITY;
  const ks = px.map((p) => contrastRatio(p.c, behind(p.x, p.y))).sort((a, b) => a - b);
  return ks[Math.floor(ks.length * 0.1)];
}

function plateSvg(width: number, height: number, fill: string, radius: number): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" rx="${radius}" ry="${radius}" fill="${fill}"/></svg>`,
  );
}

export interface SheetTile {
  image: Uint8Array;
  title: string;
  lines: string[];
}

const SHEET_BACKGROUND = '#f4f4f4';

/** All variants side by side (whole previews in square tiles), each with its label and scores under it. */
export async function contactSheet(tiles: SheetTile[], opts: { tile?: number; title?: string } = {}): Promise<Buffer> {
  const size = opts.tile ?? 360;
  const gap = 24;
  const cols = Math.max(1, tiles.length);
  const W = gap + cols * (size + gap);
  const title = opts.title
    ? await renderText(opts.title, { family: 'DejaVu Sans', bold: true, size: 26, color: '#222222' }, W - 2 * gap)
    : undefined;
  const head = title ? title.height + gap : 0;
  const parts = await Promise.all(
    tiles.map(async (tile) => {
      const [img, name, body] = await Promise.all([
        // Whole ad, letterboxed: cropping a landscape or story preview to a square cut off its copy.
        sharp(tile.image)
          .resize(size, size, { fit: 'contain', background: SHEET_BACKGROUND })
          .flatten({ background: SHEET_BACKGROUND })
          .png()
          .toBuffer(),
        renderText(tile.title, { family: 'DejaVu Sans', bold: true, size: 22, color: '#111111' }, size),
        renderText(tile.lines.join('\n'), { family: 'DejaVu Sans Mono', size: 16, color: '#333333' }, size),
      ]);
      return { img, name, body };
    }),
  );
  const caption = Math.max(0, ...parts.map((p) => p.name.height + 8 + p.body.height)) + 10;
  const H = gap + head + size + caption + gap;
  const layers: OverlayOptions[] = [];
  if (title) layers.push({ input: title.png, left: gap, top: gap });
  parts.forEach((p, i) => {
    const left = gap + i * (size + gap);
    const top = gap + head;
    layers.push({ input: p.img, left, top });
    layers.push({ input: p.name.png, left, top: top + size + 10 });
    layers.push({ input: p.body.png, left, top: top + size + 18 + p.name.height });
  });
  return sharp({ create: { width: W, height: H, channels: 3, background: SHEET_BACKGROUND } })
    .composite(layers)
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Downscaled greyscale pixels of a PNG, for tolerance comparisons (golden tests, checks). */
export async function thumbnailPixels(png: Uint8Array, width: number): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).resize({ width }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export { escapeXml };

/** A small RGB PNG of an image, as stored for golden tests. */
export async function goldenThumbnail(png: Uint8Array, width: number): Promise<Buffer> {
  return sharp(png).resize({ width }).removeAlpha().png({ compressionLevel: 9 }).toBuffer();
}

/** Mean absolute difference (0–255) and the share of pixels off by more than `threshold`. */
export async function imageDifference(
  a: Uint8Array,
  b: Uint8Array,
  threshold = 48,
): Promise<{ mean: number; over: number; sameSize: boolean }> {
  const [ra, rb] = await Promise.all([a, b].map((x) => sharp(x).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  if (ra.info.width !== rb.info.width || ra.info.height !== rb.info.height) return { mean: 255, over: 1, sameSize: false };
  let sum = 0;
  let over = 0;
  const n = ra.info.width * ra.info.height;
  for (let p = 0; p < n; p++) {
    let d = 0;
    for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(ra.data[3 * p + c] - rb.data[3 * p + c]));
    sum += d;
    if (d > threshold) over++;
  }
  return { mean: sum / n, over: over / n, sameSize: true };
}
