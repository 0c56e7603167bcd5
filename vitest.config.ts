import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Proving and compiling take seconds; snarkjs' worker threads are happier in forked processes.
    pool: 'forks',
    // vitest's default (cores - 1) runs the files one at a time on 2 cores (CI's machine). Most of a file's time
    // is one thread (circom2 in a child process, witness and reference code in JS), so two files at once use
    // both cores; the test files write into their own artifacts/test/<name>/ directories.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 180_000,
    hookTimeout: 300_000,
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup-file.ts'],
    env: { ZKONNX_ARTIFACTS: 'artifacts/test' },
  },
});
