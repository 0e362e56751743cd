/**
 * Issue 14: nothing guarded `unhandledRejection`, so one rejected promise in the receiver killed
 * the bot. The guard logs it (redacted) and the process keeps serving; the bot installs it while
 * it runs.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { harness } from '../integration/slack/harness.ts';

const tsx = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'cli.mjs');
const fixture = join(import.meta.dirname, '..', 'fixtures', 'security', 'reject-once.ts');
const run = (arg: string) => spawnSync(process.execPath, [tsx, fixture, arg], { encoding: 'utf8', timeout: 30_000 });

describe('an unhandled rejection', () => {
  it('kills an unguarded process, and is logged (redacted) while a guarded one keeps serving', () => {
    const bare = run('bare');
    expect(bare.status).not.toBe(0);
    expect(bare.stdout).not.toContain('still serving');

    const guarded = run('guarded');
    expect(guarded.status).toBe(0);
    expect(guarded.stdout).toContain('still serving');
    const line = guarded.stdout.split('\n').find((l) => l.includes('unhandled promise rejection'));
    expect(line).toBeDefined();
    expect(line).toContain('receiver blew up');
    expect(line).not.toContain('sk-proj-abcdefghijklmnop');
  });

  it('is guarded while the bot runs, and the guard goes with it', async () => {
    const before = process.listenerCount('unhandledRejection');
    const h = await harness();
    expect(process.listenerCount('unhandledRejection')).toBe(before + 1);
    await h.close();
    expect(process.listenerCount('unhandledRejection')).toBe(before);
  });
});
