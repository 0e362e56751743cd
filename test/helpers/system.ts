/**
 * Tests that need a Debian package (Chromium, PostgreSQL, CJK fonts) skip with a printed
 * reason where it is missing, so `npm test` passes on a fresh machine. CI sets
 * ADCREATIVE_REQUIRE_SYSTEM=1, which turns such a skip into a failure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const REQUIRE_SYSTEM = process.env.ADCREATIVE_REQUIRE_SYSTEM === '1';

/**
 * Returns true when the test may run. When `available` is false it prints why it skips,
 * or throws under CI so the missing install step shows up as a red build.
 */
export function systemAvailable(what: string, available: boolean, installHint: string): boolean {
  if (available) return true;
  const msg = `${what} is not installed (${installHint})`;
  if (REQUIRE_SYSTEM) throw new Error(`ADCREATIVE_REQUIRE_SYSTEM=1 but ${msg}`);
  process.stderr.write(`skipping: ${msg}\n`);
  return false;
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
