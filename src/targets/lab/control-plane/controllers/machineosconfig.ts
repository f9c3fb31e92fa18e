/**
 * MachineOSConfig → MachineOSBuild → rollout: on-cluster layering as the MCO of
 * OpenShift 4.19 does it (machineconfiguration.openshift.io/v1; upstream
 * openshift/machine-config-operator docs/onclusterlayering-quickstart.md and
 * openshift/enhancements enhancements/machine-config/on-cluster-layering.md):
 *
 * - applying a MachineOSConfig makes the MCO create a MachineOSBuild for the pool's
 *   current rendered config and build the image in the cluster: the MachineOSConfig's
 *   Containerfile appended to the `configs` stage (the pool's base OS image — the
 *   release's — with its MachineConfigs); nobody builds or pushes anything by hand;
 * - a successful build is pushed by digest (`status.digestedImagePushSpec`) and rolled
 *   out to the pool like any OS update: cordon, drain, reboot, `maxUnavailable` at a
 *   time (single-node: the one node reboots);
 * - a MachineOSBuild belongs to one rendered config: when the release (base OS image)
 *   or the Containerfile changes, a new MachineOSBuild is made and the pool moves to its
 *   image — an upgrade rebuilds the image on the new release by itself;
 * - a failed build leaves the pool on the image it runs (the MachineOSBuild says
 *   Failed); it is not retried until something changes;
 * - deleting the MachineOSConfig reverts the pool to the release's own OS image.
 *
 * The lab's build is the Containerfile's: the builder stage's driver-toolkit must have
 * the build tree of the base image's kernel (the rendered Containerfile checks it and
 * stops with its own message otherwise), then the driver is compiled against that
 * kernel and laid into the base image as the `final` stage does.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { K8sObject } from '../../../../artifacts/artifact-set.js';
import { buildInitramfs } from '../../os-image/initramfs.js';
import { buildLayeredImage } from '../../os-image/layered-image.js';
import { listKernels, type LabKernel } from '../../kernels/catalog.js';
import { labRelease } from '../../release.js';
import type { LabCluster } from '../lab-cluster.js';
import { repositoryOf } from '../image-registry.js';
import { rollOut } from './machineconfig.js';

/** The cluster's own driver-toolkit ImageStream tag, which a release moves (openshift/driver-toolkit manifests). */
const CLUSTER_DTK = /\/openshift\/driver-toolkit:latest$/;

interface MachineOSConfigSpec {
  machineConfigPool?: { name?: string };
  containerFile?: { content?: string }[];
  renderedImagePushSpec?: string;
}

/** The image of the `FROM … AS builder` stage of a MachineOSConfig Containerfile. */
export function builderImage(content: string): string | undefined {
  return /^FROM\s+(\S+)\s+AS\s+builder\s*$/im.exec(content)?.[1];
}

/** `FROM … AS builder` pointed at another driver-toolkit image. */
export function withBuilderImage(content: string, image: string): string {
  return content.replace(/^(FROM\s+)\S+(\s+AS\s+builder\s*)$/im, `$1${image}$2`);
}

/**
 * The kernels whose build trees a driver-toolkit image carries in the lab: a release's
 * driver-toolkit has its kernel and that kernel's realtime flavour (kernel-rt-devel;
 * openshift/driver-toolkit README), so a kernel switch needs no other image.
 */
function dtkKernels(c: LabCluster, ref: string): string[] {
  const start = c.opts.release;
  const kernel: LabKernel | undefined = CLUSTER_DTK.test(ref) ? c.dtkKernel : listKernels().find((k) => labRelease(k).driverToolkitImage === ref);
  if (!kernel) return [];
  return kernel.kver === start.kernel.kver && start.realtime ? [kernel.kver, start.realtime.kver] : [kernel.kver];
}

function specOf(mosc: K8sObject): MachineOSConfigSpec {
  return (mosc.spec ?? {}) as MachineOSConfigSpec;
}

/** The MachineOSBuild of this config on the current release: named after what it is built from, as the MCO names it after the rendered config. */
function buildName(c: LabCluster, mosc: K8sObject): string {
  const content = specOf(mosc).containerFile?.map((f) => f.content ?? '').join('\n') ?? '';
  const h = createHash('sha256').update(content).update(c.release.kernel.kver).digest('hex'); // the lab's base OS image is its release kernel's
  return `${mosc.metadata.name}-${h.slice(0, 32)}`;
}

