/**
 * Which kernels can the lab boot and build against? A lab kernel needs three
 * things: a bootable image (vmlinuz), a kbuild tree to build drivers against, and
 * the kernel's own modules (the node's initramfs needs virtio/9p modules from it).
 * Debian's linux-image-<kver> + linux-headers-<kver> packages provide exactly that;
 * a user may also point at their own image + build tree (e.g. a RHEL kernel
 * extracted from RPMs) for an exact preflight.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../../../errors.js';
import { listUserKernels as userKernels } from './user-kernels.js';

export interface LabKernel {
  /** `uname -r` of the kernel, e.g. 6.1.0-56-amd64. */
  kver: string;
  /** Bootable (compressed) kernel image. */
  vmlinuz: string;
  /** kbuild tree (`make -C <buildDir> M=... modules`). */
  buildDir: string;
  /** /lib/modules/<kver>: the kernel's own modules and modules.dep. */
  modulesDir: string;
  /** Kernel flavour, e.g. amd64, rt-amd64, cloud-amd64, x86_64. */
  flavour: string;
  /** major.minor, e.g. 6.1 */
  series: string;
  source: 'system' | 'user';
  /** What a user kernel is, e.g. `OpenShift 4.14.12` for one added with `lab add-release`. */
  name?: string;
}

export interface CatalogRoots {
  /** Where vmlinuz-<kver> files are; default /boot. */
  bootDir?: string;
  /** Where <kver>/ module trees are; default /lib/modules. */
  modulesRoot?: string;
}

/** Split a kernel release into series and flavour (Debian and RHEL spellings). */
export function parseKver(kver: string): { series: string; flavour: string } {
  const series = /^(\d+\.\d+)/.exec(kver)?.[1] ?? 'unknown';
  // Debian: 6.1.0-56-amd64, 6.1.0-56-rt-amd64, 6.12.43+deb12-amd64, 6.12.43+deb12-rt-amd64
  const deb = /^\d+\.\d+(?:\.\d+)?(?:-\d+|\+[^-]+)-(.+)$/.exec(kver);
  if (deb?.[1]) return { series, flavour: deb[1] };
  // RHEL/Fedora: 5.14.0-427.13.1.el9_4.x86_64, 5.14.0-427.13.1.el9_4.x86_64+rt
  const rh = /\.(x86_64|aarch64|ppc64le|s390x)(\+\w+)?$/.exec(kver);
  if (rh?.[1]) return { series, flavour: rh[2] ? `${rh[2].slice(1)}-${rh[1]}` : rh[1] };
  return { series, flavour: 'unknown' };
}

/** Is this a kbuild tree? (Debian's headers tree has a Makefile and Module.symvers.) */
function isBuildTree(dir: string): boolean {
  return existsSync(join(dir, 'Makefile'));
}

/** Every kernel under /boot that also has its kbuild tree and modules installed. */
export function listKernels(roots: CatalogRoots = {}): LabKernel[] {
  const bootDir = roots.bootDir ?? '/boot';
  const modulesRoot = roots.modulesRoot ?? '/lib/modules';
  let entries: string[];
  try {
    entries = readdirSync(bootDir);
  } catch {
    return [];
  }
  const kernels: LabKernel[] = [];
  for (const entry of entries.sort()) {
    const m = /^vmlinuz-(.+)$/.exec(entry);
    if (!m?.[1]) continue;
    const kver = m[1];
    const modulesDir = join(modulesRoot, kver);
    const buildDir = join(modulesDir, 'build');
    // A kernel without headers cannot build drivers; one without modules cannot run the node.
    if (!isBuildTree(buildDir) || !existsSync(join(modulesDir, 'kernel'))) continue;
    kernels.push({ kver, vmlinuz: join(bootDir, entry), buildDir, modulesDir, ...parseKver(kver), source: 'system' });
  }
  // Kernels the user added (`kmodlab lab add-kernel`) join the system catalog.
  if (!roots.bootDir && !roots.modulesRoot) {
    for (const k of userKernels()) if (!kernels.some((s) => s.kver === k.kver)) kernels.push(k);
  }
  return kernels;
}

