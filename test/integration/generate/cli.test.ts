/**
 * `adcreative generate` end to end on the studio provider: files, variants.json, contact
 * sheet, messages; and the usage errors a person sees.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandIO } from '../../../src/cli/command.ts';
import { parseCommandArgs } from '../../../src/cli/command.ts';
import { main } from '../../../src/cli.ts';
import { loadConfig } from '../../../src/config.ts';
import { makeGenerateCommand } from '../../../src/generate/commands.ts';
import { renderStudioArt } from '../../../src/image/studio-art.ts';
import type { Library, SearchHit } from '../../../src/library/types.ts';
import { fakeEncoder, textVector } from '../../helpers/fake-encoder.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function io(): CommandIO & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c) => {
    o += c;
  });
  stderr.on('data', (c) => {
    e += c;
  });
  return { stdout, stderr, stdin: new PassThrough(), out: () => o, err: () => e };
}

function pngSize(b: Buffer): [number, number] {
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

async function run(argv: string[], library?: Library, env: Record<string, string> = {}) {
  const cmd = makeGenerateCommand({
    cfg: () => loadConfig({ BRANDS_DIR: 'brands', LOG_LEVEL: 'error', ...env }),
    openEncoder: async () => fakeEncoder({ dims: 64 }),
    openLibrary: async () => {
      if (!library) throw new Error('no library at data/lancedb');
      return library;
    },
  });
  const t = io();
  const code = await cmd.run(parseCommandArgs(cmd, argv), t);
  return { code, out: t.out(), err: t.err() };
}

describe('adcreative generate', () => {
  it('writes every format of every variant, variants.json and a contact sheet', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gen-cli-'));
    dirs.push(out);
    const r = await run([
      'Small-batch coffee, roasted Monday, at your door Wednesday',
      '--brand',
      'northwind',
      '--variants',
      '2',
      '--formats',
      'square,story',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/no creative library .*generating without inspiration/);
    expect(r.err).toMatch(/SYNTHETIC/);
    expect(r.out).toMatch(/2 variants written to .* \(offline drafts\)/);
    const manifest = JSON.parse(readFileSync(join(out, 'variants.json'), 'utf8'));
    expect(manifest.variants.map((v: { label: string }) => v.label)).toEqual(['A', 'B']);
    for (const v of manifest.variants) {
      expect(Object.keys(v)).toEqual(expect.arrayContaining(['id', 'label', 'headline', 'body', 'cta', 'scores', 'files']));
      expect(v.files).toEqual({ square: `${v.label}-square.png`, story: `${v.label}-story.png` });
      expect(Object.keys(v.scores).sort()).toEqual(['brand', 'diversity', 'novelty', 'preference', 'relevance', 'total']);
      // The brand score: every rule with its status and what was found; offline copy has no tone self-check.
      const brand = v.scores.brand as {
        score: number;
        passed: number;
        applicable: number;
        rules: { rule: string; status: string; detail: string }[];
      };
      expect(brand.rules.map((x) => x.rule)).toEqual([
        'colours',
        'logo_contrast',
        'must_say',
        'never_say',
        'channel_limits',
        'safe_zones',
        'tone',
      ]);
      expect(brand.rules.find((x) => x.rule === 'tone')).toMatchObject({ status: 'not_applicable' });
      expect(brand.score).toBeCloseTo(brand.passed / brand.applicable, 10);
      expect(r.out).toContain(`brand score ${Math.round(100 * brand.score)}% (${brand.passed} of ${brand.applicable} rules)`);
      expect(v.scores.novelty).toBe(1);
      expect(pngSize(readFileSync(join(out, v.files.square)))).toEqual([1080, 1080]);
      expect(pngSize(readFileSync(join(out, v.files.story)))).toEqual([1080, 1920]);
      expect(Array.from(v.headline as string).length).toBeLessThanOrEqual(27);
    }
    const sheet = readFileSync(join(out, 'contact-sheet.png'));
    expect(pngSize(sheet)[0]).toBeGreaterThan(2 * 360);
  });

  it('uses the library for inspiration and novelty when there is one', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gen-cli-'));
    dirs.push(out);
    const thumb = await renderStudioArt({ palette: ['#2D6A4F'], concept: 'leaf', seed: 1, size: 64 });
    const hit: SearchHit = {
      id: 'c1',
      headline: 'Burgers, minus the cow',
      body: 'Fernleaf patties sizzle like the real thing.',
      cta: 'Find a store',
      brand: 'fernleaf',
      channel: 'google',
      format: 'square',
      thumbnail: thumb,
      impressions: 1000,
      clicks: 40,
      conversions: 4,
      ctr: { raw: 0.04, smoothed: 0.038 },
      scores: { image: 0.3, caption: 0.5, performance: 0.5, fused: 0.4 },
      demo: true,
      createdAt: new Date(0),
      sha256: 'c1sha',
      tags: [],
      source: 'demo',
      duplicates: [],
    };
    const searches: unknown[] = [];
    const library = {
      count: async () => 1,
      search: async (q: unknown) => {
        searches.push(q);
        return [hit];
      },
      add: async () => ({ ingested: 0, updated: 0, ids: [], failed: [] }),
      get: async () => undefined,
      maxSimilarity: async (e: Float32Array[]) => e.map(() => 0.6),
      close: async () => {},
    } as Partial<Library> as Library;
    const r = await run(
      ['Plant-based burgers for the grill season', '--brand', 'fernleaf', '--variants', '3', '--formats', 'square', '--out', out],
      library,
      // As many candidates as variants, so the ranking cannot drop the one that reuses the library's headline.
      { GENERATE_CANDIDATE_FACTOR: '1' },
    );
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/inspiration: 1 creative from the library/);
    // Searched with the brief's embedding (computed once, also used for ranking), within the brand.
    expect(searches[0]).toMatchObject({
      vector: textVector('Plant-based burgers for the grill season', 64),
      filters: { brand: 'fernleaf' },
    });
    const manifest = JSON.parse(readFileSync(join(out, 'variants.json'), 'utf8'));
    expect(manifest.variants.some((v: { headline: string }) => v.headline === 'Burgers, minus the cow')).toBe(true);
    for (const v of manifest.variants) expect(v.scores.novelty).toBeCloseTo(0.4, 6);
  });

  it('--feedback gives the next round different copy: an offer in it leads, "shorter headline" shortens', async () => {
    const heads = async (...feedback: string[]) => {
      const out = mkdtempSync(join(tmpdir(), 'gen-cli-'));
      dirs.push(out);
      const args = [
        'Lightweight trail backpack for weekend hikers',
        '--brand',
        'acme',
        '--variants',
        '3',
        '--formats',
        'square',
        '--out',
        out,
      ];
      for (const f of feedback) args.push('--feedback', f);
      expect((await run(args)).code).toBe(0);
      const manifest = JSON.parse(readFileSync(join(out, 'variants.json'), 'utf8'));
      return manifest.variants.map((v: { headline: string }) => v.headline) as string[];
    };
    const first = await heads();
    const warmer = await heads('warmer colours please');
    expect(warmer).not.toEqual(first);
    expect(await heads('lead with 30% off')).toEqual(expect.arrayContaining([expect.stringMatching(/^30% off/)]));
    const shorter = await heads('shorter headline please');
    const mean = (hs: string[]) => hs.reduce((n, h) => n + h.length, 0) / hs.length;
    expect(mean(shorter)).toBeLessThan(mean(first));
    for (const h of [...first, ...warmer, ...shorter]) expect(h).not.toMatch(/hikers/);
  });

  it("runs the README's example on a fresh clone: no model yet, so it makes the synthetic one once, as npm start does", async () => {
    const data = mkdtempSync(join(tmpdir(), 'gen-first-run-'));
    dirs.push(data);
    const cmd = makeGenerateCommand({
      cfg: () =>
        loadConfig({
          BRANDS_DIR: 'brands',
          LOG_LEVEL: 'error',
          DATA_DIR: data,
          CLIP_MODEL_DIR: join(data, 'none', 'clip-vit-base-patch32'),
        }),
    });
    const argv = ['Lightweight trail backpack for weekend hikers', '--brand', 'acme', '--variants', '2', '--formats', 'square', '--out'];
    const t = io();
    expect(await cmd.run(parseCommandArgs(cmd, [...argv, join(data, 'out1')]), t)).toBe(0);
    expect(t.err()).toMatch(
      /no CLIP model at .*none\/clip-vit-base-patch32: generating the synthetic tiny model once into .*models\/clip-tiny/,
    );
    expect(t.err()).toMatch(/SYNTHETIC.*models fetch/);
    expect(t.out()).toMatch(/2 variants written to/);
    // The second run reuses the model it made.
    const again = io();
    expect(await cmd.run(parseCommandArgs(cmd, [...argv, join(data, 'out2')]), again)).toBe(0);
    expect(again.err()).not.toMatch(/generating the synthetic tiny model/);
    // An explicit --model that is not there is an error, not a silent stand-in.
    await expect(cmd.run(parseCommandArgs(cmd, [...argv, join(data, 'out3'), '--model', join(data, 'typo')]), io())).rejects.toThrow(
      /no CLIP model directory at .*typo/,
    );
  });

  it('--locales: the brief language written and its files beside variants.json, other locales marked not translated', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gen-cli-'));
    dirs.push(out);
    const r = await run([
      'Small-batch coffee, roasted Monday, at your door Wednesday',
      '--variants',
      '1',
      '--formats',
      'square',
      '--locales',
      'en-GB,de',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/en-GB: .+ {2}· {2}de: not translated/);
    const [v] = JSON.parse(readFileSync(join(out, 'variants.json'), 'utf8')).variants;
    expect(v.locales.map((l: { locale: string; status: string }) => [l.locale, l.status])).toEqual([
      ['en-GB', 'source'],
      ['de', 'not-translated'],
    ]);
    expect(v.locales[0]).toMatchObject({ headline: v.headline, files: { square: 'A-en-GB-square.png' } });
    expect(pngSize(readFileSync(join(out, 'A-en-GB-square.png')))).toEqual([1080, 1080]);
    expect(v.locales[1]).toMatchObject({ headline: '', files: {} });
    expect(v.locales[1].flags.join()).toMatch(/German: not translated \(no text model: offline\)/);
  });

  it('--locales names a bad tag and what is expected', async () => {
    const t = io();
    const code = await main(['generate', 'x', '--locales', 'de,deutsch'], t);
    expect(code).not.toBe(0);
    expect(t.err()).toMatch(
      /"deutsch" is not a locale tag; expected a language code with an optional region, such as de, fr, en-GB or zh-CN/,
    );
  });

  it('refuses an unknown brand, format or channel with the valid values, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['generate', 'x', '--brand', 'globex'], /unknown brand "globex"; expected one of: acme, fernleaf, lumen, northwind, voltride/],
      [
        ['generate', 'x', '--formats', 'square,banner'],
        /unknown format "banner"; expected a comma-separated list of: square, portrait, story, landscape/,
      ],
      [['generate', 'x', '--channel', 'myspace'], /unknown channel "myspace"; expected one of: meta, google, linkedin, tiktok/],
      [['generate', 'x', '--variants', '40'], /--variants must be an integer between 1 and 10/],
      [['generate'], /a brief is required/],
      [['generate', 'x', '--colour', 'red'], /Unknown option '--colour'/],
    ];
    for (const [argv, re] of cases) {
      const t = io();
      const code = await main(argv, t);
      expect(code, argv.join(' ')).toBe(2);
      expect(t.err()).toMatch(re);
    }
  });
});
