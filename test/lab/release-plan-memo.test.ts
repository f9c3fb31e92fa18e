/**
 * planLabReleases is memoised per process on a cheap key of its inputs: planning the same
 * kernels again returns the same plan without walking their module trees, and a module
 * tree that changed (re-indexed: its modules.dep rewritten) is planned anew, with new tags.
 *
 * Uses a kernel made up in a temporary directory (a user kernel: its own build and module
 * trees), and the host's installed packages for the kernel-independent images.
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LabKernel } from '../../src/targets/lab/kernels/catalog.js';
import { installedPackages } from '../../src/targets/lab/images/debian-packages.js';
import { planLabReleases, RUNTIME_BASE_PACKAGES, TOOLCHAIN_PACKAGES } from '../../src/targets/lab/images/release-images.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { removeTempDirs, tempDir } from './helpers.js';

async function skipReason(): Promise<string> {
  if (!findTool('dpkg-query')) return 'not a Debian host (no dpkg-query)';
  const installed = await installedPackages();
  const missing = [...RUNTIME_BASE_PACKAGES, ...TOOLCHAIN_PACKAGES].filter((p) => !installed.has(p));
  return missing.length ? `packages not installed: ${missing.join(', ')} (scripts/lab-packages.sh)` : '';
}

const why = await skipReason();

function madeUpKernel(): LabKernel {
  const dir = tempDir('plan-memo');
  const kver = '6.1.0-0-plantest-amd64';
  const modulesDir = join(dir, 'modules', kver);
  const buildDir = join(dir, 'build');
  mkdirSync(join(modulesDir, 'kernel', 'drivers'), { recursive: true });
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'Makefile'), 'all:\n');
  writeFileSync(join(modulesDir, 'kernel', 'drivers', 'a.ko'), 'module a, first build');
  writeFileSync(join(modulesDir, 'modules.dep'), 'kernel/drivers/a.ko:\n');
  const vmlinuz = join(dir, 'vmlinuz');
  writeFileSync(vmlinuz, 'not a kernel');
  return { kver, vmlinuz, buildDir, modulesDir, flavour: 'amd64', series: '6.1', source: 'user' };
}

describe.skipIf(why !== '')(`lab release plans, memoised per process${why ? ` [SKIPPED: ${why}]` : ''}`, () => {
  afterAll(removeTempDirs);

  it('plans unchanged kernels once, and a re-indexed module tree anew', async () => {
    const kernel = madeUpKernel();
    const first = planLabReleases([kernel]);
    expect(planLabReleases([kernel])).toBe(first);
    const [before] = await first;

    // A module rebuilt and the tree re-indexed, as `depmod` rewrites modules.dep.
    writeFileSync(join(kernel.modulesDir, 'kernel', 'drivers', 'a.ko'), 'module a, second build, longer');
    writeFileSync(join(kernel.modulesDir, 'modules.dep'), 'kernel/drivers/a.ko:\n\n');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(kernel.modulesDir, 'modules.dep'), later, later);
    const again = planLabReleases([kernel]);
    expect(again).not.toBe(first);
    const [after] = await again;
    expect(after!.os.tag).not.toBe(before!.os.tag);
    expect(after!.driverToolkit.tag).not.toBe(before!.driverToolkit.tag);
    // What does not hold the module tree is the same image.
    expect(after!.runtimeBase.tag).toBe(before!.runtimeBase.tag);
  });
});
