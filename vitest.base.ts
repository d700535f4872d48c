import { defineConfig } from 'vitest/config';

/**
 * The one test shape of every package and app: specs next to the code, integration tests in
 * `test/`, and a JSON report that `tools/scripts/test.mjs` sums into the workspace totals.
 */
export const packageTestConfig = defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
