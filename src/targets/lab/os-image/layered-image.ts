/**
 * The lab's layered OS image: the node's base image plus the driver installed the way
 * the layering Containerfile installs it — modules under /lib/modules/<kver>/extra,
 * options in /etc/modprobe.d, names in /etc/modules-load.d so they load at boot — as
 * a second newc archive appended to the base initramfs (the kernel unpacks
 * concatenated archives in order, later files winning).
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DriverSpec } from '../../../driver/spec.js';
import { loadOrder, modprobeConf } from '../../../methods/driver-build.js';
import type { BuildRecord } from '../driver-builds/driver-build.js';
import { writeFileAtomic } from '../host/cache.js';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';

export interface LayeredImage {
  /** Bootable initramfs: base + driver layer. */
  path: string;
  /** sha256 of the driver layer: what `osImageURL` pins. */
  digest: string;
  kver: string;
  /** Kernel the base image (and layer) were built for. */
  baseImage: string;
}

export async function buildLayeredImage(opts: { baseInitramfs: string; build: BuildRecord; driver: DriverSpec; outDir: string }): Promise<LayeredImage> {
  const { build, driver } = opts;
  const root = mkdtempSync(join(tmpdir(), 'kmodlab-layer-'));
  try {
    const extra = join(root, 'lib', 'modules', build.kver, 'extra');
    mkdirSync(extra, { recursive: true });
    for (const m of build.modules) cpSync(m.path, join(extra, basename(m.path)));
    mkdirSync(join(root, 'etc', 'modules-load.d'), { recursive: true });
    writeFileSync(join(root, 'etc', 'modules-load.d', `${driver.name}.conf`), `# ${driver.name} ${driver.version}, installed by kmodlab (layering)\n${loadOrder(driver).join('\n')}\n`);
    const conf = modprobeConf(driver);
    if (conf) {
      mkdirSync(join(root, 'etc', 'modprobe.d'), { recursive: true });
      writeFileSync(join(root, 'etc', 'modprobe.d', `${driver.name}.conf`), `${conf}\n`);
    }
    const cpio = requireTool('cpio');
    // Only the new files and their directories; the base already has the rest.
    const layer = (
      await run('sh', ['-c', `find lib etc -print0 | LC_ALL=C sort -z | "${cpio}" --null -o -H newc -R 0:0 --quiet`], { cwd: root })
    ).stdout;
    const digest = createHash('sha256').update(layer).digest('hex');
    mkdirSync(opts.outDir, { recursive: true });
    const path = join(opts.outDir, `layered-${build.kver}-${digest.slice(0, 16)}.cpio`);
    writeFileAtomic(path, Buffer.concat([readFileSync(opts.baseInitramfs), layer]));
    return { path, digest: `sha256:${digest}`, kver: build.kver, baseImage: opts.baseInitramfs };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
