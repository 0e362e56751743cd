/**
 * An ad export checked from the outside, as a test's own reading of the platforms' published
 * limits (the numbers are written out here, not taken from src/export/limits.ts): CSV parsed with
 * csv-parse, JSON with JSON.parse, image sizes from the files' own headers. Returns every problem.
 *
 * Google Ads API ResponsiveDisplayAdInfo and Performance Max asset requirements; Meta Ads Guide
 * (image ads); LinkedIn single image ads specifications; TikTok Image Ads Specification.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

const len = (s: string) => [...s].length;
const EMOJI = /\p{Extended_Pictographic}/u;

/** Width, height and type from a PNG's IHDR or a JPEG's SOFn marker. */
export function imageHeader(bytes: Buffer): { w: number; h: number; type: 'png' | 'jpeg' } {
  if (bytes.readUInt32BE(0) === 0x89504e47) return { w: bytes.readUInt32BE(16), h: bytes.readUInt32BE(20), type: 'png' };
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    for (let i = 2; i + 9 < bytes.length; ) {
      const marker = bytes[i + 1];
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
        return { h: bytes.readUInt16BE(i + 5), w: bytes.readUInt16BE(i + 7), type: 'jpeg' };
      i += 2 + bytes.readUInt16BE(i + 2);
    }
  }
  throw new Error('not a PNG or JPEG');
}

function table(path: string): Record<string, string>[] {
  return parse(readFileSync(path, 'utf8'), { columns: true, bom: true, relax_column_count: true }) as Record<string, string>[];
}

export interface ExportCheck {
  problems: string[];
  /** How many ads (rows or entries) were read per file. */
  ads: Record<string, number>;
}

