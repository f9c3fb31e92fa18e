/**
 * ClusterTarget: the Target interface on a real OpenShift/Kubernetes cluster.
 * It applies rendered objects with server-side apply, watches what happens (nodes,
 * pods, builds, pools, KMM Modules, MachineOSBuilds, events, a canary per node, /readyz), checks module
 * presence on the host with probe pods, and reads memory/CPU from Prometheus — all
 * reported through `emit`, never returned as figures.
 *
 * Modes:
 *   - `dryRun: 'server'`: every mutating request carries dryRun=All (client.ts), so
 *     nothing is persisted — and therefore no probe pods or canary either (they would
 *     be writes); module presence is then not observed, and the run says so.
 *   - `observeOnly`: read verbs only. apply/remove/changeRelease throw a UserError;
 *     `follow(set)` watches an installation someone else applied. No probe pods or
 *     canary (they need create): module presence is not observed, and the run says so.
 */
import { writeArtifactSet, allObjects, type ArtifactSet, type K8sObject } from '../../artifacts/artifact-set.js';
import { manualStepsOf } from '../../artifacts/manual-steps.js';
import { UserError } from '../../errors.js';
import type { ScenarioId } from '../../evaluation/events.js';
import { LABEL_MANAGED_BY } from '../../labels.js';
import { ReleaseSchema, type Release } from '../../release/release.js';
import { isPlausibleKernelVersion } from '../../release/kernel.js';
import { ReleaseChangeHeld, type Target, type TargetEmit, type TargetReleases, type WaitResult } from '../target.js';
import { KubeApiError, KubeClient, sleep, type ResourceRef } from './client.js';
import { Credentials } from './kubeconfig.js';
import { ResumableWatch, type WatchEventType, type WatchObject } from './watch.js';
import { ReadyzMonitor } from './readyz.js';
import { PODS, probeModules, type ModuleProbe } from './probe-pod.js';
import { canaryDeployment, CANARY_NODE_LABEL, CANARY_SELECTOR, DEFAULT_CANARY_IMAGE, DEPLOYMENTS } from './canary.js';
import { CanaryProber, canaryEventData, SampleRecordPolicy } from './canary-probe.js';
import { blockers, buildEvents, canaryEvents, canaryPodOn, clusterEventEvents, PodLineage, failedMachineOSBuilds, kmmModuleEvents, machineOSBuildEvents, nodeEvents, podEvents, poolEvents, type Emitted } from './observers.js';
import { PrometheusClient } from './prometheus.js';
import { removePrometheusAccess } from './prometheus-token.js';
import { realtimeMachineConfig, switchKernel, upgradeCluster } from './release-change.js';
import { sampleResources, type PodInfo } from './resource-samples.js';
import { podInfo } from './pod-info.js';
import { ensureCleanState } from './clean-state.js';
import type { ApiCallId } from './api-calls.js';
import { AppliedLedger, objectLabel } from './applied-ledger.js';
import { trackedApply, trackedRemove } from './tracked-apply.js';
import { dryRunNamespaces } from './dry-run-namespaces.js';
import { refusePlaceholders } from './placeholder-guard.js';
import { driverToolkitImage } from './driver-toolkit.js';
import { choosePool, type PoolChoice, type PoolObj } from './pool-choice.js';
import { targetedNodes } from './target-nodes.js';
import { OlmSteps } from './olm-steps.js';
import { archiveDir, FedBuilds, isBinaryBuildConfig, runBinaryBuild, sourceDigest } from './binary-build.js';
import { sourceImageOf, sourceImageState } from './kmm-source-image.js';
import { listLeftovers, MCO_CURRENT_CONFIG } from './leftovers.js';
import { SettleClock, settleDecision } from './settled.js';
import { daemonSetEvents, noDaemonSetPod, type DaemonSetRef } from './daemonset-status.js';

/** The label the MCO puts on a MachineOSBuild naming the pool it builds for. */
const MOSB_POOL_LABEL = 'machineconfiguration.openshift.io/target-machine-config-pool';
export const NODES: ResourceRef = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };
const MACHINECONFIGS: ResourceRef = { group: 'machineconfiguration.openshift.io', version: 'v1', resource: 'machineconfigs', kind: 'MachineConfig', namespaced: false };
const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };
export const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false };
const EVENTS: ResourceRef = { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true };
const DAEMONSETS: ResourceRef = { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true };

export interface ClusterTargetOptions {
  kubeconfig?: string;
  context?: string;
  /** kmodlab's own namespace (probe pods, canaries). Default `kmodlab`. */
  namespace?: string;
  /** Prometheus/thanos-querier URL; default: the thanos-querier route. */
  prometheusUrl?: string;
  observeOnly?: boolean;
  dryRun?: 'server';
  emit: TargetEmit;
  /** Upgrade scenario: the version to upgrade to, and the explicit confirmation. */
  upgradeTo?: string;
  confirmUpgrade?: boolean;
  /** Day-1: write the Day-1 manifests here (the cluster must be installed with them). */
  day1InstallDir?: string;
  /** `--pool`: the MachineConfigPool asked for; default: the one that holds the nodes (pool-choice.ts). */
  pool?: string;
  probeImage?: string;
  /** The canary's image: agnhost, or an image whose entrypoint runs agnhost `netexec` (canary.ts). */
  canaryImage?: string;
  /** Between two probes of a node's canary (default 1 s) and each probe's timeout (default 2 s). */
  canaryProbeIntervalMs?: number;
  canaryProbeTimeoutMs?: number;
  /** How long reset() waits for every node's canary to answer before a scenario (default 3 min). */
  canaryReadyTimeoutMs?: number;
  /** Longest API outage measured (default 30 min). */
  readyzLimitMs?: number;
  readyzIntervalMs?: number;
  /** Between two module probes while waiting (default 10 s). */
  probeIntervalMs?: number;
  /**
   * How long the watched objects must show a state nothing changes without an outside
   * action (settled.ts) before a wait for the driver ends early, as `settled` (default 60 s).
   * Not shorter: a pod crash-loops for a while during a normal rollout (the new image on the
   * old kernel until the reboot, the old image until the DaemonSet replaces it), and the
   * controllers that end such a spell (image triggers, the DaemonSet controller, KMM) act
   * within seconds of each other, not minutes. The window starts only once a crash loop has
   * repeated (settled.ts CRASH_LOOP_RESTARTS), i.e. after the kubelet's first back-offs.
   */
  settleGraceMs?: number;
  /** Between two polls of a rollout, upgrade, deletion or build (default 10 s; a probe pod's phase: at most 1 s). */
  pollMs?: number;
  /** The driver's source directory: fed to Binary BuildConfigs (`oc start-build --from-dir`); without it that step is the user's. */
  driverSourceDir?: string;
  /**
   * Performs the rendered README's off-cluster steps (build, push, pin) for the user and
   * returns the set with the pinned references and the manual-step commands it performed
   * (the lab: targets/lab/images/off-cluster-hook.ts). Without it those steps are the user's.
   */
  offClusterBuild?: (set: ArtifactSet, emit: TargetEmit) => Promise<{ set: ArtifactSet; performed: string[] }>;
  /** Longest wait for a binary Build (default 30 min). */
  buildTimeoutMs?: number;
  /** Longest wait for an operator's CSV to succeed and its kinds to be served (default 20 min). */
  operatorTimeoutMs?: number;
  /** Longest wait for a pool rollout / upgrade (default 2 h / 4 h). */
  rolloutTimeoutMs?: number;
  upgradeTimeoutMs?: number;
  /** Prometheus windows shorter than this are not queried yet (default 60 s: a few scrapes). */
  prometheusMinWindowMs?: number;
  /**
   * Query step of resource samples (seconds; default 15, a usual scrape interval): the
   * target's scrape interval, so a window gets every scrape's point (the lab scrapes every
   * 2 s; at a 15 s step a 15 s steady-state window held one or two points).
   */
  prometheusStepS?: number;
  /**
   * How long a scenario's closing observation may wait for its window to reach
   * `prometheusMinWindowMs` (default 0: never). The lab passes its minimum, a few seconds,
   * so a quick scenario still gets its samples; on a cluster the window is the user's
   * `--steady` (300 s by default), and a shorter one is not stretched to the 60 s minimum.
   */
  closingWaitMs?: number;
  /** Clock for Prometheus windows (tests move it forward). */
  now?: () => number;
  /** Environment/home for kubeconfig resolution (tests). */
  env?: Record<string, string | undefined>;
  home?: string;
  /** Watch tuning (tests use short values). */
  watch?: { backoffMs?: { initial: number; max: number }; watchdogMs?: number };
}

