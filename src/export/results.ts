/**
 * Results back from the ad platforms: a Meta Ads Manager or Google Ads report export (CSV, as the
 * platforms write it: a title and a date range above the header in Google's, total rows below,
 * numbers like "1,234", "--" for none; UTF-16 with tabs from Google's "CSV for Excel") read into
 * rows, each matched to an exported creative by its ad key (in the ad, ad group or asset group
 * name, or the final URL) or by the platform's ad id once known. Rows that match nothing are kept
 * with the reason; nothing is dropped silently.
 */
import { InputError } from '../errors.ts';
import { readCsvRows } from '../library/csv.ts';
import type { ResultRow } from '../rounds/types.ts';
import type { ReportPlatform } from '../vocabulary.ts';
import { AD_KEY_PATTERN } from './build.ts';

/** Column names as the platforms' exports spell them (matched case-insensitively). */
const COLUMNS = {
  // Meta Ads Manager export (Ads Manager → Reports → Export table data).
  meta: {
    ids: ['ad name', 'ad id', 'ad set name', 'campaign name', 'website url', 'link (ad settings)'],
    adId: ['ad id'],
    name: ['ad name'],
    impressions: ['impressions'],
    clicks: ['link clicks', 'clicks (all)'],
    conversions: ['results', 'conversions', 'purchases', 'website purchases'],
  },
  // Google Ads report download (Reports → Ads / Asset groups → Download → CSV).
  google: {
    ids: ['ad group', 'asset group', 'ad id', 'ad', 'ad name', 'final url', 'campaign'],
    adId: ['ad id'],
    name: ['ad group', 'asset group', 'ad name'],
    impressions: ['impr.', 'impressions'],
    clicks: ['clicks'],
    conversions: ['conversions', 'conv.', 'all conv.'],
  },
} as const;

const META_SIGNS = ['reporting starts', 'reporting ends', 'link clicks', 'clicks (all)', 'amount spent', 'result indicator', 'ad set name'];
const GOOGLE_SIGNS = ['impr.', 'ad group', 'asset group', 'conv.', 'currency code', 'ad state', 'avg. cpc'];

/** A report's text: UTF-8 (with or without BOM) or UTF-16 (Google's "CSV for Excel"). */
export function decodeReport(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return Buffer.from(bytes.subarray(2)).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  return Buffer.from(bytes)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
}

/**
 * A count as reports write it: "1,234", "1 234", "1.234" (German), "--" or "" (none). Returns
 * undefined for none; throws for text that is no number.
 */
export function reportNumber(raw: string, column: string, integer: boolean): number | undefined {
  const t = raw.replace(/[\s\u00a0\u202f]/g, '').replace(/^"|"$/g, '');
  if (t === '' || t === '--' || t === '-' || t === '—') return undefined;
  let n: number;
  if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(t)) n = Number(t.replace(/,/g, ''));
  else if (/^\d{1,3}(\.\d{3})+(,\d+)?$/.test(t)) n = Number(t.replace(/\./g, '').replace(',', '.'));
  else if (/^\d+,\d+$/.test(t)) n = Number(t.replace(',', '.'));
  else if (/^\d+(\.\d+)?$/.test(t)) n = Number(t);
  else throw new InputError('REPORT_BAD_NUMBER', `${column} is ${JSON.stringify(raw)}; expected a number such as 1,234`);
  if (integer && !Number.isInteger(n))
    throw new InputError('REPORT_BAD_NUMBER', `${column} is ${JSON.stringify(raw)}; expected a whole number`);
  return n;
}

export interface ParsedReport {
  platform: ReportPlatform;
  /** The header's line and the columns used for each figure. */
  headerLine: number;
  columns: { impressions?: string; clicks?: string; conversions?: string; ids: string[] };
  rows: { line: number; cells: Record<string, string>; error?: string }[];
  /** Summary and total rows, by line, left out of the figures. */
  totals: number[];
}

const lower = (s: string) => s.trim().toLowerCase();

function pickColumn(headers: string[], names: readonly string[]): string | undefined {
  for (const n of names) {
    const h = headers.find((x) => lower(x) === n);
    if (h) return h;
  }
  return undefined;
}

/** Finds the header (the first row naming an id column and a figure), the platform, and the data rows. */
export function parseReport(label: string, text: string, forced?: ReportPlatform): ParsedReport {
  // Google's "CSV for Excel" is tab-separated (and may hold "2,00"): tabs are tried first where there are any.
  const delimiters: (',' | '\t')[] = text.includes('\t') ? ['\t', ','] : [','];
  let rows: { line: number; cells: string[] }[] = [];
  let headerAt = -1;
  for (const delimiter of delimiters) {
    rows = readCsvRows(label, text, { delimiter });
    headerAt = rows.findIndex((r) => {
      const hs = r.cells.map(lower);
      const hasId = [...COLUMNS.meta.ids, ...COLUMNS.google.ids].some((c) => hs.includes(c));
      const hasFigure = ['impressions', 'impr.', 'clicks', 'link clicks', 'clicks (all)', 'results', 'conversions'].some((c) =>
        hs.includes(c),
      );
      return hasId && hasFigure;
    });
    if (headerAt >= 0) break;
  }
  if (headerAt < 0) {
    throw new InputError(
      'REPORT_NO_HEADER',
      `${label}: no header row with an ad column (Ad name, Ad ID, Ad group, Asset group) and a figure (Impressions or Impr., Clicks or Link clicks, Results or Conversions) in the first ${rows.length} rows; export the report from Meta Ads Manager or Google Ads as CSV`,
    );
  }
  const headers = rows[headerAt].cells.map((h) => h.trim());
  const hs = headers.map(lower);
  const platform: ReportPlatform =
    forced ??
    (GOOGLE_SIGNS.some((c) => hs.includes(c))
      ? 'google'
      : META_SIGNS.some((c) => hs.includes(c)) || hs.includes('ad name')
        ? 'meta'
        : hs.includes('ad id') && hs.includes('conversions')
          ? 'google'
          : 'meta');
  const cols = COLUMNS[platform];
  const columns = {
    impressions: pickColumn(headers, cols.impressions),
    clicks: pickColumn(headers, cols.clicks),
    conversions: pickColumn(headers, cols.conversions),
    ids: headers.filter((h) => (cols.ids as readonly string[]).includes(lower(h))),
  };
  if (!columns.impressions && !columns.clicks && !columns.conversions) {
    throw new InputError('REPORT_NO_FIGURES', `${label}: the ${platform} report has no impressions, clicks or conversions column`);
  }
  const out: ParsedReport = { platform, headerLine: rows[headerAt].line, columns, rows: [], totals: [] };
  for (const r of rows.slice(headerAt + 1)) {
    const cells = Object.fromEntries(headers.map((h, i) => [h, (r.cells[i] ?? '').trim()]));
    const first = (r.cells.find((c) => c.trim() !== '') ?? '').trim();
    // Google closes with "Total: Account", "Total: Campaigns" …; Meta's summary row names no ad.
    if (/^total\b/i.test(first) || columns.ids.every((c) => !cells[c])) {
      out.totals.push(r.line);
      continue;
    }
    out.rows.push({ line: r.line, cells });
  }
  return out;
}

