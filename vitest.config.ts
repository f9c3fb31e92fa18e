import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Kernel builds and (later) QEMU nodes are slow on a 2-core TCG machine.
    testTimeout: 120_000,
    // One test file at a time, on any machine (vitest's default is cores − 1: one on the
    // 2-core CI machine, more elsewhere). The lab files are CPU-bound (TCG nodes, builds):
    // on 2 cores two at once took as long as one after the other and missed their timeouts;
    // and their labs share the machine's buildah store (test/lab/helpers.ts SHARED_CACHE_PARTS).
    maxWorkers: 1,
    hookTimeout: 120_000,
  },
});
