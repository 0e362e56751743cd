/**
 * A font installed while the bot runs is used on the next try, without a restart: after
 * `apt-get install fonts-noto-cjk`, Try again on a Chinese round composes instead of failing
 * with FONT_MISSING forever. Played in a child process whose fontconfig sees only a temporary
 * font folder, into which the test copies Noto Sans CJK halfway.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { imageDifference } from '../../../src/image/compose.ts';
import { renderText } from '../../../src/image/text.ts';
import { systemAvailable } from '../../helpers/system.ts';

const NOTO = '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc';
const DEJAVU = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'];
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('fonts installed while the bot runs', () => {
  it('are found on the next try: FONT_MISSING first, then the Chinese headline composes with real glyphs', async (ctx) => {
    if (
      !systemAvailable(
        { what: 'Noto Sans CJK', tests: 'CJK composition', pkg: 'fonts-noto-cjk' },
        existsSync(NOTO) && DEJAVU.every(existsSync),
      )
    )
      return ctx.skip();
    const root = mkdtempSync(join(tmpdir(), 'adc-fonts-'));
    dirs.push(root);
    const fonts = join(root, 'fonts');
    mkdirSync(fonts);
    mkdirSync(join(root, 'cache'));
    for (const f of DEJAVU) copyFileSync(f, join(fonts, f.split('/').pop() as string));
    writeFileSync(
      join(root, 'fonts.conf'),
      `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>${fonts}</dir><cachedir>${join(root, 'cache')}</cachedir></fontconfig>`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/font-install-child.ts'], {
      env: { ...process.env, FONTCONFIG_FILE: join(root, 'fonts.conf'), FONT_DIR: fonts },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: { ok: boolean; code?: string; text?: string }[] = [];
    let buf = '';
    let err = '';
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    const done = new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d) => {
        buf += String(d);
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
        if (lines.length === 1 && !existsSync(join(fonts, 'NotoSansCJK-Bold.ttc'))) {
          // "apt-get install fonts-noto-cjk" while the bot runs.
          copyFileSync(NOTO, join(fonts, 'NotoSansCJK-Bold.ttc'));
        }
        if (lines.length === 2) resolve();
      });
      child.on('exit', () => resolve());
    });
    expect(await done, err).toBe(0);
    expect(lines[0]).toEqual({ ok: false, code: 'FONT_MISSING' });
    expect(lines[1].ok, err).toBe(true);
    // Real glyphs, as this process (with the system's fonts) draws them, not boxes.
    const mine = await renderText('防晒霜', { family: 'DejaVu Sans', bold: true, size: 48, color: '#000000' }, 1000);
    const d = await imageDifference(readFileSync(lines[1].text as string), mine.png);
    expect(d.sameSize).toBe(true);
    expect(d.mean).toBeLessThan(3);
  });
});
