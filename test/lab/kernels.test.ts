/** Kernel catalog, vmlinux extraction and initramfs build against the installed kernels. */
import { mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { findKernel } from '../../src/targets/lab/kernels/catalog.js';
import { extractVmlinux } from '../../src/targets/lab/kernels/vmlinux.js';
import { buildInitramfs } from '../../src/targets/lab/os-image/initramfs.js';
import { run } from '../../src/targets/lab/host/run.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';

const lab = labAvailability();

describe.skipIf(!lab.ok)(`lab kernels${skipReason(lab)}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined!;

  it('the catalog finds the installed kernel with its kbuild tree and modules', () => {
    const k = findKernel(kernel.kver);
    expect(k).toMatchObject({
      vmlinuz: `/boot/vmlinuz-${kernel.kver}`,
      buildDir: `/lib/modules/${kernel.kver}/build`,
      modulesDir: `/lib/modules/${kernel.kver}`,
      source: 'system',
    });
    expect(() => findKernel('0.0.0-0-nope')).toThrow(UserError);
  });

  it('extracts an ELF vmlinux from the vmlinuz (and caches it)', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'kmodlab-vmlinux-'));
    try {
      const path = await extractVmlinux(kernel.vmlinuz, { cacheDir });
      const fd = openSync(path, 'r');
      const head = Buffer.alloc(5);
      readSync(fd, head, 0, 5, 0);
      closeSync(fd);
      expect([...head]).toEqual([0x7f, 0x45, 0x4c, 0x46, 2]); // ELF, 64-bit
      expect(await extractVmlinux(kernel.vmlinuz, { cacheDir })).toBe(path);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('builds an initramfs with busybox, kmod, the agent and the kernel\'s virtio/9p modules', async () => {
    const img = await buildInitramfs({ kernel });
    expect(img.modules).toEqual(expect.arrayContaining(['virtio_mmio', 'virtio_console', '9pnet_virtio', '9p']));
    const list = (await run('cpio', ['-t', '--quiet', '-F', img.path])).stdout.toString();
    for (const f of ['init', 'bin/busybox', 'bin/kmod', 'sbin/modprobe', 'etc/kmodlab/agent.sh', `lib/modules/${kernel.kver}/modules.dep`]) {
      expect(list.split('\n')).toContain(f);
    }
    expect(list).toMatch(/lib\/x86_64-linux-gnu\/libc\.so\.6/);
    expect((await buildInitramfs({ kernel })).cached).toBe(true);
  });
});
