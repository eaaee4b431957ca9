import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests create network namespaces and servers; keep them from
    // fighting over the two cores of a CI machine.
    maxWorkers: 2,
  },
});
