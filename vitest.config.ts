import { defineConfig } from 'vitest/config';

const integration = ['harness/**/*.integration.test.ts'];

export default defineConfig({
  test: {
    // Integration tests start real containers and processes; unit tests are fast either way.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One file at a time per worker pair keeps a 2-core host responsive while docker work runs.
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      include: ['harness/**/*.ts'],
      exclude: ['harness/**/*.test.ts'],
      reporter: ['text-summary', 'json-summary'],
    },
    projects: [
      // No docker, no cluster: the contract model, pure functions, loopback processes.
      { extends: true, test: { name: 'unit', include: ['harness/**/*.test.ts'], exclude: integration } },
      // The docker engine, and a kind cluster `cif` where a test needs one; each file says loudly when it skips.
      { extends: true, test: { name: 'integration', include: integration } },
    ],
  },
});
