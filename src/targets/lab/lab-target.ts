/**
 * The lab as a Target: every scenario gets fresh QEMU nodes on the scenario's starting
 * release (a clean node state), the emulated control plane realizes the rendered
 * manifests, and everything observed is emitted as events. Steps a person runs from a
 * method's README (off-cluster image builds for Day 1, build.sh for layering) are run
 * by the lab too, and recorded as such.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { allObjects, type ArtifactSet, type K8sObject } from '../../artifacts/artifact-set.js';
import type { LoadedDriver } from '../../driver/load.js';
import { UserError } from '../../errors.js';
import type { Release } from '../../release/release.js';
import type { Target, TargetEmit, TargetReleases, WaitResult } from '../target.js';
import { LabCluster } from './control-plane/lab-cluster.js';
import { loaderImage, parseLoader } from './control-plane/controllers/day1-loader.js';
import { prebuildLayeredImage } from './control-plane/controllers/machineconfig.js';
import { builderImage, withBuilderImage } from './control-plane/controllers/machineosconfig.js';
import { manualStepsOf } from '../../artifacts/manual-steps.js';
import { findKernel, type LabKernel } from './kernels/catalog.js';
import { labRelease } from './release.js';
import { ActivityCounter, nothingLeftToRun, SettleWatch } from './control-plane/settled.js';

export const LAB_LABEL = 'lab (QEMU TCG)';

export interface LabTargetOptions {
  runDir: string;
  driver: LoadedDriver;
  emit: TargetEmit;
  nodes?: number;
  /** Kernels: the starting release, a z-stream upgrade target, a realtime kernel. */
  kernels: { from: LabKernel; upgradeTo?: LabKernel; realtime?: LabKernel };
  memoryMB?: number;
  cmdline?: string;
  buildStore?: string;
}

export class LabTarget implements Target {
  readonly kind = 'lab' as const;
  readonly label = LAB_LABEL;
  /**
   * The lab's MachineOSConfig controller follows the MCO of OpenShift 4.19, where
   * on-cluster layering is GA with machineconfiguration.openshift.io/v1 and supports
   * single-node clusters (control-plane/controllers/machineosconfig.ts).
   */
  readonly openshiftVersion = '4.19.0';
  private cluster: LabCluster | undefined;
  private generation = 0;
  /** What the control plane does, counted so a wait can tell when it has settled. */
  private readonly activity = new ActivityCounter();

  constructor(private readonly opts: LabTargetOptions) {}

  nodes(): string[] {
    const n = this.opts.nodes ?? 1;
    return n === 1 ? ['sno'] : Array.from({ length: n }, (_, i) => `worker-${i}`);
  }

  releases(): TargetReleases {
    const { from, upgradeTo, realtime } = this.opts.kernels;
    return { from: labRelease(from), upgradeTo: upgradeTo && labRelease(upgradeTo), realtime: realtime && labRelease(realtime) };
  }

  /** Pool the rendered artifacts must target: single-node → master, as on SNO. */
  pool(): 'master' | 'worker' {
    return (this.opts.nodes ?? 1) === 1 ? 'master' : 'worker';
  }

  private kernelOf(release: Release): LabKernel {
    if (!release.kernelVersion) throw new UserError('lab release without a kernel version');
    return findKernel(release.kernelVersion);
  }

  private live(): LabCluster {
    if (!this.cluster) throw new Error('lab target: reset() first');
    return this.cluster;
  }

  async reset(opts: { release: Release; day1?: ArtifactSet }): Promise<void> {
    await this.cluster?.shutdown();
    this.cluster = undefined;
    const runDir = join(this.opts.runDir, 'lab', `cluster-${String(++this.generation).padStart(2, '0')}`);
    mkdirSync(runDir, { recursive: true });
    const kernel = this.kernelOf(opts.release);
    this.cluster = await LabCluster.create({
      runDir,
      release: { kernel, realtime: this.opts.kernels.realtime },
      nodes: this.opts.nodes,
      driver: this.opts.driver,
      emit: this.activity.wrap(this.opts.emit),
      memoryMB: this.opts.memoryMB,
      cmdline: this.opts.cmdline,
      // One store per run unless shared: every report then measures real builds.
      buildStore: this.opts.buildStore ?? join(this.opts.runDir, 'build-store'),
      buildPartition: opts.day1 && buildPartition(opts.day1),
      // Day 1: images are built before the install, so the first boot starts the clock after them.
      beforeBoot: opts.day1 ? (c) => prebuildDay1Images(c, opts.day1!) : undefined,
    });
    if (opts.day1) {
      this.recordManualSteps(opts.day1, 'day1');
      // Installer manifests are there from the start: the controllers act on the first boot.
      this.opts.emit('apply', { objects: allObjects(opts.day1, 'day1').map(ref), phase: 'day1' });
      await this.cluster.apply(allObjects(opts.day1, 'day1'));
    }
  }

  async apply(set: ArtifactSet): Promise<void> {
    const objects = allObjects(set, 'day2');
    this.opts.emit('apply', { objects: objects.map(ref), phase: 'day2' });
    this.recordManualSteps(set, 'day2');
    this.live().opts.buildPartition = buildPartition(set);
    await this.live().apply(objects);
  }

  /**
   * What the README tells a person to do, the lab does for them (build, push, pin,
   * start-build): recorded as manual steps all the same, so counts match a cluster's.
   */
  private recordManualSteps(set: ArtifactSet, phase: 'day1' | 'day2'): void {
    for (const s of manualStepsOf(set, phase, this.opts.driver.sourceDir)) this.opts.emit('manual-step', { ...s, performedBy: 'lab' });
  }

