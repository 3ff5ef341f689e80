import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One JS engine cache for the run (the wasm tier builds each engine once, not per test).
    // One Node compile cache for every node the suites spawn (test/support/node-compile-cache.ts).
    globalSetup: ['test/support/wasm-engines.ts', 'test/support/node-compile-cache.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start sandbox hosts, daemons and cgroups; two cores do not gain from more files at once.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
