import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: waits inside tests are bounded by PATIENCE_MS
    // (test/helpers/patience.ts), which must stay below these.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Integration tests create network namespaces and servers; keep them from
    // fighting over the two cores of a CI machine.
    maxWorkers: 2,
  },
});
