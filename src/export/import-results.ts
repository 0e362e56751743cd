/**
 * `adcreative results import FILE`: a platform's report read (results.ts), its rows matched to
 * exported creatives and kept in the round store — every row, matched or not, so nothing is
 * lost and a later export or publish can still claim it — and each matched creative's figures
 * now (latest report per platform, summed across platforms) written to its creative library row
 * through the library's metrics write (library/metrics.ts), where the CTR prior, inspiration and
 * the preference model read them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { describeError, InputError } from '../errors.ts';
import { applyMetrics } from '../library/metrics.ts';
import type { Library, MetricsUpdate } from '../library/types.ts';
import type { ExportRecord, ResultRow, RoundStore } from '../rounds/types.ts';
import type { ReportPlatform } from '../vocabulary.ts';
import { type AdResults, currentResults, decodeReport, type KnownAds, matchReport, parseReport } from './results.ts';

export interface ResultsImportReport {
  importId: string;
  file: string;
  platform: ReportPlatform;
  dryRun: boolean;
  rows: number;
  /** Summary and total rows left out of the figures. */
  totals: number;
  matched: number;
  unmatched: { line: number; name: string | null; reason: string }[];
  ads: (AdResults & { label: string; creativeId: string | null; library: 'updated' | 'not in the library' })[];
  libraryUpdated: number;
}

type Store = Pick<RoundStore, 'exports' | 'resultRows' | 'addResultRows'>;

/** What identifies exported ads: their keys, and the platform ad ids seen with them (publish, earlier reports). */
export async function knownAds(store: Store, exports: ExportRecord[]): Promise<KnownAds> {
  const adKeys = new Set(exports.map((e) => e.adKey));
  const platformIds = new Map<string, string>();
  for (const e of exports) for (const id of e.published?.meta ?? []) platformIds.set(`meta:${id}`, e.adKey);
  for (const r of await store.resultRows({ adKeys: [...adKeys] }))
    if (r.adKey && r.platformAdId) platformIds.set(`${r.platform}:${r.platformAdId}`, r.adKey);
  return { adKeys, platformIds };
}

export async function importResults(
  deps: { store: Store; library?: Pick<Library, 'updateMetrics'>; now?: () => Date },
  file: string,
  opts: { platform?: ReportPlatform; dryRun?: boolean } = {},
): Promise<ResultsImportReport> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new InputError('FILE_UNREADABLE', `${file}: unreadable (${describeError(e)})`);
  }
  const report = parseReport(file, decodeReport(bytes), opts.platform);
  const importId = `imp-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}-${report.platform}`;
  const before = await deps.store.resultRows({ importId });
  if (before.length) {
    throw new InputError(
      'REPORT_ALREADY_IMPORTED',
      `${file} was imported on ${before[0].importedAt.toISOString()}; its figures already count (import a newer report to update them)`,
    );
  }
  const exports = await deps.store.exports();
  const rows = matchReport(report, await knownAds(deps.store, exports), {
    importId,
    source: basename(file),
    at: (deps.now ?? (() => new Date()))(),
  });
  if (!opts.dryRun && rows.length) await deps.store.addResultRows(rows);
  const keys = [...new Set(rows.flatMap((r) => (r.adKey ? [r.adKey] : [])))];
  const stored: ResultRow[] = opts.dryRun
    ? [...(await deps.store.resultRows({ adKeys: keys })), ...rows]
    : await deps.store.resultRows({ adKeys: keys });
  const now = currentResults(stored);
  const latestExport = new Map<string, ExportRecord>();
  for (const e of exports) if (e.creativeId || !latestExport.has(e.adKey)) latestExport.set(e.adKey, e);
  const ads: ResultsImportReport['ads'] = [];
  const updates: MetricsUpdate[] = [];
  for (const k of keys) {
    const r = now.get(k);
    const e = latestExport.get(k);
    if (!r || !e) continue;
    ads.push({ ...r, label: e.label, creativeId: e.creativeId, library: e.creativeId ? 'updated' : 'not in the library' });
    if (e.creativeId)
      updates.push({ id: e.creativeId, impressions: r.impressions, clicks: Math.min(r.clicks, r.impressions), conversions: r.conversions });
  }
  const libraryUpdated = updates.length && deps.library ? await applyMetrics(deps.library, updates, opts.dryRun) : 0;
  return {
    importId,
    file,
    platform: report.platform,
    dryRun: !!opts.dryRun,
    rows: rows.length,
    totals: report.totals.length,
    matched: rows.filter((r) => r.adKey).length,
    unmatched: rows.filter((r) => !r.adKey).map((r) => ({ line: r.line, name: r.adName, reason: r.reason ?? 'no match' })),
    ads,
    libraryUpdated,
  };
}
