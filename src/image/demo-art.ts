/**
 * Draws the demo library's creatives: an SVG of gradients and shapes in a brand's colours with
 * the headline, CTA and brand name, rasterised by sharp. SVG text does not wrap in sharp's
 * renderer, so headlines are wrapped here (and XML-escaped) before they go in.
 */
import sharp from 'sharp';
import { mulberry32 } from '../random.ts';
import { escapeXml } from './text.ts';

export interface DemoArtSpec {
  width: number;
  height: number;
  /** Brand colours: [primary, accent, neutral] as #RRGGBB. */
  palette: [string, string, string];
  brand: string;
  headline: string;
  cta: string;
  /** Picks the composition (0..n); same spec, same picture. */
  motif: number;
  /** Seed for the shapes' positions. */
  seed: number;
  /** Small corner label, e.g. "DEMO". */
  label?: string;
  font?: string;
  /** Output encoding; JPEG by default. */
  encoding?: 'jpeg' | 'png' | 'webp';
}

/** Greedy word wrap to at most `maxChars` per line and `maxLines` lines (the last one ellipsised). */
export function wrapText(text: string, maxChars: number, maxLines = 4): string[] {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const word = w.length > maxChars ? `${w.slice(0, maxChars - 1)}…` : w;
    if (!line) line = word;
    else if (line.length + 1 + word.length <= maxChars) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = `${kept[maxLines - 1].replace(/.$/, '')}…`;
    return kept;
  }
  return lines;
}

function luminance(hex: string): number {
  const n = Number.parseInt(hex.slice(1), 16);
  const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

/** Whichever of the palette's colours reads best on `bg` (WCAG contrast ratio). */
function readableOn(bg: string, candidates: string[]): string {
  const lb = luminance(bg);
  let best = candidates[0];
  let bestRatio = 0;
  for (const c of [...candidates, '#FFFFFF', '#111111']) {
    const lc = luminance(c);
    const ratio = (Math.max(lb, lc) + 0.05) / (Math.min(lb, lc) + 0.05);
    if (ratio > bestRatio + 0.5) {
      best = c;
      bestRatio = ratio;
    }
  }
  return best;
}

function shapes(spec: DemoArtSpec, r: () => number): string {
  const { width: w, height: h, palette } = spec;
  const [, accent, neutral] = palette;
  const out: string[] = [];
  switch (spec.motif % 5) {
    case 0: // floating circles
      for (let i = 0; i < 6; i++) {
        const rad = (0.08 + r() * 0.22) * Math.min(w, h);
        out.push(
          `<circle cx="${(r() * w).toFixed(1)}" cy="${(r() * h).toFixed(1)}" r="${rad.toFixed(1)}" fill="${i % 2 ? accent : neutral}" opacity="${(0.15 + r() * 0.35).toFixed(2)}"/>`,
        );
      }
      break;
    case 1: // diagonal stripes
      for (let i = -2; i < 8; i++) {
        const x = (i / 6) * w + r() * 20;
        out.push(
          `<polygon points="${x},0 ${x + w * 0.08},0 ${x + w * 0.08 - h * 0.5},${h} ${x - h * 0.5},${h}" fill="${accent}" opacity="${(0.12 + r() * 0.2).toFixed(2)}"/>`,
        );
      }
      break;
    case 2: {
      // hills / waves
      for (let i = 0; i < 3; i++) {
        const y = h * (0.55 + i * 0.13);
        const a = h * (0.05 + r() * 0.08);
        out.push(
          `<path d="M0 ${y} C ${w * 0.3} ${y - a}, ${w * 0.6} ${y + a}, ${w} ${y - a * 0.5} L ${w} ${h} L 0 ${h} Z" fill="${i % 2 ? neutral : accent}" opacity="${(0.35 + i * 0.2).toFixed(2)}"/>`,
        );
      }
      break;
    }
    case 3: // product-shot disc with a highlight
      out.push(`<circle cx="${w * 0.5}" cy="${h * 0.42}" r="${Math.min(w, h) * 0.3}" fill="${accent}" opacity="0.85"/>`);
      out.push(
        `<ellipse cx="${w * 0.42}" cy="${h * 0.34}" rx="${Math.min(w, h) * 0.09}" ry="${Math.min(w, h) * 0.05}" fill="${neutral}" opacity="0.6"/>`,
      );
      out.push(
        `<rect x="${w * 0.15}" y="${h * 0.74}" width="${w * 0.7}" height="${h * 0.02}" rx="${h * 0.01}" fill="${neutral}" opacity="0.4"/>`,
      );
      break;
    default: // grid of tiles
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++) {
          if (r() < 0.45) continue;
          out.push(
            `<rect x="${(x * w) / 4 + 6}" y="${(y * h) / 4 + 6}" width="${w / 4 - 12}" height="${h / 4 - 12}" rx="10" fill="${r() < 0.5 ? accent : neutral}" opacity="${(0.12 + r() * 0.3).toFixed(2)}"/>`,
          );
        }
  }
  return out.join('');
}