  async remove(set: ArtifactSet): Promise<void> {
    const objects = [...allObjects(set, 'day1'), ...allObjects(set, 'day2')];
    this.opts.emit('delete', { objects: objects.map(ref) });
    await this.live().delete(objects);
  }

  async changeRelease(to: Release, why: 'upgrade' | 'kernel-switch'): Promise<void> {
    if (why === 'upgrade') this.pointMachineOSConfigsAt(to);
    await this.live().changeRelease(this.kernelOf(to), why);
  }

  /**
   * The on-cluster layering README's upgrade step: its Containerfile pins the
   * driver-toolkit of the release it was rendered for, so "when you start an upgrade"
   * the person points the builder stage at the new release's driver-toolkit and applies
   * the MachineOSConfig again. The lab does it, and records it as the manual step it is;
   * the MCO then rebuilds on the new release with it.
   */
  private pointMachineOSConfigsAt(to: Release): void {
    const c = this.live();
    const dtk = to.driverToolkitImage;
    if (!dtk) return;
    for (const mosc of c.store.list('MachineOSConfig')) {
      const files = (mosc.spec as { containerFile?: { content?: string }[] } | undefined)?.containerFile ?? [];
      const current = files.map((f) => builderImage(f.content ?? '')).find(Boolean);
      if (!current || current === dtk) continue;
      for (const f of files) if (f.content) f.content = withBuilderImage(f.content, dtk);
      c.store.put(mosc);
      this.opts.emit('manual-step', {
        description: `upgrade: point MachineOSConfig ${mosc.metadata.name}'s builder stage at the new release's driver-toolkit and apply it`,
        command: `oc adm release info <new release> --image-for=driver-toolkit  # replace the FROM … AS builder image with it, then: oc apply -f <machineosconfig file>`,
        performedBy: 'lab',
      });
    }
  }

  async waitForModules(modules: string[], want: { loaded: boolean; timeoutMs: number }): Promise<WaitResult> {
    const c = this.live();
    const started = Date.now();
    const deadline = started + want.timeoutMs;
    const settle = new SettleWatch(this.activity);
    let settled = false;
    for (;;) {
      // One probe per node per round: observe() reads /sys/module and records it.
      await c.observe();
      const pending = c.nodes
        .filter((node) => node.lab.state !== 'ready' || !modules.every((m) => c.moduleLoaded(node.name, m) === want.loaded))
        .map((node) => node.name);
      if (pending.length === 0) return { ok: true, pending };
      // Checked after this round's observation: the module state is the one seen now.
      const why = settled ? nothingLeftToRun(c.nodes, pending) : undefined;
      if (why) return { ok: false, pending, settled: { reason: why, afterMs: Date.now() - started } };
      if (Date.now() >= deadline) return { ok: false, pending };
      await new Promise((r) => setTimeout(r, 1000));
      await c.reconcile(); // controllers retry (back-off restarts, KMM, builds)
      settled = settle.pass();
    }
  }

  async leftovers(): Promise<string[]> {
    const c = this.live();
    const left: string[] = [];
    for (const node of c.nodes) {
      for (const pod of node.pods.values()) left.push(`${node.name}: pod ${pod.name} (${pod.phase})`);
      if (node.os.kind === 'layered') left.push(`${node.name}: custom OS image ${node.os.ref}`);
      for (const label of Object.keys(node.labels).filter((l) => l.startsWith('kmm.node.kubernetes.io/'))) left.push(`${node.name}: node label ${label}`);
      if (node.lab.state !== 'ready') continue;
      // Module files the delivery put on the node itself (not inside a pod's root).
      const files = await node.lab.exec(`ls /lib/modules/*/extra/*.ko /var/lib/kmodlab/*/lib/modules/*/extra/*.ko 2>/dev/null`);
      for (const f of files.stdout.split('\n').filter(Boolean)) left.push(`${node.name}: file ${f}`);
    }
    return left;
  }

  async observe(): Promise<void> {
    await this.live().observe();
  }

  async close(): Promise<void> {
    await this.cluster?.shutdown();
    this.cluster = undefined;
  }
}

/** Where in the build store the builds of a set go: per method variant (see LabClusterOptions.buildPartition). */
function buildPartition(set: ArtifactSet): string {
  return `${set.method}-${set.variant ?? 'default'}`;
}

function ref(o: K8sObject): string {
  return `${o.kind}/${o.metadata.name}`;
}

/**
 * Day 1 needs the driver image in a registry before the cluster exists (the method
 * READMEs say to build it off-cluster with podman, or with build.sh for layering): the
 * lab builds it for the release kernel and pushes it under the name the manifests pull.
 */
async function prebuildDay1Images(c: LabCluster, set: ArtifactSet): Promise<void> {
  const kver = c.release.kernel.kver;
  const wanted: { ref: string; layout: 'dtk' | 'kmm' }[] = [];
  for (const o of allObjects(set, 'day1')) {
    // KMM's Day-1 loader pulls <repo>:<kernel>, built with the method's Containerfile.
    const loader = o.kind === 'MachineConfig' ? parseLoader(o) : undefined;
    if (loader) wanted.push({ ref: loaderImage(loader, kver), layout: 'kmm' });
    const image = o.kind === 'DaemonSet' ? (o.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]?.image : undefined;
    if (image) wanted.push({ ref: image, layout: 'dtk' });
    // Layering: build.sh builds the OS image and pins its digest before the install.
    if (o.kind === 'MachineConfig' && (o.spec as { osImageURL?: string } | undefined)?.osImageURL) await prebuildLayeredImage(c, o);
  }
  for (const w of wanted) {
    if (!c.registry.has(w.ref)) await c.buildImage(kver, 'off-cluster podman build (Day 1)', w.ref, w.layout);
  }
}
