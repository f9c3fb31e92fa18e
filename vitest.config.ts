import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Kernel builds and (later) QEMU nodes are slow on a 2-core TCG machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
