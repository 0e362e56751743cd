/**
 * `adcreative export` and `adcreative results import` as a person runs them: a variants.json as
 * `generate` writes it, files for every platform in DIR, the exports on record in the state,
 * `--publish` against the local Marketing API stand-in, then the platforms' reports read back.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { makeExportCommands } from '../../../src/export/commands.ts';
import { openState } from '../../../src/rounds/state.ts';
import { checkExportDir } from '../../helpers/export-checks.ts';
import { type FakeMeta, startFakeMeta } from '../../helpers/fake-meta.ts';
import { tinyPng } from '../../helpers/png.ts';
import { runCommand } from '../../helpers/run-command.ts';

const ROOT = join(import.meta.dirname, '../../..');
let dir: string;
let meta: FakeMeta;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'export-cli-'));
  meta = await startFakeMeta({ token: 'EAAB-cli-token', accountId: '42', pageIds: ['p1'], adsetIds: ['s1'] });
  const gen = join(dir, 'generated');
  mkdirSync(gen, { recursive: true });
  const sizes = { square: [1080, 1080], portrait: [1080, 1350], story: [1080, 1920], landscape: [1200, 628] } as const;
  const variants = ['A', 'B'].map((label, i) => {
    const files: Record<string, string> = {};
    for (const [f, [w, h]] of Object.entries(sizes)) {
      files[f] = `${label}-${f}.png`;
      writeFileSync(join(gen, files[f]), tinyPng(w, h, [40 + i * 100, 90, 60]));
    }
    return {
      id: `gen-${label}`,
      label,
      headline: label === 'A' ? 'Sunscreen that stays put' : 'No sting on the trail',
      body: 'No sting, no streaks. Sweat-proof SPF 50 made for long trail days.',
      cta: 'Shop now',
      concept: 'a runner at dawn',
      files,
    };
  });
  writeFileSync(join(gen, 'variants.json'), JSON.stringify({ brief: 'Trail-running sunscreen', brand: 'acme', channel: 'meta', variants }));
}, 60_000);
afterAll(async () => {
  await meta.close();
  rmSync(dir, { recursive: true, force: true });
});

const cfg = (env: Record<string, string> = {}) =>
  loadConfig({ DATA_DIR: join(dir, 'data'), BRANDS_DIR: join(ROOT, 'brands'), LANCEDB_URI: join(dir, 'data', 'lancedb'), ...env });
const commands = (env: Record<string, string> = {}) =>
  makeExportCommands({ config: () => cfg(env), by: () => 'cli:tester', sleep: async () => {} });

describe('export and results import', () => {
  it('writes every platform’s files, records the exports, publishes Meta ads paused, and reads the reports back', async () => {
    const out = join(dir, 'out');
    const r = await runCommand(commands(), [
      'export',
      '--variants',
      join(dir, 'generated', 'variants.json'),
      '--platform',
      'all',
      '--out',
      out,
      '--final-url',
      'https://acme.example/sunscreen',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/read back and checked: \d+ ads and \d+ images .* 0 violations/);
    expect(r.stdout).toMatch(/google-ads: 4 of 4 ads/);
    expect(r.stdout).toMatch(/note: .*no copywriter set|meta: 2 of 2 ads/);
    const rda = readFileSync(join(out, 'google-ads/responsive-display-ads.csv'), 'utf8');
    expect(rda.split('\r\n')[0]).toMatch(/^Campaign,Campaign type,Campaign status,Ad group,/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const keys: string[] = manifest.ads.map((a: { adKey: string }) => a.adKey);
    expect(keys).toHaveLength(2);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain(keys[0]);

    // On record, so reports can be matched back.
    const state = await openState(cfg());
    try {
      const recorded = (await state.store.exports()).map((e) => [e.adKey, e.role, e.by, e.platforms.length]);
      expect(recorded.sort()).toEqual(
        [
          [keys[0], 'variant', 'cli:tester', 4],
          [keys[1], 'variant', 'cli:tester', 4],
        ].sort(),
      );
    } finally {
      await state.close();
    }

    // --publish: Meta ads created through the Marketing API stand-in, paused.
    const env = {
      META_ACCESS_TOKEN: 'EAAB-cli-token',
      META_AD_ACCOUNT_ID: 'act_42',
      META_PAGE_ID: 'p1',
      META_ADSET_ID: 's1',
      META_GRAPH_URL: meta.url,
    };
    const pub = await runCommand(commands(env), [
      'export',
      '--variants',
      join(dir, 'generated', 'variants.json'),
      '--platform',
      'meta',
      '--out',
      join(dir, 'out-meta'),
      '--final-url',
      'https://acme.example/sunscreen',
      '--publish',
    ]);
    expect(pub.code).toBe(0);
    expect(pub.stdout).toMatch(new RegExp(`meta: published ${keys[0]} as creative \\d+, ad \\d+ \\(PAUSED\\)`));
    expect([...meta.ads.values()].map((a) => a.status)).toEqual(['PAUSED', 'PAUSED']);
    const adIdOfA = [...meta.ads.entries()].find(([, a]) => a.name.startsWith(keys[0]))?.[0] as string;

    // Reports: Meta (ad names, and an Ad ID only Meta knows after publishing), Google (ad groups).
    const reports = join(dir, 'reports');
    mkdirSync(reports, { recursive: true });
    const fix = (name: string) =>
      readFileSync(join(ROOT, 'test/fixtures/reports', name), 'utf8')
        .replaceAll('{KEY_A}', keys[0])
        .replaceAll('{KEY_B}', keys[1]);
    writeFileSync(join(reports, 'meta.csv'), fix('meta-ads-manager.csv'));
    writeFileSync(join(reports, 'google.csv'), fix('google-ads-ad-report.csv'));
    writeFileSync(join(reports, 'meta-ids.csv'), `Ad ID,Impressions,Link clicks,Results\n${adIdOfA},"50,000",700,30\n`);

    const m = await runCommand(commands(), ['results', 'import', join(reports, 'meta.csv')]);
    // Two rows match nothing (an ad made by hand, a key never exported): reported, exit 1, kept.
    expect(m.code).toBe(1);
    expect(m.stdout).toMatch(/\(meta\): 4 row\(s\), 2 matched, 2 unmatched/);
    expect(m.stdout).toContain(
      `${keys[0]} A: 12345 impressions, 234 clicks, 18 conversions (meta) — not in the creative library (figures kept here)`,
    );
    expect(m.stdout).toMatch(/line 4 "Summer promo \(made by hand\)": no exported ad key/);
    expect(m.stdout).toMatch(/line 5 "adc-000000000000 Z": adc-000000000000 was not exported from this workspace/);
    const again = await runCommand(commands(), ['results', 'import', join(reports, 'meta.csv')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/meta\.csv was imported on .*; its figures already count/);

    const g = await runCommand(commands(), ['results', 'import', join(reports, 'google.csv'), '--json']);
    const gr = JSON.parse(g.stdout);
    expect(gr).toMatchObject({ platform: 'google', rows: 3, matched: 2, totals: 2 });
    // Meta and Google figures add up per ad.
    expect(gr.ads[0]).toMatchObject({ adKey: keys[0], impressions: 12345 + 21000, clicks: 234 + 274, conversions: 18 + 10 });

    const byId = await runCommand(commands(), ['results', 'import', join(reports, 'meta-ids.csv')]);
    expect(byId.code).toBe(0);
    // A later Meta report replaces the earlier one for that ad; Google's figures stay.
    expect(byId.stdout).toContain(`${keys[0]} A: ${50000 + 21000} impressions, ${700 + 274} clicks, ${30 + 10} conversions`);

    const state2 = await openState(cfg());
    try {
      const rows = await state2.store.resultRows({ adKeys: keys });
      expect(rows.filter((x) => x.platform === 'meta').length).toBe(3);
    } finally {
      await state2.close();
    }
  }, 120_000);

  it('refuses what it cannot do, saying what is expected', async () => {
    const bad = await runCommand(commands(), ['export', '--variants', 'x.json', '--platform', 'myspace', '--out', join(dir, 'o')]);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toMatch(/--platform takes google-ads, meta, linkedin, tiktok or all/);
    const noUrl = await runCommand(commands(), [
      'export',
      '--variants',
      join(dir, 'generated', 'variants.json'),
      '--platform',
      'meta',
      '--out',
      join(dir, 'o'),
      '--publish',
    ]);
    expect(noUrl.stderr).toMatch(/--publish needs a landing page/);
    const noToken = await runCommand(commands(), [
      'export',
      '--variants',
      join(dir, 'generated', 'variants.json'),
      '--platform',
      'meta',
      '--out',
      join(dir, 'o'),
      '--final-url',
      'https://acme.example',
      '--publish',
    ]);
    expect(noToken.stderr).toMatch(/--publish needs META_ACCESS_TOKEN, META_AD_ACCOUNT_ID, META_PAGE_ID, META_ADSET_ID set/);
    writeFileSync(join(dir, 'broken.json'), '{"variants": [{"label": "A"}]}');
    const broken = await runCommand(commands(), [
      'export',
      '--variants',
      join(dir, 'broken.json'),
      '--platform',
      'meta',
      '--out',
      join(dir, 'o'),
    ]);
    expect(broken.stderr).toMatch(/variants\[0\]\.headline must be a non-empty string/);
  });

  it('a variants.json with locales: each translated locale exported as an ad of its own, a not-translated one named', async () => {
    const gen = join(dir, 'generated');
    const sizes = { square: [1080, 1080], portrait: [1080, 1350], story: [1080, 1920], landscape: [1200, 628] } as const;
    const files: Record<string, string> = {};
    for (const [f, [w, h]] of Object.entries(sizes)) {
      files[f] = `A-de-${f}.png`;
      writeFileSync(join(gen, files[f]), tinyPng(w, h, [200, 30, 30]));
    }
    const source = JSON.parse(readFileSync(join(gen, 'variants.json'), 'utf8'));
    const a = source.variants[0];
    const german = {
      locale: 'de',
      status: 'translated',
      headline: 'Sonnenschutz, der hält',
      body: 'Kein Brennen, keine Schlieren. Schweißfester LSF 50 für lange Tage auf dem Trail.',
      cta: 'Jetzt kaufen',
      flags: [],
      files,
    };
    const french = {
      locale: 'fr',
      status: 'not-translated',
      headline: '',
      body: '',
      cta: '',
      flags: ['French: not translated'],
      files: {},
    };
    writeFileSync(join(gen, 'variants-locales.json'), JSON.stringify({ ...source, variants: [{ ...a, locales: [german, french] }] }));
    const out = join(dir, 'out-locales');
    const r = await runCommand(commands(), [
      'export',
      '--variants',
      join(gen, 'variants-locales.json'),
      '--platform',
      'all',
      '--out',
      out,
      '--final-url',
      'https://acme.example/sunscreen',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/google-ads: 4 of 4 ads/);
    expect(r.stdout).toContain('A in fr was not exported: it was not translated');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const ads = manifest.ads as { adKey: string; label: string; locale?: string; approvedCopy: { headline: string } }[];
    expect(ads.map((x) => [x.label, x.locale, x.approvedCopy.headline])).toEqual([
      ['A', 'en', a.headline],
      ['A · de', 'de', german.headline],
    ]);
    expect(ads[0].adKey).not.toBe(ads[1].adKey);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('A in fr was not exported');
    const check = checkExportDir(out);
    expect(check.problems).toEqual([]);
    const li = readFileSync(join(out, 'linkedin/single-image-ads.csv'), 'utf8');
    expect(li).toContain(`${ads[1].adKey} A · de`);
    expect(li).toContain(german.body);
  });
});