export interface ScenarioSupport {
  supported: boolean;
  reason?: string;
}

type NodeObj = WatchObject & { status?: { nodeInfo?: { bootID?: string; kernelVersion?: string; osImage?: string }; conditions?: { type: string; status: string }[] } };

export class ClusterTarget implements Target {
  readonly kind = 'cluster' as const;
  readonly label: string;
  readonly client: KubeClient;
  private readonly credentials: Credentials;
  private readonly ns: string;
  private readonly watches = new Map<string, ResumableWatch>();
  private nodeWatch!: ResumableWatch;
  private readyz: ReadyzMonitor;
  private prometheus: PrometheusClient | undefined;
  private prometheusProblem: string | undefined;
  private followed = new Set<string>();
  private modules: string[] = [];
  private lastObserveMs = 0;
  private canaryCreated = false;
  private canaryProber: CanaryProber | undefined;
  private readonly canaryRecord = new SampleRecordPolicy();
  /** Pods replaced by a new pod of their lineage are restarts (observers.ts PodLineage). */
  private readonly podLineage = new PodLineage();
  private namespaceCreated = false;
  private clusterVersion: string | undefined;
  private driverToolkit: { image: string; source: string } | undefined;
  private served = new Map<string, boolean>();
  private notes = new Set<string>();
  private lastProbeProblem = new Map<string, string>();
  private readonly rtMarker = 'MachineConfig kernelType: realtime';
  /** What kmodlab created (removed by remove(), or by close() after a failed scenario). */
  private readonly ledger = new AppliedLedger();
  /** Binary builds this target fed and saw Complete (an unchanged re-apply is not fed again). */
  private readonly fedBuilds = new FedBuilds();
  /** True between apply() and remove(): the method's objects are on the cluster. */
  private applied = false;

  private constructor(private readonly o: ClusterTargetOptions) {
    this.credentials = new Credentials({ kubeconfig: o.kubeconfig, context: o.context, env: o.env, home: o.home });
    this.client = new KubeClient({ credentials: this.credentials, dryRun: o.dryRun === 'server', observeOnly: o.observeOnly });
    this.label = `cluster (${this.credentials.config.context})`;
    this.ns = o.namespace ?? 'kmodlab';
    this.readyz = new ReadyzMonitor({ client: this.client, emit: (k, d, n) => this.recording && o.emit(k, d, n), limitMs: o.readyzLimitMs, intervalMs: o.readyzIntervalMs });
  }

  /** Resolves the kubeconfig, lists nodes and starts watching them and /readyz. */
  static async connect(o: ClusterTargetOptions): Promise<ClusterTarget> {
    const t = new ClusterTarget(o);
    await t.start();
    return t;
  }

  /**
   * Watch-derived events are recorded from the first reset() on: the target is created
   * (and its watches list) before the run's first line, run-start, is written.
   */
  private recording = false;

  private emit(items: Emitted[]): void {
    if (!this.recording) return;
    for (const [kind, data, node] of items) this.o.emit(kind, data, node);
  }

  /** One progress note per distinct text (limits that hold for the whole run). */
  private noteOnce(step: string): void {
    if (this.notes.has(step)) return;
    this.notes.add(step);
    this.o.emit('progress', { step });
  }

  /** True when the cluster serves this kind (probed once through discovery). */
  private async serves(apiVersion: string, kind: string): Promise<ResourceRef | undefined> {
    try {
      return await this.client.mapping(apiVersion, kind);
    } catch (e) {
      if (e instanceof UserError) return undefined;
      throw e;
    }
  }

  /** False with --dry-run=server and --observe-only: kmodlab creates nothing (no probe pods, no canary). */
  get writesAllowed(): boolean {
    return !this.o.observeOnly && this.o.dryRun !== 'server';
  }

  /**
   * Whether module presence on the host is observed at all. When false,
   * waitForModules() answers `{ ok: false, pending: <all nodes> }` at once — which
   * means "not observed", not "not loaded"; scenarios should say so rather than
   * record a fault.
   */
  /** Read verbs only: scenarios follow what someone else applies. */
  get observeOnly(): boolean {
    return this.o.observeOnly === true;
  }

  get observesModules(): boolean {
    return this.writesAllowed;
  }

  private watchOpts() {
    return { backoffMs: this.o.watch?.backoffMs, watchdogMs: this.o.watch?.watchdogMs };
  }

  private async startWatch(key: string, call: ApiCallId, ref: ResourceRef, opts: { namespace?: string; labelSelector?: string }, on: (type: WatchEventType, obj: WatchObject, old: WatchObject | undefined) => Emitted[]): Promise<ResumableWatch | undefined> {
    if (this.watches.has(key)) return this.watches.get(key);
    let reported = false;
    const w = new ResumableWatch({
      client: this.client,
      call,
      ref,
      ...opts,
      ...this.watchOpts(),
      onChange: (type, obj, old) => this.emit(on(type, obj, old)),
      onError: (e) => {
        if (reported) return;
        reported = true;
        this.o.emit('fault', { fault: 'watch', message: `watching ${ref.kind}${opts.namespace ? ` in ${opts.namespace}` : ''} stopped: ${e.message}` });
      },
    });
    this.watches.set(key, w);
    try {
      await w.start();
    } catch {
      this.watches.delete(key);
      return undefined;
    }
    return w;
  }

