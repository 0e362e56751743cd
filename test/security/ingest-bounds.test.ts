/**
 * Issue 14, operator mistakes at ingest: a file is looked at before it is read. Today's code read a
 * 1.5 GB file whole before checking its size, and a manifest row naming /dev/zero grew until killed.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { makeLibraryCommands } from '../../src/library/commands.ts';
import { fakeEncoder } from '../helpers/fake-encoder.ts';
import { testImage } from '../helpers/images.ts';
import { MiB, rssGrowthDuring } from '../helpers/memory.ts';
import { runCommand } from '../helpers/run-command.ts';

let root: string;
let n = 0;
const commands = () =>
  makeLibraryCommands({
    config: () => loadConfig({ DATA_DIR: join(root, `data${++n}`), LOG_LEVEL: 'error', IMAGE_MAX_BYTES: String(4 * MiB) }),
    openEncoder: async () => fakeEncoder({ dims: 16 }),
    progress: false,
  });

type Failure = { path: string; reason: string };
async function ingest(...args: string[]): Promise<{ code: number; ingested: number; failed: Failure[] }> {
  const r = await runCommand(commands(), ['ingest', ...args, '--json']);
  const out = JSON.parse(r.stdout);
  return { code: r.code, ingested: out.ingested, failed: out.failed };
}
const reasonFor = (failed: Failure[], needle: string) => failed.find((f) => f.path.includes(needle))?.reason ?? '(not refused)';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'adc-ingest-abuse-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ingest looks before it reads', () => {
  it('refuses a file over IMAGE_MAX_BYTES without reading it (RSS grows by far less than the file)', async () => {
    const dir = join(root, 'huge');
    mkdirSync(dir);
    // Sparse: 768 MiB long, no disk used; reading it would still cost 768 MiB of memory.
    const fd = openSync(join(dir, 'poster.jpg'), 'w');
    closeSync(fd);
    execFileSync('truncate', ['-s', `${768 * MiB}`, join(dir, 'poster.jpg')]);
    writeFileSync(join(dir, 'ok.jpg'), await testImage(1));
    const { result, growthBytes } = await rssGrowthDuring(() => ingest(dir));
    expect(result.ingested).toBe(1);
    expect(reasonFor(result.failed, 'poster.jpg')).toBe(
      `the image file is ${768 * MiB} bytes; the limit is ${4 * MiB} bytes (IMAGE_MAX_BYTES)`,
    );
    expect(growthBytes).toBeLessThan(160 * MiB);
  });

  it('refuses devices, pipes and symlinks to them, each with its own message, and never hangs', async () => {
    const dir = join(root, 'special');
    mkdirSync(dir);
    symlinkSync('/dev/zero', join(dir, 'zero.jpg'));
    execFileSync('mkfifo', [join(dir, 'pipe.png')]);
    writeFileSync(join(dir, 'ok.jpg'), await testImage(2));
    writeFileSync(join(dir, 'list.csv'), 'file,headline\nzero.jpg,Zero\npipe.png,Pipe\nok.jpg,Fine\n');
    symlinkSync(join(dir, 'ok.jpg'), join(dir, 'alias.jpg'));
    // The folder (with its manifest), and a device and a pipe named directly.
    const { result, growthBytes } = await rssGrowthDuring(() => ingest(dir, '/dev/zero', join(dir, 'pipe.png')));
    const reasons = result.failed.map((f) => `${basename(f.path)} => ${f.reason}`).sort();
    expect(reasons).toEqual([
      expect.stringMatching(/^list\.csv line 2 \(zero\.jpg\) => outside the manifest's folder .*--allow-outside/),
      expect.stringMatching(/^list\.csv line 3 \(pipe\.png\) => not a regular file \(a pipe\)/),
      expect.stringMatching(/^pipe\.png => not a regular file \(a pipe\)/),
      expect.stringMatching(/^pipe\.png => not a regular file \(a pipe\)/),
      expect.stringMatching(/^zero => not a regular file \(a device\)/),
      expect.stringMatching(/^zero\.jpg => not a regular file \(a device\)/),
    ]);
    // ok.jpg, its symlink and its manifest row are one creative.
    expect(result.ingested).toBe(1);
    expect(growthBytes).toBeLessThan(160 * MiB);
  });

  it("keeps a manifest's rows inside its folder unless --allow-outside", async () => {
    const dir = join(root, 'manifest');
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(dir);
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'far.jpg'), await testImage(3));
    writeFileSync(join(dir, 'near.jpg'), await testImage(4));
    symlinkSync(join(elsewhere, 'far.jpg'), join(dir, 'link.jpg'));
    writeFileSync(
      join(dir, 'm.jsonl'),
      [
        { file: 'near.jpg' },
        { file: '../elsewhere/far.jpg' },
        { file: join(elsewhere, 'far.jpg') },
        { file: 'link.jpg' },
        { file: '/dev/zero' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const inside = await ingest(join(dir, 'm.jsonl'));
    expect(inside.ingested).toBe(1);
    for (const line of ['line 2', 'line 3', 'line 4', 'line 5'])
      expect(reasonFor(inside.failed, line), line).toMatch(/outside the manifest's folder .*pass --allow-outside/);

    const allowed = await ingest(join(dir, 'm.jsonl'), '--allow-outside');
    // far.jpg three times is one creative; /dev/zero is still refused, as a device.
    expect(allowed.ingested).toBe(2);
    expect(allowed.failed).toEqual([
      { path: expect.stringContaining('line 5'), reason: expect.stringMatching(/not a regular file \(a device\)/) },
    ]);
  });

  it('accepts .tif and .tiff files, as the README promises', async () => {
    const dir = join(root, 'tiff');
    mkdirSync(dir);
    const tiff = () =>
      sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 40, b: 90 } } })
        .tiff()
        .toBuffer();
    writeFileSync(join(dir, 'scan.tiff'), await tiff());
    writeFileSync(
      join(dir, 'print.tif'),
      await sharp(await tiff())
        .negate()
        .tiff()
        .toBuffer(),
    );
    const r = await ingest(join(dir, 'scan.tiff'), join(dir, 'print.tif'));
    expect(r).toMatchObject({ code: 0, ingested: 2, failed: [] });
  });
});
