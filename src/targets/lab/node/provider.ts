/**
 * The lab's node provider, in the shape of kind's (kubernetes-sigs/kind
 * pkg/cluster/internal/providers/provider.go: Provision, ListNodes, DeleteNodes): it makes
 * QEMU nodes and says which roles they have; everything after goes through the API.
 *
 * Roles follow OpenShift's topologies:
 *   - one node = single-node OpenShift: the node carries the master, control-plane and
 *     worker role labels (what `oc get nodes` shows on SNO) and is in the master pool
 *     (MCO puts a node labelled master into the master pool only; worker has 0 machines);
 *   - N > 1 nodes = workers only, as with a hosted control plane (HyperShift): the
 *     control plane (API, controllers) runs off the nodes — here, on the host.
 */
import { createServer } from 'node:net';
import type { LabKernel } from '../kernels/catalog.js';
import { buildInitramfs } from '../os-image/initramfs.js';
import { LabNode } from './node.js';

export const ROLE_LABEL = 'node-role.kubernetes.io/';

export function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `lab-node-${i}`);
}

/** The node-role labels for a cluster of `count` nodes (see the header). */
export function roleLabels(count: number): Record<string, string> {
  const roles = count === 1 ? ['master', 'control-plane', 'worker'] : ['worker'];
  return Object.fromEntries(roles.map((r) => [`${ROLE_LABEL}${r}`, '']));
}

export interface ProvisionOptions {
  count: number;
  kernel: LabKernel;
  memoryMB: number;
  /** Appended to every node's kernel command line, on every boot. */
  cmdline?: string;
  /** Where each node's console log goes. */
  runDir: string;
  bootTimeoutMs: number;
  log?: (line: string) => void;
  /** A host directory per node, shared into it at /mnt/share (9p): where the kubelet unpacks pulled images. */
  shareDir?: (node: string) => string;
  /**
   * Boot through UEFI firmware with Secure Boot (`lab up --secure-boot`), with these
   * certificates enrolled as Machine Owner Keys (node/uefi.ts). The node keeps its firmware
   * and variable store, hence the keys, across every reboot (LabNode.reboot).
   */
  uefi?: { mokCerts: readonly string[] };
  /** Boot this OS image (its kernel, initramfs and root disk: images/boot-os-image.ts) instead of `kernel` with the plain lab initramfs. */
  os?: { kernel: LabKernel; initramfs: string; disk: string };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (QEMU binds it for a node's forward). */
export async function freeLocalPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * Boots `count` nodes in parallel from one initramfs; if one fails, the others are stopped.
 * Each node gets a host port on 127.0.0.1 forwarded to its canary port (LabNode.canaryPort),
 * kept across its reboots: the lab API server's pod proxy reaches the node's canary there.
 */
export async function provisionNodes(o: ProvisionOptions): Promise<LabNode[]> {
  const kernel = o.os?.kernel ?? o.kernel;
  const image = o.os?.initramfs ?? (await buildInitramfs({ kernel }));
  const ports = new Map<string, number>();
  for (const name of nodeNames(o.count)) ports.set(name, await freeLocalPort());
  const started = nodeNames(o.count).map((name) => {
    o.log?.(`node ${name}: booting ${kernel.kver}${o.os ? ' from its OS image' : ''}`);
    return LabNode.start(kernel, image, { name, runDir: o.runDir, memoryMB: o.memoryMB, bootTimeoutMs: o.bootTimeoutMs, shareDir: o.shareDir?.(name), cmdline: o.cmdline, canaryPort: ports.get(name), ...(o.os ? { disk: o.os.disk } : {}), ...(o.uefi ? { uefi: { mokCerts: o.uefi.mokCerts } } : {}) });
  });
  const settled = await Promise.allSettled(started);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const nodes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failed) {
    await deleteNodes(nodes);
    throw failed.reason;
  }
  for (const { name, mok } of nodes) {
    if (o.uefi) o.log?.(`node ${name}: UEFI Secure Boot${mok ? `, ${o.uefi.mokCerts.length} MOK certificate(s) enrolled (${mok.cached ? 'cached variable store' : `in ${mok.enrollMs} ms`}; .machine keyring: ${mok.machineKeys} keys, .platform: ${mok.platformKeys})` : ', no MOK enrolled'}`);
  }
  return nodes;
}

export async function deleteNodes(nodes: LabNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()));
}
