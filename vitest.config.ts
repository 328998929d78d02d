import { defineConfig } from 'vitest/config';

// Integration tests start real servers (kube-apiserver, FerretDB, litecoind, Prometheus);
// on a 2-core machine they run a few files at a time with generous hook timeouts.
// The end-to-end tier (test/e2e) shares one real node per machine: its project's globalSetup
// starts the cluster (only when an e2e file is in the run) and its files run one at a time.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts', 'operator/**/*.test.ts', 'miner/**/*.test.ts'],
          exclude: ['test/e2e/**', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/globalSetup.ts'],
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
