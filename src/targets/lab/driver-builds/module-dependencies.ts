/**
 * What a built module needs from the kernel, as a node's modprobe would see it:
 * `modinfo -F depends` names the modules whose symbols it uses; each is resolved
 * against the driver's own modules, then the kernel's module tree (modules.dep) and
 * its built-in list (modules.builtin). A name found nowhere is `missing`: the load
 * will fail with the kernel's "Unknown symbol" message.
 *
 * One classification for every place kmodlab has a built module: `kmodlab check` rows
 * and the lab's builds (the lab's Build controller reads them from the image it built;
 * the evaluation report's dependency table).
 */
import { z } from 'zod';
import { canonicalModuleName } from '../../../driver/spec.js';
import { modinfoDepends } from '../os-image/initramfs.js';
import { moduleNameOf, type ModuleTree } from '../os-image/kernel-modules.js';

/** How a dependency `modinfo -F depends` names was resolved on this kernel. */
export const DependencySchema = z.strictObject({
  name: z.string(),
  /** `driver`: another module of this driver; `in-tree`: a module of the kernel's own tree; `built-in`: compiled into the kernel; `missing`: none of these. */
  kind: z.enum(['driver', 'in-tree', 'built-in', 'missing']),
  /** For in-tree modules: the file, relative to /lib/modules/<kver>. */
  file: z.string().optional(),
});
export type Dependency = z.infer<typeof DependencySchema>;

/** A dependency of one built module (`module` needs `name`). */
export const ModuleDependencySchema = DependencySchema.extend({ module: z.string() });
export type ModuleDependency = z.infer<typeof ModuleDependencySchema>;

/**
 * The lab's annotation on a Build it ran: the JSON list (ModuleDependency[]) of what the
 * built image's driver modules need. Read by the cluster target's build events; a cluster's
 * builds do not carry it.
 */
export const MODULE_DEPENDENCIES = 'kmodlab.io/module-dependencies';

/** Parses `modinfo -F depends` output (`crc7,mii` or empty). */
export function parseDepends(out: string): string[] {
  return out
    .trim()
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(canonicalModuleName);
}

export function classifyDependencies(depends: readonly string[], driverModules: readonly string[], tree: ModuleTree): Dependency[] {
  const own = new Set(driverModules.map(canonicalModuleName));
  return depends.map((raw) => {
    const name = canonicalModuleName(raw);
    if (own.has(name)) return { name, kind: 'driver' };
    const file = tree.files.get(name);
    if (file) return { name, kind: 'in-tree', file };
    if (tree.builtin.has(name)) return { name, kind: 'built-in' };
    return { name, kind: 'missing' };
  });
}

/** Every dependency of the built modules (`modinfo -F depends` of each file), classified. */
export function builtModuleDependencies(modules: readonly { name: string; path: string }[], driverModules: readonly string[], tree: ModuleTree): ModuleDependency[] {
  return modules.flatMap((m) => classifyDependencies(parseDepends(modinfoDepends(m.path).join(',')), driverModules, tree).map((d) => ({ module: m.name, ...d })));
}

/**
 * The dependencies of the modules among `files` that the kernel's own tree does not ship —
 * the driver's modules, wherever an image put them next to in-tree ones (a driver-toolkit
 * build may index the kernel's modules beside the driver's, a layered OS image holds the
 * whole tree) — classified against that tree.
 */
export function outOfTreeModuleDependencies(files: readonly string[], tree: ModuleTree): ModuleDependency[] {
  // One module per name: an image may hold a module twice (where it was built and where it is installed).
  const own = new Map<string, string>();
  for (const f of files) if (!tree.files.has(moduleNameOf(f)) && !own.has(moduleNameOf(f))) own.set(moduleNameOf(f), f);
  return builtModuleDependencies([...own].map(([name, path]) => ({ name, path })), [...own.keys()], tree);
}
