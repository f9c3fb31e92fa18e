import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Two kinds of test files, two projects:
 *   - `lab`: files that boot QEMU nodes, build with buildah or open the lab registry (they
 *     say so by calling one of LAB_MARKERS). They run one at a time: they are CPU-bound
 *     (TCG nodes, builds): two at a time cut the suite's wall time by only 16 % while
 *     each lab file took up to 1.7× as long, and they share the machine's registry and
 *     buildah store (test/lab/helpers.ts).
 *   - `host`: everything else (renderers, the report, the lab API without nodes, the
 *     cluster target against the fake API), also one at a time.
 * `npm test` runs the two projects side by side (scripts/run-tests.mjs): a host file on
 * the second core while a lab file waits on its node. `vitest run` runs them one after
 * the other.
 */
const LAB_MARKERS = /\b(labAvailability|openRegistry|setupLabImages)\(|\bnew LabUpHarness\(/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

const labFiles = testFiles('test').filter((f) => LAB_MARKERS.test(readFileSync(f, 'utf8')));

export default defineConfig({
  test: {
    // Kernel builds and QEMU nodes are slow on a 2-core TCG machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One file at a time within a project, on any machine (vitest's default is cores − 1).
    maxWorkers: 1,
    projects: [
      { extends: true, test: { name: 'lab', include: labFiles } },
      { extends: true, test: { name: 'host', include: ['test/**/*.test.ts'], exclude: labFiles } },
    ],
  },
});
