/**
 * The ad export, checked from the outside: the files are parsed here (CSV by a CSV parser, JSON by
 * JSON.parse, images by their PNG/JPEG headers) and every text and image is measured against the
 * platforms' published numbers written out below, not against the exporter's own tables.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adKey, buildExport, verifyExport } from '../../../src/export/build.ts';
import { derivedTexts } from '../../../src/export/copy.ts';
import { exportImageTools } from '../../../src/export/tools.ts';
import type { ExportCreative, ExportFile, ExportSettings } from '../../../src/export/types.ts';
import { cellValue, readCsvRows } from '../../../src/library/csv.ts';
import type { Platform } from '../../../src/vocabulary.ts';
import { tinyPng } from '../../helpers/png.ts';

// Published limits (characters). Google Ads API ResponsiveDisplayAdInfo and Performance Max asset
// requirements; Meta Ads Guide (image ads); LinkedIn single image ads; TikTok Image Ads Specification.
const GOOGLE_HEADLINE = 30;
const GOOGLE_LONG = 90;
const GOOGLE_DESC = 90;
const GOOGLE_BUSINESS = 25;
const META_HEADLINE = 27;
const META_PRIMARY = 125;
const LI_INTRO = 150;
const LI_HEADLINE = 70;
const TT_MIN = 12;
const TT_MAX = 100;

const tools = exportImageTools();
const ALL: Platform[] = ['google-ads', 'meta', 'linkedin', 'tiktok'];
const ROOT = join(import.meta.dirname, '../../..');
const acme = {
  name: 'acme',
  displayName: 'Acme Outdoor',
  logo: new Uint8Array(readFileSync(join(ROOT, 'brands/logos/acme.svg'))),
  background: '#1F6F50',
};

function images(colour: [number, number, number]) {
  return {
    square: tinyPng(1080, 1080, colour),
    portrait: tinyPng(1080, 1350, colour),
    story: tinyPng(1080, 1920, colour),
    landscape: tinyPng(1200, 628, colour),
  };
}

function creative(
  label: string,
  copy: ExportCreative['copy'],
  role: ExportCreative['role'] = 'variant',
  over: Partial<ExportCreative> = {},
): ExportCreative {
  const hash = `${label.charCodeAt(0).toString(16)}${'0'.repeat(62)}`;
  return { adKey: adKey(hash), label, role, hash, copy, brief: 'Trail-running sunscreen', images: images([30, 110, 80]), ...over };
}

const settings = (over: Partial<ExportSettings> = {}): ExportSettings => ({
  campaign: 'Trail sunscreen',
  brand: acme,
  finalUrl: 'https://acme.example/sunscreen?utm_content={ad_key}',
  at: new Date('2026-06-01T10:00:00Z'),
  by: 'U0ALICE',
  ...over,
});

const winner = creative(
  'A',
  { headline: 'Sunscreen that stays put', body: 'No sting, no streaks. Sweat-proof SPF 50 made for long trail days.', cta: 'Shop now' },
  'winner',
);
// Copy written for LinkedIn: longer than Meta's and Google's fields allow.
const sibling = creative(
  'B',
  {
    headline: 'The trail sunscreen runners stopped complaining about',
    body: 'Most sunscreens sting the moment you sweat. Ours stays where you put it, mile after mile, so your eyes stay clear. Made for long days on the trail, tested by ultrarunners. 🏃‍♀️☀️',
    cta: 'Learn more',
  },
  'sibling',
);

const file = (files: ExportFile[], path: string) => {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`no ${path} in ${files.map((x) => x.path).join(', ')}`);
  return typeof f.data === 'string' ? f.data : Buffer.from(f.data).toString('utf8');
};

function table(files: ExportFile[], path: string): Record<string, string>[] {
  const [head, ...rows] = readCsvRows(path, file(files, path));
  return rows.map((r) => Object.fromEntries(head.cells.map((h, i) => [h, r.cells[i] ?? ''])));
}

/** Width and height from the file's own header (PNG IHDR or JPEG SOFn). */
function dims(files: ExportFile[], path: string): { w: number; h: number; bytes: number; type: string } {
  const f = files.find((x) => x.path === path);
  if (!f || typeof f.data === 'string') throw new Error(`no image ${path}`);
  const b = Buffer.from(f.data);
  if (b.readUInt32BE(0) === 0x89504e47) return { w: b.readUInt32BE(16), h: b.readUInt32BE(20), bytes: b.length, type: 'png' };
  for (let i = 2; i < b.length; ) {
    const marker = b[i + 1];
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
      return { h: b.readUInt16BE(i + 5), w: b.readUInt16BE(i + 7), bytes: b.length, type: 'jpeg' };
    i += 2 + b.readUInt16BE(i + 2);
  }
  throw new Error(`${path}: no image header`);
}

