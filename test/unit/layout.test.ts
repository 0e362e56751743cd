/**
 * Layout rules of issue 12 that dependency-cruiser cannot hold: no module under src/ grows past
 * 800 lines (the configuration table aside), and the ad vocabulary — formats and channels — is
 * spelled out in one module only, so adding a format or a channel is one edit that everything
 * (options, help, the form, the asset store) follows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANNELS, FORMATS } from '../../src/vocabulary.ts';

const SRC = join(import.meta.dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|mts|mjs|js)$/.test(e.name) ? [p] : [];
  });
}

const files = sources(SRC).map((p) => ({ path: relative(SRC, p), text: readFileSync(p, 'utf8') }));

describe('src/ layout', () => {
  it('no module is longer than 800 lines, config.ts aside', () => {
    const long = files
      .filter((f) => f.path !== 'config.ts')
      .map((f) => ({ path: f.path, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
      .filter((f) => f.lines > 800);
    expect(long).toEqual([]);
  });

  it('lists the formats and the channels only in vocabulary.ts', () => {
    // Two or more names of one list next to each other (quoted, or in running text, or in a regex
    // alternation) is a second copy of that list.
    const near = (names: readonly string[]) =>
      new RegExp(`\\b(${names.join('|')})\\b['"\`]?\\s*[,|/]\\s*['"\`]?\\b(${names.join('|')})\\b`);
    const stray = files
      .filter((f) => f.path !== 'vocabulary.ts')
      .flatMap((f) =>
        [near(FORMATS), near(CHANNELS)].flatMap((re) =>
          f.text
            .split('\n')
            .map((line, i) => ({ line, at: `${f.path}:${i + 1}` }))
            .filter(({ line }) => re.test(line) && !/^\s*(\*|\/\/)/.test(line))
            .map(({ at, line }) => `${at}: ${line.trim().slice(0, 120)}`),
        ),
      );
    expect(stray).toEqual([]);
  });
});
