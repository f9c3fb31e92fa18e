/**
 * The lab's Machine Config Operator, reconciling from the lab API only, with the semantics
 * of openshift/machine-config-operator release-4.14:
 *   - bootstrap (the operator's sync of pkg/operator/sync.go and the installer's
 *     manifests): the pools `master` and `worker`, the templates `00-master`/`00-worker`,
 *     and the ConfigMap openshift-machine-config-operator/machine-config-osimageurl
 *     (baseOSContainerImage, releaseVersion) when they do not exist;
 *   - render controller (mco/render.ts): per pool, the rendered MachineConfig and
 *     spec.configuration; a new base image in the ConfigMap (an upgrade) re-renders;
 *   - node controller (mco/pool-status.ts): desiredConfig on at most maxUnavailable nodes,
 *     none while spec.paused; the pool's status and conditions;
 *   - machine-config-daemon (mco/daemon.ts, mco/os-target.ts): per node, drain, reboot
 *     the QEMU node into the new OS, uncordon; Degraded with the pull error when the image
 *     does not resolve;
 *   - the systemd units of a config that the lab realizes on its nodes: KMM's Day-1 loader
 *     (mco/day1-loader.ts: pull after the network and reboot once, load at every boot).
 * The daemons' updates run concurrently with the reconcile loop (a reboot takes minutes);
 * every read comes from the shared informers.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1ConfigMap, type V1Node } from '@kubernetes/client-node';
import { PULL_ATTEMPTS, PULL_RETRY_SECONDS } from '../../../../methods/kmm/day1.js';
import type { LabRegistry } from '../../images/registry.js';
import type { LabNode } from '../../node/node.js';
import { PATHS, type SharedInformers } from '../informers.js';
import { labImageRef, layeredBuildWait, layeredImageOf, MACHINEOSBUILDS, MACHINEOSCONFIGS } from './machineosconfig.js';
import { annotation, NodeDaemon } from './mco/daemon.js';
import { Day1LoaderStore, loadersOf } from './mco/day1-loader.js';
import { osFor } from './mco/os-target.js';
import { ANN, candidates, nodesOfPool, poolOfNode, poolStatus } from './mco/pool-status.js';
import { defaultPool, RenderError, renderPool, templateConfig, type MachineConfig, type MachineConfigPool } from './mco/render.js';

export const MCO_NAMESPACE = 'openshift-machine-config-operator';
export const OSIMAGEURL_CONFIGMAP = 'machine-config-osimageurl';
/** What the lab's operator calls its version (generated-by-controller-version). */
export const LAB_MCO_VERSION = 'kmodlab-lab-mco';

const GROUP = 'machineconfiguration.openshift.io';

/** Back-off between attempts of a failed node update [upstream: 5 s, at most 60 s]. */
export const MCO_RETRY = { firstMs: 5_000, maxMs: 30_000 } as const;

/** A Day-1 pull unit's retries (the kmm method's script: PULL_ATTEMPTS tries, PULL_RETRY_SECONDS apart). */
export const DAY1_PULL = { attempts: PULL_ATTEMPTS, retryMs: PULL_RETRY_SECONDS * 1000 } as const;

export interface MachineConfigControllerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  /** The QEMU nodes by name (what the daemons reboot). */
  nodes: LabNode[];
  registry?: LabRegistry;
  insecure: (ref: string) => boolean;
  /** The release at lab up: what the ConfigMap gets when it does not exist yet. */
  release: { baseOSContainerImage: string; releaseVersion: string };
  /** Where the nodes' local storage (Day-1 loaders' pulled images) is kept on the host; none: Day-1 loaders are not run. */
  nodeStateDir?: string;
  log?: (line: string) => void;
}

