/**
 * The lab's first step, before anything else of the lab process is loaded: its machines
 * start booting. A TCG boot is the longest part of `lab up` (2.5–3.5 s on a 2-core host),
 * and loading the rest of the lab process (the Kubernetes client above all) took 0.8 s
 * before it; this module imports only what a boot needs (the registry the OS image comes
 * from, the base OS lookup, the QEMU provider), so main.ts starts the boot first and loads
 * the API server's and controllers' side while the machines boot (supervisor.ts).
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { LabKernel } from '../kernels/catalog.js';
import type { LabNode } from '../node/node.js';
import { isLoopback, openRegistry, type LabRegistry } from '../images/registry.js';
import { nodeNames, provisionNodes } from '../node/provider.js';
import { baseOsBoot } from './base-os-boot.js';
import { labFiles } from './state.js';

/** Plain HTTP for loopback registries (kmodlab's own) or when the user says so, as registry.ts decides. */
export function insecureRegistry(ref: string): boolean {
  return isLoopback(ref.split('/')[0]!) || process.env.KMODLAB_REGISTRY_INSECURE === '1';
}

/** What the machines of a lab are (the rest of a lab's spec is supervisor.ts's LabSpec). */
export interface MachineSpec {
  nodes: number;
  kernel?: LabKernel;
  memoryMB: number;
  bootTimeoutMs: number;
  /** Extra kernel command line of every node boot (`--kernel-arg`, joined). */
  cmdline?: string;
  /** `--secure-boot`: UEFI firmware with Secure Boot; `mokCerts` (`--mok-cert`) enrolled as Machine Owner Keys. */
  uefi?: { mokCerts: readonly string[] };
  log: (line: string) => void;
}

export interface BootingMachines {
  /** The registry the nodes pull from and boot their OS image from; open while the lab runs. */
  registry?: LabRegistry;
  /** The nodes, once booted; undefined without nodes. */
  booting?: Promise<LabNode[]>;
}

/** Where a node's 9p share (its image store) lives. */
export const shareDir = (name: string) => path.join(labFiles().runDir, `${name}.share`);
/** The nodes' local storage that the machine-config daemon's units write (mco/day1-loader.ts). */
export const nodeLocalDir = () => path.join(labFiles().runDir, 'node-local');

/**
 * Opens the registry and starts the machines' boot; the nodes join (register as Nodes)
 * later, once the API is up (supervisor.ts). A boot failure surfaces where `booting` is awaited.
 */
export async function startMachines(spec: MachineSpec): Promise<BootingMachines> {
  if (spec.nodes <= 0) return {};
  const files = labFiles();
  mkdirSync(files.runDir, { recursive: true });
  // A new node starts with an empty image store, as a freshly provisioned machine does.
  for (const n of nodeNames(spec.nodes)) {
    rmSync(shareDir(n), { recursive: true, force: true });
    mkdirSync(shareDir(n), { recursive: true });
  }
  // Nor does it hold anything a Day-1 loader saved on a node of an earlier lab.
  rmSync(nodeLocalDir(), { recursive: true, force: true });
  // The registry the nodes pull from (and boot their OS image from) stays open while the
  // lab runs (kmodlab's own one is started here when no other kmodlab process runs it; a
  // named one is only used).
  const registry = await openRegistry().catch((e: Error) => {
    spec.log(`no image registry: pods cannot pull images (${e.message.split('\n')[0]})`);
    return undefined;
  });
  if (registry) spec.log(`image registry ${registry.prefix}`);
  const booting = baseOsBoot(spec.kernel!, registry, insecureRegistry, spec.log).then((os) =>
    provisionNodes({ count: spec.nodes, kernel: spec.kernel!, memoryMB: spec.memoryMB, runDir: files.runDir, bootTimeoutMs: spec.bootTimeoutMs, log: spec.log, shareDir, cmdline: spec.cmdline, uefi: spec.uefi, ...(os ? { os } : {}) }),
  );
  // Awaited by the supervisor; until then a failure is not an unhandled rejection.
  booting.catch(() => undefined);
  return { ...(registry ? { registry } : {}), booting };
}
