/**
 * What a change of a watched object means for the run record — pure functions from
 * (old, new) to events, so they can be tested with captured objects and no cluster.
 * Each returns `[kind, data, node?]` tuples for TargetEmit.
 */
import { observePod } from '../pod-restarts.js';
import type { EventKind } from '../../evaluation/events.js';
import { LABEL_COMPONENT, LABEL_NAME } from '../../labels.js';
import type { WatchEventType, WatchObject } from './watch.js';
import { z } from 'zod';
import { MODULE_DEPENDENCIES, ModuleDependencySchema, type ModuleDependency } from '../lab/driver-builds/module-dependencies.js';
import { readBuildHostFigures } from '../lab/images/build-host-figures.js';
import { parseOsImagePulledMessage, parsePulledMessage, PULLED_BYTES_ANNOTATION, PULLED_REASON } from '../image-pulled-event.js';
import { readJsonAnnotation } from '../json-annotation.js';

export type Emitted = [EventKind, Record<string, unknown>, string?];

type Node = WatchObject & {
  spec?: { unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string; reason?: string }[]; nodeInfo?: { bootID?: string; kernelVersion?: string; osImage?: string } };
};

function ready(n: Node | undefined): boolean | undefined {
  const c = n?.status?.conditions?.find((x) => x.type === 'Ready');
  return c ? c.status === 'True' : undefined;
}

/** MCO marks a node it is updating (drain + reboot) with this annotation. */
export const MCO_STATE = 'machineconfiguration.openshift.io/state';

/**
 * Nodes: Ready True→not True = `node-down`; Ready back to True = `node-up` (with the
 * boot it runs: a reboot is a node-up with a new bootID); cordon/uncordon = `node-drain`.
 * A new `bootID` whose NotReady phase was never seen (single-node OpenShift: the API
 * itself was down while the node rebooted, and the watch resumes after) = a reboot whose
 * `node-down` is emitted then, backdated with `at` to `downSinceMs` — when the API
 * outage began, the best-known start of the reboot. The node is up again when it is
 * Ready=True, not at the first sight of its new bootID: the kubelet reports the new boot
 * while still NotReady (its runtime, network and pods are not up yet).
 */
export function nodeEvents(type: WatchEventType, n: Node, old: Node | undefined, downSinceMs?: number): Emitted[] {
  const name = n.metadata.name;
  const out: Emitted[] = [];
  if (type === 'DELETED') return [['node-down', { reason: 'poweroff', detail: 'Node object deleted' }, name]];
  if (!old) return out; // first sight: the target records the initial node-up itself
  const wasReady = ready(old);
  const isReady = ready(n);
  const bootBefore = old.status?.nodeInfo?.bootID;
  const bootNow = n.status?.nodeInfo?.bootID;
  const rebooted = !!bootBefore && !!bootNow && bootBefore !== bootNow;
  const planned = n.metadata.annotations?.[MCO_STATE] === 'Working' || n.spec?.unschedulable === true;
  if (!old.spec?.unschedulable && n.spec?.unschedulable) out.push(['node-drain', { phase: 'start' }, name]);
  if (rebooted && wasReady !== false) {
    out.push(['node-down', { reason: 'reboot', detail: `bootID changed; the NotReady phase was not observed${downSinceMs !== undefined ? ' (backdated to the API outage start)' : ''}`, ...(downSinceMs !== undefined ? { at: downSinceMs } : {}) }, name]);
  } else if (wasReady === true && isReady === false) {
    const c = n.status?.conditions?.find((x) => x.type === 'Ready');
    out.push(['node-down', { reason: planned ? 'reboot' : 'hang', detail: `Ready=${c?.status ?? '?'}${c?.reason ? ` (${c.reason})` : ''}` }, name]);
  }
  if (isReady === true && (wasReady !== true || rebooted)) {
    out.push(['node-up', { bootId: bootNow ?? '', kver: n.status?.nodeInfo?.kernelVersion ?? '', ...(n.status?.nodeInfo?.osImage ? { osImage: n.status.nodeInfo.osImage } : {}) }, name]);
  }
  if (old.spec?.unschedulable && !n.spec?.unschedulable) out.push(['node-drain', { phase: 'end' }, name]);
  out.push(...kmmLabelEvents(n, old));
  return out;
}

/**
 * KMM's node labels (`kmm.node.kubernetes.io/<ns>.<module>.ready`, `…/version-module…`)
 * appearing or going: timeline notes only — presence on the host is the probe's job.
 */
