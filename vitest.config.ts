import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real servers (NATS, S3, data containers) as child processes;
    // on a 2-core machine running files one at a time keeps timings honest.
    fileParallelism: false,
    pool: 'forks',
  },
});