  private async start(): Promise<void> {
    // One plain request first, so an unreachable server or refused credentials fail
    // here with a clear message instead of a watch retrying forever.
    try {
      await this.client.list('watch-nodes', NODES);
    } catch (e) {
      if (e instanceof KubeApiError) {
        throw new UserError(`cannot use ${this.label} (${this.credentials.config.server}): ${e.message}`, e.status === 403 ? '`kmodlab rbac` prints the role kmodlab needs' : undefined);
      }
      throw e;
    }
    const nw = await this.startWatch('nodes', 'watch-nodes', NODES, {}, (type, obj, old) => nodeEvents(type, obj as never, old as never, this.outageSince(obj.metadata.name)));
    if (!nw) throw new UserError(`cannot list nodes on ${this.label}`, 'see `kmodlab rbac` for the role kmodlab needs');
    this.nodeWatch = nw;
    // Node events (the kubelet's Rebooted, the lab's KernelMismatch and its machine-config daemon's OS image Pulled) are recorded in `default`.
    await this.startWatch('events/default', 'watch-events', EVENTS, { namespace: 'default' }, (t, o, old) => clusterEventEvents(t, o as never, old as never));
    const cvRef = await this.serves('config.openshift.io/v1', 'ClusterVersion');
    if (cvRef) {
      const cv = (await this.client.get('read-clusterversion', cvRef, 'version').catch(() => undefined)) as { status?: { desired?: { version?: string } } } | undefined;
      this.clusterVersion = cv?.status?.desired?.version;
    }
    this.driverToolkit = await driverToolkitImage(this.client, (v, k) => this.serves(v, k));
    const mcp = await this.serves('machineconfiguration.openshift.io/v1', 'MachineConfigPool');
    this.served.set('mco', mcp !== undefined);
    const pools = mcp ? await this.startWatch('mcp', 'watch-machineconfigpools', mcp, {}, (t, o, old) => poolEvents(t, o as never, old as never)) : undefined;
    this.poolChoice = pools ? choosePool([...pools.cache.values()] as PoolObj[], this.nodeObjects(), this.o.pool) : { pool: this.o.pool ?? 'worker', reason: 'no MachineConfigPools (not OpenShift)' };
    await this.watchKmmModules();
    await this.watchMachineOSBuilds();
    this.readyz.start();
  }

  private poolChoice!: PoolChoice;
  /** Nodes the applied/followed set targets (target-nodes.ts); undefined: every node. */
  private targets: string[] | undefined;

  private noteTargets(set: ArtifactSet): void {
    const pools = [...(this.watches.get('mcp')?.cache.values() ?? [])] as PoolObj[];
    // A Day-1 set's installer manifests are on the cluster too (created at install).
    this.targets = targetedNodes(set.day1 ? [...allObjects(set, 'day1'), ...allObjects(set, 'day2')] : allObjects(set, 'day2'), this.nodeObjects(), pools);
    if (this.targets) this.noteOnce(`the method targets ${this.targets.length ? this.targets.join(', ') : 'no node'} (of ${this.nodes().join(', ')}): only ${this.targets.length === 1 ? 'it is' : 'those are'} probed`);
  }

  /** The nodes module presence is waited for on. */
  private probedNodes(): string[] {
    const all = this.nodes();
    return this.targets ? all.filter((n) => this.targets!.includes(n)) : all;
  }

  nodeKernels(): Map<string, string> {
    const probed = new Set(this.probedNodes());
    return new Map(this.nodeObjects().filter((n) => probed.has(n.metadata.name)).map((n) => [n.metadata.name, n.status?.nodeInfo?.kernelVersion ?? '']));
  }

  /** The MachineConfigPool the methods render for and the kernel switch targets (see pool-choice.ts). */
  pool(): string {
    return this.poolChoice.pool;
  }

  /** When each node's object last arrived through the watch. */
  private readonly nodeSeenMs = new Map<string, number>();

  /**
   * Start of the API outage that began since this node was last seen: an unobserved
   * reboot's node-down is backdated to it (observers.ts nodeEvents).
   */
  private outageSince(node: string): number | undefined {
    const seen = this.nodeSeenMs.get(node);
    this.nodeSeenMs.set(node, Date.now());
    const o = this.readyz.outages.at(-1);
    return o && seen !== undefined && o.fromMs >= seen ? o.fromMs : undefined;
  }

  private nodeObjects(): NodeObj[] {
    return [...this.nodeWatch.cache.values()] as NodeObj[];
  }

  nodes(): string[] {
    return this.nodeObjects()
      .map((n) => n.metadata.name)
      .sort();
  }

  /** The MCO's daemon is moving the node to another config (desiredConfig ≠ currentConfig, or state Working). */
  private nodeUpdating(name: string): boolean {
    const a = this.nodeObjects().find((x) => x.metadata.name === name)?.metadata.annotations ?? {};
    const current = a['machineconfiguration.openshift.io/currentConfig'];
    const desired = a['machineconfiguration.openshift.io/desiredConfig'];
    return (current !== undefined && desired !== undefined && current !== desired) || a['machineconfiguration.openshift.io/state'] === 'Working';
  }

  private nodeReady(name: string): boolean {
    const n = this.nodeObjects().find((x) => x.metadata.name === name);
    return n?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  }

  /** Whether objects kmodlab applied are still on the cluster (close() would remove them). */
  holdsApplied(): boolean {
    return this.ledger.remaining().length > 0;
  }

  releases(): TargetReleases {
    const kernels = [...new Set(this.nodeObjects().map((n) => n.status?.nodeInfo?.kernelVersion ?? ''))];
    const kernel = kernels.length === 1 && isPlausibleKernelVersion(kernels[0]!) ? kernels[0] : undefined;
    const version = this.clusterVersion && /^\d+\.\d+\.\d+/.test(this.clusterVersion) ? this.clusterVersion : undefined;
    const from = ReleaseSchema.parse({
      version,
      kernelVersion: kernel,
      ...(this.driverToolkit ? { driverToolkitImage: this.driverToolkit.image } : {}),
      sources: { kernel: 'nodes status.nodeInfo.kernelVersion', version: 'ClusterVersion status.desired', ...(this.driverToolkit ? { driverToolkitImage: this.driverToolkit.source } : {}) },
    });
    const out: TargetReleases = { from };
    if (this.served.get('mco') !== false) out.realtime = ReleaseSchema.parse({ version, sources: { kernel: this.rtMarker } });
    if (this.o.upgradeTo && this.o.confirmUpgrade) out.upgradeTo = ReleaseSchema.parse({ version: this.o.upgradeTo, sources: { version: '--upgrade-to' } });
    return out;
  }

