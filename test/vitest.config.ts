import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // LLM tests share two cores: one file at a time, one thread each.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Polls wait for the UI or a worker, not a timing goal: generous for a loaded CI machine.
    expect: { poll: { timeout: 15_000, interval: 50 } },
    reporters: ['default'],
  },
});
