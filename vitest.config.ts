import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['harness/**/*.test.ts'],
    // Integration tests start real containers and processes; unit tests are fast either way.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One file at a time per worker pair keeps a 2-core host responsive while docker work runs.
    maxWorkers: 2,
  },
});
