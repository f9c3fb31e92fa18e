/**
 * LabCluster: QEMU nodes plus an emulated control plane that realizes rendered
 * manifests with the semantics of their OpenShift counterparts (see controllers/).
 * The evaluation talks to it through the Target interface; it reports everything it
 * does and observes through `emit`, which the recorder turns into events.jsonl lines.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { K8sObject } from '../../../artifacts/artifact-set.js';
import type { LoadedDriver } from '../../../driver/load.js';
import { labelValue } from '../../../names.js';
import type { LabKernel } from '../kernels/catalog.js';
import { LabNode } from '../node/node.js';
import { buildDriver, DriverBuildError, type BuildResult } from '../driver-builds/driver-build.js';
import type { ClusterNode, ClusterRelease, EmitFn, PodRecord } from './cluster-types.js';
import { ImageRegistry, repositoryOf, type LabImage } from './image-registry.js';
import { layDriverImage, type ImageLayout } from '../driver-builds/driver-image.js';
import { labSigningKey, signBuild } from '../driver-builds/module-signing.js';
import { builtModuleDependencies } from '../driver-builds/module-dependencies.js';
import { modinfoDepends } from '../os-image/initramfs.js';
import { readModuleTree } from '../os-image/kernel-modules.js';
import { probeModules, type ModuleState } from './module-probe.js';
import { CANARY_GUEST_PORT } from '../os-image/init.js';
import { canonicalModuleName } from '../../../driver/spec.js';
import { ObjectStore } from './objects.js';
import { podCpuMs, podRssBytes, podRunning, removePod, startPod, execInPod } from './pod-runtime.js';
import { reconcileBuildConfigs } from './controllers/buildconfig.js';
import { reconcileDaemonSets, stopDaemonSetPods } from './controllers/daemonset.js';
import { reconcileModules, unloadModule } from './controllers/kmm-module.js';
import { reconcileMachineConfigs, rollBackMachineConfig } from './controllers/machineconfig.js';
import { reconcileDay1Loaders } from './controllers/day1-loader.js';
import { reconcileMachineOSConfigs, rollBackMachineOSConfig } from './controllers/machineosconfig.js';
import { findKernel } from '../kernels/catalog.js';
import { labCacheDir } from '../host/cache.js';
import { clusterNodeHandles, LabUsageSource } from '../metrics/lab-usage.js';
import { CanaryProber, freeLocalPort, probeOnce, type CanarySample } from '../node/canary-probe.js';
import { NEVER_SEEN, observePod } from '../../pod-restarts.js';
import type { BootRecord } from '../node/node.js';
import { startLabMetrics, type LabMetrics, type LabMetricsOptions } from '../metrics/lab-metrics.js';

export const NFD_KERNEL_LABEL = 'feature.node.kubernetes.io/kernel-version.full';
const CANARY = 'canary';
/** Canary probe interval (ms): fine enough to see a drain or a reboot, cheap for the host. */
export const CANARY_PROBE_MS = 500;
/** A successful probe is recorded at least this often (every failure and every change always). */
const CANARY_HEARTBEAT_MS = 5_000;

/**
 * The canary workload: busybox httpd serving one page on the guest's canary port
 * (init.ts), in the foreground so its PID is the pod's main process.
 */
const CANARY_COMMAND = ['sh', '-c', `mkdir -p /srv && echo ok > /srv/index.html && exec httpd -f -p ${CANARY_GUEST_PORT} -h /srv`];

