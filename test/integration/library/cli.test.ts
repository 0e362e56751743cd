import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { makeLibraryCommands } from '../../../src/library/commands.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';
import { runCommand } from '../../helpers/run-command.ts';

let root: string;
let data: string;
let images: string;
let manifestDir: string;

function commandsFor(dataDir: string, model = 'test/fake-clip') {
  return makeLibraryCommands({
    config: () => loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'error', IMAGE_MAX_PIXELS: '500000', LIBRARY_OPTIMIZE_EVERY: '3' }),
    openEncoder: async () => fakeEncoder({ dims: 16, model }),
    progress: false,
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'adc-cli-'));
  data = join(root, 'data');
  images = join(root, 'images');
  manifestDir = join(root, 'manifest');
  mkdirSync(join(images, 'sub'), { recursive: true });
  mkdirSync(manifestDir);
  const w = (p: string, b: Uint8Array | string) => writeFileSync(p, b);
  // good: 4 images in three formats, one nested, one with a sidecar
  w(join(images, 'a.jpg'), await testImage(1));
  w(
    join(images, 'a.jpg.json'),
    JSON.stringify({ headline: 'Summit-tested tents', brand: 'Acme', channel: 'meta', impressions: 1000, clicks: 12 }),
  );
  w(join(images, 'b.png'), await testImage(2, [80, 80], 'png'));
  w(join(images, 'c.webp'), await testImage(3, [80, 80], 'webp'));
  w(join(images, 'sub', 'd.jpg'), await testImage(4));
  // bad: 5 failures and one file that is not an image at all
  w(join(images, 'truncated.jpg'), (await testImage(5)).slice(0, 300));
  w(join(images, 'empty.png'), new Uint8Array(0));
  w(join(images, 'fake.gif'), 'this is not a gif');
  w(join(images, 'badsidecar.jpg'), await testImage(6));
  w(join(images, 'badsidecar.jpg.json'), '{ "headline": ');
  w(join(images, 'huge.jpg'), await testImage(7, [800, 700]));
  w(join(images, 'notes.txt'), 'campaign notes');
  // manifest: 2 good rows, 4 bad ones
  w(join(manifestDir, 'm1.jpg'), await testImage(11));
  w(join(manifestDir, 'm2.jpg'), await testImage(12));
  w(join(manifestDir, 'm3.jpg'), await testImage(13));
  w(
    join(manifestDir, 'manifest.csv'),
    [
      'file,headline,body,cta,brand,channel,format,tags,impressions,clicks,conversions,date',
      'm1.jpg,Roasted Monday,"Fresh beans, at your door",Order now,northwind,google,square,coffee|fresh,20000,500,40,2025-04-01',
      'm2.jpg,Bad channel,,,northwind,myspace,square,,10,1,0,2025-04-01',
      'm3.jpg,Bad clicks,,,northwind,meta,square,,10,abc,0,2025-04-01',
      'missing.jpg,Missing file,,,northwind,meta,square,,10,1,0,2025-04-01',
      'm3.jpg,Mornings but better,,Try it,northwind,tiktok,story,,2,1,0,2025-05-01',
      ',No file,,,northwind,meta,square,,10,1,0,2025-04-01',
    ].join('\n'),
  );
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('library CLI', () => {
  it('ingests good files, reports every bad one with a reason, and is idempotent', async () => {
    const cmds = commandsFor(data);
    const r = await runCommand(cmds, ['ingest', images, join(manifestDir, 'manifest.csv'), '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.ingested).toBe(6);
    expect(out.updated).toBe(0);
    const failed = out.failed.map((f: { path: string; reason: string }) => `${basename(f.path)} => ${f.reason}`);
    expect(failed).toHaveLength(9);
    const reasonFor = (needle: string) => failed.find((f: string) => f.includes(needle)) ?? '';
    expect(reasonFor('truncated.jpg')).toMatch(/corrupt or truncated/);
    expect(reasonFor('empty.png')).toMatch(/empty/);
    expect(reasonFor('fake.gif')).toMatch(/not a supported image/);
    expect(reasonFor('badsidecar.jpg')).toMatch(/sidecar .* not valid JSON/);
    expect(reasonFor('huge.jpg')).toMatch(/560,000 pixels; the limit is 500,000 \(IMAGE_MAX_PIXELS\)/);
    expect(reasonFor('line 3')).toMatch(/channel must be one of meta, google, linkedin, tiktok; got "myspace"/);
    expect(reasonFor('line 4')).toMatch(/clicks must be a whole number/);
    expect(reasonFor('line 5')).toMatch(/file not found/);
    expect(reasonFor('line 7')).toMatch(/no file column/);
    const lines = out.failed.map((f: { path: string }) => Number(/ line (\d+)/.exec(f.path)?.[1] ?? 0)).filter((n: number) => n > 0);
    expect(lines).toEqual([3, 4, 5, 7]); // in file order, whether found while planning or while ingesting
    expect(out.skipped.map((p: string) => basename(p))).toEqual(['notes.txt']);

    const again = await runCommand(cmds, ['ingest', images, join(manifestDir, 'manifest.csv'), '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ ingested: 0, updated: 6 });
    const text = await runCommand(cmds, ['ingest', images]);
    expect(text.stdout).toMatch(/skipped 1 file\(s\) that are neither images nor manifests: .*notes\.txt/);
    const stats = JSON.parse((await runCommand(cmds, ['library', 'stats', '--json'])).stdout);
    expect(stats.rows).toBe(6);
    expect(stats.brands).toMatchObject({ acme: 1, northwind: 2 });

    const dry = await runCommand(cmds, ['ingest', join(images, 'sub'), '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would ingest 0, would update 1, failed 0/);
  });

  it('imports metrics by id, sha256 and file name and reports unmatched rows', async () => {
    const cmds = commandsFor(data);
    const hits = JSON.parse((await runCommand(cmds, ['library', 'search', 'tents', '--k', '20', '--json'])).stdout) as {
      id: string;
      sha256: string;
      headline: string;
      source: string;
    }[];
    const a = hits.find((h) => h.headline === 'Summit-tested tents')!;
    const b = hits.find((h) => h.source.endsWith('b.png'))!;
    const csv = join(root, 'metrics.csv');
    writeFileSync(
      csv,
      [
        'id,sha256,file,impressions,clicks,conversions',
        `${a.id},,,5000,250,10`,
        `,${b.sha256},,800,8,1`,
        ',,c.webp,300,3,0',
        ',,zzz.jpg,10,1,0',
        `${a.id},,,10,50,0`,
      ].join('\n'),
    );
    const r = await runCommand(cmds, ['metrics', 'import', csv, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ rows: 5, updated: 3 });
    expect(out.unmatched).toEqual([{ line: 5, key: 'zzz.jpg', reason: 'no creative has this file name' }]);
    expect(out.failed).toEqual([{ line: 6, reason: 'clicks (50) cannot exceed impressions (10)' }]);
    const after = JSON.parse((await runCommand(cmds, ['library', 'search', 'tents', '--k', '20', '--json'])).stdout);
    expect(after.find((h: { id: string }) => h.id === a.id)).toMatchObject({ impressions: 5000, clicks: 250, conversions: 10 });
  });

  it('--until DAY includes creatives added during that day', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const r = await runCommand(commandsFor(data), ['library', 'search', 'tents', '--until', today, '--k', '50', '--json']);
    const sources = JSON.parse(r.stdout).map((h: { source: string }) => basename(h.source));
    expect(sources).toContain('b.png'); // ingested just now, no date of its own
  });

  it('says how to fill an empty library when a search finds nothing in it', async () => {
    const r = await runCommand(commandsFor(join(root, 'empty-data')), ['library', 'search', 'tents']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/the library is empty: .*adcreative ingest.*adcreative library demo/);
  });

  it('rejects a metrics CSV whose header has no column to match by, naming the columns it expected', async () => {
    const csv = join(root, 'metrics-no-key.csv');
    writeFileSync(csv, 'ad_name,impressions\nspring,100\n');
    const r = await runCommand(commandsFor(data), ['metrics', 'import', csv]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no column to match creatives by');
    expect(r.stderr).toContain('id, sha256, file');
    expect(r.stderr).toContain('ad_name');
  });

  it('searches with filters and prints a readable table', async () => {
    const cmds = commandsFor(data);
    const r = await runCommand(cmds, ['library', 'search', 'fresh coffee', '--brand', 'northwind', '--k', '5']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/fused\s+image\s+caption\s+CTR/);
    expect(lines.filter((l) => /^\s*\d+\s/.test(l))).toHaveLength(2);
    expect(r.stdout).toMatch(/northwind\/google\/square\s+Roasted Monday/);
    const js = JSON.parse((await runCommand(cmds, ['library', 'search', 'fresh coffee', '--channel', 'tiktok', '--json'])).stdout);
    expect(js).toHaveLength(1);
    expect(js[0]).toMatchObject({ headline: 'Mornings but better', channel: 'tiktok', demo: false });
    expect(typeof js[0].scores.fused).toBe('number');
    const bad = await runCommand(cmds, ['library', 'search', 'x', '--since', 'yesterday-ish']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since must be a date/);
  });

  it('exports images and a CSV that ingests back into a fresh library', async () => {
    const cmds = commandsFor(data);
    const out = join(root, 'export');
    const r = await runCommand(cmds, ['library', 'export', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).rows).toBe(6);
    expect(
      readdirSync(join(out, 'images'))
        .map((f) => f.split('.')[1])
        .sort(),
    ).toEqual(['jpg', 'jpg', 'jpg', 'jpg', 'png', 'webp']);
    const csv = readFileSync(join(out, 'creatives.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(7);
    expect(csv[0]).toMatch(/^file,id,sha256,/);
    const fresh = commandsFor(join(root, 'data2'));
    const back = JSON.parse((await runCommand(fresh, ['ingest', join(out, 'creatives.csv'), '--json'])).stdout);
    expect(back).toMatchObject({ ingested: 6, updated: 0, failed: [] });
  });

  it('removes by id and says which ids were not there', async () => {
    const cmds = commandsFor(data);
    const [first] = JSON.parse((await runCommand(cmds, ['library', 'search', 'anything', '--k', '1', '--json'])).stdout);
    const r = await runCommand(cmds, ['library', 'remove', first.id, 'not-an-id']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/removed 1\nnot in the library: not-an-id/);
    expect(JSON.parse((await runCommand(cmds, ['library', 'stats', '--json'])).stdout).rows).toBe(5);
  });

  it('builds the demo library, marked as demo everywhere it shows', async () => {
    const cmds = commandsFor(join(root, 'demo'));
    const r = await runCommand(cmds, ['library', 'demo', '--count', '60', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ingested: 60, rows: 60, demo: true });
    const stats = JSON.parse((await runCommand(cmds, ['library', 'stats', '--json'])).stdout);
    expect(stats).toMatchObject({ rows: 60, demoRows: 60 });
    expect(Object.keys(stats.brands).sort()).toEqual(['acme', 'fernleaf', 'lumen', 'northwind', 'voltride']);
    expect(Object.keys(stats.channels).sort()).toEqual(['google', 'linkedin', 'meta', 'tiktok']);
    expect(stats.clicks).toBeGreaterThan(0);
    const table = await runCommand(cmds, ['library', 'search', 'cold brew coffee', '--brand', 'northwind']);
    expect(table.stdout).toMatch(/\[demo\]/);
    expect(table.stdout).toMatch(/demo data/);
    const hits = JSON.parse((await runCommand(cmds, ['library', 'search', 'cold brew coffee', '--json'])).stdout);
    expect(hits.length).toBe(10);
    expect(hits.every((h: { demo: boolean }) => h.demo)).toBe(true);
    // the same seed again updates the same rows
    const again = JSON.parse((await runCommand(cmds, ['library', 'demo', '--count', '60', '--json'])).stdout);
    expect(again).toMatchObject({ ingested: 0, updated: 60, rows: 60 });
  });

  it('tells the user to re-embed after a model change, and re-embeds', async () => {
    const dir = join(root, 'model-change');
    await runCommand(commandsFor(dir, 'model-a'), ['library', 'demo', '--count', '12', '--json']);
    const other = commandsFor(dir, 'model-b');
    const r = await runCommand(other, ['library', 'search', 'coffee']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/embedded with model-a \(16-d\) but the encoder is model-b.*adcreative library reembed/);
    const re = await runCommand(other, ['library', 'reembed', '--json']);
    expect(re.code).toBe(0);
    expect(JSON.parse(re.stdout)).toMatchObject({ rows: 12, from: 'model-a (16-d)', to: 'model-b (16-d)' });
    const ok = await runCommand(other, ['library', 'search', 'coffee', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toHaveLength(10);
  });
});

describe('ingest past the index threshold', () => {
  it('leaves the library indexed when the ingest that crossed LIBRARY_INDEX_MIN_ROWS exits', async () => {
    const dir = join(root, 'many');
    mkdirSync(dir);
    for (let i = 0; i < 260; i++) writeFileSync(join(dir, `ad-${i}.png`), await testImage(20_000 + i, [16, 16], 'png'));
    const dataDir = join(root, 'data-many');
    const cmds = makeLibraryCommands({
      config: () => loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'error', LIBRARY_INDEX_MIN_ROWS: '256' }),
      openEncoder: async () => fakeEncoder({ dims: 16 }),
      progress: false,
    });
    // One batch: the very write that crosses the threshold is the ingest's last.
    const r = await runCommand(cmds, ['ingest', dir, '--batch', '512']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ingested 260');
    expect(r.stderr).toMatch(/search index/);
    const stats = JSON.parse((await runCommand(cmds, ['library', 'stats', '--json'])).stdout);
    expect(stats.rows).toBe(260);
    expect(stats.index).toMatchObject({ vector: true, building: false, builtForRows: 260 });
  });
});
