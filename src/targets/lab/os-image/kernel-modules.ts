/**
 * Pick the kernel's OWN modules the node needs (virtio transport, console, 9p)
 * with their dependencies, in load order, from the kernel's module tree. Modules
 * that are built in (modules.builtin) are skipped: 6.12 builds virtio in, 6.1 does not.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../../../errors.js';

/** Modules the node loads at boot, in order (lab-notes: 6.1 needs all of them as modules). */
export const NODE_BASE_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_mmio',
  'virtio_console',
  'netfs',
  'fscache',
  '9pnet',
  '9pnet_virtio',
  '9p',
  // The guest's network (QEMU user networking with a host port forward: LabNodeOptions.canaryPort).
  'virtio_net',
] as const;

/**
 * Loaded only on a UEFI node (q35 + OVMF, node/uefi.ts): its virtio devices sit on PCI,
 * and efivarfs is how the lab writes MokListRT. Built in on 6.12 (virtio_pci), modules on 6.1.
 */
export const NODE_EFI_MODULES = ['virtio_pci', 'efivarfs'] as const;

/** Wanted only where they exist as modules of their own. */
const OPTIONAL_BASE_MODULES: ReadonlySet<string> = new Set(['fscache']);

/** kbuild spells module names with '_' while files may use '-'. */
export function moduleNameOf(file: string): string {
  const base = file.split('/').pop() ?? file;
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

export interface ModuleTree {
  /** name → path relative to modulesDir (e.g. kernel/drivers/virtio/virtio.ko.xz) */
  files: Map<string, string>;
  /** name → names it depends on */
  deps: Map<string, string[]>;
  builtin: Set<string>;
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name)) out.push(p);
  }
}

/** Read modules.dep (fast path) or fall back to scanning the tree (user kernels without depmod output). */
export function readModuleTree(modulesDir: string, modinfoDeps?: (file: string) => string[]): ModuleTree {
  const files = new Map<string, string>();
  const deps = new Map<string, string[]>();
  const builtin = new Set<string>();
  const builtinFile = join(modulesDir, 'modules.builtin');
  if (existsSync(builtinFile)) {
    for (const l of readFileSync(builtinFile, 'utf8').split('\n')) if (l.trim()) builtin.add(moduleNameOf(l.trim()));
  }
  const depFile = join(modulesDir, 'modules.dep');
  if (existsSync(depFile)) {
    for (const line of readFileSync(depFile, 'utf8').split('\n')) {
      const [file, rest] = line.split(':');
      if (!file || rest === undefined) continue;
      const name = moduleNameOf(file);
      files.set(name, file);
      deps.set(name, rest.trim() ? rest.trim().split(/\s+/).map(moduleNameOf) : []);
    }
  } else {
    const all: string[] = [];
    walk(modulesDir, all);
    for (const p of all) files.set(moduleNameOf(p), relative(modulesDir, p));
    for (const [name, rel] of files) deps.set(name, modinfoDeps ? modinfoDeps(join(modulesDir, rel)) : []);
  }
  return { files, deps, builtin };
}

/**
 * The wanted modules plus dependencies, dependencies first. Returns the loadable
 * ones (files) and the names found built in.
 */
export function resolveModules(
  tree: ModuleTree,
  wanted: readonly string[],
  kver: string,
): { load: { name: string; file: string }[]; builtin: string[] } {
  const order: { name: string; file: string }[] = [];
  const builtin: string[] = [];
  const seen = new Set<string>();
  const visit = (raw: string, requiredBy?: string): void => {
    const name = raw.replace(/-/g, '_');
    if (seen.has(name)) return;
    seen.add(name);
    const file = tree.files.get(name);
    if (!file) {
      if (tree.builtin.has(name)) {
        builtin.push(name);
        return;
      }
      // Merged into another module in newer kernels (6.12: fscache is part of netfs).
      if (!requiredBy && OPTIONAL_BASE_MODULES.has(name)) return;
      throw new UserError(
        `kernel ${kver} has no module ${name}${requiredBy ? ` (needed by ${requiredBy})` : ''}, and it is not built in`,
        'the lab node needs virtio-mmio, virtio-console and 9p support (as modules or built in)',
      );
    }
    for (const d of tree.deps.get(name) ?? []) visit(d, name);
    order.push({ name, file });
  };
  for (const w of wanted) visit(w);
  return { load: order, builtin };
}
