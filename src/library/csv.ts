/**
 * CSV in and out. Input (ingest manifests, metrics exports): header names trimmed and
 * lower-cased, each record with the line it ends on so that errors can point at it. Output
 * (`library export`): cells quoted where needed and neutralised against formula injection.
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
  return records.map((r) => ({ line: r.info.lines, record: unneutralised(r.record) }));
}

/**
 * Spreadsheets run a cell that begins with = + - @ (or a tab or carriage return before one) as
 * a formula, and captions come from any Slack user ("Add to creative library"): such a cell is
 * written with a leading apostrophe, which spreadsheets show as text (OWASP, "CSV Injection").
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell: text neutralised and quoted where needed; numbers and booleans as they are. */
export function csvCell(v: string | number | boolean): string {
  const s = typeof v === 'string' && FORMULA_START.test(v) ? `'${v}` : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Reading our own export back: the apostrophe `csvCell` put in front of a formula-like cell goes again. */
function unneutralised(record: Record<string, string>): Record<string, string> {
  for (const [k, v] of Object.entries(record)) if (v.startsWith("'") && FORMULA_START.test(v.slice(1))) record[k] = v.slice(1);
  return record;
}

/**
 * Rows of cells exactly as written (no header handling, no trimming inside quotes), each with the
 * line it ends on: for files whose header is not on the first line (ad platform reports open with
 * a title and a date range) and for reading an export back to check it cell by cell.
 */
export function readCsvRows(label: string, raw: string, opts: { delimiter?: ',' | '\t' } = {}): { line: number; cells: string[] }[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parseCsv(raw, {
      delimiter: opts.delimiter ?? ',',
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
      info: true,
      relax_quotes: true,
    }) as unknown as typeof rows;
  } catch (e) {
    throw new InputError('CSV_INVALID', `${label}: not a readable CSV (${describeError(e)})`);
  }
  return rows.map((r) => ({ line: r.info.lines, cells: r.record }));
}

/** A cell as its writer meant it: the apostrophe `csvCell` put before a formula-like value taken off. */
export function cellValue(cell: string): string {
  return cell.startsWith("'") && FORMULA_START.test(cell.slice(1)) ? cell.slice(1) : cell;
}
