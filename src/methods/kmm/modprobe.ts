/**
 * How the driver's modules map onto KMM's `modprobe` section.
 *
 * KMM loads with one `modprobe -v -d <dirName> <moduleName> <parameters…>` (worker.go).
 * `modulesLoadingOrder` becomes softdep lines `softdep <list[i]> pre: <list[i+1]>`
 * (workerpodmanager.go), so the list is "upmost module first, then what it depends on":
 * its LAST entry is loaded first, and the webhook demands that its first entry equals
 * `moduleName` and that it has at least two entries (webhook/module.go). Unloading runs
 * `modprobe -r -v -d <dirName> <list…>`, i.e. in list order.
 *
 * The driver spec lists modules in load order (first loaded first), so:
 *   moduleName          = the module loaded LAST,
 *   modulesLoadingOrder = the load order reversed (only with two or more modules).
 *
 * `parameters` are passed to `moduleName` only. modprobe.d options in the image are not
 * read either: the worker copies only `<dirName>/lib/modules/<kernel>` (and firmware)
 * out of the image and mounts its own /etc/modprobe.d. Parameters of the other modules
 * therefore cannot be given through KMM; `droppedParameters` lists them for the README.
 */
import { canonicalModuleName, moduleParameterWords, type DriverSpec } from '../../driver/spec.js';
import { loadOrder } from '../driver-build.js';
import { FIRMWARE_DIR, MODULES_DIR } from './names.js';

export interface KmmModprobe {
  moduleName: string;
  modulesLoadingOrder?: string[];
  parameters?: string[];
  dirName: string;
  firmwarePath?: string;
}

export interface DroppedParameters {
  module: string;
  words: string[];
}

export function kmmModprobe(driver: DriverSpec): KmmModprobe {
  const order = loadOrder(driver);
  const last = order[order.length - 1]!;
  const params = moduleParameterWords(driver, last);
  return {
    moduleName: last,
    ...(order.length > 1 ? { modulesLoadingOrder: [...order].reverse() } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    dirName: MODULES_DIR,
    ...(driver.firmware.length > 0 ? { firmwarePath: FIRMWARE_DIR } : {}),
  };
}

/** Parameters of modules other than `moduleName`: KMM has no field for them. */
export function droppedParameters(driver: DriverSpec): DroppedParameters[] {
  const last = kmmModprobe(driver).moduleName;
  return driver.modules
    .map((m) => canonicalModuleName(m.name))
    .filter((name) => name !== last)
    .map((name) => ({ module: name, words: moduleParameterWords(driver, name) }))
    .filter((d) => d.words.length > 0);
}

/** The load order KMM's softdeps produce: the reverse of `modulesLoadingOrder`, or just `moduleName`. */
export function kmmLoadOrder(spec: KmmModprobe): string[] {
  return spec.modulesLoadingOrder ? [...spec.modulesLoadingOrder].reverse() : [spec.moduleName];
}

/** The unload order of `modprobe -r … <modulesLoadingOrder…>`. */
export function kmmUnloadOrder(spec: KmmModprobe): string[] {
  return spec.modulesLoadingOrder ? [...spec.modulesLoadingOrder] : [spec.moduleName];
}