export async function reconcileMachineOSConfigs(c: LabCluster): Promise<void> {
  for (const mosc of c.store.list('MachineOSConfig')) {
    const spec = specOf(mosc);
    const pool = spec.machineConfigPool?.name;
    const pushSpec = spec.renderedImagePushSpec;
    if (!pool || !pushSpec) continue;
    const name = buildName(c, mosc);
    let mosb = c.store.get('MachineOSBuild', name);
    if (!mosb) {
      mosb = await runBuild(c, mosc, name, pool, pushSpec);
      c.store.put(mosb);
    }
    const digested = (mosb.status as { digestedImagePushSpec?: string } | undefined)?.digestedImagePushSpec;
    const image = digested ? built.get(c)?.get(digested) : undefined;
    if (!digested || !image) continue; // failed: the pool stays on the image it runs
    const targets = c.nodes.filter((n) => n.pool === pool && !(n.os.kind === 'layered' && n.os.ref === digested));
    await rollOut(c, targets, async (n) => {
      n.os = { kind: 'layered', ref: digested, image, managedBy: `MachineOSConfig/${mosc.metadata.name}` };
      // The image carries its base's kernel: the node boots the release's kernel with the driver layer.
      await c.rebootNode(n, { kernel: n.lab.kernel.kver === image.kver ? undefined : c.release.kernel, initramfs: image.path });
    });
  }
}

/** Layered images by their digested pull spec. */
const built = new WeakMap<LabCluster, Map<string, Awaited<ReturnType<typeof buildLayeredImage>>>>();

async function runBuild(c: LabCluster, mosc: K8sObject, name: string, pool: string, pushSpec: string): Promise<K8sObject> {
  const base = c.release.kernel;
  const by = `MachineOSBuild/${name}`;
  const mosb: K8sObject = {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineOSBuild',
    metadata: {
      name,
      labels: { 'machineconfiguration.openshift.io/machine-os-config': mosc.metadata.name, 'machineconfiguration.openshift.io/target-machine-config-pool': pool },
    },
    spec: { machineOSConfig: { name: mosc.metadata.name }, renderedImagePushSpec: pushSpec },
  };
  c.emit('progress', { step: `${by}: the MCO builds pool ${pool}'s OS image in the cluster on ${base.kver} (MachineOSConfig/${mosc.metadata.name})` });
  const content = specOf(mosc).containerFile?.map((f) => f.content ?? '').join('\n') ?? '';
  const dtk = builderImage(content);
  const trees = dtk ? dtkKernels(c, dtk) : [base.kver];
  if (!trees.includes(base.kver)) {
    // The rendered Containerfile's own check (stage `builder`) stops the build.
    const error = trees.length
      ? `kmodlab: this driver-toolkit image has no build tree for ${base.kver}, the kernel of the base OS image; it has: ${trees.join(' ')}.`
      : `${dtk}: image not found (the builder stage's driver-toolkit)`;
    c.emit('build', { kver: base.kver, ok: false, cached: false, error, by, image: pushSpec });
    c.emit('fault', { fault: 'build-failed', message: `${by}: ${error}` });
    mosb.status = { conditions: [{ type: 'Failed', status: 'True', reason: 'Failed', message: error }] };
    return mosb;
  }
  const result = await c.build(base.kver, by, repositoryOf(pushSpec));
  if (!result) {
    mosb.status = { conditions: [{ type: 'Failed', status: 'True', reason: 'Failed', message: 'build failed (see the build log)' }] };
    return mosb;
  }
  const configs = await buildInitramfs({ kernel: base });
  const image = await buildLayeredImage({ baseInitramfs: configs.path, build: result.record, driver: c.driver.spec, outDir: join(c.runDir, 'os-images') });
  const digested = `${repositoryOf(pushSpec)}@${image.digest}`;
  let m = built.get(c);
  if (!m) built.set(c, (m = new Map()));
  m.set(digested, image);
  mosb.status = { digestedImagePushSpec: digested, conditions: [{ type: 'Succeeded', status: 'True', reason: 'Ready', message: 'Build Ready' }] };
  mosc.status = { currentImagePullSpec: digested };
  c.emit('progress', { step: `${by}: built and pushed ${digested}` });
  return mosb;
}

/** The MachineOSConfig was deleted: its pool goes back to the release's OS image (a reboot per node). */
export async function rollBackMachineOSConfig(c: LabCluster, mosc: K8sObject): Promise<void> {
  const by = `MachineOSConfig/${mosc.metadata.name}`;
  for (const b of c.store.list('MachineOSBuild').filter((x) => x.metadata.labels?.['machineconfiguration.openshift.io/machine-os-config'] === mosc.metadata.name)) c.store.remove(b);
  const nodes = c.nodes.filter((n) => n.os.kind === 'layered' && n.os.managedBy === by);
  await rollOut(c, nodes, async (n) => {
    n.os = { kind: 'stock' };
    await c.rebootNode(n, { kernel: c.release.kernel });
  });
}

/** Pools whose OS image a MachineOSConfig manages (the MCO builds their image; nobody pins it). */
export function layeredPools(c: LabCluster): Set<string> {
  return new Set(c.store.list('MachineOSConfig').flatMap((m) => specOf(m).machineConfigPool?.name ?? []));
}