export function checkExportDir(dir: string): ExportCheck {
  const problems: string[] = [];
  const ads: Record<string, number> = {};
  const say = (where: string, what: string) => problems.push(`${where}: ${what}`);
  const text = (where: string, t: string | undefined, max: number, min = 1) => {
    if (t === undefined || len(t) < min) say(where, `${JSON.stringify(t)} is shorter than ${min}`);
    else if (len(t) > max) say(where, `${JSON.stringify(t)} is ${len(t)} characters, over ${max}`);
  };
  const image = (where: string, rel: string | undefined, ratio: number, minW: number, minH: number, maxBytes: number) => {
    if (!rel) return say(where, 'no image');
    const p = join(dir, rel);
    if (!existsSync(p)) return say(where, `${rel} is not in the export`);
    const b = readFileSync(p);
    const h = imageHeader(b);
    if (Math.abs(h.w / h.h - ratio) > ratio * 0.01) say(where, `${rel} is ${h.w}×${h.h}, not ${ratio}:1`);
    if (h.w < minW || h.h < minH) say(where, `${rel} is ${h.w}×${h.h}, under ${minW}×${minH}`);
    if (b.length > maxBytes) say(where, `${rel} is ${b.length} bytes, over ${maxBytes}`);
  };
  const cols = (r: Record<string, string>, name: string) => [1, 2, 3, 4, 5].map((i) => r[`${name} ${i}`]).filter((x) => x);

  const rdaPath = join(dir, 'google-ads/responsive-display-ads.csv');
  if (existsSync(rdaPath)) {
    const rows = table(rdaPath);
    ads['google-ads rda'] = rows.length;
    for (const r of rows) {
      const w = `RDA ${r['Ad group']}`;
      const hs = cols(r, 'Headline');
      const ds = cols(r, 'Description');
      if (hs.length < 1 || hs.length > 5) say(w, `${hs.length} headlines`);
      if (ds.length < 1 || ds.length > 5) say(w, `${ds.length} descriptions`);
      for (const t of hs) text(w, t, 30);
      for (const t of ds) text(w, t, 90);
      text(w, r['Long headline'], 90);
      text(w, r['Business name'], 25);
      for (const t of [...hs, ...ds, r['Long headline']]) if (EMOJI.test(t)) say(w, `emoji in ${t}`);
      image(w, r.Images, 1.91, 600, 314, 5120 * 1024);
      image(w, r['Square images'], 1, 300, 300, 5120 * 1024);
      if (r.Logos) image(w, r.Logos, 1, 128, 128, 5120 * 1024);
      if (r['Landscape logos']) image(w, r['Landscape logos'], 4, 512, 128, 5120 * 1024);
    }
  }
  const pmaxPath = join(dir, 'google-ads/performance-max-asset-groups.csv');
  if (existsSync(pmaxPath)) {
    const rows = table(pmaxPath);
    ads['google-ads pmax'] = rows.length;
    for (const r of rows) {
      const w = `PMax ${r['Asset group']}`;
      const hs = cols(r, 'Headline');
      const ls = cols(r, 'Long headline');
      const ds = cols(r, 'Description');
      if (hs.length < 3) say(w, `${hs.length} headlines, under 3`);
      if (!hs.some((t) => len(t) <= 15)) say(w, 'no headline of 15 characters or less');
      if (ls.length < 1) say(w, 'no long headline');
      if (ds.length < 2) say(w, `${ds.length} descriptions, under 2`);
      if (!ds.some((t) => len(t) <= 60)) say(w, 'no description of 60 characters or less');
      for (const t of hs) text(w, t, 30);
      for (const t of ls) text(w, t, 90);
      for (const t of ds) text(w, t, 90);
      text(w, r['Business name'], 25);
      image(w, r.Images, 1.91, 600, 314, 5120 * 1024);
      image(w, r['Square images'], 1, 300, 300, 5120 * 1024);
      image(w, r.Logos, 1, 128, 128, 5120 * 1024);
    }
  }
  const metaPath = join(dir, 'meta/ad-creatives.json');
  if (existsSync(metaPath)) {
    const entries = JSON.parse(readFileSync(metaPath, 'utf8')) as {
      ad_key: string;
      images: Record<string, string>;
      ad: { status: string };
      adcreative: { asset_feed_spec: { titles: { text: string }[]; bodies: { text: string }[] } };
    }[];
    ads.meta = entries.length;
    for (const e of entries) {
      const w = `Meta ${e.ad_key}`;
      if (e.ad.status !== 'PAUSED') say(w, `ad status ${e.ad.status}`);
      for (const t of e.adcreative.asset_feed_spec.titles) text(w, t.text, 27);
      for (const b of e.adcreative.asset_feed_spec.bodies) text(w, b.text, 125);
      image(w, e.images['1x1'], 1, 1080, 1080, 30 * 1024 * 1024);
      image(w, e.images['4x5'], 0.8, 1080, 1350, 30 * 1024 * 1024);
      image(w, e.images['9x16'], 9 / 16, 1080, 1920, 30 * 1024 * 1024);
    }
  }
  const liPath = join(dir, 'linkedin/single-image-ads.csv');
  if (existsSync(liPath)) {
    const rows = table(liPath);
    ads.linkedin = rows.length;
    for (const r of rows) {
      const w = `LinkedIn ${r['Ad name']}`;
      text(w, r['Introductory text'], 150);
      text(w, r.Headline, 70);
      if (r['Image 1.91:1']) image(w, r['Image 1.91:1'], 1.91, 640, 335, 5 * 1024 * 1024);
      if (r['Image 1:1']) image(w, r['Image 1:1'], 1, 360, 360, 5 * 1024 * 1024);
    }
  }
  const ttPath = join(dir, 'tiktok/image-ads.csv');
  if (existsSync(ttPath)) {
    const rows = table(ttPath);
    ads.tiktok = rows.length;
    for (const r of rows) {
      const w = `TikTok ${r['Ad name']}`;
      text(w, r['Ad text'], 100, 12);
      if (EMOJI.test(r['Ad text']) || /[{}#]/.test(r['Ad text'])) say(w, `emoji, { } or # in ${r['Ad text']}`);
      text(w, r['Display name'], 20, 2);
      if (r['Image 9:16']) image(w, r['Image 9:16'], 9 / 16, 720, 1280, 100 * 1024 * 1024);
      if (r['Image 1.91:1']) image(w, r['Image 1.91:1'], 1.91, 1200, 628, 100 * 1024 * 1024);
    }
  }
  return { problems, ads };
}
