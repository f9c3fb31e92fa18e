/**
 * An OS image of the lab release turned into what QEMU boots, cached per image digest:
 *
 * - the kernel: the image's own `/usr/lib/modules/<kver>/vmlinuz`;
 * - a disk: the image's whole root filesystem as erofs (`mkfs.erofs`, read-only, the
 *   node's /dev/vda) — the full module tree stays on it instead of in guest RAM (the
 *   tree is ~400 MB, a node has 256 MB);
 * - an initramfs: the node's usual one, with its boot modules (virtio, 9p, and now
 *   virtio_blk + erofs) taken from the image's module tree, and a boot hook that mounts
 *   the disk and puts the image's module tree at /lib/modules, so `modprobe` reaches
 *   every module the kernel ships, as on an RHCOS node.
 *
 * The userland in that initramfs is built from the same host files the image's
 * userland layer was built from (busybox, kmod, /init, the agent), not read back from
 * the image; the node does not switch_root into the disk.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKver, type LabKernel } from '../kernels/catalog.js';
import { labCacheDir, sha256, writeFileAtomic } from '../host/cache.js';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';
import { buildInitramfs } from '../os-image/initramfs.js';
import { Buildah } from './buildah.js';

export interface BootableOsImage {
  digest: string;
  /** The image's kernel, as the lab boots kernels (vmlinuz and module tree from the image). */
  kernel: LabKernel;
  initramfs: string;
  /** erofs image of the OS image's root filesystem. */
  disk: string;
  /** True when it came from the cache. */
  cached: boolean;
}

/** Modules the boot hook needs on top of the node's base set. */
// erofs needs libcrc32c, whose init asks the crypto API for "crc32c": with no modprobe
// able to find it yet, crc32c_generic must already be loaded.
export const OS_DISK_MODULES = ['virtio_blk', 'crc32c_generic', 'erofs'];

/**
 * Boot hook (run by /init, see os-image/init.ts): mount the OS disk, use its module tree,
 * then load what the IMAGE's /etc/modules-load.d names — as systemd-modules-load does on
 * an RHCOS node booted into a layered image (a driver baked into the image loads at boot).
 * /init's own modules-load.d pass ran before the disk was mounted and saw only the
 * initramfs's /etc. The image was depmod'ed when it was built (the disk is read-only).
 */
export const OS_DISK_HOOK = `mkdir -p /sysroot
mount -t erofs -o ro /dev/vda /sysroot || exit 1
mount --bind /sysroot/usr/lib/modules /lib/modules
for f in /sysroot/etc/modules-load.d/*.conf /sysroot/usr/lib/modules-load.d/*.conf; do
  [ -r "$f" ] || continue
  for m in $(grep -v '^[#;]' "$f"); do
    /sbin/modprobe "$m" && echo "kmodlab-init: modules-load.d: loaded $m" || echo "kmodlab-init: modules-load.d: modprobe $m failed"
  done
done
`;

export async function bootableOsImage(image: { digestRef: string; digest: string; kver: string }, opts: { insecure: boolean; buildah?: Buildah }): Promise<BootableOsImage> {
  // Per image digest, and per the way it is turned into a boot (modules, hook).
  const dir = labCacheDir(join('os-boot', sha256(image.digest, JSON.stringify(OS_DISK_MODULES), OS_DISK_HOOK).slice(0, 32)));
  const ready = join(dir, 'ready.json');
  const kernel = (vmlinuz: string, modulesDir: string): LabKernel => ({
    kver: image.kver,
    vmlinuz,
    modulesDir,
    buildDir: join(modulesDir, 'build'),
    ...parseKver(image.kver),
    source: 'user',
  });
  // Fixed names under this directory, never read from the record (which only marks the set
  // complete): the cache may be reached through another path (a moved KMODLAB_CACHE, a link to
  // a shared cache) than the one its writer used, and that path may be gone since.
  const vmlinuz = join(dir, 'vmlinuz');
  const disk = join(dir, 'root.erofs');
  const initramfs = join(dir, 'initramfs.cpio');
  if ([ready, vmlinuz, disk, initramfs].every((f) => existsSync(f))) {
    return { digest: image.digest, kernel: kernel(vmlinuz, '/nonexistent'), initramfs, disk, cached: true };
  }
  const mkfs = requireTool('mkfs.erofs');
  const cpio = requireTool('cpio');
  const buildah = opts.buildah ?? new Buildah();
  const ctr = (await buildah.run(['from', '--quiet', ...(opts.insecure ? ['--tls-verify=false'] : []), image.digestRef], { timeoutMs: 600_000 })).stdout.toString('utf8').trim();
  try {
    const mnt = (await buildah.run(['mount', ctr])).stdout.toString('utf8').trim();
    const modulesDir = join(mnt, 'usr/lib/modules', image.kver);
    // Temp names of this process's own, then a rename: two processes (lab tests share this
    // cache) that derive the same digest at once never write into each other's file.
    const tmp = (f: string) => `${f}.${process.pid}.tmp`;
    cpSync(join(modulesDir, 'vmlinuz'), tmp(vmlinuz));
    renameSync(tmp(vmlinuz), vmlinuz);
    rmSync(tmp(disk), { force: true });
    await run(mkfs, ['-T0', tmp(disk), mnt], { timeoutMs: 600_000 });
    renameSync(tmp(disk), disk);
    const base = await buildInitramfs({ kernel: kernel(vmlinuz, modulesDir), extraModules: OS_DISK_MODULES, cacheDir: dir });
    // The boot hook as a second newc archive: the kernel unpacks concatenated archives in order.
    const stage = mkdtempSync(join(tmpdir(), 'kmodlab-osboot-'));
    try {
      mkdirSync(join(stage, 'etc/kmodlab/boot.d'), { recursive: true });
      writeFileSync(join(stage, 'etc/kmodlab/boot.d/00-os-image.sh'), OS_DISK_HOOK, { mode: 0o755 });
      const hook = (await run('sh', ['-c', `find etc -print0 | LC_ALL=C sort -z | "${cpio}" --null -o -H newc -R 0:0 --quiet`], { cwd: stage })).stdout;
      writeFileAtomic(initramfs, Buffer.concat([readFileSync(base.path), hook]));
      // The base archive stays (a few MB): another process deriving the same digest may be reading it.
      writeFileAtomic(ready, `${JSON.stringify({ digest: image.digest, kver: image.kver }, null, 2)}\n`);
      return { digest: image.digest, kernel: kernel(vmlinuz, modulesDir), initramfs, disk, cached: false };
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  } finally {
    await buildah.run(['umount', ctr], { allowFailure: true });
    await buildah.run(['rm', ctr], { allowFailure: true });
  }
}
