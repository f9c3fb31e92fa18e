/**
 * Locate the system tools the lab depends on. A missing tool is a setup problem
 * the user can fix, so it becomes a UserError naming the Debian package and the
 * script that installs everything (scripts/lab-packages.sh).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UserError } from '../../../errors.js';

/** Tool → Debian package that ships it. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox-static',
  kmod: 'kmod',
  depmod: 'kmod',
  cpio: 'cpio',
  xz: 'xz-utils',
  zstd: 'zstd',
  gzip: 'gzip',
  make: 'make',
  ldd: 'libc-bin',
  setpriv: 'util-linux',
  sleep: 'coreutils',
  time: 'time',
  buildah: 'buildah',
  skopeo: 'skopeo',
  'docker-registry': 'docker-registry',
  'mkfs.erofs': 'erofs-utils',
  prometheus: 'prometheus',
};

/** sbin dirs are searched too: depmod lives there and non-root PATHs often lack it. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];

export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export function requireTool(name: string): string {
  const found = findTool(name);
  if (found) return found;
  const pkg = TOOL_PACKAGES[name] ?? name;
  throw new UserError(
    `the lab needs \`${name}\`, which is not installed`,
    `install it with: apt-get install --no-install-recommends ${pkg}  (or run scripts/lab-packages.sh / kmodlab lab setup)`,
  );
}
