import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import SkipSummary from '../../helpers/skip-summary.ts';
import { readSkips, SKIP_LOG_ENV, skipSummaryLine, systemAvailable } from '../../helpers/system.ts';

describe('the summary of tests skipped for missing system packages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skips-'));
  afterEach(() => vi.unstubAllEnvs());

  it('names each skipped group once and the one apt-get line that enables them all', () => {
    const log = join(dir, 'a.jsonl');
    vi.stubEnv(SKIP_LOG_ENV, log);
    vi.stubEnv('ADCREATIVE_REQUIRE_SYSTEM', '');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(systemAvailable({ what: 'Chromium', tests: 'browser e2e', pkg: 'chromium' }, false)).toBe(false);
      // Two test files skipping for the same reason count once.
      systemAvailable({ what: 'PostgreSQL', tests: 'PostgreSQL store tests', pkg: 'postgresql' }, false);
      systemAvailable({ what: 'PostgreSQL', tests: 'PostgreSQL store tests', pkg: 'postgresql' }, false);
      systemAvailable({ what: 'Noto Sans CJK', tests: 'CJK composition', pkg: 'fonts-noto-cjk' }, false);
      expect(systemAvailable({ what: 'DejaVu', tests: 'never skipped', pkg: 'fonts-dejavu-core' }, true)).toBe(true);
    } finally {
      err.mockRestore();
    }
    // A line cut short by a killed worker is ignored.
    writeFileSync(log, '{"what":"Chro', { flag: 'a' });
    const line = skipSummaryLine(readSkips(log));
    expect(line).toBe(
      'Skipped for missing system packages: browser e2e (no Chromium), PostgreSQL store tests (no PostgreSQL), CJK composition (no Noto Sans CJK). ' +
        'To run them: sudo apt-get install -y chromium fonts-noto-cjk postgresql',
    );
    expect(line).not.toContain('\n');
    expect(skipSummaryLine([])).toBeUndefined();
  });

  it('the reporter prints that line once at the end of the run and starts each run afresh', () => {
    const log = join(dir, 'b.jsonl');
    vi.stubEnv(SKIP_LOG_ENV, log);
    writeFileSync(log, `${JSON.stringify({ what: 'Chromium', tests: 'browser e2e', pkg: 'chromium' })}\n`);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const stale = new SkipSummary();
      stale.onInit();
      stale.onTestRunEnd();
      // The previous run's record was cleared at the start: nothing to say.
      expect(out).not.toHaveBeenCalled();
      const r = new SkipSummary();
      r.onInit();
      writeFileSync(log, `${JSON.stringify({ what: 'Chromium', tests: 'browser e2e', pkg: 'chromium' })}\n`);
      r.onTestRunEnd();
      expect(out).toHaveBeenCalledTimes(1);
      expect(String(out.mock.calls[0][0]).trim()).toBe(
        'Skipped for missing system packages: browser e2e (no Chromium). To run them: sudo apt-get install -y chromium',
      );
    } finally {
      out.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails instead of skipping under ADCREATIVE_REQUIRE_SYSTEM=1 (CI)', async () => {
    vi.stubEnv('ADCREATIVE_REQUIRE_SYSTEM', '1');
    vi.resetModules();
    const fresh = await import('../../helpers/system.ts');
    expect(() => fresh.systemAvailable({ what: 'Chromium', tests: 'browser e2e', pkg: 'chromium' }, false)).toThrow(
      /ADCREATIVE_REQUIRE_SYSTEM=1 but Chromium is not installed \(apt-get install -y chromium\)/,
    );
  });
});
