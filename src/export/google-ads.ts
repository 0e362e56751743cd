/**
 * Google Ads Editor CSV files: responsive display ads (one ad group per creative, so the ad
 * group's name — the ad key — finds its report rows again) and Performance Max asset groups.
 * Headers are the English column names Google Ads Editor recognises on import (Google Ads Editor
 * Help 57747: headers must be in English; case and spaces do not matter). Rows are paused.
 * The image columns name the files in images/; Editor takes images through its image library,
 * where those files are added by name.
 */
import { csvCell } from '../library/csv.ts';
import { type AdCopy, type Chosen, choose, derivedTexts, headlineForm, withoutEmoji } from './copy.ts';
import type { ExportImages } from './images.ts';
import { checkImage, checkText, fits, GOOGLE, type Violation } from './limits.ts';
import type { ExportCreative, ExportSettings, PlatformAd, PlatformExport, SlotImage } from './types.ts';

const RDA_HEADERS = [
  'Campaign',
  'Campaign type',
  'Campaign status',
  'Ad group',
  'Ad group status',
  'Ad type',
  'Status',
  'Headline 1',
  'Headline 2',
  'Headline 3',
  'Headline 4',
  'Headline 5',
  'Long headline',
  'Description 1',
  'Description 2',
  'Description 3',
  'Description 4',
  'Description 5',
  'Business name',
  'Final URL',
  'Images',
  'Square images',
  'Logos',
  'Landscape logos',
];

const PMAX_HEADERS = [
  'Campaign',
  'Campaign type',
  'Campaign status',
  'Asset group',
  'Asset group status',
  'Final URL',
  ...[1, 2, 3, 4, 5].map((i) => `Headline ${i}`),
  ...[1, 2, 3, 4, 5].map((i) => `Long headline ${i}`),
  ...[1, 2, 3, 4, 5].map((i) => `Description ${i}`),
  'Business name',
  'Images',
  'Square images',
  'Logos',
  'Landscape logos',
];

export const GOOGLE_FILES = { rda: 'google-ads/responsive-display-ads.csv', pmax: 'google-ads/performance-max-asset-groups.csv' };

