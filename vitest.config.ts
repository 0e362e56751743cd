import { defineConfig } from 'vitest/config';

// ONNX Runtime's run() blocks its thread for a whole batch; forks keep test files apart.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { LANCEDB_LOG: 'error' },
  },
});
