/**
 * The zip writer, read back by independent readers: Info-ZIP's `unzip -t` (CRC and structure)
 * and Python's zipfile (every entry's bytes), both from the system. Skipped where neither exists.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32, writeZip } from '../../../src/export/zip.ts';

const dir = mkdtempSync(join(tmpdir(), 'zip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const UNZIP = '/usr/bin/unzip';
const PY = '/usr/bin/python3';

/** Incompressible bytes, the same every run (a SHA-256 counter stream). */
function random(n: number, seed: number): Uint8Array {
  const parts: Buffer[] = [];
  for (let i = 0; parts.length * 32 < n; i++) parts.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return new Uint8Array(Buffer.concat(parts).subarray(0, n));
}
const sha = (d: Uint8Array | string) => createHash('sha256').update(d).digest('hex');

const entries = [
  { name: 'google-ads/editor.csv', data: `Campaign,Ad group\n${'adc,row\n'.repeat(500)}` },
  { name: 'images/adc-1-square.png', data: random(70_000, 7) },
  { name: 'empty.txt', data: '' },
  { name: 'méta/résumé ✓.md', data: 'Zusammenfassung — 概要\n' },
];

describe('zip writer', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });

  it('writes an archive unzip tests clean and Python reads back byte for byte, deflating only what shrinks', () => {
    const zip = writeZip(entries, new Date('2026-04-05T06:07:08Z'));
    const file = join(dir, 'export.zip');
    writeFileSync(file, zip);
    if (existsSync(UNZIP)) {
      const out = execFileSync(UNZIP, ['-t', file], { encoding: 'utf8' });
      expect(out).toMatch(/No errors detected/);
    }
    if (existsSync(PY)) {
      const script = `
import json, sys, zipfile, hashlib
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps([{"name": i.filename, "sha": hashlib.sha256(z.read(i)).hexdigest(), "method": i.compress_type, "date": list(i.date_time)} for i in z.infolist()]))
`;
      const listed = JSON.parse(execFileSync(PY, ['-c', script, file], { encoding: 'utf8' })) as {
        name: string;
        sha: string;
        method: number;
        date: number[];
      }[];
      expect(listed.map((l) => l.name)).toEqual(entries.map((e) => e.name));
      for (const [i, e] of entries.entries()) expect(listed[i].sha).toBe(sha(e.data));
      // The CSV shrinks (deflate, 8); random bytes, the empty file and a line too short to gain are stored (0).
      expect(listed.map((l) => l.method)).toEqual([8, 0, 0, 0]);
      expect(listed[0].date).toEqual([2026, 4, 5, 6, 7, 8]);
    }
    if (!existsSync(UNZIP) && !existsSync(PY)) return;
    // The same entries and time give the same bytes (stable exports).
    expect(Buffer.from(writeZip(entries, new Date('2026-04-05T06:07:08Z'))).equals(Buffer.from(zip))).toBe(true);
  });

  it('refuses unsafe or repeated names', () => {
    expect(() => writeZip([{ name: '../evil', data: 'x' }])).toThrow(/relative path/);
    expect(() => writeZip([{ name: '/abs', data: 'x' }])).toThrow(/relative path/);
    expect(() =>
      writeZip([
        { name: 'a.txt', data: 'x' },
        { name: 'a.txt', data: 'y' },
      ]),
    ).toThrow(/appears twice/);
  });
});