function csv(headers: string[], rows: Record<string, string>[]): string {
  const lines = [headers.map(csvCell).join(',')];
  for (const r of rows) lines.push(headers.map((h) => csvCell(r[h] ?? '')).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

const texts = (cs: Chosen[]) => cs.map((c) => c.text);

/**
 * Google Ads targets languages per campaign, not per ad: ads of a round with locales go into one
 * campaign per locale (named with it), so each campaign's language can be set to its ads' language.
 */
const inLocale = (c: ExportCreative) => (c.locale ? ` · ${c.locale}` : '');

/**
 * Google takes no emoji in ad text: the copy without them. A field whose emoji were taken out is
 * no longer the approved text as it was, so it is offered as derived (and said so in the summary).
 */
function withoutEmojiCopy(copy: AdCopy): { copy: AdCopy; approved: { headline?: string; body?: string } } {
  const clean = { headline: withoutEmoji(copy.headline), body: withoutEmoji(copy.body), cta: withoutEmoji(copy.cta) };
  return {
    copy: clean,
    approved: {
      headline: clean.headline === copy.headline ? copy.headline : undefined,
      body: clean.body === copy.body ? copy.body : undefined,
    },
  };
}

function headlines(copy: AdCopy, s: ExportSettings, adKey: string, business: string, n: number): Chosen[] {
  const extra = s.extra?.get(adKey);
  // Google's guidance: a short headline is not the business name alone.
  const derived = derivedTexts(copy, business)
    .map(headlineForm)
    .filter((t) => t.toLocaleLowerCase() !== business.toLocaleLowerCase());
  return choose({
    approved: headlineForm(copy.headline),
    extra: extra?.headlines,
    derived,
    rule: GOOGLE.rda.headline,
    n,
    form: headlineForm,
  });
}

function longHeadlines(original: AdCopy, s: ExportSettings, adKey: string, business: string, n: number, taken: string[]): Chosen[] {
  const { copy } = withoutEmojiCopy(original);
  const d = derivedTexts(copy, business);
  // Longer texts first: a long headline that is as short as a headline wastes the slot.
  const derived = [...d.slice(2), copy.headline].sort((a, b) => b.length - a.length);
  return choose({ extra: s.extra?.get(adKey)?.longHeadlines, derived, rule: GOOGLE.rda.longHeadline, n, taken });
}

function descriptions(original: AdCopy, s: ExportSettings, adKey: string, business: string, n: number, taken: string[]): Chosen[] {
  const { copy, approved } = withoutEmojiCopy(original);
  const derived = derivedTexts(copy, business).slice(1);
  return choose({ approved: approved.body, extra: s.extra?.get(adKey)?.descriptions, derived, rule: GOOGLE.rda.description, n, taken });
}

/** Makes sure one of `list` fits `short` (Performance Max asks for one short headline and one short description). */
function ensureShort(list: Chosen[], more: Chosen[], short: Parameters<typeof fits>[1], max: number): Chosen[] {
  if (list.some((c) => fits(c.text, short))) return list;
  const s = more.find((c) => fits(c.text, short) && !list.some((l) => l.text.toLocaleLowerCase() === c.text.toLocaleLowerCase()));
  if (!s) return list;
  return list.length >= max ? [...list.slice(0, max - 1), s] : [...list, s];
}

export async function googleAdsExport(creatives: ExportCreative[], s: ExportSettings, images: ExportImages): Promise<PlatformExport> {
  const warnings: string[] = [];
  const business = s.brand?.displayName ?? '';
  const rda: Record<string, string>[] = [];
  const pmax: Record<string, string>[] = [];
  const ads: PlatformAd[] = [];
  if (!s.finalUrl)
    warnings.push('No final URL is set (EXPORT_FINAL_URL or --final-url): Google Ads Editor asks for one on each ad before posting.');
  const logo = s.brand?.logo;
  const [squareLogo, wideLogo] =
    logo && s.brand
      ? await Promise.all([
          images.logo(s.brand.name, logo, 1200, 1200, s.brand.background),
          images.logo(s.brand.name, logo, 1200, 300, s.brand.background),
        ])
      : [undefined, undefined];
  if (!logo)
    warnings.push('No brand logo: responsive display ads go without logos; Performance Max asset groups need one and are left out.');

  for (const c of creatives) {
    const name = `${c.adKey} ${c.label}`;
    const landscape = await images.format(c, 'landscape');
    const square = await images.format(c, 'square');
    const common = { Campaign: '', 'Campaign status': 'Paused', 'Final URL': s.finalUrl ?? '' };
    const missing: string[] = [];
    if (!landscape) missing.push('a landscape (1.91:1) image');
    if (!square) missing.push('a square image');
    if (!business) missing.push('a business name (a brand kit with a displayName)');
    else if (!fits(business, GOOGLE.rda.businessName)) missing.push(`a business name of at most 25 characters ("${business}" is longer)`);

    // Responsive display ad.
    const h = headlines(c.copy, s, c.adKey, business, GOOGLE.rda.headlines.max);
    // The approved body stays the first description; the long headline is chosen first among the rest.
    const lh = longHeadlines(c.copy, s, c.adKey, business, 1, [...texts(h), c.copy.body]);
    const d = descriptions(c.copy, s, c.adKey, business, GOOGLE.rda.descriptions.max, [...texts(h), ...texts(lh)]);
    const rdaMissing = [...missing];
    if (!h.length) rdaMissing.push('a headline of at most 30 characters');
    if (!lh.length) rdaMissing.push('a long headline of at most 90 characters');
    if (!d.length) rdaMissing.push('a description of at most 90 characters');
    const rdaImages: Record<string, string> = {};
    if (!rdaMissing.length) {
      const row: Record<string, string> = {
        ...common,
        Campaign: `${s.campaign} · Display${inLocale(c)}`,
        'Campaign type': 'Display',
        'Ad group': name,
        'Ad group status': 'Paused',
        'Ad type': 'Responsive display ad',
        Status: 'Paused',
        'Long headline': lh[0].text,
        'Business name': business,
        Images: (landscape as SlotImage).path,
        'Square images': (square as SlotImage).path,
        Logos: squareLogo?.path ?? '',
        'Landscape logos': wideLogo?.path ?? '',
      };
      for (const [i, x] of h.entries()) row[`Headline ${i + 1}`] = x.text;
      for (const [i, x] of d.entries()) row[`Description ${i + 1}`] = x.text;
      rda.push(row);
      Object.assign(
        rdaImages,
        { marketing: row.Images, square: row['Square images'] },
        squareLogo ? { squareLogo: squareLogo.path, logo: wideLogo?.path ?? '' } : {},
      );
    }
    ads.push({
      adKey: c.adKey,
      label: c.label,
      included: !rdaMissing.length,
      why: rdaMissing.length ? `responsive display ad left out: needs ${rdaMissing.join(', ')}` : undefined,
      texts: { 'RDA headlines': h, 'RDA long headline': lh, 'RDA descriptions': d },
      images: rdaImages,
    });

    // Performance Max asset group.
    let ph = headlines(c.copy, s, c.adKey, business, 15);
    ph = ensureShort(ph.slice(0, 5), ph.slice(5), GOOGLE.pmax.shortHeadline, 5);
    // One long headline first (so descriptions cannot use up every text), then descriptions, then more long headlines.
    const plh1 = longHeadlines(c.copy, s, c.adKey, business, 1, [...texts(ph), c.copy.body]);
    let pd = descriptions(c.copy, s, c.adKey, business, 15, [...texts(ph), ...texts(plh1)]);
    pd = ensureShort(pd.slice(0, 5), pd.slice(5), GOOGLE.pmax.shortDescription, 5);
    const plh = [...plh1, ...longHeadlines(c.copy, s, c.adKey, business, 4, [...texts(ph), ...texts(pd), ...texts(plh1)])];
    const pmMissing = [...missing];
    if (!logo) pmMissing.push('a logo');
    if (ph.length < GOOGLE.pmax.headlines.min) pmMissing.push(`${GOOGLE.pmax.headlines.min} headlines (found ${ph.length})`);
    else if (!ph.some((x) => fits(x.text, GOOGLE.pmax.shortHeadline))) pmMissing.push('a headline of at most 15 characters');
    if (plh.length < GOOGLE.pmax.longHeadlines.min) pmMissing.push('a long headline');
    if (pd.length < GOOGLE.pmax.descriptions.min) pmMissing.push(`${GOOGLE.pmax.descriptions.min} descriptions (found ${pd.length})`);
    else if (!pd.some((x) => fits(x.text, GOOGLE.pmax.shortDescription))) pmMissing.push('a description of at most 60 characters');
    const pmImages: Record<string, string> = {};
    if (!pmMissing.length) {
      const row: Record<string, string> = {
        ...common,
        Campaign: `${s.campaign} · Performance Max${inLocale(c)}`,
        'Campaign type': 'Performance Max',
        'Asset group': name,
        'Asset group status': 'Paused',
        'Business name': business,
        Images: (landscape as SlotImage).path,
        'Square images': (square as SlotImage).path,
        Logos: squareLogo?.path ?? '',
        'Landscape logos': wideLogo?.path ?? '',
      };
      for (const [i, x] of ph.entries()) row[`Headline ${i + 1}`] = x.text;
      for (const [i, x] of plh.entries()) row[`Long headline ${i + 1}`] = x.text;
      for (const [i, x] of pd.entries()) row[`Description ${i + 1}`] = x.text;
      pmax.push(row);
      Object.assign(pmImages, {
        landscape: row.Images,
        square: row['Square images'],
        logo: row.Logos,
        landscapeLogo: row['Landscape logos'],
      });
    }
    ads.push({
      adKey: c.adKey,
      label: c.label,
      included: !pmMissing.length,
      why: pmMissing.length ? `Performance Max asset group left out: needs ${pmMissing.join(', ')}` : undefined,
      texts: { 'PMax headlines': ph, 'PMax long headlines': plh, 'PMax descriptions': pd },
      images: pmImages,
    });
  }
  const files = [];
  if (rda.length) files.push({ path: GOOGLE_FILES.rda, data: csv(RDA_HEADERS, rda) });
  if (pmax.length) files.push({ path: GOOGLE_FILES.pmax, data: csv(PMAX_HEADERS, pmax) });
  return { platform: 'google-ads', files, ads, warnings };
}

/** Every limit of the Google Ads rows as written (the parsed CSV cells and the image files they name). */
export function checkGoogleRows(
  kind: 'rda' | 'pmax',
  rows: Record<string, string>[],
  image: (path: string) => SlotImage | undefined,
): Violation[] {
  const out: Violation[] = [];
  const spec = kind === 'rda' ? GOOGLE.rda : GOOGLE.pmax;
  for (const r of rows) {
    const where = r['Ad group'] || r['Asset group'] || '?';
    const hs = [1, 2, 3, 4, 5].map((i) => r[`Headline ${i}`]).filter(Boolean);
    const ds = [1, 2, 3, 4, 5].map((i) => r[`Description ${i}`]).filter(Boolean);
    const ls = kind === 'rda' ? [r['Long headline']].filter(Boolean) : [1, 2, 3, 4, 5].map((i) => r[`Long headline ${i}`]).filter(Boolean);
    const count = (what: string, n: number, lim: { min: number; max: number }) => {
      if (n < lim.min || n > lim.max)
        out.push({ platform: 'google-ads', where, rule: `${n} ${what}; needs ${lim.min} to ${lim.max}`, doc: spec.headline.doc });
    };
    count('headlines', hs.length, spec.headlines);
    count('descriptions', ds.length, spec.descriptions);
    count('long headlines', ls.length, kind === 'rda' ? { min: 1, max: 1 } : GOOGLE.pmax.longHeadlines);
    for (const t of hs) out.push(...checkText(t, spec.headline, where, 'google-ads'));
    for (const t of ls) out.push(...checkText(t, spec.longHeadline, where, 'google-ads'));
    for (const t of ds) out.push(...checkText(t, spec.description, where, 'google-ads'));
    out.push(...checkText(r['Business name'] ?? '', spec.businessName, where, 'google-ads'));
    if (kind === 'pmax') {
      if (!hs.some((t) => fits(t, GOOGLE.pmax.shortHeadline)))
        out.push({ platform: 'google-ads', where, rule: 'no headline of at most 15 characters', doc: GOOGLE.pmax.headline.doc });
      if (!ds.some((t) => fits(t, GOOGLE.pmax.shortDescription)))
        out.push({ platform: 'google-ads', where, rule: 'no description of at most 60 characters', doc: GOOGLE.pmax.description.doc });
    }
    const slots =
      kind === 'rda'
        ? [
            ['Images', GOOGLE.rda.marketing, true],
            ['Square images', GOOGLE.rda.square, true],
            ['Logos', GOOGLE.rda.squareLogo, false],
            ['Landscape logos', GOOGLE.rda.logo, false],
          ]
        : [
            ['Images', GOOGLE.pmax.landscape, true],
            ['Square images', GOOGLE.pmax.square, true],
            ['Logos', GOOGLE.pmax.logo, true],
            ['Landscape logos', GOOGLE.pmax.landscapeLogo, false],
          ];
    for (const [col, rule, required] of slots as [string, typeof GOOGLE.rda.square, boolean][]) {
      const path = r[col];
      if (!path) {
        if (required) out.push({ platform: 'google-ads', where, rule: `${rule.slot} is missing`, doc: rule.doc });
        continue;
      }
      const img = image(path);
      if (!img) out.push({ platform: 'google-ads', where, rule: `${rule.slot}: ${path} is not in the export`, doc: rule.doc });
      else out.push(...checkImage(img, rule, where, 'google-ads'));
    }
  }
  return out;
}
