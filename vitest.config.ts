import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Test processes record skips for a missing system package here; the run ends with one line about them.
process.env.ADCREATIVE_SKIP_LOG ??= join(tmpdir(), `adcreative-test-skips-${process.pid}.jsonl`);

// ONNX Runtime's run() blocks its thread for a whole batch; forks keep test files apart.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { LANCEDB_LOG: 'error' },
    reporters: ['default', './test/helpers/skip-summary.ts'],
  },
});