export interface LabClusterOptions {
  runDir: string;
  release: ClusterRelease;
  /** Number of nodes; 1 = single-node OpenShift (the node is in the master pool). */
  nodes?: number;
  driver: LoadedDriver;
  emit?: EmitFn;
  memoryMB?: number;
  /** Extra kernel command line for every node (e.g. `module.sig_enforce=1`). */
  cmdline?: string;
  /**
   * `uefi`: boot every node through UEFI firmware with Secure Boot (OVMF on q35, instead
   * of microvm) and, for a driver with `signing`, enroll the lab signing key's certificate
   * as a Machine Owner Key first — what a user does with `mokutil --import` before rolling
   * out signed modules; the lab stands in for shim (node/uefi.ts).
   */
  firmware?: 'uefi';
  /** With `firmware: 'uefi'`: DER certificates to enroll instead of the lab signing key's (e.g. to show a module signed by another key is refused). */
  mokCerts?: string[];
  /** Label nodes with their kernel as Node Feature Discovery does (default true). */
  nfd?: boolean;
  /** Build store (default: the lab cache). */
  buildStore?: string;
  /**
   * A part of the build store for the artifacts being realized (LabTarget: their method
   * and variant). Variants of one method push to the same repository names, but their
   * images are different builds (another Containerfile): one is never the other's cache hit.
   */
  buildPartition?: string;
  /** MachineConfigPool maxUnavailable (default 1, as OpenShift). */
  maxUnavailable?: number;
  /**
   * Work that happens before the machines exist (Day 1: images built off-cluster before
   * the install), so it is recorded before the first boot and never counted in it.
   */
  beforeBoot?: (cluster: LabCluster) => Promise<void>;
}

export class LabCluster {
  readonly store = new ObjectStore();
  readonly registry: ImageRegistry;
  readonly nodes: ClusterNode[] = [];
  readonly runDir: string;
  readonly shareDir: string;
  readonly driver: LoadedDriver;
  release: ClusterRelease;
  /**
   * The kernel of the cluster's `openshift/driver-toolkit:latest`: the release's default
   * kernel. An upgrade moves the tag (a new release payload); a switch to the realtime
   * kernel does not (the same release's driver-toolkit; openshift/driver-toolkit
   * manifests/01-openshift-imagestream.yaml).
   */
  dtkKernel: LabKernel;
  readonly emit: EmitFn;
  readonly opts: LabClusterOptions;
  private monitor: NodeJS.Timeout | undefined;
  private monitoring = false;
  /** Last observed state of each driver module, by `<node>/<module>` (cleared on reboot). */
  private lastModuleState = new Map<string, ModuleState>();
  private probers = new Map<string, CanaryProber>();
  private metrics: LabMetrics | undefined;

  private constructor(opts: LabClusterOptions) {
    this.opts = opts;
    this.runDir = opts.runDir;
    this.shareDir = join(opts.runDir, 'share');
    mkdirSync(this.shareDir, { recursive: true });
    this.registry = new ImageRegistry(this.shareDir);
    this.driver = opts.driver;
    this.release = opts.release;
    this.dtkKernel = opts.release.kernel;
    this.emit = opts.emit ?? (() => undefined);
  }

