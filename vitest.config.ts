import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start sandbox hosts, daemons and cgroups; two cores do not gain from more files at once.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
