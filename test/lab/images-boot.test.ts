/**
 * A node booted from the lab release's OS image: the image's kernel, its root
 * filesystem as an erofs disk, its full module tree reachable by modprobe (a module the
 * node's initramfs does not carry loads), cached per image digest.
 */
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { bootableOsImage } from '../../src/targets/lab/images/boot-os-image.js';
import { setupLabImages } from '../../src/targets/lab/images/lab-release.js';
import { openRegistry } from '../../src/targets/lab/images/registry.js';
import { LabNode } from '../../src/targets/lab/node/node.js';
import { labAvailability, primaryKernel, removeTempDirs, tempDir } from './helpers.js';

const lab = labAvailability();
const tools = ['buildah', 'skopeo', 'docker-registry', 'mkfs.erofs'].filter((t) => !findTool(t));
const ok = lab.ok && tools.length === 0;
const why = !lab.ok ? lab.reason : `not installed: ${tools.join(', ')} (scripts/lab-packages.sh)`;

afterAll(removeTempDirs);

describe.skipIf(!ok)(`booting a node from an OS image${ok ? '' : ` [SKIPPED: ${why}]`}`, () => {
  it('boots the image kernel with the image root as a disk; modprobe loads a module from the full tree', async () => {
    const kernel = primaryKernel(lab.kernels);
    const registry = await openRegistry();
    let node: LabNode | undefined;
    try {
      const release = await setupLabImages([kernel]);
      const os = release.images.find((i) => i.role === 'node-os' && i.kver === kernel.kver)!;
      const bootable = await bootableOsImage({ digestRef: os.digestRef!, digest: os.digest!, kver: kernel.kver }, { insecure: registry.insecure });
      expect(bootable.kernel.vmlinuz).not.toBe(kernel.vmlinuz); // the image's own kernel file
      expect((await bootableOsImage({ digestRef: os.digestRef!, digest: os.digest!, kver: kernel.kver }, { insecure: registry.insecure })).cached).toBe(true);

      node = await LabNode.start(bootable.kernel, bootable.initramfs, { name: 'os-image', runDir: tempDir('os-image-node'), disk: bootable.disk });
      expect((await node.exec('uname -r')).stdout.trim()).toBe(kernel.kver);
      expect((await node.exec('grep -c " /sysroot erofs " /proc/mounts')).stdout.trim()).toBe('1');
      // dummy is not among the node's boot modules: it can only come from the image's tree
      expect((await node.exec('grep -c "^dummy " /proc/modules')).stdout.trim()).toBe('0');
      const load = await node.exec('modprobe dummy && grep "^dummy " /proc/modules');
      expect(load.code, load.stderr).toBe(0);
      expect(load.stdout).toMatch(/^dummy /);
    } finally {
      await node?.poweroff();
      await registry.stop();
    }
  }, 900_000);

  it('a derived boot is found again through another path to the cache: the first path gone, nothing is derived twice', async () => {
    const kernel = primaryKernel(lab.kernels);
    const registry = await openRegistry();
    const saved = process.env.KMODLAB_CACHE;
    const buildah = new Buildah(); // the machine's store: the image is there already
    try {
      const release = await setupLabImages([kernel]);
      const os = release.images.find((i) => i.role === 'node-os' && i.kver === kernel.kver)!;
      const image = { digestRef: os.digestRef!, digest: os.digest!, kver: kernel.kver };
      // A fresh cache, first reached through a link (as tests reach the machine's), which then goes.
      const real = tempDir('os-boot-cache');
      const link = join(tempDir('os-boot-link'), 'cache');
      symlinkSync(real, link);
      process.env.KMODLAB_CACHE = link;
      const first = await bootableOsImage(image, { insecure: registry.insecure, buildah });
      expect(first.cached).toBe(false);
      rmSync(link);
      process.env.KMODLAB_CACHE = real;
      const again = await bootableOsImage(image, { insecure: registry.insecure, buildah });
      expect(again.cached).toBe(true);
      for (const f of [again.kernel.vmlinuz, again.initramfs, again.disk]) {
        expect(f.startsWith(real), f).toBe(true);
        expect(existsSync(f), f).toBe(true);
      }
    } finally {
      if (saved === undefined) delete process.env.KMODLAB_CACHE;
      else process.env.KMODLAB_CACHE = saved;
      await registry.stop();
    }
  }, 900_000);
});