  /** Runs `beforeBoot`, then boots the nodes (in parallel) on the release's kernel with the stock OS image. */
  static async create(opts: LabClusterOptions): Promise<LabCluster> {
    const c = new LabCluster(opts);
    if (opts.beforeBoot) {
      try {
        await opts.beforeBoot(c);
      } catch (e) {
        await c.shutdown();
        throw e;
      }
    }
    const count = opts.nodes ?? 1;
    const names = Array.from({ length: count }, (_, i) => (count === 1 ? 'sno' : `worker-${i}`));
    const started = await Promise.allSettled(names.map((name) => c.bootNode(name, count === 1 ? 'master' : 'worker')));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await c.shutdown();
      throw (failed as PromiseRejectedResult).reason;
    }
    return c;
  }

  private async bootNode(name: string, pool: 'worker' | 'master'): Promise<void> {
    this.emit('progress', { step: `booting node ${name} on ${this.release.kernel.kver}` }, name);
    const mokCerts = this.opts.mokCerts ?? (this.opts.firmware === 'uefi' && this.driver.spec.signing ? [(await labSigningKey(this.driver.spec)).cert] : []);
    const lab = await LabNode.start(this.release.kernel, undefined, {
      name,
      runDir: this.runDir,
      shareDir: this.shareDir,
      memoryMB: this.opts.memoryMB,
      cmdline: this.opts.cmdline,
      ...(this.opts.firmware === 'uefi' ? { uefi: { mokCerts } } : {}),
      canaryPort: await freeLocalPort(),
    });
    if (lab.mok) {
      const m = lab.mok;
      this.emit('progress', { step: `node ${name}: lab signing key enrolled as a MOK (${m.cached ? 'cached variable store' : `enrolled in ${m.enrollMs} ms`}; .machine keyring: ${m.machineKeys} keys, .platform: ${m.platformKeys})` }, name);
    }
    const labels: Record<string, string> = { 'kubernetes.io/hostname': name, [`node-role.kubernetes.io/${pool}`]: '' };
    // Single-node OpenShift: the node is control plane and worker at once.
    if (pool === 'master') labels['node-role.kubernetes.io/worker'] = '';
    const node: ClusterNode = { name, lab, pool, labels, os: { kind: 'stock' }, pods: new Map(), cordoned: false };
    this.nodes.push(node);
    this.nodes.sort((a, b) => a.name.localeCompare(b.name));
    this.refreshKernelLabel(node);
    this.nodeUp(node, lab.boots.at(-1)!, 'stock');
    await this.startCanary(node);
    this.startProber(node);
  }

  /**
   * node-up with the kernel the guest reports (`uname -r`); a kernel other than the one
   * the lab meant to boot is a fault (a wrong image in /boot, a bootloader entry gone
   * stale): the figures after it were measured on the wrong kernel.
   */
  private nodeUp(node: ClusterNode, boot: BootRecord, osImage: string): void {
    this.emit('node-up', { bootId: boot.bootId, kver: boot.kver, intendedKver: boot.intendedKver, osImage, bootMs: boot.bootMs }, node.name);
    if (boot.kver !== boot.intendedKver) {
      this.emit('fault', { fault: 'kernel-mismatch', message: `booted kernel ${boot.kver} (uname -r in the node), but the lab meant to boot ${boot.intendedKver}`, intended: boot.intendedKver, reported: boot.kver }, node.name);
    }
  }

  private refreshKernelLabel(node: ClusterNode): void {
    if (this.opts.nfd === false) return;
    const v = labelValue(node.lab.kernel.kver);
    if (v === node.lab.kernel.kver) node.labels[NFD_KERNEL_LABEL] = v;
    else delete node.labels[NFD_KERNEL_LABEL];
  }

  // ---- API-server verbs -------------------------------------------------------

  /** `oc apply -f`: store the objects, then let the controllers converge. */
  async apply(objects: K8sObject[]): Promise<void> {
    for (const o of objects) this.store.put(o);
    await this.reconcile();
  }

  /** `oc delete -f`: finalizers first (unload, roll back), then forget the objects. */
  async delete(objects: K8sObject[]): Promise<void> {
    for (const o of [...objects].reverse()) {
      const stored = this.store.get(o.kind, o.metadata.name, o.metadata.namespace);
      if (!stored) continue;
      if (o.kind === 'DaemonSet') await stopDaemonSetPods(this, stored);
      if (o.kind === 'Module') await unloadModule(this, stored);
      if (o.kind === 'MachineConfig') {
        this.store.remove(o);
        await rollBackMachineConfig(this, stored);
        continue;
      }
      if (o.kind === 'MachineOSConfig') {
        this.store.remove(o);
        await rollBackMachineOSConfig(this, stored);
        continue;
      }
      this.store.remove(o);
    }
    await this.reconcile();
  }

  /** Run every controller once, in dependency order. */
  async reconcile(): Promise<void> {
    await reconcileBuildConfigs(this);
    await reconcileMachineConfigs(this);
    await reconcileMachineOSConfigs(this);
    await reconcileDay1Loaders(this);
    await reconcileDaemonSets(this);
    await reconcileModules(this);
    await this.observe();
  }

  // ---- node operations used by controllers -----------------------------------

  /** Drain (evict the canary; DaemonSet pods stay, as `oc adm drain --ignore-daemonsets`). */
  async drain(node: ClusterNode): Promise<void> {
    node.cordoned = true;
    this.emit('node-drain', { phase: 'start' }, node.name);
    // Evicted: the prober sees it go (its probes fail until the canary runs again).
    await removePod(node.lab, CANARY).catch(() => undefined);
  }

  async uncordon(node: ClusterNode): Promise<void> {
    node.cordoned = false;
    this.emit('node-drain', { phase: 'end' }, node.name);
    await this.startCanary(node);
  }

  /**
   * A real reboot of one node, as the MCO does it: graceful shutdown (pods get their
   * preStop), reset, boot `kernel`/`initramfs`; pods come back after the boot.
   */
  async rebootNode(node: ClusterNode, to: { kernel?: LabKernel; initramfs?: string } = {}): Promise<void> {
    if (!this.detectCrash(node)) {
      for (const pod of node.pods.values()) {
        if (pod.preStop && pod.phase === 'Running') await execInPod(node.lab, pod.name, pod.preStop).catch(() => undefined);
      }
      this.emit('node-down', { reason: 'reboot', detail: to.kernel ? `to kernel ${to.kernel.kver}` : undefined }, node.name);
    }
    let boot;
    try {
      boot = await node.lab.reboot({ kernel: to.kernel, initramfs: to.initramfs });
    } catch (e) {
      // Killed or hung while booting: record it and power-cycle once more, as a
      // machine-api health check or an admin would; a second failure stops the rollout.
      this.emit('fault', { fault: 'node-boot-failed', message: (e as Error).message.split('\n')[0]! }, node.name);
      this.emit('node-down', { reason: 'crash', detail: 'boot failed; restarting the node' }, node.name);
      boot = await node.lab.reboot({ kernel: to.kernel, initramfs: to.initramfs });
    }
    this.refreshKernelLabel(node);
    this.nodeUp(node, boot, node.os.kind === 'layered' ? node.os.ref : 'stock');
    // Everything in the node's tmpfs is gone: the kubelet recreates the pods. Each was
    // seen gone with its node; it restarted only once it is seen running again.
    for (const pod of node.pods.values()) {
      if (pod.phase === 'Completed') {
        node.pods.delete(pod.name);
        continue;
      }
      pod.phase = 'CrashLoopBackOff';
      this.podGone(pod, 'NodeReboot');
    }
    this.lastModuleState.clear();
    await this.observe();
  }

  private reportedCrash = new Set<string>();

  /**
   * A node whose QEMU died or whose kernel panicked is recorded once (node-down crash
   * + fault); it comes back when something reboots it (rollouts do).
   */
  detectCrash(node: ClusterNode): boolean {
    if (node.lab.state !== 'crashed') return false;
    const id = `${node.name}/${node.lab.currentBootId}`;
    if (!this.reportedCrash.has(id)) {
      this.reportedCrash.add(id);
      const why = node.lab.failure?.message.split('\n')[0] ?? 'QEMU exited';
      this.emit('node-down', { reason: 'crash', detail: why }, node.name);
      this.emit('fault', { fault: 'node-crashed', message: why }, node.name);
    }
    return true;
  }

  /**
   * Build the driver for a kernel, recording its cost. `image` is the repository the
   * result is pushed to: the store is partitioned by it, so a cache hit means "this
   * image already exists in the registry", never another method's image.
   */
  async build(kver: string, by: string, image: string): Promise<BuildResult | undefined> {
    let kernel: LabKernel;
    try {
      kernel = findKernel(kver);
    } catch (e) {
      this.emit('build', { kver, ok: false, cached: false, error: `no driver-toolkit for kernel ${kver}: ${(e as Error).message.split('\n')[0]}` });
      this.emit('fault', { fault: 'build-failed', message: `${by}: no kbuild tree for kernel ${kver}` });
      return undefined;
    }
    this.emit('progress', { step: `${by}: building ${this.driver.spec.name} for ${kver}` });
    try {
      const store = join(this.opts.buildStore ?? labCacheDir('builds'), ...(this.opts.buildPartition ? [this.opts.buildPartition] : []), repositoryOf(image).replace(/[^A-Za-z0-9._-]+/g, '_'));
      const r = await buildDriver(this.driver, kernel, { storeDir: store });
      const rec = r.record;
      // A cache hit did no work: it carries the size of what was reused, not the cost
      // of the build that made it (that build's figures belong to the run that did it).
      const cost = r.cached ? {} : { wallMs: rec.wallMs, userCpuMs: rec.userCpuMs, systemCpuMs: rec.systemCpuMs, peakRssBytes: rec.peakRssBytes };
      // Which kernel modules the driver needs (in-tree ones must be on the node too).
      const tree = readModuleTree(kernel.modulesDir, modinfoDepends);
      const dependencies = builtModuleDependencies(rec.modules, this.driver.spec.modules.map((m) => m.name), tree);
      this.emit('build', { kver, ok: true, cached: r.cached, ...cost, outputBytes: rec.outputBytes, logFile: rec.logFile, by, image, key: rec.key, dependencies });
      if (!this.driver.spec.signing) return r;
      // The builder stage's signing step (key: the lab's stand-in for the signing Secrets).
      const key = await labSigningKey(this.driver.spec);
      const dir = join(this.runDir, 'signed', `${repositoryOf(image).replace(/[^A-Za-z0-9._-]+/g, '_')}-${kver}`);
      const signed = await signBuild(rec, kernel.buildDir, key, dir);
      this.emit('progress', { step: `${by}: signed ${signed.modules.map((m) => m.name).join(', ')} for ${kver} (lab signing key)` });
      return { ...r, record: signed };
    } catch (e) {
      if (e instanceof DriverBuildError) {
        this.emit('build', { kver, ok: false, cached: false, ...(e.wallMs !== undefined ? { wallMs: e.wallMs } : {}), error: e.message, logFile: e.logFile, by });
        this.emit('fault', { fault: 'build-failed', message: e.message, logFile: e.logFile });
        return undefined;
      }
      throw e;
    }
  }

  /**
   * Build the driver for `kver`, lay it out as the method's image (`dtk` or `kmm`
   * layout) and push it as `ref`: what an in-cluster build or a README's podman build
   * does. Undefined when the build failed (recorded).
   */
  async buildImage(kver: string, by: string, ref: string, layout: ImageLayout): Promise<LabImage | undefined> {
    const built = await this.build(kver, by, ref);
    if (!built) return undefined;
    const d = this.registry.newImageDir(`${repositoryOf(ref).split('/').pop()}-${kver}`);
    await layDriverImage(built.record, this.driver.spec, layout, d.dir);
    return this.registry.push(ref, d.dir, d.sharePath, kver);
  }

  async startPodOn(node: ClusterNode, pod: PodRecord, command: string[]): Promise<boolean> {
    const image = this.registry.pull(pod.imageRef);
    if (!image) {
      if (pod.phase !== 'ImagePullBackOff') this.emit('fault', { fault: 'image-pull', message: `${pod.name}: image ${pod.imageRef} not found in the registry` }, node.name);
      pod.phase = 'ImagePullBackOff';
      return false;
    }
    await startPod(node.lab, { name: pod.name, image, command });
    pod.startedAt = Date.now();
    pod.phase = 'Running';
    pod.lastCpu = undefined;
    this.emit('pod-start', { pod: pod.name, component: pod.component }, node.name);
    const seen = observePod(pod.sightings ?? NEVER_SEEN, { running: true });
    pod.sightings = seen.sightings;
    if (seen.restart) {
      pod.restarts += 1;
      this.emit('pod-restart', { pod: pod.name, component: pod.component, restartCount: pod.restarts, reason: seen.restart.reason }, node.name);
    }
    return true;
  }

  /** The pod's container was seen gone (killed, exited, its node down). */
  podGone(pod: PodRecord, reason: string): void {
    pod.sightings = observePod(pod.sightings ?? NEVER_SEEN, { running: false, reason }).sightings;
  }

  // ---- release changes ----------------------------------------------------------

  /**
   * A cluster upgrade (or kernel switch): every node moves to `kernel` with
   * MachineConfig reboot semantics — except nodes whose pool runs a custom layered
   * image: the MCO keeps a pinned osImageURL, so they stay where they are, and a pool
   * with a MachineOSConfig moves when the MCO has rebuilt its image on the new release
   * (the reconcile at the end: controllers/machineosconfig.ts).
   */
  async changeRelease(kernel: LabKernel, why: 'upgrade' | 'kernel-switch'): Promise<void> {
    this.release = { ...this.release, kernel };
    if (why === 'upgrade') this.dtkKernel = kernel;
    this.emit('progress', { step: `${why}: cluster release now ${kernel.kver}` });
    await reconcileBuildConfigs(this); // DTK image change triggers fire before nodes move
    const max = Math.max(1, this.opts.maxUnavailable ?? 1);
    const movers = this.nodes.filter((n) => n.os.kind !== 'layered' && n.lab.kernel.kver !== kernel.kver);
    for (const n of this.nodes.filter((x) => x.os.kind === 'layered' && !x.os.managedBy)) {
      this.emit('manual-step', { description: `node ${n.name} runs a custom layered OS image: the MCO keeps it and does not ${why === 'upgrade' ? 'upgrade' : 'switch'} the kernel; rebuild the layered image on ${kernel.kver} and update osImageURL` }, n.name);
    }
    for (let i = 0; i < movers.length; i += max) {
      await Promise.all(
        movers.slice(i, i + max).map(async (n) => {
          await this.drain(n);
          await this.rebootNode(n, { kernel });
          await this.uncordon(n);
        }),
      );
    }
    await this.reconcile();
  }

  // ---- observation --------------------------------------------------------------

  /** Module state, resident pods' memory/CPU and canaries, as events (changes only for states). */
  async observe(): Promise<void> {
    if (this.monitoring) return;
    this.monitoring = true;
    try {
      const modules = this.driver.spec.modules.map((m) => m.name);
      for (const node of this.nodes) {
        if (node.lab.state !== 'ready') {
          this.detectCrash(node);
          continue;
        }
        for (const s of await probeModules(node.lab, modules)) {
          const key = `${node.name}/${s.module}`;
          if (JSON.stringify(this.lastModuleState.get(key)) !== JSON.stringify(s)) {
            this.lastModuleState.set(key, s);
            this.emit('module-state', { ...s }, node.name);
          }
        }
        for (const pod of node.pods.values()) {
          if (pod.phase !== 'Running') continue;
          if (!(await podRunning(node.lab, pod.name))) continue;
          const rss = await podRssBytes(node.lab, pod.name);
          if (rss !== undefined) this.emit('sample-memory', { component: pod.component, pod: pod.name, rssBytes: rss }, node.name);
          const cpu = await podCpuMs(node.lab, pod.name);
          if (cpu !== undefined) {
            const now = Date.now();
            if (pod.lastCpu) this.emit('sample-cpu', { component: pod.component, pod: pod.name, cpuMs: cpu - pod.lastCpu.cpuMs, windowMs: now - pod.lastCpu.t }, node.name);
            pod.lastCpu = { t: now, cpuMs: cpu };
          }
        }
        const mem = await node.lab.readFile('/proc/meminfo').catch(() => '');
        const total = /^MemTotal:\s+(\d+)/m.exec(mem)?.[1];
        const avail = /^MemAvailable:\s+(\d+)/m.exec(mem)?.[1];
        if (total && avail) this.emit('sample-node-memory', { totalBytes: Number(total) * 1024, availableBytes: Number(avail) * 1024 }, node.name);
      }
    } finally {
      this.monitoring = false;
    }
  }

  /** Observe every `intervalMs` until stopped (samples while a scenario settles). */
  startMonitor(intervalMs = 2000): void {
    this.stopMonitor();
    this.monitor = setInterval(() => void this.observe().catch(() => undefined), intervalMs);
  }

  stopMonitor(): void {
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = undefined;
  }

  /**
   * The canary: a plain workload pod (the node's own userland, nothing else) serving
   * HTTP on the guest's canary port, started as the kubelet starts a pod; ready when
   * the host's probe gets an answer (a readiness probe), or after 20 s either way.
   */
  private async startCanary(node: ClusterNode): Promise<void> {
    let image = this.registry.pull('lab/canary:latest');
    if (!image) {
      const d = this.registry.newImageDir('canary');
      image = this.registry.push('lab/canary:latest', d.dir, d.sharePath);
    }
    await startPod(node.lab, { name: CANARY, image, command: CANARY_COMMAND });
    const port = node.lab.canaryPort;
    const deadline = Date.now() + 20_000;
    while (port !== undefined && Date.now() < deadline && !(await probeOnce(port, 2_000)).up) await new Promise((r) => setTimeout(r, 200));
  }

  /** Probes the node's canary from the host for the node's whole life (across reboots). */
  private startProber(node: ClusterNode): void {
    const port = node.lab.canaryPort;
    if (port === undefined || this.probers.has(node.name)) return;
    let last: { up: boolean; t: number } | undefined;
    const p = new CanaryProber({
      port,
      intervalMs: CANARY_PROBE_MS,
      onSample: (s: CanarySample) => {
        // Raw samples: every failed probe, every change, and a success at least every few seconds.
        if (s.up && last?.up && s.t - last.t < CANARY_HEARTBEAT_MS) return;
        last = { up: s.up, t: s.t };
        this.emit('canary', { up: s.up, probeMs: s.probeMs, ...(s.error ? { error: s.error } : {}), port }, node.name);
      },
    });
    this.probers.set(node.name, p);
    p.start();
  }

  /** Kill the canary's process in the node (tests: a workload that dies and is started again). */
  async killCanary(node: ClusterNode): Promise<void> {
    await removePod(node.lab, CANARY);
  }

  async restartCanary(node: ClusterNode): Promise<void> {
    await this.startCanary(node);
  }

  /** Whether the last observation saw the module loaded on the node (undefined: not seen since its boot). */
  moduleLoaded(node: string, module: string): boolean | undefined {
    return this.lastModuleState.get(`${node}/${canonicalModuleName(module)}`)?.loaded;
  }

  /**
   * The cluster's monitoring: a cAdvisor/node-exporter-style endpoint over this cluster's
   * nodes and pods, and a Prometheus scraping it (what the cluster target queries, as
   * thanos-querier on OpenShift). Stopped by `shutdown()`.
   */
  async startMetrics(opts: LabMetricsOptions = {}): Promise<LabMetrics> {
    this.metrics ??= await startLabMetrics(new LabUsageSource(() => clusterNodeHandles(this.nodes)), opts);
    return this.metrics;
  }

  nodeByName(name: string): ClusterNode | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  async shutdown(): Promise<void> {
    this.stopMonitor();
    // Probers first: a node powered off on purpose is not a canary failure.
    await Promise.all([...this.probers.values()].map((p) => p.stop()));
    this.probers.clear();
    await this.metrics?.stop();
    this.metrics = undefined;
    await Promise.all(
      this.nodes.map(async (n) => {
        this.emit('node-down', { reason: 'poweroff' }, n.name);
        await n.lab.poweroff().catch(() => n.lab.stop());
      }),
    );
  }
}