/** Kernels that have an image but lack headers or modules: worth naming in errors. */
function incompleteKernels(roots: CatalogRoots): string[] {
  const bootDir = roots.bootDir ?? '/boot';
  try {
    const usable = new Set(listKernels(roots).map((k) => k.kver));
    return readdirSync(bootDir)
      .map((e) => /^vmlinuz-(.+)$/.exec(e)?.[1])
      .filter((k): k is string => !!k && !usable.has(k));
  } catch {
    return [];
  }
}

export function howToAddKernel(kver = '<kver>'): string {
  return (
    `add one with \`kmodlab lab setup\` (scripts/lab-packages.sh, LAB_KERNELS="${kver}") or ` +
    `apt-get install --no-install-recommends linux-image-${kver} linux-headers-${kver}; ` +
    'or supply your own with an image and a kbuild tree path'
  );
}

/** The installed kernel `kver`, or a UserError listing what is available. */
export function findKernel(kver: string, roots: CatalogRoots = {}): LabKernel {
  const all = listKernels(roots);
  const found = all.find((k) => k.kver === kver);
  if (found) return found;
  const available = all.length ? all.map((k) => k.kver).join(', ') : 'none';
  const incomplete = incompleteKernels(roots);
  throw new UserError(
    `kernel ${kver} is not available in the lab (available: ${available}` +
      (incomplete.length ? `; installed without headers or modules: ${incomplete.join(', ')}` : '') +
      ')',
    howToAddKernel(kver),
  );
}

export interface UserKernelInput {
  /** Bootable kernel image (bzImage/vmlinuz or an uncompressed vmlinux). */
  image: string;
  /** kbuild tree. */
  buildDir: string;
  /** Module tree (with modules.dep or at least kernel/); default: buildDir/.. when it is /lib/modules/<kver>. */
  modulesDir?: string;
  /** Kernel release; default: read from <buildDir>/include/config/kernel.release. */
  kver?: string;
  /** What the kernel is (shown by `lab kernels`), e.g. `OpenShift 4.14.12`. */
  name?: string;
}

/** A user-supplied kernel, validated so that mistakes surface before a node boots. */
export function userKernel(input: UserKernelInput, readRelease = readKernelRelease): LabKernel {
  const image = resolve(input.image);
  const buildDir = resolve(input.buildDir);
  if (!existsSync(image) || !statSync(image).isFile()) {
    throw new UserError(`kernel image ${image} does not exist`, 'pass the path of a vmlinuz/bzImage file');
  }
  if (!isBuildTree(buildDir)) {
    throw new UserError(`${buildDir} is not a kbuild tree (no Makefile)`, 'pass the kernel-devel/linux-headers build directory');
  }
  const kver = input.kver ?? readRelease(buildDir);
  if (!kver) {
    throw new UserError(`cannot tell the kernel release of ${buildDir}`, 'pass the kernel release (uname -r of that kernel) explicitly');
  }
  const modulesDir = resolve(input.modulesDir ?? join(buildDir, '..'));
  if (!existsSync(join(modulesDir, 'kernel')) && !existsSync(join(modulesDir, 'modules.dep'))) {
    throw new UserError(
      `${modulesDir} does not hold the modules of kernel ${kver}`,
      'pass the /lib/modules/<kver> directory of that kernel (the node needs its virtio and 9p modules)',
    );
  }
  return { kver, vmlinuz: image, buildDir, modulesDir, ...parseKver(kver), source: 'user', ...(input.name ? { name: input.name } : {}) };
}

/**
 * Kernel release of a build tree: the parent directory's name for the usual
 * /lib/modules/<kver>/build layout, else include/config/kernel.release (which on
 * Debian's headers holds the upstream version, not `uname -r`, hence second choice).
 */
function readKernelRelease(buildDir: string): string | undefined {
  if (basename(buildDir) === 'build' && existsSync(join(dirname(buildDir), 'kernel'))) return basename(dirname(buildDir));
  const file = join(buildDir, 'include', 'config', 'kernel.release');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}
