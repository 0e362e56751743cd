/** Reading Meta Ads Manager and Google Ads report exports back, and what an ad's figures are now. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentResults, decodeReport, matchReport, parseReport, reportNumber } from '../../../src/export/results.ts';
import type { ResultRow } from '../../../src/rounds/types.ts';

const DIR = join(import.meta.dirname, '../../fixtures/reports');
const KEY_A = 'adc-0123456789ab';
const KEY_B = 'adc-ba9876543210';
const fixture = (name: string) => {
  const bytes = readFileSync(join(DIR, name));
  const text = decodeReport(new Uint8Array(bytes)).replaceAll('{KEY_A}', KEY_A).replaceAll('{KEY_B}', KEY_B);
  return text;
};
const known = { adKeys: new Set([KEY_A, KEY_B]), platformIds: new Map<string, string>() };
const at = new Date('2026-07-01T00:00:00Z');

describe('report numbers', () => {
  it('reads the ways reports write counts, and refuses what is no number', () => {
    expect(reportNumber('12,345', 'Impr.', true)).toBe(12345);
    expect(reportNumber('1,234,567', 'Impr.', true)).toBe(1234567);
    expect(reportNumber('3.210', 'Impr.', true)).toBe(3210);
    expect(reportNumber('2,00', 'Conversions', false)).toBe(2);
    expect(reportNumber('9.50', 'Conversions', false)).toBe(9.5);
    expect(reportNumber('--', 'Conversions', false)).toBeUndefined();
    expect(reportNumber('', 'Clicks', true)).toBeUndefined();
    expect(() => reportNumber('n/a', 'Clicks', true)).toThrow(/Clicks is "n\/a"; expected a number such as 1,234/);
    expect(() => reportNumber('1.5', 'Clicks', true)).toThrow(/whole number/);
  });
});

describe('report exports', () => {
  it('Meta Ads Manager: ad names carry the ad key; link clicks and results; unknown and hand-made ads kept with the reason', () => {
    const r = parseReport('meta.csv', fixture('meta-ads-manager.csv'));
    expect(r).toMatchObject({
      platform: 'meta',
      headerLine: 1,
      columns: { impressions: 'Impressions', clicks: 'Link clicks', conversions: 'Results' },
    });
    const rows = matchReport(r, known, { importId: 'i1', source: 'meta.csv', at });
    expect(rows.map((x) => [x.line, x.adKey, x.impressions, x.clicks, x.conversions])).toEqual([
      [2, KEY_A, 12345, 234, 18],
      [3, KEY_B, 7890, 98, 6],
      [4, null, 1000, 12, 3],
      [5, null, 20, 0, 0],
    ]);
    expect(rows[2].reason).toMatch(/no exported ad key \(adc-…\) in Campaign name, Ad set name, Ad name/);
    expect(rows[3].reason).toBe('adc-000000000000 was not exported from this workspace');
    expect(rows[2].raw['Ad name']).toBe('Summer promo (made by hand)');
  });

  it('Google Ads: title and date range above the header, segment rows summed, total rows left out, "--" as none', () => {
    const r = parseReport('google.csv', fixture('google-ads-ad-report.csv'));
    expect(r).toMatchObject({
      platform: 'google',
      headerLine: 3,
      columns: { impressions: 'Impr.', clicks: 'Clicks', conversions: 'Conversions' },
    });
    expect(r.totals).toEqual([7, 8]);
    const rows = matchReport(r, known, { importId: 'g1', source: 'google.csv', at });
    expect(rows.map((x) => [x.adKey, x.platformAdId, x.impressions, x.conversions])).toEqual([
      [KEY_A, '712345678901', 20000, 9.5],
      [KEY_A, '712345678901', 1000, 0.5],
      [null, '798765432109', 500, null],
    ]);
    const now = currentResults(rows);
    expect(now.get(KEY_A)).toMatchObject({ impressions: 21000, clicks: 274, conversions: 10 });
    // Once seen with its key, Google's ad id alone finds the ad in a later report.
    const later = matchReport(
      parseReport('g2.csv', 'Ad ID,Impr.,Clicks,Conversions\n712345678901,"30,000",400,12\n'),
      { ...known, platformIds: new Map([['google:712345678901', KEY_A]]) },
      { importId: 'g2', source: 'g2.csv', at: new Date(at.getTime() + 1000) },
    );
    expect(later[0]).toMatchObject({ adKey: KEY_A, impressions: 30000 });
  });

  it('Google Ads "CSV for Excel": UTF-16 with tabs and German numbers', () => {
    const r = parseReport('excel.tsv', fixture('google-ads-asset-groups-excel.tsv'));
    expect(r.platform).toBe('google');
    const rows = matchReport(r, known, { importId: 'x1', source: 'excel.tsv', at });
    expect(rows.map((x) => [x.adKey, x.impressions, x.clicks, x.conversions])).toEqual([[KEY_B, 3210, 41, 2]]);
  });

  it('says what a file without a report header is', () => {
    expect(() => parseReport('notes.csv', 'name,colour\napple,red\n')).toThrow(/no header row with an ad column .* first 2 rows/);
  });

  it('an ad’s figures now: the latest report per platform (summed rows), added across platforms; the same import never twice', () => {
    const row = (importId: string, platform: 'meta' | 'google', impressions: number, clicks: number, t: number): ResultRow => ({
      importId,
      line: 2,
      platform,
      source: 'f',
      adKey: KEY_A,
      platformAdId: null,
      adName: null,
      impressions,
      clicks,
      conversions: 1,
      raw: {},
      reason: null,
      importedAt: new Date(t),
    });
    const now = currentResults([row('m1', 'meta', 1000, 10, 1), row('m2', 'meta', 3000, 30, 2), row('g1', 'google', 500, 5, 1)]);
    expect(now.get(KEY_A)).toMatchObject({ impressions: 3500, clicks: 35, conversions: 2 });
    expect(now.get(KEY_A)?.platforms.map((p) => [p.platform, p.importId])).toEqual([
      ['meta', 'm2'],
      ['google', 'g1'],
    ]);
  });
});
