/**
 * CSV input (ingest manifests, metrics exports): header names trimmed and lower-cased, each
 * record with the line it ends on so that errors can point at it.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { describeError, InputError } from '../errors.ts';

export interface CsvRecord {
  line: number;
  record: Record<string, string>;
}

/** Parses `raw`; a file that is not CSV at all is an `InputError` naming `label`. */
export function readCsvRecords(label: string, raw: string): CsvRecord[] {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parseCsv(raw, {
      columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
      bom: true,
      info: true,
    });
  } catch (e) {
    throw new InputError('MANIFEST_INVALID', `${label}: not a readable CSV (${describeError(e)})`);
  }
  return records.map((r) => ({ line: r.info.lines, record: r.record }));
}