export class MachineConfigController {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  private readonly daemons = new Map<string, NodeDaemon>();
  /** Node → the update its daemon is running. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly renderErrors = new Map<string, string>();
  /**
   * Node → the config its daemon last finished with (applied or failed): the informer may
   * still show the node's annotations from before, and an update must not run twice.
   */
  private readonly finished = new Map<string, string>();
  /**
   * Node → when its failed update is tried again. The real daemon re-queues a failed sync
   * with a rate limiter and tries again until it succeeds (release-4.14 pkg/daemon/daemon.go
   * handleErr → queue.AddRateLimited; updateDelay 5 s growing to maxUpdateBackoff 60 s), so
   * a pull that failed because the registry was away succeeds once it is back. Lab: 5 s
   * doubling up to 30 s (MCO_RETRY).
   */
  private readonly retries = new Map<string, { desired: string; notBefore: number; delayMs: number }>();
  private running: Promise<void> = Promise.resolve();
  private queued = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly day1?: Day1LoaderStore;
  /** Node → the boot its Day-1 pull units ran at (once per boot), with the attempts of a failing pull. */
  private readonly pullRuns = new Map<string, { bootId: string; attempts: number; notBefore: number; done: boolean }>();

  constructor(private readonly o: MachineConfigControllerOptions) {
    this.core = o.kc.makeApiClient(CoreV1Api);
    this.custom = o.kc.makeApiClient(CustomObjectsApi);
    if (o.nodeStateDir) this.day1 = new Day1LoaderStore(o.nodeStateDir, o.insecure);
    const day1 = this.day1;
    const localLayer = day1
      ? (node: string, config: string, kver: string, initramfs: string) => {
          const spec = o.informers.list<MachineConfig>(PATHS.machineconfigs).find((m) => m.metadata.name === config)?.spec;
          return day1.bootImage(node, loadersOf(spec), kver, initramfs);
        }
      : undefined;
    for (const n of o.nodes) this.daemons.set(n.name, new NodeDaemon({ kc: o.kc, informers: o.informers, insecure: o.insecure, log: o.log, localLayer, installedImage: o.release.baseOSContainerImage }, n));
  }

