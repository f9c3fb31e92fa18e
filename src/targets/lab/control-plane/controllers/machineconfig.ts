/**
 * MachineConfig `osImageURL` → the MCO's layering rollout. The lab first does what the
 * layering README's build step does (build the Containerfile on the release's base
 * image, push, pin the digest into osImageURL), then updates the pool node by node
 * (`maxUnavailable`): cordon, drain, reboot into the layered image, uncordon. Deleting
 * the MachineConfig reverts the pool to the stock image — another reboot per node.
 */
import { join } from 'node:path';
import type { K8sObject } from '../../../../artifacts/artifact-set.js';
import { buildInitramfs } from '../../os-image/initramfs.js';
import { buildLayeredImage, type LayeredImage } from '../../os-image/layered-image.js';
import type { ClusterNode } from '../cluster-types.js';
import type { LabCluster } from '../lab-cluster.js';
import { repositoryOf } from '../image-registry.js';

const ROLE_LABEL = 'machineconfiguration.openshift.io/role';

/** Layered images by the osImageURL they were pushed as. */
const layered = new WeakMap<LabCluster, Map<string, LayeredImage>>();

function images(c: LabCluster): Map<string, LayeredImage> {
  let m = layered.get(c);
  if (!m) layered.set(c, (m = new Map()));
  return m;
}

/** Images build.sh built before the install (Day 1): osImageURL as written → its digest-pinned ref. */
const prebuilt = new WeakMap<LabCluster, Map<string, string>>();

/** build.sh in the lab: build the layered image for the release and push it; returns the digest-pinned ref. */
async function buildLayered(c: LabCluster, mc: K8sObject, url: string): Promise<string | undefined> {
  const kernel = c.release.kernel;
  c.emit('progress', { step: `MachineConfig/${mc.metadata.name}: building the layered OS image on ${kernel.kver} (build.sh)` });
  const built = await c.build(kernel.kver, `layering build.sh (${mc.metadata.name})`, repositoryOf(url));
  if (!built) return undefined;
  const base = await buildInitramfs({ kernel });
  const image = await buildLayeredImage({ baseInitramfs: base.path, build: built.record, driver: c.driver.spec, outDir: join(c.runDir, 'os-images') });
  const pinned = `${repositoryOf(url)}@${image.digest}`;
  images(c).set(pinned, image);
  return pinned;
}

/** build.sh pins the digest into osImageURL. */
function pin(c: LabCluster, mc: K8sObject, pinned: string): void {
  (mc.spec as { osImageURL: string }).osImageURL = pinned;
  c.store.put(mc);
  c.emit('progress', { step: `MachineConfig/${mc.metadata.name}: osImageURL pinned to ${pinned}` });
}

/**
 * Day 1: the layering README runs build.sh before the install, so the lab builds the
 * image before the nodes' first boot; the rollout then finds it built.
 */
export async function prebuildLayeredImage(c: LabCluster, mc: K8sObject): Promise<void> {
  const url = (mc.spec as { osImageURL?: string } | undefined)?.osImageURL;
  if (!url || images(c).has(url)) return;
  const pinned = await buildLayered(c, mc, url);
  if (!pinned) return;
  let m = prebuilt.get(c);
  if (!m) prebuilt.set(c, (m = new Map()));
  m.set(url, pinned);
}

export async function reconcileMachineConfigs(c: LabCluster): Promise<void> {
  for (const mc of c.store.list('MachineConfig')) {
    let url = (mc.spec as { osImageURL?: string } | undefined)?.osImageURL;
    const pool = mc.metadata.labels?.[ROLE_LABEL];
    if (!url || !pool) continue;
    if (!images(c).has(url)) {
      const pinned = prebuilt.get(c)?.get(url) ?? (await buildLayered(c, mc, url));
      if (!pinned) continue;
      pin(c, mc, pinned);
      url = pinned;
    }
    const image = images(c).get(url)!;
    const targets = c.nodes.filter((n) => n.pool === pool && !(n.os.kind === 'layered' && n.os.ref === url));
    await rollOut(c, targets, async (n) => {
      n.os = { kind: 'layered', ref: url!, image };
      // The layered image carries its base's kernel: the node boots that kernel.
      const kernel = n.lab.kernel.kver === image.kver ? undefined : c.release.kernel;
      await c.rebootNode(n, { kernel, initramfs: image.path });
    });
  }
}

/** maxUnavailable of the pool: an applied MachineConfigPool's, else the lab's option, else 1 (OpenShift's default). */
export function poolMaxUnavailable(c: LabCluster, pool: string | undefined, nodeCount: number): number {
  const mcp = pool ? c.store.get('MachineConfigPool', pool) : undefined;
  const v = (mcp?.spec as { maxUnavailable?: number | string } | undefined)?.maxUnavailable;
  if (typeof v === 'number') return Math.max(1, v);
  if (typeof v === 'string' && /^\d+%$/.test(v)) return Math.max(1, Math.floor((nodeCount * Number(v.slice(0, -1))) / 100));
  return Math.max(1, c.opts.maxUnavailable ?? 1);
}

export async function rollOut(c: LabCluster, nodes: ClusterNode[], update: (n: ClusterNode) => Promise<void>): Promise<void> {
  const pool = nodes[0]?.pool;
  const max = poolMaxUnavailable(c, pool, c.nodes.filter((n) => n.pool === pool).length);
  for (let i = 0; i < nodes.length; i += max) {
    await Promise.all(
      nodes.slice(i, i + max).map(async (n) => {
        await c.drain(n);
        await update(n);
        await c.uncordon(n);
      }),
    );
  }
}

/** The MachineConfig was deleted: its pool goes back to the stock OS image. */
export async function rollBackMachineConfig(c: LabCluster, mc: K8sObject): Promise<void> {
  const url = (mc.spec as { osImageURL?: string } | undefined)?.osImageURL;
  const nodes = c.nodes.filter((n) => n.os.kind === 'layered' && n.os.ref === url);
  await rollOut(c, nodes, async (n) => {
    n.os = { kind: 'stock' };
    await c.rebootNode(n, { kernel: n.lab.kernel });
  });
}
