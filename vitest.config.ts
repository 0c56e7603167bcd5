import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Proving and compiling take seconds; snarkjs' worker threads are happier in forked processes.
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 300_000,
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup-file.ts'],
    env: { ZKONNX_ARTIFACTS: 'artifacts/test' },
  },
});
