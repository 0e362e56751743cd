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

async function run(argv: string[], library?: Library) {
  const cmd = makeGenerateCommand({
    cfg: () => loadConfig({ BRANDS_DIR: 'brands', LOG_LEVEL: 'error' }),
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
      expect(Object.keys(v.scores).sort()).toEqual(['diversity', 'novelty', 'preference', 'relevance', 'total']);
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