export function demoSvg(spec: DemoArtSpec): string {
  const r = mulberry32(spec.seed);
  const { width: w, height: h, palette } = spec;
  const [primary, accent, neutral] = palette;
  const font = spec.font ?? 'DejaVu Sans, Liberation Sans, Lato, sans-serif';
  const angle = Math.floor(r() * 360);
  const textColour = readableOn(primary, [neutral, accent]);
  const ctaText = readableOn(accent, [primary, neutral]);
  const size = Math.round(Math.min(w, h) * 0.085);
  const maxChars = Math.max(8, Math.floor((w * 0.84) / (size * 0.56)));
  const lines = wrapText(spec.headline, maxChars, 4);
  const top = h * 0.16;
  const text = lines
    .map(
      (l, i) =>
        `<text x="${w * 0.08}" y="${(top + i * size * 1.18).toFixed(1)}" font-family="${font}" font-size="${size}" font-weight="bold" fill="${textColour}">${escapeXml(l)}</text>`,
    )
    .join('');
  const ctaSize = Math.round(size * 0.5);
  const ctaW = Math.min(w * 0.8, spec.cta.length * ctaSize * 0.62 + ctaSize * 2);
  const ctaH = ctaSize * 2.1;
  const ctaY = h * 0.86 - ctaH;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
<defs><linearGradient id="g" gradientTransform="rotate(${angle} 0.5 0.5)"><stop offset="0" stop-color="${primary}"/><stop offset="1" stop-color="${accent}" stop-opacity="0.55"/></linearGradient></defs>
<rect width="${w}" height="${h}" fill="${primary}"/><rect width="${w}" height="${h}" fill="url(#g)" opacity="0.7"/>
${shapes(spec, r)}
${text}
<rect x="${w * 0.08}" y="${ctaY.toFixed(1)}" width="${ctaW.toFixed(1)}" height="${ctaH.toFixed(1)}" rx="${(ctaH / 2).toFixed(1)}" fill="${accent}"/>
<text x="${(w * 0.08 + ctaSize).toFixed(1)}" y="${(ctaY + ctaH * 0.66).toFixed(1)}" font-family="${font}" font-size="${ctaSize}" font-weight="bold" fill="${ctaText}">${escapeXml(spec.cta)}</text>
<text x="${w * 0.92}" y="${h * 0.95}" text-anchor="end" font-family="${font}" font-size="${Math.round(size * 0.42)}" fill="${textColour}" opacity="0.85">${escapeXml(spec.brand)}</text>
${spec.label ? `<text x="${w * 0.92}" y="${h * 0.07}" text-anchor="end" font-family="${font}" font-size="${Math.round(size * 0.34)}" fill="${textColour}" opacity="0.7">${escapeXml(spec.label)}</text>` : ''}
</svg>`;
}

/** The demo creative as encoded bytes (JPEG unless `spec.encoding` says otherwise). */
export async function drawDemoCreative(spec: DemoArtSpec): Promise<Uint8Array> {
  const img = sharp(Buffer.from(demoSvg(spec)));
  const enc = spec.encoding === 'png' ? img.png() : spec.encoding === 'webp' ? img.webp({ quality: 80 }) : img.jpeg({ quality: 82 });
  const buf = await enc.toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
