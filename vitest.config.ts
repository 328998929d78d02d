import { defineConfig } from 'vitest/config';

// Integration tests start real servers (kube-apiserver, FerretDB, litecoind, Prometheus);
// on a 2-core machine they run a few files at a time with generous hook timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'operator/**/*.test.ts', 'miner/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