  /** Which scenarios this cluster target can run, and why not. */
  scenarioSupport(): Record<ScenarioId, ScenarioSupport> {
    const ro = this.o.observeOnly ? '--observe-only cannot change the cluster' : undefined;
    return {
      day1: {
        supported: false,
        reason: `requires install time${this.o.day1InstallDir ? `: the Day-1 manifests are written to ${this.o.day1InstallDir}` : ' (pass --day1-install-dir <dir> to write the Day-1 manifests)'}`,
      },
      day2: { supported: true, ...(this.o.observeOnly ? { reason: 'observes an installation applied by someone else' } : {}) },
      uninstall: { supported: true, ...(this.o.observeOnly ? { reason: 'observes a removal done by someone else' } : {}) },
      'kernel-switch': ro
        ? { supported: false, reason: ro }
        : this.served.get('mco') === false
          ? { supported: false, reason: 'no MachineConfigPools: the kernel switch needs the Machine Config Operator (OpenShift)' }
          : { supported: true },
      upgrade: ro
        ? { supported: false, reason: ro }
        : this.o.upgradeTo && this.o.confirmUpgrade
          ? { supported: true }
          : { supported: false, reason: 'upgrades a real cluster: needs --upgrade-to <version> and the confirmation flag' },
    };
  }

  async reset(opts: { release: Release; day1?: ArtifactSet }): Promise<void> {
    if (opts.day1) {
      if (this.o.day1InstallDir) {
        const files = await writeArtifactSet(opts.day1, this.o.day1InstallDir);
        this.o.emit('manual-step', { description: `install a cluster with the ${files.length} Day-1 file(s) written to ${this.o.day1InstallDir}/${opts.day1.method}, then run kmodlab evaluate --observe-only on it` });
      }
      throw new UserError(`day1 on ${this.label}: ${this.scenarioSupport().day1.reason}`);
    }
    this.recording = true;
    this.noteOnce(`MachineConfigPool ${this.pool()}: ${this.poolChoice.reason}`);
    // A real cluster is not reset: record where each node stands.
    for (const n of this.nodeObjects()) {
      const info = n.status?.nodeInfo ?? {};
      this.o.emit('node-up', { bootId: info.bootID ?? '', kver: info.kernelVersion ?? '', ...(info.osImage ? { osImage: info.osImage } : {}), existing: true }, n.metadata.name);
    }
    if (this.writesAllowed) {
      this.canaryRecord.forget();
      await this.ensureCanary();
      await this.ensureCleanState();
      await this.waitCanaries();
    } else this.noteOnce(`${this.o.observeOnly ? '--observe-only' : '--dry-run=server'}: no canary and no probe pods (they would be writes); workload disruption and module presence on the host are not observed, and leftovers of a previous scenario are not reverted`);
    this.startWindow();
  }

  /** Reverts and checks what the previous scenario left (clean-state.ts). */
  private async ensureCleanState(): Promise<void> {
    await ensureCleanState({
      client: this.client,
      emit: this.o.emit,
      label: this.label,
      pool: this.served.get('mco') ? this.pool() : undefined,
      // Modules of a set that is still applied (day2 before its uninstall) are meant to be loaded.
      modules: this.applied ? [] : this.modules,
      nodes: this.nodes().filter((n) => this.nodeReady(n)),
      probe: (node, modules, unload) => probeModules({ client: this.client, namespace: this.ns, node, modules, unload, image: this.o.probeImage, pollMs: Math.min(1000, this.o.pollMs ?? 1000) }),
      kernels: () => new Map(this.nodeObjects().map((n) => [n.metadata.name, n.status?.nodeInfo?.kernelVersion ?? ''])),
      pollMs: this.o.pollMs,
      rolloutTimeoutMs: this.o.rolloutTimeoutMs,
    });
  }

