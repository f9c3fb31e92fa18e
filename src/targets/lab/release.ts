/**
 * A lab "release" is a kernel installed on the host. Its stand-ins for the release
 * images are named by content, never invented: the driver-toolkit stand-in is the
 * kernel's kbuild tree (digest = hash of its identity files), the OS image stand-in
 * is the kernel image itself (digest = hash of the vmlinuz).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Release } from '../../release/release.js';
import type { LabKernel } from './kernels/catalog.js';

/** Registry host of lab images; `.invalid` is reserved, so nothing outside the lab resolves it. */
export const LAB_REGISTRY = 'registry.lab.kmodlab.invalid';

function digestOf(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) if (existsSync(f)) h.update(f).update(readFileSync(f));
  return h.digest('hex');
}

export function driverToolkitDigest(kernel: Pick<LabKernel, 'kver' | 'buildDir'>): string {
  return digestOf(['include/config/kernel.release', 'Module.symvers', '.config'].map((f) => join(kernel.buildDir, f)));
}

export function labRelease(kernel: LabKernel): Release {
  return {
    kernelVersion: kernel.kver,
    driverToolkitImage: `${LAB_REGISTRY}/driver-toolkit@sha256:${driverToolkitDigest(kernel)}`,
    rhcosImage: `${LAB_REGISTRY}/node-os@sha256:${digestOf([kernel.vmlinuz])}`,
    // The lab lays out its images itself and builds none of the rendered Containerfiles
    // yet, so the evaluation renders what a cluster gets. `kmodlab lab release-info`
    // (images/release-info.ts) is the debian-lab release of the built images.
    osFamily: 'rhcos',
    sources: {
      kernelVersion: `lab kernel ${kernel.kver} (${kernel.vmlinuz})`,
      driverToolkitImage: `lab: kbuild tree ${kernel.buildDir}`,
      rhcosImage: `lab: kernel image ${kernel.vmlinuz}`,
    },
  };
}
