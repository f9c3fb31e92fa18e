/**
 * What the driver modules in a built image need from their kernel, read where the image
 * was built (the lab's build host): the image's root filesystem is mounted (`buildah
 * mount`), its kernel modules found where the rendered Containerfiles put them (/opt for
 * DTK and KMM images, /usr/lib/modules for a layered OS image), the kernel they were built
 * for read from their vermagic, and their `modinfo -F depends` classified against that lab
 * kernel's module tree (module-dependencies.ts) — the figure a cluster cannot tell, which
 * the evaluation report shows in its dependency table.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { outOfTreeModuleDependencies, type ModuleDependency } from '../driver-builds/module-dependencies.js';
import { requireTool } from '../host/tools.js';
import { listKernels, type LabKernel } from '../kernels/catalog.js';
import { modinfoDepends } from '../os-image/initramfs.js';
import { moduleNameOf, readModuleTree } from '../os-image/kernel-modules.js';
import type { Buildah } from './buildah.js';

/** Where the rendered images keep modules (symlinks, e.g. KMM's link to the node's tree, are not followed). */
const MODULE_DIRS = ['opt', 'usr/lib/modules', 'lib/modules'];

function moduleFiles(dir: string, out: string[]): void {
  if (!existsSync(dir) || !lstatSync(dir).isDirectory()) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) moduleFiles(p, out);
    else if (e.isFile() && /\.ko(\.(xz|zst|gz))?$/.test(e.name)) out.push(p);
  }
}

/** The kernel release a module was built for (the first word of its vermagic). */
function vermagicKernel(file: string): string | undefined {
  try {
    return execFileSync(requireTool('modinfo'), ['-F', 'vermagic', file], { encoding: 'utf8' }).trim().split(/\s+/)[0] || undefined;
  } catch {
    return undefined;
  }
}

/** Dependencies of the driver modules in a root filesystem; undefined when it holds none or their kernel is not a lab kernel. */
export function rootfsModuleDependencies(root: string): ModuleDependency[] | undefined {
  const files: string[] = [];
  for (const d of MODULE_DIRS) moduleFiles(join(root, d), files);
  if (!files.length) return undefined;
  // The kernel is the one the modules name; the driver's modules are those its tree does not ship.
  const kernels = new Map(listKernels().map((k) => [k.kver, k]));
  let kernel: LabKernel | undefined;
  for (const f of files) if ((kernel = kernels.get(vermagicKernel(f) ?? ''))) break;
  if (!kernel) return undefined;
  const tree = readModuleTree(kernel.modulesDir, modinfoDepends);
  if (files.every((f) => tree.files.has(moduleNameOf(f)))) return undefined;
  return outOfTreeModuleDependencies(files, tree);
}

/** Dependencies of the driver modules in the local image `image` (mounted read-only for the look). */
export async function imageModuleDependencies(buildah: Buildah, image: string): Promise<ModuleDependency[] | undefined> {
  const ctr = (await buildah.run(['from', '--pull-never', image])).stdout.toString('utf8').trim().split('\n').pop()!;
  try {
    const root = (await buildah.run(['mount', ctr])).stdout.toString('utf8').trim();
    return rootfsModuleDependencies(root);
  } finally {
    await buildah.run(['rm', ctr], { allowFailure: true });
  }
}