/** What is already known that identifies ads: exported ad keys, and platform ad ids seen with them. */
export interface KnownAds {
  adKeys: Set<string>;
  /** `${platform}:${ad id}` → ad key (from `export --publish` and earlier matched rows). */
  platformIds: Map<string, string>;
}

/** The report's rows as result rows: figures read, each matched to an ad key or kept with the reason. */
export function matchReport(report: ParsedReport, known: KnownAds, p: { importId: string; source: string; at: Date }): ResultRow[] {
  const cols = COLUMNS[report.platform];
  return report.rows.map((r): ResultRow => {
    const idCol = pickColumn(Object.keys(r.cells), cols.adId);
    const nameCol = pickColumn(Object.keys(r.cells), cols.name);
    const platformAdId = idCol ? r.cells[idCol] || null : null;
    const base: ResultRow = {
      importId: p.importId,
      line: r.line,
      platform: report.platform,
      source: p.source,
      adKey: null,
      platformAdId,
      adName: nameCol ? r.cells[nameCol] || null : null,
      impressions: null,
      clicks: null,
      conversions: null,
      raw: r.cells,
      reason: null,
      importedAt: p.at,
    };
    try {
      const c = report.columns;
      base.impressions = c.impressions ? (reportNumber(r.cells[c.impressions], c.impressions, true) ?? null) : null;
      base.clicks = c.clicks ? (reportNumber(r.cells[c.clicks], c.clicks, true) ?? null) : null;
      base.conversions = c.conversions ? (reportNumber(r.cells[c.conversions], c.conversions, false) ?? null) : null;
    } catch (e) {
      return { ...base, reason: e instanceof Error ? e.message : String(e) };
    }
    if (base.impressions !== null && base.clicks !== null && base.clicks > base.impressions) {
      return { ...base, reason: `clicks (${base.clicks}) exceed impressions (${base.impressions})` };
    }
    const inText = report.columns.ids.map((col) => AD_KEY_PATTERN.exec(r.cells[col] ?? '')?.[0]).find(Boolean);
    if (inText) {
      return known.adKeys.has(inText) ? { ...base, adKey: inText } : { ...base, reason: `${inText} was not exported from this workspace` };
    }
    const byId = platformAdId ? known.platformIds.get(`${report.platform}:${platformAdId}`) : undefined;
    if (byId) return { ...base, adKey: byId };
    return {
      ...base,
      reason: `no exported ad key (adc-…) in ${report.columns.ids.join(', ') || 'any ad column'}${platformAdId ? `, and ad id ${platformAdId} is not known` : ''}`,
    };
  });
}

export interface AdResults {
  adKey: string;
  impressions: number;
  clicks: number;
  conversions: number;
  /** Platforms the figures come from, with the import they were last read in. */
  platforms: { platform: string; importId: string; importedAt: Date }[];
}

/**
 * Each ad's figures now: per platform, the rows of its latest import that named it (summed: a
 * report broken down by day or placement has several rows per ad), added across platforms. An
 * import of a later (lifetime) report replaces the earlier one; importing the same report twice
 * does not count it twice.
 */
export function currentResults(rows: ResultRow[]): Map<string, AdResults> {
  const latest = new Map<string, { importId: string; at: Date }>();
  for (const r of rows) {
    if (!r.adKey) continue;
    const k = `${r.adKey}|${r.platform}`;
    const had = latest.get(k);
    if (!had || r.importedAt > had.at || (r.importedAt.getTime() === had.at.getTime() && r.importId > had.importId))
      latest.set(k, { importId: r.importId, at: r.importedAt });
  }
  const out = new Map<string, AdResults>();
  for (const r of rows) {
    if (!r.adKey || latest.get(`${r.adKey}|${r.platform}`)?.importId !== r.importId) continue;
    const a = out.get(r.adKey) ?? { adKey: r.adKey, impressions: 0, clicks: 0, conversions: 0, platforms: [] };
    a.impressions += r.impressions ?? 0;
    a.clicks += r.clicks ?? 0;
    a.conversions += r.conversions ?? 0;
    if (!a.platforms.some((x) => x.platform === r.platform))
      a.platforms.push({ platform: r.platform, importId: r.importId, importedAt: r.importedAt });
    out.set(r.adKey, a);
  }
  return out;
}
