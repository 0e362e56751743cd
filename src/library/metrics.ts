/**
 * `metrics import FILE.csv`: performance numbers from an ad platform export, matched to
 * creatives by id, sha256 or file name. Rows that match nothing (or more than one creative)
 * are reported with their line, never guessed.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { describeError, InputError } from '../errors.ts';
import { readCsvRecords } from './csv.ts';
import { parseMeta } from './ingest.ts';
import type { CreativeRef, Library, MetricsUpdate } from './types.ts';

export interface MetricsReport {
  rows: number;
  updated: number;
  unmatched: { line: number; key: string; reason: string }[];
  failed: { line: number; reason: string }[];
}

const NAME_COLUMNS = ['file', 'file_name', 'filename', 'path'];
const KEY_COLUMNS = ['id', 'sha256', ...NAME_COLUMNS];
const METRIC_COLUMNS = ['impressions', 'clicks', 'conversions'];

function matcher(refs: CreativeRef[]): (rec: Record<string, string>) => { id?: string; key: string; reason?: string } {
  const ids = new Set(refs.map((r) => r.id));
  const bySha = new Map(refs.map((r) => [r.sha256, r.id]));
  const byName = new Map<string, string[]>();
  for (const r of refs) {
    if (!r.fileName) continue;
    for (const k of new Set([r.fileName, basename(r.fileName)])) byName.set(k, [...(byName.get(k) ?? []), r.id]);
  }
  return (rec) => {
    const id = rec.id?.trim();
    if (id) return ids.has(id) ? { id, key: id } : { key: id, reason: 'no creative has this id' };
    const sha = rec.sha256?.trim().toLowerCase();
    if (sha) {
      const hit = bySha.get(sha);
      return hit ? { id: hit, key: sha } : { key: sha, reason: 'no creative has this sha256' };
    }
    const name = (rec.file ?? rec.file_name ?? rec.filename ?? rec.path ?? '').trim();
    if (name) {
      const hits = byName.get(name) ?? byName.get(basename(name)) ?? [];
      if (hits.length === 1) return { id: hits[0], key: name };
      return {
        key: name,
        reason: hits.length ? `${hits.length} creatives have this file name; use id or sha256` : 'no creative has this file name',
      };
    }
    return { key: '', reason: 'this row has no id, sha256 or file name' };
  };
}

export async function importMetrics(library: Library, file: string, opts: { dryRun?: boolean } = {}): Promise<MetricsReport> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (e) {
    throw new InputError('FILE_UNREADABLE', `${file}: unreadable (${describeError(e)})`);
  }
  const records = readCsvRecords(file, raw);
  const columns = new Set(records.flatMap((r) => Object.keys(r.record)));
  if (records.length && !KEY_COLUMNS.some((c) => columns.has(c))) {
    throw new InputError(
      'MANIFEST_INVALID',
      `${file}: no column to match creatives by; expected one of ${KEY_COLUMNS.join(', ')} (columns found: ${[...columns].join(', ')})`,
    );
  }
  if (records.length && !METRIC_COLUMNS.some((c) => columns.has(c))) {
    throw new InputError(
      'MANIFEST_INVALID',
      `${file}: no metrics to import; expected one or more of ${METRIC_COLUMNS.join(', ')} (columns found: ${[...columns].join(', ')})`,
    );
  }
  const report: MetricsReport = { rows: records.length, updated: 0, unmatched: [], failed: [] };
  const match = matcher(await library.refs());
  const updates: MetricsUpdate[] = [];
  for (const { record, line } of records) {
    const m = match(record);
    if (!m.id) {
      report.unmatched.push({ line, key: m.key, reason: m.reason ?? 'no match' });
      continue;
    }
    try {
      const meta = parseMeta({ impressions: record.impressions, clicks: record.clicks, conversions: record.conversions });
      if (meta.impressions === undefined && meta.clicks === undefined && meta.conversions === undefined) {
        throw new InputError('MANIFEST_BAD_VALUE', 'no impressions, clicks or conversions given');
      }
      updates.push({ id: m.id, impressions: meta.impressions, clicks: meta.clicks, conversions: meta.conversions });
    } catch (e) {
      report.failed.push({ line, reason: describeError(e) });
    }
  }
  report.updated = await applyMetrics(library, updates, opts.dryRun);
  return report;
}

/**
 * Writes creatives' delivery figures (or, on a dry run, counts the creatives they would change):
 * the one write behind `metrics import` and `results import`, whose figures the CTR prior, the
 * search's performance term and the preference model read.
 */
export async function applyMetrics(library: Pick<Library, 'updateMetrics'>, updates: MetricsUpdate[], dryRun = false): Promise<number> {
  return dryRun ? new Set(updates.map((u) => u.id)).size : library.updateMetrics(updates);
}