const KMM_LABEL_PREFIX = 'kmm.node.kubernetes.io/';
function kmmLabelEvents(n: Node, old: Node): Emitted[] {
  const now = n.metadata.labels ?? {};
  const before = old.metadata.labels ?? {};
  const out: Emitted[] = [];
  for (const k of new Set([...Object.keys(now), ...Object.keys(before)])) {
    if (!k.startsWith(KMM_LABEL_PREFIX) || now[k] === before[k]) continue;
    const change = k in now ? (k in before ? 'changed' : 'added') : 'removed';
    out.push(['progress', { step: `KMM node label ${k} ${change}`, kmmLabel: k, change, ...(k in now ? { value: now[k] } : {}) }, n.metadata.name]);
  }
  return out;
}

type Pod = WatchObject & {
  metadata: WatchObject['metadata'] & { ownerReferences?: { kind: string; name: string }[]; generateName?: string; deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    containerStatuses?: { name: string; image?: string; restartCount?: number; lastState?: { terminated?: { reason?: string; exitCode?: number } }; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
};

/** The component a pod belongs to: its component label, else its owner, else its name. */
export function componentOf(p: Pod): string {
  const labels = p.metadata.labels ?? {};
  if (labels[LABEL_COMPONENT]) return labels[LABEL_COMPONENT];
  const owner = p.metadata.ownerReferences?.[0];
  if (owner) return owner.kind === 'ReplicaSet' ? owner.name.replace(/-[a-z0-9]{5,10}$/, '') : owner.name;
  if (labels[LABEL_NAME]) return labels[LABEL_NAME];
  return p.metadata.generateName?.replace(/-$/, '') ?? p.metadata.name;
}

function restarts(p: Pod | undefined): number {
  return (p?.status?.containerStatuses ?? []).reduce((a, c) => a + (c.restartCount ?? 0), 0);
}

/**
 * The kubelet's waiting reasons of a failed image pull (k8s.io/kubernetes pkg/kubelet/images
 * types.go: ErrImagePull, then ImagePullBackOff while the back-off runs and the pull is retried;
 * ErrImageNeverPull, InvalidImageName are not retried).
 */
const PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName']);

export function pullFailure(p: Pod | undefined): { container: string; image?: string; reason: string; message?: string } | undefined {
  for (const c of p?.status?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason && PULL_FAILURES.has(w.reason)) return { container: c.name, ...(c.image ? { image: c.image } : {}), reason: w.reason, ...(w.message ? { message: w.message } : {}) };
  }
  return undefined;
}

/**
 * A pull that failed because the registry does not hold the image (yet): a DTK DaemonSet's
 * pods wait so until their build pushes it, as on any cluster. Registries say it as
 * `manifest unknown` / `name unknown` (distribution API errors), CRI-O as `not found`.
 */
const NOT_THERE = /manifest unknown|name unknown|not found|notfound/i;
const notThere = (f: ReturnType<typeof pullFailure>) => !!f && NOT_THERE.test(f.message ?? '');

/**
 * Pods replaced by a new pod of the same lineage — the same name, or the same owner on the
 * same node (a DaemonSet's pod re-created on its node, a static pod, a StatefulSet's
 * ordinal): the workload on that node restarted, though no restart count rose. A
 * replacement counts when a pod with a new uid is seen Running after a pod of its lineage
 * was seen Running and then gone (deleted, being deleted, or terminated); each gone pod
 * is counted once. A pod seen for the first time (at the watch's start, at a node's boot)
 * with no gone predecessor only started. Two live pods of one owner on one node (a
 * ReplicaSet's replicas) are not replacements of each other.
 */
export class PodLineage {
  /** What was seen of each pod (by uid), and the uids of each lineage key. */
  private readonly seen = new Map<string, { name: string; running: boolean; gone: boolean; consumed: boolean }>();
  private readonly lineages = new Map<string, Set<string>>();

  private keys(p: Pod): string[] {
    const ns = p.metadata.namespace ?? '';
    const node = p.spec?.nodeName ?? '';
    const owner = p.metadata.ownerReferences?.[0];
    return [`${ns}/name/${p.metadata.name}`, ...(owner && node ? [`${ns}/${owner.kind}/${owner.name}@${node}`] : [])];
  }

  /** Records one watch event; returns the pod this one replaced, when it is a replacement. */
  observe(type: WatchEventType, p: Pod): { replaced: string } | undefined {
    const uid = p.metadata.uid;
    if (!uid) return undefined;
    const running = type !== 'DELETED' && p.status?.phase === 'Running' && !p.metadata.deletionTimestamp;
    const gone = type === 'DELETED' || !!p.metadata.deletionTimestamp || p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
    const me = this.seen.get(uid) ?? { name: p.metadata.name, running: false, gone: false, consumed: false };
    this.seen.set(uid, me);
    let replaced: string | undefined;
    for (const k of this.keys(p)) {
      const uids = this.lineages.get(k) ?? new Set<string>();
      this.lineages.set(k, uids.add(uid));
      if (!running || me.running || replaced !== undefined) continue;
      for (const u of uids) {
        const x = this.seen.get(u)!;
        if (u !== uid && x.running && x.gone && !x.consumed) {
          x.consumed = true;
          replaced = x.name;
          break;
        }
      }
    }
    me.running ||= running;
    me.gone ||= gone;
    return replaced !== undefined ? { replaced } : undefined;
  }
}

/**
 * Pods: Running for the first time = `pod-start`; restartCount up = `pod-restart`; a pod
 * replaced by a new one of its lineage (PodLineage, when given) = `pod-restart`; gone =
 * `pod-stop`. An image pull that fails = one `fault` (`image-pull`) with the kubelet's
 * waiting message as its evidence — once per failure spell: ErrImagePull ⇄ ImagePullBackOff
 * while the kubelet retries is the same fault — and a `progress` note when it is over. An
 * image the registry does not hold is only a `progress` note when first seen (it may be
 * being built); if it never comes, the wait for the driver names it (`blockers`).
 */
export function podEvents(type: WatchEventType, p: Pod, old: Pod | undefined, lineage?: PodLineage): Emitted[] {
  const node = p.spec?.nodeName;
  const base = { pod: `${p.metadata.namespace}/${p.metadata.name}`, component: componentOf(p) };
  const replacement = lineage?.observe(type, p);
  if (type === 'DELETED') return [['pod-stop', { ...base, reason: 'deleted' }, node]];
  const out: Emitted[] = [];
  const pull = pullFailure(p);
  const pulling = pullFailure(old);
  const what = pull && `${base.pod}: ${pull.reason}: ${pull.message ?? `image ${pull.image ?? '?'} could not be pulled`}`;
  if (pull && !notThere(pull) && !(pulling && !notThere(pulling))) {
    out.push(['fault', { fault: 'image-pull', ...base, container: pull.container, ...(pull.image ? { image: pull.image } : {}), reason: pull.reason, message: what }, node]);
  } else if (pull && !pulling) {
    out.push(['progress', { step: `${what} (not in the registry yet)`, ...base, pullFailure: pull.reason }, node]);
  } else if (!pull && pulling) {
    out.push(['progress', { step: `${base.pod}: ${pulling.image ? `image ${pulling.image}` : 'the image'} no longer failing to pull (was ${pulling.reason})`, ...base }, node]);
  }
  if (p.status?.phase === 'Running' && old?.status?.phase !== 'Running') out.push(['pod-start', base, node]);
  // One rule for every target (targets/pod-restarts.ts): here, the restart count rose.
  const c = (p.status?.containerStatuses ?? []).find((x) => (x.restartCount ?? 0) > 0);
  const seen = old ? observePod({ seenRunning: old.status?.phase === 'Running', restartCount: restarts(old) }, { running: p.status?.phase === 'Running', restartCount: restarts(p), reason: c?.lastState?.terminated?.reason ?? c?.state?.waiting?.reason ?? 'restarted' }) : undefined;
  if (seen?.restart) out.push(['pod-restart', { ...base, restartCount: restarts(p), reason: seen.restart.reason }, node]);
  else if (replacement) out.push(['pod-restart', { ...base, restartCount: restarts(p), reason: `replaced ${p.metadata.namespace}/${replacement.replaced} (new pod uid)`, replaced: `${p.metadata.namespace}/${replacement.replaced}` }, node]);
  if ((p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded') && old?.status?.phase === 'Running') {
    out.push(['pod-stop', { ...base, reason: p.status.phase }, node]);
  }
  return out;
}

type Pool = WatchObject & {
  spec?: { paused?: boolean };
  status?: {
    machineCount?: number;
    updatedMachineCount?: number;
    readyMachineCount?: number;
    degradedMachineCount?: number;
    unavailableMachineCount?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
};

/**
 * Why a pool is degraded, from its conditions (release-4.14 pkg/controller/node/status.go:
 * NodeDegraded's message quotes each degraded node's machineconfiguration.openshift.io/reason,
 * e.g. the OS image pull error; RenderDegraded names a render failure).
 */
export function degradedWhy(p: Pool): string | undefined {
  const why = (p.status?.conditions ?? []).filter((c) => (c.type === 'NodeDegraded' || c.type === 'RenderDegraded') && c.status === 'True' && c.message).map((c) => c.message!);
  return why.length ? why.join('; ') : undefined;
}

/**
 * MachineConfigPools: counts changed → `progress`; more degraded machines → `fault`;
 * a pool seen paused (spec.paused: the MCO updates none of its nodes, release-4.14) →
 * `fault`, unpaused → `progress`.
 */
export function poolEvents(type: WatchEventType, p: Pool, old: Pool | undefined): Emitted[] {
  if (type === 'DELETED') return [];
  const paused: Emitted[] = [];
  const isPaused = p.spec?.paused === true;
  const wasPaused = old ? old.spec?.paused === true : false;
  if (isPaused && !wasPaused) {
    paused.push(['fault', { fault: 'machineconfigpool-paused', pool: p.metadata.name, message: `MachineConfigPool ${p.metadata.name} is paused: the Machine Config Operator updates none of its nodes until it is unpaused` }]);
  } else if (!isPaused && wasPaused) {
    paused.push(['progress', { step: `MachineConfigPool ${p.metadata.name} unpaused`, pool: p.metadata.name }]);
  }
  const s = p.status ?? {};
  const o = old?.status ?? {};
  const keys = ['machineCount', 'updatedMachineCount', 'readyMachineCount', 'degradedMachineCount', 'unavailableMachineCount'] as const;
  if (old && keys.every((k) => s[k] === o[k])) return paused;
  // Unavailable is in the line: a node cordoned for its update changes only that count, and
  // without it the line read the same twice.
  const counts = Object.fromEntries(keys.map((k) => [k, s[k] ?? 0]));
  const out: Emitted[] = [
    ['progress', { step: `MachineConfigPool ${p.metadata.name}: ${s.updatedMachineCount ?? 0}/${s.machineCount ?? 0} updated, ${s.unavailableMachineCount ?? 0} unavailable, ${s.degradedMachineCount ?? 0} degraded`, pool: p.metadata.name, ...counts }],
  ];
  if ((s.degradedMachineCount ?? 0) > (o.degradedMachineCount ?? 0)) {
    const why = degradedWhy(p);
    out.push(['fault', { fault: 'machineconfigpool-degraded', pool: p.metadata.name, message: `MachineConfigPool ${p.metadata.name}: ${s.degradedMachineCount} machine(s) degraded${why ? `: ${why}` : ''}` }]);
  } else if (old && (s.degradedMachineCount ?? 0) === 0 && (o.degradedMachineCount ?? 0) > 0) {
    out.push(['progress', { step: `MachineConfigPool ${p.metadata.name}: no machine degraded any more`, pool: p.metadata.name }]);
  }
  return [...paused, ...out];
}

/** Waiting reasons of a container that cannot start as it is (kubelet: crash loop, bad config). */
const STUCK = new Set(['CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);
function stuck(p: Pod): { reason: string; message?: string } | undefined {
  for (const c of p.status?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason && STUCK.has(w.reason)) return { reason: w.reason, ...(w.message ? { message: w.message } : {}) };
  }
  return undefined;
}

/**
 * What holds a rollout up now, from the watched objects (also pods whose container crash-loops
 * or cannot be created, with the kubelet's waiting message): pods failing to pull their image
 * (the kubelet's waiting message), degraded pools (their NodeDegraded/RenderDegraded
 * message) and failed MachineOSBuilds (failedMachineOSBuilds) — said when a wait for the
 * driver ends without it.
 */
export function blockers(pods: Iterable<WatchObject>, pools: Iterable<WatchObject>, machineOSBuilds: Iterable<WatchObject> = []): string[] {
  const out: string[] = [];
  for (const p of pods as Iterable<Pod>) {
    const w = pullFailure(p) ?? stuck(p);
    if (w) out.push(`pod ${p.metadata.namespace}/${p.metadata.name}${p.spec?.nodeName ? ` on ${p.spec.nodeName}` : ''}: ${w.reason}${w.message ? `: ${w.message}` : ''}`);
  }
  for (const p of pools as Iterable<Pool>) {
    if ((p.status?.degradedMachineCount ?? 0) > 0 || degradedWhy(p)) out.push(`MachineConfigPool ${p.metadata.name} degraded${degradedWhy(p) ? `: ${degradedWhy(p)}` : ''}`);
  }
  out.push(...failedMachineOSBuilds(machineOSBuilds).map((f) => f.evidence));
  return out;
}

/** True when a pool has rolled out its current config to every machine. */
export function poolUpdated(p: Pool & { metadata: { generation?: number }; status?: { observedGeneration?: number } }): boolean {
  const s = p.status ?? {};
  return (s.machineCount ?? 0) > 0 && s.updatedMachineCount === s.machineCount && (s.degradedMachineCount ?? 0) === 0;
}

type Build = WatchObject & {
  spec?: { strategy?: { dockerStrategy?: { buildArgs?: { name: string; value?: string }[] } } };
  /** `duration`: nanoseconds (openshift/api BuildStatus.Duration); the timestamps have whole seconds only. */
  status?: { phase?: string; startTimestamp?: string; completionTimestamp?: string; duration?: number; message?: string; reason?: string; outputDockerImageReference?: string; output?: { to?: { imageDigest?: string } } };
};

/** The image a completed Build pushed, by digest (openshift/api build/v1 BuildStatus: outputDockerImageReference, output.to.imageDigest). */
function builtImageRef(b: Build): string | undefined {
  const ref = b.status?.outputDockerImageReference;
  const digest = b.status?.output?.to?.imageDigest;
  if (!ref || !digest) return undefined;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return `${colon > slash ? ref.slice(0, colon) : ref}@${digest}`;
}

/** The lab's record of the built modules' dependencies (absent on a cluster's Builds, or unreadable: none). */
function buildDependencies(b: Build): { dependencies: ModuleDependency[] } | Record<string, never> {
  const dependencies = readJsonAnnotation(b.metadata.annotations, MODULE_DEPENDENCIES, z.array(ModuleDependencySchema));
  return dependencies ? { dependencies } : {};
}

/**
 * The build host's figures the lab writes on a build object it ran, as `build` event fields
 * (images/build-host-figures.ts); a cluster's builds have none, their figures are "not measured".
 */
function hostFigures(annotations: Record<string, string> | undefined): Record<string, number> {
  const f = readBuildHostFigures(annotations);
  return f ? { ...f } : {};
}

/** A Build's wall time: `status.duration` (ns) where set, else its whole-second timestamps apart. */
function buildWallMs(b: Build): { wallMs: number } | Record<string, never> {
  const ns = b.status?.duration;
  if (typeof ns === 'number' && ns >= 0) return { wallMs: Math.round(ns / 1e6) };
  const start = Date.parse(b.status?.startTimestamp ?? '');
  const end = Date.parse(b.status?.completionTimestamp ?? '');
  return Number.isFinite(start) && Number.isFinite(end) ? { wallMs: end - start } : {};
}

/** OpenShift Builds: reaching Complete/Failed/Error = one `build` event (with the lab's dependency record and build-host figures, when there are). */
export function buildEvents(type: WatchEventType, b: Build, old: Build | undefined): Emitted[] {
  const done = ['Complete', 'Failed', 'Error', 'Cancelled'];
  const phase = b.status?.phase ?? '';
  if (type === 'DELETED' || !done.includes(phase) || done.includes(old?.status?.phase ?? '')) return [];
  const args = b.spec?.strategy?.dockerStrategy?.buildArgs ?? [];
  const kver = args.find((a) => a.name === 'KVER' || a.name === 'KERNEL_FULL_VERSION' || a.name === 'KERNEL_VERSION')?.value ?? '';
  return [
    [
      'build',
      {
        kver,
        ok: phase === 'Complete',
        cached: false,
        build: `${b.metadata.namespace}/${b.metadata.name}`,
        ...buildWallMs(b),
        ...(phase === 'Complete' && builtImageRef(b) ? { image: builtImageRef(b) } : {}),
        ...(phase !== 'Complete' ? { error: `${phase}${b.status?.reason ? `: ${b.status.reason}` : ''}` } : {}),
        ...buildDependencies(b),
        ...hostFigures(b.metadata.annotations),
      },
    ],
  ];
}

type KmmModule = WatchObject & { status?: { moduleLoader?: { nodesMatchingSelectorNumber?: number; desiredNumber?: number; availableNumber?: number } } };

/** KMM Modules: loader counts changed → `progress` (the module's presence is checked on the host). */
export function kmmModuleEvents(type: WatchEventType, m: KmmModule, old: KmmModule | undefined): Emitted[] {
  if (type === 'DELETED') return [['progress', { step: `KMM Module ${m.metadata.namespace}/${m.metadata.name} deleted` }]];
  const s = m.status?.moduleLoader ?? {};
  const o = old?.status?.moduleLoader ?? {};
  if (old && s.availableNumber === o.availableNumber && s.desiredNumber === o.desiredNumber && s.nodesMatchingSelectorNumber === o.nodesMatchingSelectorNumber) return [];
  return [['progress', { step: `KMM Module ${m.metadata.name}: ${s.availableNumber ?? 0}/${s.desiredNumber ?? 0} loader pods available`, kmmModule: m.metadata.name, ...s }]];
}

type KEvent = WatchObject & {
  type?: string;
  reason?: string;
  message?: string;
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  source?: { host?: string };
  reportingInstance?: string;
  /** Occurrences: a kubelet records a repeat of an identical Event by counting up (MODIFIED), not as a new one. */
  count?: number;
};

/**
 * Core events: Warnings, as progress notes on the timeline; the kubelet's `Pulled` after an
 * actual pull (image-pulled-event.ts), as an `image-pull` on its node with the image size the
 * runtime reported, or the bytes the node fetched where the lab's kubelet says so (then the
 * size is `imageBytes`) — "already present" Events pulled nothing and are not counted; the lab
 * machine-config daemon's `Pulled` on a Node, as an `image-pull` of that OS image with the
 * bytes the node fetched (`osImage`: whose image it was, the method's or the release's).
 */
export function clusterEventEvents(type: WatchEventType, e: KEvent, old?: KEvent): Emitted[] {
  // A repeat of a Warning already shown (its count went up) is not shown again (as
  // `kubectl get events` lists it once, "x4"); a repeated kernel mismatch is a new fault
  // (another boot into the wrong kernel).
  if (type === 'MODIFIED' && e.type === 'Warning' && e.reason === KERNEL_MISMATCH_REASON && e.involvedObject?.kind === 'Node' && (e.count ?? 1) > (old?.count ?? 1)) {
    return [['fault', { fault: 'kernel-mismatch', message: `${e.message ?? ''} (${e.count} times)` }, e.involvedObject.name]];
  }
  if (type !== 'ADDED') return [];
  if (e.type === 'Normal' && e.reason === PULLED_REASON && e.involvedObject?.kind === 'Node') {
    // An OS image the node's machine-config daemon pulled (the lab's; a cluster's MCD records none).
    const os = parseOsImagePulledMessage(e.message ?? '');
    const node = e.involvedObject.name ?? e.source?.host;
    if (!os || !node) return [];
    return [['image-pull', { image: os.image, bytes: os.pulledBytes, pullMs: os.pullMs, imageBytes: os.sizeBytes, osImage: os.source }, node]];
  }
  if (e.type === 'Normal' && e.reason === PULLED_REASON) {
    const pull = parsePulledMessage(e.message ?? '');
    const node = e.source?.host ?? e.reportingInstance;
    if (!pull || !node) return [];
    const pod = e.involvedObject?.kind === 'Pod' ? { pod: `${e.involvedObject.namespace ?? e.metadata.namespace ?? ''}/${e.involvedObject.name ?? ''}` } : {};
    // The lab's kubelet says what the node fetched; a cluster's says the image size only (an upper bound).
    const fetched = Number(e.metadata.annotations?.[PULLED_BYTES_ANNOTATION] ?? NaN);
    const bytes = Number.isSafeInteger(fetched) && fetched >= 0 ? { bytes: fetched, imageBytes: pull.sizeBytes } : { bytes: pull.sizeBytes };
    return [['image-pull', { image: pull.image, ...bytes, pullMs: pull.pullMs, ...pod }, node]];
  }
  if (e.type !== 'Warning') return [];
  const what = `${e.involvedObject?.kind ?? ''}/${e.involvedObject?.name ?? ''}`;
  const out: Emitted[] = [['progress', { step: `Warning ${e.reason ?? ''} ${what}: ${(e.message ?? '').slice(0, 300)}`, clusterEvent: e.reason ?? '' }, e.source?.host]];
  // A node that booted another kernel than the one it was meant to (the lab's node agent checks
  // this at every boot): the run's kernel-mismatch fault, on that node.
  if (e.reason === KERNEL_MISMATCH_REASON && e.involvedObject?.kind === 'Node') out.push(['fault', { fault: 'kernel-mismatch', message: e.message ?? '' }, e.involvedObject.name]);
  return out;
}

/** The reason of the Warning Event on a Node whose guest runs another kernel than was meant to boot. */
export const KERNEL_MISMATCH_REASON = 'KernelMismatch';

type Deployment = WatchObject & { status?: { availableReplicas?: number } };

/**
 * Canary Deployments: availability changed → `canary` (`via: availability`) on the node it
 * is pinned to — context for the timeline; disruption is measured by probes (canary-probe.ts).
 */
export function canaryEvents(type: WatchEventType, d: Deployment, old: Deployment | undefined, nodeAnnotation: string): Emitted[] {
  const node = d.metadata.annotations?.[nodeAnnotation];
  if (!node) return [];
  const up = type !== 'DELETED' && (d.status?.availableReplicas ?? 0) > 0;
  const wasUp = old ? (old.status?.availableReplicas ?? 0) > 0 : undefined;
  if (type === 'DELETED' || up === wasUp) return [];
  return [['canary', { up, via: 'availability' }, node]];
}

type CanaryPod = WatchObject & { metadata: WatchObject['metadata'] & { deletionTimestamp?: string; creationTimestamp?: string }; spec?: { nodeName?: string }; status?: { phase?: string } };

/** The canary pod running on `node` (not being deleted; the newest if the watch shows two), or undefined. */
export function canaryPodOn(pods: Iterable<WatchObject>, node: string): string | undefined {
  const on = [...(pods as Iterable<CanaryPod>)].filter((p) => p.spec?.nodeName === node && p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  on.sort((a, b) => String(b.metadata.creationTimestamp ?? '').localeCompare(String(a.metadata.creationTimestamp ?? '')));
  return on[0]?.metadata.name;
}

/**
 * On-cluster layering's MachineOSBuild (machineconfiguration.openshift.io/v1 from 4.18/4.19;
 * the Tech Preview v1alpha1 of 4.16–4.17 has the same condition types and buildStart/buildEnd,
 * but `finalImagePushspec` and `builderReference.buildPod` where v1 has
 * `digestedImagePushSpec` and `builder.job`). The MCO (release-4.19 pkg/apihelpers
 * machineosbuild.go) always writes the five conditions Prepared, Building, Failed,
 * Interrupted, Succeeded, exactly one of them True, with fixed reasons and messages
 * ("Build Failed"): why a build failed is in its builder's log (the build Job's pod in
 * openshift-machine-config-operator), which the evidence names. Once Failed, Interrupted or
 * Succeeded is True the conditions are immutable (CRD validation): a failed build is never
 * retried, a new one needs a new MachineOSConfig spec, rendered config or the rebuild
 * annotation.
 */
type MachineOSBuild = WatchObject & {
  metadata: WatchObject['metadata'] & { creationTimestamp?: string };
  spec?: { machineOSConfig?: { name?: string } };
  status?: {
    buildStart?: string;
    buildEnd?: string;
    digestedImagePushSpec?: string;
    finalImagePushspec?: string;
    builder?: { imageBuilderType?: string; job?: { name?: string; namespace?: string } };
    builderReference?: { imageBuilderType?: string; buildPod?: { name?: string; namespace?: string } };
    conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[];
  };
};

/** The label the MCO puts on a MachineOSBuild naming its MachineOSConfig. */
const MOSB_CONFIG_LABEL = 'machineconfiguration.openshift.io/machine-os-config';

/** The terminal state of a MachineOSBuild (its True terminal condition), or undefined while it runs. */
export function machineOSBuildOutcome(b: MachineOSBuild | undefined): { state: 'Succeeded' | 'Failed' | 'Interrupted'; reason?: string; message?: string } | undefined {
  for (const state of ['Failed', 'Interrupted', 'Succeeded'] as const) {
    const c = b?.status?.conditions?.find((x) => x.type === state && x.status === 'True');
    if (c) return { state, ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) };
  }
  return undefined;
}

function machineOSConfigOf(b: MachineOSBuild): string | undefined {
  return b.spec?.machineOSConfig?.name ?? b.metadata.labels?.[MOSB_CONFIG_LABEL];
}

/** Where a build's log is: its builder (v1 `builder.job`, v1alpha1 `builderReference.buildPod`). */
function builderOf(b: MachineOSBuild): string | undefined {
  const job = b.status?.builder?.job;
  if (job?.name) return `Job ${job.namespace ? `${job.namespace}/` : ''}${job.name}`;
  const pod = b.status?.builderReference?.buildPod;
  if (pod?.name) return `Pod ${pod.namespace ? `${pod.namespace}/` : ''}${pod.name}`;
  return undefined;
}

function wallMsOf(b: MachineOSBuild): number | undefined {
  const start = Date.parse(b.status?.buildStart ?? '');
  const end = Date.parse(b.status?.buildEnd ?? '');
  return Number.isFinite(start) && Number.isFinite(end) ? end - start : undefined;
}

/**
 * MachineOSBuilds: reaching Succeeded, Failed or Interrupted = one `build` event (ok or not,
 * with the condition's reason and message, wall time buildStart → buildEnd, the builder to
 * read the log of). The kernel is not on the object: `kver` is empty, as for a Build whose
 * arguments do not name it.
 */
export function machineOSBuildEvents(type: WatchEventType, b: MachineOSBuild, old: MachineOSBuild | undefined): Emitted[] {
  if (type === 'DELETED') return [];
  const done = machineOSBuildOutcome(b);
  if (!done || machineOSBuildOutcome(old)) return [];
  const wallMs = wallMsOf(b);
  const builder = builderOf(b);
  const config = machineOSConfigOf(b);
  const image = b.status?.digestedImagePushSpec ?? b.status?.finalImagePushspec;
  return [
    [
      'build',
      {
        kver: '',
        ok: done.state === 'Succeeded',
        cached: false,
        build: `MachineOSBuild/${b.metadata.name}`,
        ...(config ? { machineOSConfig: config } : {}),
        ...(wallMs !== undefined ? { wallMs } : {}),
        ...(done.state !== 'Succeeded' ? { error: `${done.state}${done.reason && done.reason !== done.state ? ` (${done.reason})` : ''}${done.message ? `: ${done.message}` : ''}` } : {}),
        ...(builder ? { builder } : {}),
        ...(image ? { image } : {}),
        ...hostFigures(b.metadata.annotations),
      },
    ],
  ];
}

export interface FailedMachineOSBuild {
  name: string;
  machineOSConfig?: string;
  state: 'Failed' | 'Interrupted';
  /** One line: which build, why, how long it ran, where its log is. */
  evidence: string;
}

/**
 * MachineOSBuilds that hold a pool up: the newest build of each MachineOSConfig (by
 * creationTimestamp; the MCO builds one at a time per config and supersedes older ones),
 * when it Failed or was Interrupted. Such a build never becomes Succeeded (its conditions are
 * immutable), so the pool stays on the image it runs — a failed build superseded by a newer
 * one (e.g. after the README's upgrade step) is not listed.
 */
export function failedMachineOSBuilds(objs: Iterable<WatchObject>): FailedMachineOSBuild[] {
  const newest = new Map<string, MachineOSBuild>();
  for (const b of objs as Iterable<MachineOSBuild>) {
    const key = machineOSConfigOf(b) ?? b.metadata.name;
    const seen = newest.get(key);
    if (!seen || (seen.metadata.creationTimestamp ?? '') < (b.metadata.creationTimestamp ?? '')) newest.set(key, b);
  }
  const out: FailedMachineOSBuild[] = [];
  for (const b of newest.values()) {
    const done = machineOSBuildOutcome(b);
    if (!done || done.state === 'Succeeded') continue;
    const config = machineOSConfigOf(b);
    const wallMs = wallMsOf(b);
    const builder = builderOf(b);
    const evidence = `MachineOSBuild ${b.metadata.name}${config ? ` (MachineOSConfig ${config})` : ''} ${done.state}${done.reason && done.reason !== done.state ? ` (${done.reason})` : ''}${
      wallMs !== undefined ? ` after ${Math.round(wallMs / 1000)} s` : ''
    }${done.message ? `: ${done.message.split('\n').slice(0, 6).join(' | ')}` : ''}${builder ? `; log: ${builder}` : ''}`;
    out.push({ name: b.metadata.name, ...(config ? { machineOSConfig: config } : {}), state: done.state, evidence });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