const len = (s: string) => [...s].length;
/** Google counts double-width characters twice; this copy is Latin, so plain length is the width. */
const ratioOk = (d: { w: number; h: number }, r: number) => Math.abs(d.w / d.h - r) <= r * 0.01;

describe('ad export', () => {
  it('writes every platform inside its published limits, for approved and derived copy alike', async () => {
    const r = await buildExport([winner, sibling], ALL, settings(), tools);
    const paths = r.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'google-ads/responsive-display-ads.csv',
        'google-ads/performance-max-asset-groups.csv',
        'meta/ad-creatives.json',
        'meta/summary.md',
        'linkedin/single-image-ads.csv',
        'tiktok/image-ads.csv',
        'manifest.json',
        'README.md',
      ]),
    );

    // Google: responsive display ads.
    const rda = table(r.files, 'google-ads/responsive-display-ads.csv');
    expect(rda.map((x) => x['Ad group'])).toEqual([`${winner.adKey} A`, `${sibling.adKey} B`]);
    for (const row of rda) {
      const hs = [1, 2, 3, 4, 5].map((i) => cellValue(row[`Headline ${i}`])).filter(Boolean);
      const ds = [1, 2, 3, 4, 5].map((i) => row[`Description ${i}`]).filter(Boolean);
      expect(hs.length).toBeGreaterThanOrEqual(1);
      expect(ds.length).toBeGreaterThanOrEqual(1);
      for (const h of [1, 2, 3, 4, 5].map((i) => row[`Headline ${i}`]).filter(Boolean)) expect(len(h)).toBeLessThanOrEqual(GOOGLE_HEADLINE);
      for (const d of ds) expect(len(d)).toBeLessThanOrEqual(GOOGLE_DESC);
      expect(len(row['Long headline'])).toBeGreaterThan(0);
      expect(len(row['Long headline'])).toBeLessThanOrEqual(GOOGLE_LONG);
      expect(len(row['Business name'])).toBeLessThanOrEqual(GOOGLE_BUSINESS);
      expect(row).toMatchObject({ 'Ad type': 'Responsive display ad', Status: 'Paused', 'Business name': 'Acme Outdoor' });
      expect(ratioOk(dims(r.files, row.Images), 1.91)).toBe(true);
      expect(ratioOk(dims(r.files, row['Square images']), 1)).toBe(true);
      expect(ratioOk(dims(r.files, row.Logos), 1)).toBe(true);
      expect(ratioOk(dims(r.files, row['Landscape logos']), 4)).toBe(true);
      expect(dims(r.files, row['Landscape logos'])).toMatchObject({ w: 1200, h: 300 });
    }
    // The winner's approved headline and body are used as they are; the sibling's too-long ones are not cut.
    expect(rda[0]['Headline 1']).toBe('Sunscreen that stays put');
    expect(rda[0]['Description 1']).toBe(winner.copy.body);
    expect(rda[1]['Headline 1']).not.toMatch(/…/);
    const siblingPieces = new Set(derivedTexts(sibling.copy, 'Acme Outdoor').map((t) => t.replace(/\.$/, '')));
    for (const i of [1, 2, 3, 4, 5]) {
      const h = rda[1][`Headline ${i}`];
      if (h) expect(siblingPieces.has(h) || siblingPieces.has(`${h}.`)).toBe(true);
    }
    // Whole sentences only: every description of the sibling appears word for word in its copy.
    for (const i of [1, 2, 3, 4, 5]) {
      const d = rda[1][`Description ${i}`];
      if (d)
        expect(`${sibling.copy.headline}. ${sibling.copy.body} ${sibling.copy.cta}. Acme Outdoor`).toContain(
          d.split(' ').slice(0, 3).join(' '),
        );
    }

    // Google: Performance Max asset groups (3+ headlines, one ≤ 15; 3+ descriptions, one ≤ 60).
    const pmax = table(r.files, 'google-ads/performance-max-asset-groups.csv');
    expect(pmax).toHaveLength(2);
    for (const row of pmax) {
      const hs = [1, 2, 3, 4, 5].map((i) => row[`Headline ${i}`]).filter(Boolean);
      const ls = [1, 2, 3, 4, 5].map((i) => row[`Long headline ${i}`]).filter(Boolean);
      const ds = [1, 2, 3, 4, 5].map((i) => row[`Description ${i}`]).filter(Boolean);
      expect(hs.length).toBeGreaterThanOrEqual(3);
      expect(hs.some((h) => len(h) <= 15)).toBe(true);
      expect(ls.length).toBeGreaterThanOrEqual(1);
      expect(ds.length).toBeGreaterThanOrEqual(3);
      expect(ds.some((d) => len(d) <= 60)).toBe(true);
      for (const h of hs) expect(len(h)).toBeLessThanOrEqual(GOOGLE_HEADLINE);
      for (const l of ls) expect(len(l)).toBeLessThanOrEqual(GOOGLE_LONG);
      for (const d of ds) expect(len(d)).toBeLessThanOrEqual(GOOGLE_DESC);
      expect(new Set(hs.map((h) => h.toLowerCase())).size).toBe(hs.length);
      expect(row['Campaign type']).toBe('Performance Max');
    }

    // Meta: asset_feed_spec per creative, ads PAUSED, images per placement.
    const meta = JSON.parse(file(r.files, 'meta/ad-creatives.json')) as {
      ad_key: string;
      images: Record<string, string>;
      adcreative: { asset_feed_spec: Record<string, unknown> };
      ad: { status: string; name: string };
    }[];
    expect(meta.map((m) => m.ad_key)).toEqual([winner.adKey, sibling.adKey]);
    for (const m of meta) {
      const spec = m.adcreative.asset_feed_spec as {
        titles: { text: string }[];
        bodies: { text: string }[];
        call_to_action_types: string[];
        asset_customization_rules: unknown[];
      };
      expect(m.ad.status).toBe('PAUSED');
      expect(m.ad.name).toContain(m.ad_key);
      for (const t of spec.titles) expect(len(t.text)).toBeLessThanOrEqual(META_HEADLINE);
      for (const b of spec.bodies) expect(len(b.text)).toBeLessThanOrEqual(META_PRIMARY);
      expect(spec.asset_customization_rules).toHaveLength(3);
      expect(dims(r.files, m.images['1x1'])).toMatchObject({ w: 1080, h: 1080 });
      expect(dims(r.files, m.images['4x5'])).toMatchObject({ w: 1080, h: 1350 });
      expect(dims(r.files, m.images['9x16'])).toMatchObject({ w: 1080, h: 1920 });
    }
    expect((meta[0].adcreative.asset_feed_spec as { call_to_action_types: string[] }).call_to_action_types).toEqual(['SHOP_NOW']);
    expect((meta[1].adcreative.asset_feed_spec as { call_to_action_types: string[] }).call_to_action_types).toEqual(['LEARN_MORE']);
    expect(file(r.files, 'meta/summary.md')).toContain(`${winner.adKey} — variant A (the winner)`);

    // LinkedIn and TikTok.
    for (const row of table(r.files, 'linkedin/single-image-ads.csv')) {
      expect(len(row['Introductory text'])).toBeLessThanOrEqual(LI_INTRO);
      expect(len(row.Headline)).toBeLessThanOrEqual(LI_HEADLINE);
      expect(ratioOk(dims(r.files, row['Image 1.91:1']), 1.91)).toBe(true);
      expect(ratioOk(dims(r.files, row['Image 1:1']), 1)).toBe(true);
    }
    const tt = table(r.files, 'tiktok/image-ads.csv');
    expect(tt).toHaveLength(2);
    for (const row of tt) {
      expect(len(row['Ad text'])).toBeGreaterThanOrEqual(TT_MIN);
      expect(len(row['Ad text'])).toBeLessThanOrEqual(TT_MAX);
      expect(row['Ad text']).not.toMatch(/\p{Extended_Pictographic}|[{}#]/u);
      expect(row['Display name']).toBe('Acme Outdoor');
      expect(dims(r.files, row['Image 9:16'])).toMatchObject({ w: 1080, h: 1920, type: 'jpeg' });
    }

    // The manifest names each ad key with its content hash, and each file with its sha256.
    const manifest = JSON.parse(file(r.files, 'manifest.json'));
    expect(manifest.ads.map((a: { adKey: string; contentHash: string }) => [a.adKey, a.contentHash])).toEqual([
      [winner.adKey, winner.hash],
      [sibling.adKey, sibling.hash],
    ]);
    expect(manifest.checked.violations).toBe(0);
    expect(manifest.checked.images).toBeGreaterThanOrEqual(10);
  });

  it('gives the same files for the same content (stable names and ids)', async () => {
    const a = await buildExport([winner], ['google-ads', 'meta'], settings(), tools);
    const b = await buildExport([winner], ['google-ads', 'meta'], settings(), tools);
    expect(a.files.map((f) => f.path)).toEqual(b.files.map((f) => f.path));
    for (const [i, f] of a.files.entries()) expect(Buffer.from(f.data as never).equals(Buffer.from(b.files[i].data as never))).toBe(true);
    expect(a.files.map((f) => f.path)).toContain(`images/${winner.adKey}-landscape-1200x628.png`);
  });

  it('neutralises CSV cells that would run as formulas, and counts the apostrophe against the limit', async () => {
    const risky = creative('C', { headline: '=HYPERLINK("http://x")', body: '-20% on every trail pack this week only.', cta: 'Shop now' });
    const r = await buildExport([risky], ['google-ads', 'linkedin'], settings(), tools);
    const raw = file(r.files, 'google-ads/responsive-display-ads.csv');
    expect(raw).not.toMatch(/(^|,)=HYPERLINK/m);
    expect(raw).toContain(`"'=HYPERLINK(""http://x"")"`);
    for (const row of table(r.files, 'google-ads/responsive-display-ads.csv'))
      for (const i of [1, 2, 3, 4, 5]) if (row[`Headline ${i}`]) expect(len(row[`Headline ${i}`])).toBeLessThanOrEqual(GOOGLE_HEADLINE);
    expect(table(r.files, 'linkedin/single-image-ads.csv')[0]['Introductory text']).toBe("'-20% on every trail pack this week only.");
  });

  it('leaves out what a platform cannot take, saying why, instead of breaking a limit', async () => {
    const squareOnly = creative('D', winner.copy, 'variant', { images: { square: tinyPng(1080, 1080, [1, 2, 3]) } });
    const r = await buildExport([squareOnly], ALL, settings({ brand: undefined }), tools);
    const byPlatform = Object.fromEntries(r.platforms.map((p) => [p.platform, p]));
    expect(byPlatform['google-ads'].ads[0]).toMatchObject({ included: false, why: expect.stringMatching(/landscape .*business name/) });
    expect(byPlatform.meta.ads[0]).toMatchObject({
      included: false,
      why: expect.stringMatching(/4:5 feed image \(render the portrait format\)/),
    });
    expect(byPlatform.tiktok.ads[0]).toMatchObject({ included: false, why: expect.stringMatching(/brand name/) });
    expect(byPlatform.linkedin.ads[0]).toMatchObject({ included: true });
    expect(r.files.map((f) => f.path)).not.toContain('google-ads/responsive-display-ads.csv');
    expect(file(r.files, 'README.md')).toMatch(/responsive display ad left out: needs a landscape/);
  });

  it('the read-back check catches a file edited past a limit', async () => {
    const r = await buildExport([winner], ['google-ads', 'tiktok'], settings(), tools);
    const tampered = r.files.map((f) =>
      f.path === 'google-ads/responsive-display-ads.csv'
        ? { ...f, data: (f.data as string).replace('Sunscreen that stays put', 'Sunscreen that stays put all day') }
        : f.path === 'tiktok/image-ads.csv'
          ? { ...f, data: (f.data as string).replace(winner.copy.body, 'Too short') }
          : f,
    );
    const { violations } = await verifyExport(tampered, tools);
    expect(violations.map((v) => [v.platform, v.rule])).toEqual([
      ['google-ads', 'Headline is 32 characters; at most 30'],
      ['tiktok', 'Ad text is 9 characters; at least 12'],
    ]);
    expect(violations[0].doc).toMatch(/ResponsiveDisplayAdInfo/);
  });
});
