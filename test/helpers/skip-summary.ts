/**
 * A vitest reporter that ends the run with one line naming the tests skipped for a missing
 * system package and the `apt-get install` that enables them (see system.ts). The test
 * processes are forks, so they record their skips in a file the run shares.
 */
import { rmSync } from 'node:fs';
import type { Reporter } from 'vitest/reporters';
import { readSkips, SKIP_LOG_ENV, skipSummaryLine } from './system.ts';

export default class SkipSummary implements Reporter {
  private readonly log = process.env[SKIP_LOG_ENV];

  onInit(): void {
    if (this.log) rmSync(this.log, { force: true });
  }

  onTestRunEnd(): void {
    if (!this.log) return;
    const line = skipSummaryLine(readSkips(this.log));
    rmSync(this.log, { force: true });
    if (line) process.stdout.write(`\n${line}\n`);
  }
}
