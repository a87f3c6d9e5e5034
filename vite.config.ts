/**
 * One Vite config for the repo: the test runner (vitest) today; the MV3 extension build
 * (from the root manifest.json into dist/extension) is added with the extension.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'tss/test/**/*.test.ts',
      'bridge-server/test/**/*.test.ts',
      'extension/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', 'test/e2e/**'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    pool: 'forks',
  },
});
