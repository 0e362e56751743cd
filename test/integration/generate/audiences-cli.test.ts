/**
 * `adcreative generate --audiences` on the offline studio: variants per audience (--variants per
 * audience), the audience in variants.json and the summary, and the usage errors a person sees.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandIO } from '../../../src/cli/command.ts';
import { parseCommandArgs } from '../../../src/cli/command.ts';
import { loadConfig } from '../../../src/config.ts';
import { makeGenerateCommand } from '../../../src/generate/commands.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function run(argv: string[]) {
  const cmd = makeGenerateCommand({
    cfg: () => loadConfig({ BRANDS_DIR: 'brands', LOG_LEVEL: 'error' }),
    openEncoder: async () => fakeEncoder({ dims: 64 }),
    openLibrary: async () => {
      throw new Error('no library at data/lancedb');
    },
  });
  let out = '';
  let err = '';
  const stdout = new PassThrough().on('data', (c) => {
    out += c;
  });
  const stderr = new PassThrough().on('data', (c) => {
    err += c;
  });
  const io: CommandIO = { stdout, stderr, stdin: new PassThrough() };
  const code = await cmd.run(parseCommandArgs(cmd, argv), io);
  return { code, out, err };
}

describe('adcreative generate --audiences', () => {
  it('writes --variants for each audience, each variant naming its audience, with images of their own', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gen-aud-'));
    dirs.push(out);
    const r = await run([
      'Cold brew concentrate',
      '--audiences',
      'students; parents ; Students',
      '--variants',
      '2',
      '--formats',
      'square',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('generating 2 variants for each of 2 audiences (students; parents)');
    const manifest = JSON.parse(readFileSync(join(out, 'variants.json'), 'utf8'));
    expect(manifest.audiences).toEqual(['students', 'parents']);
    expect(manifest.variants.map((v: { label: string; audience: string }) => [v.label, v.audience])).toEqual([
      ['A', 'students'],
      ['B', 'students'],
      ['C', 'parents'],
      ['D', 'parents'],
    ]);
    expect(r.out).toMatch(/4 variants written/);
    expect(r.out).toMatch(/ {2}C {2}\(parents\) {2}total/);
    // Each segment is its own generation: no two variants share an image (the library keeps one row per image).
    const hashes = manifest.variants.map((v: { files: { square: string } }) =>
      createHash('sha256')
        .update(readFileSync(join(out, v.files.square)))
        .digest('hex'),
    );
    expect(new Set(hashes).size).toBe(4);
  });

  it('refuses a total over the limit and an empty audience, saying what is expected', async () => {
    await expect(run(['Cold brew', '--audiences', 'a; b; c', '--variants', '4'])).rejects.toThrow(
      /--variants is per audience: 4 for each of 3 audiences makes 12, over the 10/,
    );
    await expect(run(['Cold brew', '--audiences', 'a;;b'])).rejects.toThrow(/audience 2 of "a;;b" is empty/);
  });
});
