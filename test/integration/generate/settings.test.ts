/**
 * `adcreative start` as a person runs it: image settings the configured model refuses stop the
 * bot before anything starts, with a message naming each variable and the values the model takes.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('start-up with image settings the model refuses', () => {
  it('`adcreative start` with a size the model refuses exits non-zero naming the variable and the allowed values', () => {
    const root = resolve(import.meta.dirname, '..', '..', '..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), 'start'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', OPENAI_IMAGE_SIZE: '1080x1920', OPENAI_IMAGE_QUALITY: 'hd' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'OPENAI_IMAGE_SIZE must be one of 1024x1024, 1536x1024, 1024x1536, auto for gpt-image-2.6-sunburst; got "1080x1920"',
    );
    expect(r.stderr).toContain('OPENAI_IMAGE_QUALITY must be one of low, medium, high, auto for gpt-image-2.6-sunburst; got "hd"');
  });
});
