/**
 * The module tree a check's node loads from, laid out as on a real node: the driver's
 * modules under /lib/modules/<kver>/extra, the in-tree modules they depend on at their
 * own paths in the kernel's tree, and a modules.dep made by depmod on the host (it only
 * writes index files). The node runs `modprobe -d <root>`, so dependencies resolve as
 * `modprobe` resolves them on a node with the full module tree.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BuildRecord } from '../targets/lab/driver-builds/driver-build.js';
import type { LabKernel } from '../targets/lab/kernels/catalog.js';
import { run } from '../targets/lab/host/run.js';
import { requireTool } from '../targets/lab/host/tools.js';
import { resolveModules, type ModuleTree } from '../targets/lab/os-image/kernel-modules.js';
import { moduleContent } from '../targets/lab/os-image/initramfs.js';

export interface ModuleRoot {
  /** Host directory of the root. */
  dir: string;
  /** In-tree modules placed in the root (dependency order). */
  inTree: string[];
}

export async function layModuleRoot(dir: string, kernel: LabKernel, build: BuildRecord, tree: ModuleTree, inTreeNeeded: readonly string[]): Promise<ModuleRoot> {
  const modRoot = join(dir, 'lib', 'modules', kernel.kver);
  const extra = join(modRoot, 'extra');
  mkdirSync(extra, { recursive: true });
  for (const m of build.modules) copyFileSync(m.path, join(extra, basename(m.path)));
  // In-tree dependencies and theirs, decompressed so the node's kmod needs no xz/zstd.
  const { load } = resolveModules(tree, inTreeNeeded, kernel.kver);
  for (const m of load) {
    const dest = join(modRoot, m.file.replace(/\.(xz|zst|gz)$/, ''));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, await moduleContent(join(kernel.modulesDir, m.file)));
  }
  for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
    const src = join(kernel.modulesDir, f);
    if (existsSync(src)) copyFileSync(src, join(modRoot, f));
  }
  await run(requireTool('depmod'), ['-b', dir, kernel.kver]);
  return { dir, inTree: load.map((m) => m.name) };
}
