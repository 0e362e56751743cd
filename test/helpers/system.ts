/**
 * Tests that need a Debian package (Chromium, PostgreSQL, CJK fonts) skip where it is missing,
 * so `npm test` passes on a fresh machine; each skip is recorded and `npm test` ends with one
 * line naming what was skipped and the `apt-get install` that enables it (skip-summary.ts).
 * CI sets ADCREATIVE_REQUIRE_SYSTEM=1, which turns such a skip into a failure.
 */

import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export const REQUIRE_SYSTEM = process.env.ADCREATIVE_REQUIRE_SYSTEM === '1';

/** Where the test processes record their skips for the run's summary (set in vitest.config.ts). */
export const SKIP_LOG_ENV = 'ADCREATIVE_SKIP_LOG';

export interface SystemNeed {
  /** The missing thing, as a person names it: "Chromium", "Noto Sans CJK". */
  what: string;
  /** The tests that need it: "browser e2e", "CJK composition". */
  tests: string;
  /** The Debian package that provides it. */
  pkg: string;
}

/**
 * Returns true when the test may run. When `available` is false it records and prints why it
 * skips, or throws under CI so the missing install step shows up as a red build.
 */
export function systemAvailable(need: SystemNeed, available: boolean): boolean {
  if (available) return true;
  const msg = `${need.what} is not installed (apt-get install -y ${need.pkg})`;
  if (REQUIRE_SYSTEM) throw new Error(`ADCREATIVE_REQUIRE_SYSTEM=1 but ${msg}`);
  process.stderr.write(`skipping ${need.tests}: ${msg}\n`);
  const log = process.env[SKIP_LOG_ENV];
  if (log) appendFileSync(log, `${JSON.stringify(need)}\n`);
  return false;
}

/** The skips recorded in `log`, one per package and purpose. */
export function readSkips(log: string): SystemNeed[] {
  if (!existsSync(log)) return [];
  const seen = new Map<string, SystemNeed>();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const n = JSON.parse(line) as SystemNeed;
      seen.set(`${n.pkg}\0${n.tests}`, n);
    } catch {
      // A line cut short by a killed worker: the others still count.
    }
  }
  return [...seen.values()];
}

/** One line: what was skipped, for want of what, and the command that enables it all. */
export function skipSummaryLine(skips: SystemNeed[]): string | undefined {
  if (!skips.length) return undefined;
  const what = skips.map((s) => `${s.tests} (no ${s.what})`).join(', ');
  const pkgs = [...new Set(skips.map((s) => s.pkg))].sort().join(' ');
  return `Skipped for missing system packages: ${what}. To run them: sudo apt-get install -y ${pkgs}`;
}

export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  return candidates.find((p) => existsSync(p));
}

export function hasFont(family: string): boolean {
  try {
    return execFileSync('fc-list', [':', 'family'], { encoding: 'utf8' }).toLowerCase().includes(family.toLowerCase());
  } catch {
    return false;
  }
}
