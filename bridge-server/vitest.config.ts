/**
 * Fast loop for the bridge and transport tests alone: the root config's global setup builds the tss
 * DKG fixtures (minutes when tss sources change), which these tests do not need.
 *   npx vitest run --config bridge-server/vitest.config.ts
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: [
      'bridge-server/test/**/*.test.ts',
      'tss/test/transport/**/*.test.ts',
      'test/walletconnect/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