  async start(): Promise<void> {
    await this.bootstrap();
    const kick = () => this.kick();
    await Promise.all([PATHS.machineconfigs, PATHS.machineconfigpools, PATHS.nodes, PATHS.configmaps, PATHS.pods, MACHINEOSCONFIGS, MACHINEOSBUILDS].map((p) => this.o.informers.subscribe(p, kick)));
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(tick, 5_000);
    };
    this.timer = setTimeout(tick, 5_000);
    this.kick();
    await this.installed();
  }

  /**
   * An installed cluster has every pool rendered and its nodes on that config: `lab up`
   * returns once the pools say so, so a client never sees a pool without a configuration.
   */
  private async installed(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pools = this.o.informers.list<MachineConfigPool>(PATHS.machineconfigpools);
      const pending = pools.filter((p) => !p.spec?.configuration?.name || p.status?.configuration?.name !== p.spec.configuration.name || p.status?.observedGeneration !== p.metadata.generation);
      if ((pools.length > 0 && pending.length === 0) || this.stopped) return;
      if (Date.now() > deadline) {
        this.o.log?.(`machine-config: pools not rendered and updated within ${timeoutMs / 1000} s: ${pending.map((p) => p.metadata.name).join(', ')}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await Promise.all(this.inFlight.values());
  }

  kick(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    this.running = this.running.then(async () => {
      await new Promise((r) => setTimeout(r, 50));
      this.queued = false;
      await this.reconcile().catch((e: Error) => this.o.log?.(`machine-config: ${e.message.split('\n')[0]}`));
    });
  }

  /** Objects an installed cluster has before anyone applies anything (created only when missing). */
  private async bootstrap(): Promise<void> {
    const exists = (e: unknown) => (e as { code?: number }).code === 409;
    await this.core.createNamespace({ body: { metadata: { name: MCO_NAMESPACE, annotations: { 'openshift.io/node-selector': '' } } } }).catch((e) => {
      if (!exists(e)) throw e;
    });
    // pkg/operator/sync.go syncMachineConfigOperator… reads this ConfigMap from the release payload.
    await this.core
      .createNamespacedConfigMap({
        namespace: MCO_NAMESPACE,
        body: { metadata: { name: OSIMAGEURL_CONFIGMAP, namespace: MCO_NAMESPACE }, data: { ...this.o.release } },
      })
      .catch((e) => {
        if (!exists(e)) throw e;
      });
    for (const role of ['master', 'worker'] as const) {
      for (const [plural, body] of [
        ['machineconfigpools', defaultPool(role)],
        ['machineconfigs', templateConfig(role, LAB_MCO_VERSION)],
      ] as const) {
        await this.custom.createClusterCustomObject({ group: GROUP, version: 'v1', plural, body }).catch((e) => {
          if (!exists(e)) throw e;
        });
      }
    }
  }

  private base(): { osImage: string; releaseVersion: string } | undefined {
    const cm = this.o.informers.list<V1ConfigMap>(PATHS.configmaps).find((c) => c.metadata?.namespace === MCO_NAMESPACE && c.metadata?.name === OSIMAGEURL_CONFIGMAP);
    const osImage = cm?.data?.baseOSContainerImage;
    return osImage ? { osImage, releaseVersion: cm?.data?.releaseVersion ?? '' } : undefined;
  }

  private async reconcile(): Promise<void> {
    const base = this.base();
    if (!base) return; // the operator waits for its ConfigMap
    const pools = this.o.informers.list<MachineConfigPool>(PATHS.machineconfigpools).filter((p) => !p.metadata.deletionTimestamp);
    const mcs = this.o.informers.list<MachineConfig>(PATHS.machineconfigs);
    const nodes = this.o.informers.list<V1Node>(PATHS.nodes);
    for (const pool of pools) {
      // On-cluster layering (release-4.19 pkg/controller/node: a pool with a MachineOSConfig
      // runs its built image): the lab renders it as the pool's base OS image, so a
      // MachineConfig's osImageURL still wins and the daemons roll it out as any OS update.
      // Upstream sets the nodes' desiredImage annotation instead of re-rendering. The pool
      // is rendered at the release its image was built on: after an upgrade it reaches the
      // new release only with an image built on it (a failed rebuild holds it, and the
      // ClusterVersion waits on it, as upstream's node controller holds a layered pool's
      // nodes until the MachineOSBuild for the new rendered config succeeded).
      const layered = layeredImageOf(this.o.informers, pool.metadata.name);
      const poolBase = layered ? { osImage: this.o.registry ? labImageRef(layered.image, this.o.registry.prefix) : layered.image, releaseVersion: layered.releaseVersion ?? base.releaseVersion } : base;
      await this.reconcilePool(pool, pools, mcs, nodes, poolBase).catch((e: Error) => this.o.log?.(`machine-config: pool ${pool.metadata.name}: ${e.message.split('\n')[0]}`));
    }
    for (const node of nodes) this.runDaemon(node, pools, mcs, base);
    for (const node of nodes) this.runDay1Pull(node, mcs);
  }

  private async reconcilePool(pool: MachineConfigPool, pools: MachineConfigPool[], mcs: MachineConfig[], allNodes: V1Node[], base: { osImage: string; releaseVersion: string }): Promise<void> {
    const name = pool.metadata.name;
    // Render (render_controller.go syncGeneratedMachineConfig).
    try {
      const r = renderPool(pool, mcs, { ...base, controllerVersion: LAB_MCO_VERSION });
      this.renderErrors.delete(name);
      if (!mcs.some((m) => m.metadata.name === r.config.metadata.name)) {
        await this.custom.createClusterCustomObject({ group: GROUP, version: 'v1', plural: 'machineconfigs', body: r.config }).catch((e) => {
          if ((e as { code?: number }).code !== 409) throw e;
        });
        this.o.log?.(`machine-config: pool ${name}: rendered ${r.config.metadata.name} from ${r.sources.map((s) => s.name).join(', ')}`);
      }
      const cur = pool.spec?.configuration;
      const existing = mcs.find((m) => m.metadata.name === r.config.metadata.name);
      // A release change that leaves the merged spec as it was (a MachineConfig's osImageURL
      // overrides the new base image) renders the same name: upstream applies the generated
      // config over the one the pool targets (render_controller.go syncGeneratedMachineConfig,
      // `pool.Spec.Configuration.Name == generated.Name` → ApplyMachineConfig), so its
      // annotations name the new release and the CVO sees the pool at it.
      const stale = Object.entries(r.config.metadata.annotations ?? {}).filter(([k, v]) => existing?.metadata.annotations?.[k] !== v);
      if (existing && cur?.name === r.config.metadata.name && stale.length > 0) {
        await this.custom.patchClusterCustomObject({ group: GROUP, version: 'v1', plural: 'machineconfigs', name: r.config.metadata.name, body: { metadata: { annotations: Object.fromEntries(stale) } } }, this.merge);
        this.o.log?.(`machine-config: pool ${name}: ${r.config.metadata.name} re-applied (${stale.map(([k, v]) => `${k.replace(/^.*\//, '')}=${v}`).join(', ')})`);
      }
      if (cur?.name !== r.config.metadata.name || JSON.stringify(cur?.source ?? []) !== JSON.stringify(r.sources)) {
        await this.custom.patchClusterCustomObject({ group: GROUP, version: 'v1', plural: 'machineconfigpools', name, body: { spec: { configuration: { name: r.config.metadata.name, source: r.sources } } } }, this.merge);
        return; // the pool's update comes back through the informer
      }
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      this.renderErrors.set(name, e.message);
    }
    const nodes = nodesOfPool(pool, pools, allNodes);
    // Nodes that joined without a config: the daemon's first boot applies the pool's
    // current config (the installer's node-annotations), so they start Done on it.
    const target = pool.spec?.configuration?.name;
    if (target) {
      for (const n of nodes.filter((x) => !annotation(x, ANN.current))) {
        const spec = mcs.find((m) => m.metadata.name === target)?.spec ?? {};
        // machine-config-daemon-firstboot.service (pkg/daemon/daemon.go
        // RunFirstbootCompleteMachineconfig): a node provisioned with a config whose OS is not
        // the boot image (an osImageURL among the installer's manifests, a realtime kernel) or
        // that has kernel arguments rebases to it / sets them (rpm-ostree kargs) and reboots
        // before it is Done — only a config with the boot image and no kernel arguments needs
        // no firstboot update. The lab's node joined booted from the base image with no
        // config arguments, so its daemon runs that update now.
        if ((spec.osImageURL && spec.osImageURL !== base.osImage) || spec.kernelType === 'realtime' || (spec.kernelArguments ?? []).length > 0) {
          this.firstboot(n, target, spec, base);
          return;
        }
        await this.core.patchNode({ name: n.metadata!.name!, body: { metadata: { annotations: { [ANN.current]: target, [ANN.desired]: target, [ANN.state]: 'Done', [ANN.reason]: '' } } } }, this.merge);
        return;
      }
    }
    // Node controller: point candidates at the target.
    for (const n of candidates(pool, nodes)) {
      this.o.log?.(`machine-config: pool ${name}: node ${n.metadata!.name} → ${target}`);
      await this.core.patchNode({ name: n.metadata!.name!, body: { metadata: { annotations: { [ANN.desired]: target! } } } }, this.merge);
    }
    const status = poolStatus(pool, nodes, this.renderErrors.get(name), new Date().toISOString().replace(/\.\d+Z$/, 'Z'), layeredBuildWait(this.o.informers, name));
    const same = JSON.stringify({ ...pool.status, conditions: undefined }) === JSON.stringify({ ...status, conditions: undefined }) && JSON.stringify((pool.status?.conditions ?? []).map(({ lastTransitionTime: _t, ...c }) => c)) === JSON.stringify(status.conditions!.map(({ lastTransitionTime: _t, ...c }) => c));
    if (!same) await this.custom.patchClusterCustomObjectStatus({ group: GROUP, version: 'v1', plural: 'machineconfigpools', name, body: { status } }, this.merge);
  }

  /** First boot onto `target`: desired set, the OS update run, current only when it booted (daemon.update). */
  private firstboot(node: V1Node, target: string, spec: MachineConfig['spec'], base: { osImage: string }): void {
    const name = node.metadata!.name!;
    const daemon = this.daemons.get(name);
    if (!daemon || this.inFlight.has(name) || this.finished.get(name) === target) return;
    this.o.log?.(`machine-config: ${name}: first boot onto ${target} (its OS image is not the one the node booted)`);
    const work = this.core
      .patchNode({ name, body: { metadata: { annotations: { [ANN.desired]: target } } } }, this.merge)
      .then(() => daemon.update(target, () => osFor(spec ?? {}, base.osImage, { registry: this.o.registry, insecure: this.o.insecure }), { kernelArguments: spec?.kernelArguments ?? [] }))
      .then((r) => {
        this.finished.set(name, target);
        if ('bootId' in r) this.o.log?.(`machine-config: ${name}: first boot done on ${target} (kernel ${r.kver}, boot ${r.bootId})`);
      })
      .catch((e: Error) => this.o.log?.(`machine-config: ${name}: first boot: ${e.message.split('\n')[0]}`))
      .finally(() => {
        this.inFlight.delete(name);
        this.kick();
      });
    this.inFlight.set(name, work);
  }

  /**
   * The Day-1 pull units of the node's current config, once per boot, after the network
   * (the Node reports the boot: its agent is up): a pulled image → reboot into the boot
   * image with the node-local layer, whose hook loads the driver before the network.
   * A failed pull is tried again as the script does (PULL_ATTEMPTS × PULL_RETRY_SECONDS of
   * src/methods/kmm/day1.ts), then given up for this boot.
   */
  private runDay1Pull(node: V1Node, mcs: MachineConfig[]): void {
    const name = node.metadata!.name!;
    const daemon = this.daemons.get(name);
    if (!this.day1 || !daemon || this.inFlight.has(name) || daemon.node.state !== 'ready') return;
    const current = annotation(node, ANN.current);
    if (!current || annotation(node, ANN.desired) !== current || annotation(node, ANN.state) !== 'Done') return;
    const loaders = loadersOf(mcs.find((m) => m.metadata.name === current)?.spec);
    const bootId = daemon.node.currentBootId;
    const kver = node.status?.nodeInfo?.kernelVersion;
    if (loaders.length === 0 || !bootId || !kver || node.status?.nodeInfo?.bootID !== bootId) return;
    let run = this.pullRuns.get(name);
    if (run?.bootId !== bootId) this.pullRuns.set(name, (run = { bootId, attempts: 0, notBefore: 0, done: false }));
    if (run.done || Date.now() < run.notBefore) return;
    const r = run;
    const day1 = this.day1;
    const work = (async () => {
      r.attempts++;
      const outcomes = await day1.pull(name, loaders, kver);
      const failed = outcomes.filter((x) => 'error' in x);
      for (const x of outcomes) {
        if ('error' in x) this.o.log?.(`machine-config: ${name}: ${x.loader.pullUnit}: pulling ${x.image} failed (attempt ${r.attempts}/${DAY1_PULL.attempts}): ${x.error}`);
        else if (x.pulled) this.o.log?.(`machine-config: ${name}: ${x.loader.pullUnit}: pulled ${x.image} (${x.digest}) into ${x.loader.imageStore}`);
      }
      if (failed.length > 0 && r.attempts < DAY1_PULL.attempts) r.notBefore = Date.now() + DAY1_PULL.retryMs;
      else r.done = true;
      if (!outcomes.some((x) => x.pulled)) return;
      // The script's `systemctl reboot`, so that the load unit finds the image before the network.
      const initramfs = await day1.bootImage(name, loaders, kver, daemon.node.initramfs);
      this.o.log?.(`machine-config: ${name}: ${outcomes.filter((x) => x.pulled).map((x) => x.loader.pullUnit).join(', ')}: rebooting so that the load unit loads the driver before the network`);
      const boot = await daemon.selfReboot(initramfs);
      this.o.log?.(`machine-config: ${name}: rebooted after the Day-1 pull (kernel ${boot.kver}, boot ${boot.bootId})`);
    })();
    this.inFlight.set(
      name,
      work
        .catch((e: Error) => this.o.log?.(`machine-config: ${name}: Day-1 pull: ${e.message.split('\n')[0]}`))
        .finally(() => {
          this.inFlight.delete(name);
          this.kick();
        }),
    );
  }

  /** The daemon of a node: start an update when desired differs from current. */
  private runDaemon(node: V1Node, pools: MachineConfigPool[], mcs: MachineConfig[], base: { osImage: string }): void {
    const name = node.metadata!.name!;
    const daemon = this.daemons.get(name);
    if (!daemon || this.inFlight.has(name) || !poolOfNode(node, pools)) return;
    const current = annotation(node, ANN.current);
    const desired = annotation(node, ANN.desired);
    const state = annotation(node, ANN.state);
    if (!current || !desired) return;
    // The informer has not caught up with what the daemon wrote when it finished.
    if (this.finished.get(name) === desired && (desired !== current ? state === 'Working' || state === 'Done' : state !== 'Done')) return;
    let work: Promise<void> | undefined;
    if (desired === current) {
      // Only a cordon the MCO made (desiredDrain drain-<config>) is undone: a node cordoned by
      // someone else stays cordoned (drain_controller.go acts on desiredDrain, not on spec.unschedulable).
      const mcoCordoned = !!node.spec?.unschedulable && annotation(node, ANN.desiredDrain).startsWith('drain-');
      if (state !== 'Done' || mcoCordoned) work = daemon.settle(current).then(() => void this.finished.set(name, desired));
    } else {
      // Degraded on this very target: tried again after the back-off (a new target at once).
      const failedHere = state === 'Degraded' && annotation(node, ANN.reason).startsWith(`failed to update OS to ${desired}:`);
      const retry = this.retries.get(name);
      if (failedHere && retry?.desired === desired && Date.now() < retry.notBefore) return;
      const mc = mcs.find((m) => m.metadata.name === desired);
      if (!mc) return; // not rendered yet (the informer has not seen it)
      this.o.log?.(`machine-config: ${name}: ${failedHere ? 'retrying' : 'updating'} ${current} → ${desired}`);
      work = daemon.update(desired, () => osFor(mc.spec ?? {}, base.osImage, { registry: this.o.registry, insecure: this.o.insecure }), { retry: failedHere, kernelArguments: mc.spec?.kernelArguments ?? [] }).then((r) => {
        this.finished.set(name, desired);
        if ('bootId' in r) {
          this.retries.delete(name);
          this.o.log?.(`machine-config: ${name}: updated to ${desired} (kernel ${r.kver}, boot ${r.bootId})`);
        } else {
          const before = this.retries.get(name);
          const delayMs = before?.desired === desired ? Math.min(before.delayMs * 2, MCO_RETRY.maxMs) : MCO_RETRY.firstMs;
          this.retries.set(name, { desired, notBefore: Date.now() + delayMs, delayMs });
          this.o.log?.(`machine-config: ${name}: next attempt in ${delayMs / 1000} s`);
        }
      });
    }
    if (!work) return;
    this.inFlight.set(
      name,
      work
        .catch((e: Error) => this.o.log?.(`machine-config: ${name}: ${e.message.split('\n')[0]}`))
        .finally(() => {
          this.inFlight.delete(name);
          this.kick();
        }),
    );
  }
}