  /** kmodlab's namespace, labelled so privileged probe pods are admitted. */
  private async ensureNamespace(): Promise<void> {
    if (this.namespaceCreated) return;
    const existing = await this.client.get('kmodlab-namespace', NAMESPACES, this.ns);
    await this.client.apply('kmodlab-namespace', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: this.ns,
        labels: {
          [LABEL_MANAGED_BY]: 'kmodlab',
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/audit': 'privileged',
          'pod-security.kubernetes.io/warn': 'privileged',
          'security.openshift.io/scc.podSecurityLabelSync': 'false',
        },
        // An empty project node selector: a cluster-wide defaultNodeSelector
        // (schedulers.config.openshift.io spec.defaultNodeSelector) would otherwise be
        // added to every pod here and keep probe pods off masters/infra nodes.
        annotations: { 'openshift.io/node-selector': '' },
      },
    });
    this.namespaceCreated = existing === undefined;
    this.namespaceReady = true;
  }
  private namespaceReady = false;

  private async ensureCanary(): Promise<void> {
    if (!this.namespaceReady) await this.ensureNamespace();
    await this.startWatch('canary', 'watch-canary', DEPLOYMENTS, { namespace: this.ns, labelSelector: CANARY_SELECTOR }, (t, o, old) => canaryEvents(t, o as never, old as never, CANARY_NODE_LABEL));
    // The canary pods, to know which pod each node's probe addresses (their restarts are not the method's).
    await this.startWatch('canary-pods', 'watch-pods', PODS, { namespace: this.ns, labelSelector: CANARY_SELECTOR }, () => []);
    if (!this.canaryCreated) {
      for (const node of this.nodes()) await this.client.apply('canary', canaryDeployment(this.ns, node, this.o.canaryImage ?? DEFAULT_CANARY_IMAGE));
      this.canaryCreated = true;
    }
    this.startCanaryProbes();
  }

  /** Probes every node's canary from now until close() (canary-probe.ts); samples are recorded from the first reset on. */
  private startCanaryProbes(): void {
    if (this.canaryProber) return;
    this.canaryProber = new CanaryProber({
      client: this.client,
      namespace: this.ns,
      nodes: () => this.nodes(),
      podOn: (node) => canaryPodOn(this.watches.get('canary-pods')?.cache.values() ?? [], node),
      intervalMs: this.o.canaryProbeIntervalMs,
      timeoutMs: this.o.canaryProbeTimeoutMs,
      onSample: (s) => {
        if (this.recording && this.canaryRecord.keep(s)) this.o.emit('canary', canaryEventData(s), s.node);
      },
    });
    this.canaryProber.start();
  }

  /**
   * Before a scenario: every node's canary answers a probe (bounded, default 3 min), so a
   * scenario never starts with a dead canary whose failures would be charged to it. A
   * canary that does not answer in time is a fault, with its last probe's error.
   */
  private async waitCanaries(): Promise<void> {
    if (!this.canaryProber) return;
    const limit = this.o.canaryReadyTimeoutMs ?? 180_000;
    const missing = await this.canaryProber.waitAnswering(this.nodes(), Date.now(), limit);
    if (missing.length === 0) return;
    this.o.emit('fault', {
      fault: 'canary-not-ready',
      message: `the canary did not answer within ${Math.round(limit / 1000)} s before the scenario on ${missing.map((m) => `${m.node}${m.last?.error ? ` (${m.last.error})` : ''}`).join(', ')}`,
    });
  }

  /** Watches the namespaces of a set (pods, builds, events): apply() calls it; --observe-only callers do. */
  async follow(set: ArtifactSet): Promise<void> {
    this.noteTargets(set);
    // An operator installed with the cluster (Day-1 manifests) may still be installing
    // when the Day-2 part of the set (KMM's Module) is applied: apply waits for its kinds.
    const sub = allObjects(set, 'day1').find((o) => o.kind === 'Subscription' && o.apiVersion.startsWith('operators.coreos.com/'));
    if (sub) this.day1Subscription = { name: sub.metadata.name, namespace: sub.metadata.namespace ?? this.client.defaultNamespace };
    const namespaces = namespacesOf(set);
    const builds = await this.serves('build.openshift.io/v1', 'Build');
    for (const ns of namespaces) {
      if (this.followed.has(ns)) continue;
      this.followed.add(ns);
      await this.startWatch(`pods/${ns}`, 'watch-pods', PODS, { namespace: ns }, (t, o, old) => podEvents(t, o as never, old as never, this.podLineage));
      await this.startWatch(`events/${ns}`, 'watch-events', EVENTS, { namespace: ns }, (t, o, old) => clusterEventEvents(t, o as never, old as never));
      if (builds) await this.startWatch(`builds/${ns}`, 'watch-builds', builds, { namespace: ns }, (t, o, old) => buildEvents(t, o as never, old as never));
    }
    if (allObjects(set).some((o) => o.kind === 'Module')) await this.watchKmmModules();
    this.podDelivered = allObjects(set).some((o) => o.kind === 'DaemonSet' || o.kind === 'Module');
    // DaemonSets are the only delivery when the set has no other (a KMM Module, an OS image).
    const onlyDaemonSets = !allObjects(set).some((o) => ['Module', 'MachineConfig', 'MachineOSConfig'].includes(o.kind));
    this.daemonSets = onlyDaemonSets ? allObjects(set).filter((o) => o.kind === 'DaemonSet' && o.metadata.namespace).map((o) => ({ namespace: o.metadata.namespace!, name: o.metadata.name })) : [];
    // One watch per namespace that holds the set's DaemonSets, whatever the number of nodes.
    for (const ns of new Set(this.daemonSets.map((d) => d.namespace))) await this.startWatch(`daemonsets/${ns}`, 'watch-daemonsets', DAEMONSETS, { namespace: ns }, (t, o, old) => daemonSetEvents(t, o, old));
    if (allObjects(set).some((o) => o.kind === 'MachineOSConfig')) await this.watchMachineOSBuilds();
    if (this.o.observeOnly) this.startWindow();
  }

  /** The Subscription the Day-1 manifests installed (follow()), for apply()'s OLM steps. */
  private day1Subscription: { name: string; namespace: string } | undefined;
  /** The followed set loads the driver with pods (DaemonSet, KMM Module), not with the OS image. */
  private podDelivered = false;
  /** The followed set's DaemonSets, when they are its only way to deliver the driver (daemonset-status.ts). */
  private daemonSets: DaemonSetRef[] = [];


  /**
   * KMM Modules are watched from when the kind is served: on a cluster where KMM is
   * installed by the method itself, the CRD appears only once OLM installed the CSV.
   */
  private async watchKmmModules(): Promise<void> {
    if (this.watches.has('kmm')) return;
    this.client.forgetDiscovery('kmm.sigs.x-k8s.io/v1beta1');
    const kmm = await this.serves('kmm.sigs.x-k8s.io/v1beta1', 'Module');
    if (kmm) await this.startWatch('kmm', 'watch-kmm-modules', kmm, {}, (t, o, old) => kmmModuleEvents(t, o as never, old as never));
  }

  /**
   * MachineOSBuilds (on-cluster layering) are watched from when the kind is served, one
   * watch for the whole cluster (they are cluster-scoped): GA machineconfiguration.openshift.io/v1
   * from 4.18.21/4.19, the Tech Preview v1alpha1 on 4.16–4.17 (with TechPreviewNoUpgrade).
   * Served or not is asked again when a MachineOSConfig is applied or followed (a feature
   * gate may have been turned on since connect).
   */
  async watchMachineOSBuilds(): Promise<ResumableWatch | undefined> {
    if (this.watches.has('mosb')) return this.watches.get('mosb');
    for (const version of ['v1', 'v1alpha1']) {
      this.client.forgetDiscovery(`machineconfiguration.openshift.io/${version}`);
      const ref = await this.serves(`machineconfiguration.openshift.io/${version}`, 'MachineOSBuild');
      if (ref) return this.startWatch('mosb', 'watch-machineosbuilds', ref, {}, (t, o, old) => machineOSBuildEvents(t, o as never, old as never));
    }
    return undefined;
  }

  /** The MachineOSBuilds the watch holds now (empty when the kind is not served), for callers that decide on terminal states. */
  machineOSBuilds(): WatchObject[] {
    return [...(this.watches.get('mosb')?.cache.values() ?? [])];
  }

  /**
   * Failed (or interrupted) MachineOSBuilds of `pool` created at or after `sinceMs` that
   * are the newest of their MachineOSConfig (observers.ts failedMachineOSBuilds): the pool's
   * nodes get no new image until a new build succeeds. Evidence lines.
   */
  failedMachineOSBuildsOf(pool: string, sinceMs = 0): string[] {
    const since = Math.floor(sinceMs / 1000) * 1000; // metav1.Time has whole seconds
    const builds = this.machineOSBuilds().filter((b) => {
      const created = Date.parse(String(b.metadata.creationTimestamp ?? ''));
      return b.metadata.labels?.[MOSB_POOL_LABEL] === pool && (!Number.isFinite(created) || created >= since);
    });
    return failedMachineOSBuilds(builds).map((f) => f.evidence);
  }

  private refuseWrite(what: string): void {
    if (this.o.observeOnly) {
      throw new UserError(`--observe-only: kmodlab does not ${what} (read verbs only)`, 'apply the artifacts yourself and use follow(), or drop --observe-only (see `kmodlab rbac`)');
    }
  }

  async apply(rendered: ArtifactSet): Promise<void> {
    this.refuseWrite('apply objects');
    const built = this.o.offClusterBuild ? await this.o.offClusterBuild(rendered, this.o.emit) : undefined;
    const set = built?.set ?? rendered;
    refusePlaceholders(set);
    const objects = allObjects(set, 'day2');
    const applied: string[] = [];
    const reused: string[] = [];
    const notValidated: string[] = [];
    const dryNs = await dryRunNamespaces(this.client, 'apply-artifacts', objects);
    for (const [from, to] of dryNs.substitutes) {
      this.o.emit('progress', { step: `--dry-run=server: namespace ${from} does not exist (its creation is a dry run too), so the server refuses objects in it; they are validated in ${to === undefined ? 'no namespace (none of the kubeconfig namespace or default exists): reported as would-create, not validated' : `namespace ${to}`}` });
    }
    const olm = new OlmSteps(this.client, this.ledger, { timeoutMs: this.o.operatorTimeoutMs ?? 20 * 60_000, pollMs: this.o.pollMs ?? 5_000, say: (step) => this.o.emit('progress', { step }) }, this.day1Subscription);
    for (const obj of objects) {
      const sent = dryNs.placed(obj);
      applied.push(`${obj.kind}/${obj.metadata.name}`);
      if (!sent) {
        notValidated.push(objectLabel(obj));
        continue;
      }
      const step = await olm.before(sent);
      if (step === 'reuse') {
        reused.push(objectLabel(obj));
        continue;
      }
      if (step === 'not-served') {
        // --dry-run=server: the Subscription was a dry run, so the operator's kinds never appear.
        notValidated.push(`${objectLabel(obj)} (${obj.apiVersion} is served once the operator installs)`);
        continue;
      }
      const { owned } = await trackedApply(this.client, this.ledger, 'apply-artifacts', sent);
      if (!owned) reused.push(objectLabel(obj));
      if (obj.kind === 'Module') await this.watchKmmModules();
    }
    const validatedIn = Object.fromEntries([...dryNs.substitutes].filter(([, to]) => to !== undefined));
    this.o.emit('apply', {
      objects: applied,
      phase: 'day2',
      ...(reused.length ? { preexisting: reused } : {}),
      ...(this.client.dryRun ? { dryRun: 'server' } : {}),
      ...(Object.keys(validatedIn).length ? { validatedIn } : {}),
      ...(notValidated.length ? { wouldCreate: notValidated } : {}),
    });
    if (reused.length) this.o.emit('progress', { step: `existed before kmodlab applied them, so they are left in place on removal: ${reused.join(', ')}` });
    // Binary BuildConfigs are fed the driver source by kmodlab when it has the directory
    // (as `oc start-build --from-dir`); the README's off-cluster builds are the user's unless offClusterBuild performed them.
    const binary = this.client.dryRun || !this.o.driverSourceDir ? [] : objects.filter(isBinaryBuildConfig);
    const archive = binary.length ? await archiveDir(this.o.driverSourceDir!) : undefined;
    const source = archive ? sourceDigest(archive) : '';
    // Applied again unchanged (the next scenario of the same row): what is built stays built (binary-build.ts FedBuilds).
    const fed: K8sObject[] = [];
    const upToDate: K8sObject[] = [];
    for (const bc of binary) {
      const build = await this.fedBuilds.upToDate(this.client, bc, source);
      if (!build) fed.push(bc);
      else {
        upToDate.push(bc);
        this.o.emit('progress', { step: `BuildConfig ${bc.metadata.namespace}/${bc.metadata.name}: Build ${build} built this driver source and nothing changed since: not started again (the README's build step is done)` });
      }
    }
    const startBuild = (bcs: K8sObject[], cmd: string) => bcs.some((bc) => cmd.startsWith(`oc start-build ${bc.metadata.name} `));
    for (const s of manualStepsOf(set, 'day2', this.o.driverSourceDir)) {
      if (startBuild(upToDate, s.command)) continue;
      this.o.emit('manual-step', { ...s, performedBy: startBuild(fed, s.command) || built?.performed.includes(s.command) ? 'kmodlab' : 'user' });
    }
    this.applied = !this.client.dryRun;
    await this.reportSourceImage(set);
    await this.follow(set);
    this.startWindow();
    for (const bc of fed) await this.binaryBuild(bc, archive!, source);
  }

  /** Says whether the source image an in-cluster KMM build copies from is there (kmm-source-image.ts). */
  private async reportSourceImage(set: ArtifactSet): Promise<void> {
    const image = sourceImageOf(set);
    if (!image) return;
    const state = await sourceImageState(this.client, image, (v, k) => this.serves(v, k));
    if (state === 'present') this.o.emit('progress', { step: `source image ${image} is in the internal registry` });
    else if (state === 'missing') this.o.emit('progress', { step: `source image ${image} is not in the internal registry: KMM's build fails until it is built and pushed (the manual step above)`, missingImage: image });
    else this.o.emit('progress', { step: `source image ${image}: not checked (not in the cluster's internal registry); KMM's build needs it pushed (the manual step above)` });
  }

  /** Feeds a Binary BuildConfig the driver source and follows the Build (binary-build.ts); a failed build fails the step. */
  private async binaryBuild(bc: K8sObject, archive: Buffer, source: string): Promise<void> {
    const r = await runBinaryBuild(this.client, bc, this.o.driverSourceDir!, { timeoutMs: this.o.buildTimeoutMs ?? 30 * 60_000, pollMs: this.o.pollMs ?? 5_000, say: (step) => this.o.emit('progress', { step }), archive });
    if (r.phase === 'Complete') return this.fedBuilds.record(this.client, bc, source, r.build);
    const message = `Build ${r.build} of BuildConfig ${bc.metadata.name}: ${r.phase}${r.message ? ` (${r.message})` : ''}; log tail:\n${r.logTail}`;
    this.o.emit('fault', { fault: 'build-failed', message });
    throw new Error(message);
  }

  async remove(set: ArtifactSet): Promise<void> {
    this.refuseWrite('delete objects');
    // Reverse order: dependents (DaemonSets, Modules) before their Namespace and RBAC.
    const objects = [...allObjects(set, 'day2')].reverse();
    const { removed, kept, left } = await trackedRemove(this.client, this.ledger, 'apply-artifacts', objects, { waitMs: 10 * 60_000, pollMs: this.o.pollMs });
    this.o.emit('delete', { objects: removed, ...(kept.length ? { kept } : {}), ...(this.client.dryRun ? { dryRun: 'server' } : {}) });
    // Where the set's pods would be left: its namespaces, but not one that existed before
    // kmodlab (kept: e.g. an installed KMM's openshift-kmm, whose operator pods are not the method's).
    this.removedNamespaces = namespacesOf(set).filter((ns) => ns !== this.ns && !kept.includes(`Namespace/${ns}`));
    if (kept.length) this.o.emit('progress', { step: `not deleted, kmodlab did not create them: ${kept.join(', ')}` });
    if (!this.client.dryRun) this.applied = false;
    this.startWindow();
    if (left.length > 0) this.o.emit('fault', { fault: 'leftover', message: `still present 10 min after deletion: ${left.join(', ')}` });
  }

  /** Namespaces of the set last removed: where its pods would be left. */
  private removedNamespaces: string[] = [];

  /**
   * What the last removal left on the targeted nodes (leftovers.ts): pods in the set's
   * namespaces, a custom OS image still booted, KMM node labels. Undefined when nothing
   * was removed (dry-run, observe-only: the objects are still there by design).
   */
  async leftovers(): Promise<string[] | undefined> {
    if (!this.writesAllowed) return undefined;
    const pods: K8sObject[] = [];
    for (const ns of this.removedNamespaces) pods.push(...(await this.client.list('watch-pods', PODS, { namespace: ns })).items);
    const nodes = this.nodeObjects().filter((n) => this.probedNodes().includes(n.metadata.name)) as (NodeObj & { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } })[];
    const renderedOsImage = new Map<string, string | undefined>();
    for (const name of new Set(nodes.map((n) => n.metadata.annotations?.[MCO_CURRENT_CONFIG]).filter((x): x is string => Boolean(x)))) {
      const mc = (await this.client.get('read-leftovers', MACHINECONFIGS, name).catch(() => undefined)) as { spec?: { osImageURL?: string } } | undefined;
      renderedOsImage.set(name, mc?.spec?.osImageURL || undefined);
    }
    const base = (await this.client.get('read-leftovers', CONFIGMAPS, 'machine-config-osimageurl', 'openshift-machine-config-operator').catch(() => undefined)) as { data?: { baseOSContainerImage?: string } } | undefined;
    return listLeftovers({ nodes: nodes.map((n) => ({ name: n.metadata.name, labels: n.metadata.labels, annotations: n.metadata.annotations })), pods, renderedOsImage, baseOSImage: base?.data?.baseOSContainerImage });
  }

  async changeRelease(to: Release, why: 'upgrade' | 'kernel-switch'): Promise<void> {
    this.refuseWrite(why === 'upgrade' ? 'upgrade the cluster' : 'switch kernels');
    const since = Date.now();
    const common = { client: this.client, emit: this.o.emit, label: this.label, pollMs: this.o.pollMs, blocked: () => this.failedMachineOSBuildsOf(this.pool(), since) };
    if (why === 'kernel-switch') {
      const pool = this.pool();
      const realtime = to.sources['kernel'] === this.rtMarker;
      // Recorded before the rollout wait: a rollout that times out still leaves the MachineConfig applied.
      if (realtime && !this.client.dryRun) this.ledger.record(realtimeMachineConfig(pool));
      await this.heldUpByBuild(why, 'the realtime kernel', since, () => switchKernel({ ...common, pool, realtime, timeoutMs: this.o.rolloutTimeoutMs }));
      if (!realtime && !this.client.dryRun) this.ledger.forget(realtimeMachineConfig(pool));
      return;
    }
    if (!(this.o.upgradeTo && this.o.confirmUpgrade)) {
      throw new UserError('upgrade on a real cluster needs --upgrade-to <version> and the confirmation flag');
    }
    if (to.version !== this.o.upgradeTo) throw new UserError(`asked to upgrade to ${to.version ?? '?'} but --upgrade-to is ${this.o.upgradeTo}`);
    await this.heldUpByBuild(why, this.o.upgradeTo, since, () => upgradeCluster({ ...common, version: this.o.upgradeTo!, timeoutMs: this.o.upgradeTimeoutMs }));
    if (!this.client.dryRun) this.clusterVersion = this.o.upgradeTo;
  }

  /**
   * Runs a release change's wait; when a failed MachineOSBuild of the pool ended it, the way
   * on is a person's: a new MachineOSConfig spec that builds on the new release (for a
   * rendered on-cluster layering set, its README's upgrade step: re-render for the target
   * release, apply) — recorded as that manual step, then a ReleaseChangeHeld goes up.
   */
  private async heldUpByBuild(why: 'upgrade' | 'kernel-switch', to: string, sinceMs: number, wait: () => Promise<void>): Promise<void> {
    try {
      await wait();
    } catch (e) {
      const failed = this.failedMachineOSBuildsOf(this.pool(), sinceMs);
      if (failed.length) {
        this.o.emit('manual-step', {
          description: `${why}: MachineConfigPool ${this.pool()}'s image build on ${to} failed, so its nodes stay where they are: change the MachineOSConfig so it builds on ${to} (re-render the method's artifacts for it) and apply it`,
          automatic: false,
          performedBy: 'user',
        });
        throw new ReleaseChangeHeld((e as Error).message);
      }
      throw e;
    }
  }

  async waitForModules(modules: string[], want: { loaded: boolean; timeoutMs: number }): Promise<WaitResult> {
    this.modules = modules;
    if (!this.writesAllowed) {
      this.noteOnce(`module presence on the host is not observed (${this.o.observeOnly ? '--observe-only' : '--dry-run=server'}: probe pods are writes)`);
      return { ok: false, pending: this.probedNodes() };
    }
    if (this.targets && this.probedNodes().length === 0) {
      this.o.emit('fault', { fault: 'no-target-node', message: `no node of ${this.label} matches the method's node selector (pool ${this.pool()}): the driver goes nowhere` });
      return { ok: false, pending: [] };
    }
    const start = Date.now();
    const deadline = start + want.timeoutMs;
    const clock = new SettleClock(this.o.settleGraceMs ?? 60_000);
    for (;;) {
      const pending = await this.probeAll(modules, want.loaded);
      if (pending.length === 0) return { ok: true, pending: [] };
      // Not after a grace window: the DaemonSet controller has decided for the current spec.
      const noPod = want.loaded ? this.noDaemonSetPod() : undefined;
      if (noPod) {
        const blockedBy = this.blockers();
        return { ok: false, pending, settled: { reason: noPod, afterMs: Date.now() - start }, ...(blockedBy.length ? { blockedBy } : {}) };
      }
      const settled = clock.update(this.settleDecision(pending, want.loaded), Date.now());
      if (settled || Date.now() >= deadline) {
        const blockedBy = this.blockers();
        return { ok: false, pending, ...(settled ? { settled: { reason: settled, afterMs: Date.now() - start } } : {}), ...(blockedBy.length ? { blockedBy } : {}) };
      }
      await sleep(Math.min(this.o.probeIntervalMs ?? 10_000, Math.max(0, deadline - Date.now())));
    }
  }

  /** What the watches show holding a rollout up: pods of the followed namespaces failing to pull, degraded pools, failed MachineOSBuilds. */
  blockers(): string[] {
    return blockers(this.followedObjects('pods'), this.watches.get('mcp')?.cache.values() ?? [], this.machineOSBuilds());
  }

  /** The watched objects of one kind (`pods`, `builds`) in the followed namespaces. */
  private followedObjects(kind: 'pods' | 'builds'): WatchObject[] {
    return [...this.followed].flatMap((ns) => [...(this.watches.get(`${kind}/${ns}`)?.cache.values() ?? [])]);
  }

  /** Why none of the followed set's DaemonSets places a pod anywhere, or undefined (daemonset-status.ts). */
  private noDaemonSetPod(): string | undefined {
    const watched = [...new Set(this.daemonSets.map((d) => d.namespace))].flatMap((ns) => [...(this.watches.get(`daemonsets/${ns}`)?.cache.values() ?? [])]);
    return noDaemonSetPod(this.daemonSets, watched);
  }

  /** Whether the watches show the pending nodes' state cannot change by itself (settled.ts). */
  private settleDecision(pending: string[], wantLoaded: boolean) {
    return settleDecision({
      pending,
      wantLoaded,
      podDelivered: this.podDelivered,
      nodes: this.nodeObjects(),
      pools: this.watches.get('mcp')?.cache.values() ?? [],
      pods: this.followedObjects('pods'),
      builds: this.followedObjects('builds'),
      machineOSBuilds: this.machineOSBuilds(),
    });
  }

  /** Probes the targeted nodes (Ready ones; the others are pending); returns nodes not in the wanted state. */
  private async probeAll(modules: string[], wantLoaded?: boolean): Promise<string[]> {
    if (!this.namespaceReady) await this.ensureNamespace();
    const pending: string[] = [];
    await Promise.all(
      this.probedNodes().map(async (node) => {
        // A node the machine-config daemon is updating (drain, pull, reboot) is judged once it
        // runs its new config: a probe there may see the old boot's modules, or the new boot's
        // before the Node reports it, and end an unload wait before the reboot.
        if (!this.nodeReady(node) || this.nodeUpdating(node)) {
          pending.push(node);
          return;
        }
        let seen: ModuleProbe[];
        try {
          seen = await probeModules({ client: this.client, namespace: this.ns, node, modules, image: this.o.probeImage, pollMs: Math.min(1000, this.o.pollMs ?? 1000) });
        } catch (e) {
          // Said once per distinct reason: during a long API outage the probe fails every round.
          const why = `module probe on ${node} did not answer: ${(e as Error).message}`;
          if (this.lastProbeProblem.get(node) !== why) this.o.emit('progress', { step: why }, node);
          this.lastProbeProblem.set(node, why);
          pending.push(node);
          return;
        }
        this.lastProbeProblem.delete(node);
        for (const s of seen) {
          const { module, ...rest } = s;
          this.o.emit('module-state', { module, ...rest }, node);
        }
        if (wantLoaded !== undefined && !seen.every((s) => s.loaded === wantLoaded)) pending.push(node);
      }),
    );
    return pending.sort();
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /**
   * Prometheus windows start when the method's objects arrive (apply/follow/remove), so
   * no sample from before the trigger is recorded after it; consecutive windows do not
   * overlap, and one shorter than `prometheusMinWindowMs` waits for the next call.
   */
  private startWindow(): void {
    this.lastObserveMs = this.now();
  }

  get resourceWindowMs(): number {
    return this.o.prometheusMinWindowMs ?? 60_000;
  }

  async observe(opts: { modules?: boolean; closing?: boolean } = {}): Promise<void> {
    let now = this.now();
    if (opts.modules !== false && this.writesAllowed && this.modules.length > 0) await this.probeAll(this.modules);
    // The canary is probed continuously (startCanaryProbes), not per observation.
    const from = this.lastObserveMs || now;
    const minMs = this.resourceWindowMs;
    if (this.followed.size + this.nodes().length === 0) return;
    const short = minMs - (now - from);
    if (opts.closing && short > 0 && short <= (this.o.closingWaitMs ?? 0)) {
      // The scenario's last chance: a window left shorter than the minimum would never be
      // sampled, and a quick scenario would have no memory or CPU figure at all. Wait until
      // it spans the minimum (enough scrapes to hold the window's own samples).
      await new Promise((r) => setTimeout(r, short));
      now = this.now();
    }
    if (now - from >= minMs) {
      await this.samplePrometheus(from, now);
      this.lastObserveMs = now;
    }
  }

  private async prom(): Promise<PrometheusClient | undefined> {
    if (this.prometheus) return this.prometheus;
    if (this.prometheusProblem) return undefined;
    try {
      if (this.writesAllowed && !this.namespaceReady) await this.ensureNamespace();
      this.prometheus = await PrometheusClient.forCluster(this.client, this.credentials, this.o.prometheusUrl, { serviceAccountNamespace: this.writesAllowed ? this.ns : undefined });
      return this.prometheus;
    } catch (e) {
      this.prometheusProblem = (e as Error).message;
      this.o.emit('fault', { fault: 'prometheus-unavailable', message: `${this.prometheusProblem}; memory and CPU are not measured` });
      return undefined;
    }
  }

  /** Memory/CPU of the followed namespaces and node memory over [fromMs, toMs]. */
  private async samplePrometheus(fromMs: number, toMs: number): Promise<void> {
    const prom = await this.prom();
    if (!prom) return;
    const pods = new Map<string, PodInfo>();
    for (const [k, w] of this.watches) {
      if (!k.startsWith('pods/')) continue;
      for (const pod of w.cache.values()) pods.set(`${pod.metadata.namespace}/${pod.metadata.name}`, podInfo(pod));
    }
    await sampleResources({ prom, emit: this.o.emit, namespaces: [...this.followed], nodes: this.nodes(), pods, fromMs, toMs, ...(this.o.prometheusStepS ? { stepS: this.o.prometheusStepS } : {}) });
  }

  /**
   * Stops watching and removes what kmodlab applied or created. `discarding`: the caller
   * throws the whole cluster away next (the lab target stopping a lab it started), so the
   * deletes — foreground, waiting for finalizers, half a minute on the lab — are skipped.
   */
  async close(opts: { discarding?: boolean } = {}): Promise<void> {
    await this.canaryProber?.stop();
    await this.readyz.stop();
    await Promise.all([...this.watches.values()].map((w) => w.stop()));
    if (opts.discarding) return;
    await this.removeApplied();
    if (this.canaryCreated && this.writesAllowed) {
      for (const node of this.nodes()) {
        await this.client.delete('canary', canaryDeployment(this.ns, node), { waitMs: 60_000, pollMs: this.o.pollMs }).catch(() => undefined);
      }
    }
    if (this.prometheus?.usesServiceAccount) await removePrometheusAccess(this.client, this.ns, { pollMs: this.o.pollMs }).catch(() => undefined);
    if (this.namespaceCreated && this.writesAllowed) {
      await this.client.deleteRef('kmodlab-namespace', NAMESPACES, this.ns, undefined, { waitMs: 120_000, pollMs: this.o.pollMs }).catch(() => undefined);
    }
  }

  /**
   * What a failed scenario left applied (apply() without its remove()): deleted here, newest
   * first, so a run never leaves kmodlab's objects behind. Never throws: what cannot be
   * deleted is reported as a `leftover` fault. Public so that a reset before the next
   * scenario can start from a clean cluster too.
   */
  async removeApplied(): Promise<void> {
    const rest = this.ledger.remaining();
    if (rest.length === 0 || !this.writesAllowed) return;
    this.o.emit('progress', { step: `removing what kmodlab applied and did not remove: ${rest.map(objectLabel).join(', ')}` });
    try {
      const r = await trackedRemove(this.client, this.ledger, 'apply-artifacts', rest, { waitMs: 5 * 60_000, pollMs: this.o.pollMs });
      this.o.emit('delete', { objects: r.removed, cleanup: true });
      if (r.left.length) this.o.emit('fault', { fault: 'leftover', message: `still present 5 min after deletion: ${r.left.join(', ')}` });
    } catch (e) {
      this.o.emit('fault', { fault: 'leftover', message: `could not remove ${rest.map(objectLabel).join(', ')}: ${(e as Error).message}` });
    }
  }

  /** Outages of the API measured so far. */
  get apiOutages() {
    return this.readyz.outages;
  }
}

export { KubeApiError };

/** The namespaces a set's objects live in (its Namespaces and their contents). */
function namespacesOf(set: ArtifactSet): string[] {
  const namespaces = new Set<string>();
  for (const o of allObjects(set)) {
    if (o.kind === 'Namespace') namespaces.add(o.metadata.name);
    else if (o.metadata.namespace) namespaces.add(o.metadata.namespace);
  }
  return [...namespaces];
}
