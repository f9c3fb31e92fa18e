/**
 * What a built module needs from the kernel, as a node's modprobe would see it:
 * `modinfo -F depends` names the modules whose symbols it uses; each is resolved
 * against the driver's own modules, then the kernel's module tree (modules.dep) and
 * its built-in list (modules.builtin). A name found nowhere is `missing`: the load
 * will fail with the kernel's "Unknown symbol" message.
 */
import { canonicalModuleName } from '../driver/spec.js';
import type { ModuleTree } from '../targets/lab/os-image/kernel-modules.js';
import type { Dependency } from './report.js';

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
