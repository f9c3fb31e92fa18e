/**
 * When a wait for the driver can end early: the watched objects show a state in which
 * nothing more happens without an outside action (a new build started by hand, new
 * artifacts, an unpaused pool), so waiting out the settle timeout would only add minutes
 * to the run. A pure decision from captured objects (settleDecision), and a clock that
 * lets it end the wait only once it has held for a grace window (SettleClock).
 *
 * Terminal, per pending node (every pending node must be terminal):
 *   - its MachineConfigPool is degraded (the MCO stops rolling it: NodeDegraded /
 *     RenderDegraded), or paused with a rollout pending (release-4.14: a paused pool's
 *     nodes are not updated);
 *   - otherwise only when the node is Ready and on its final config (MCO annotations
 *     currentConfig = desiredConfig, state Done; currentImage = desiredImage with image
 *     mode), no pool of it is updating, no Build of the followed namespaces is
 *     New/Pending/Running and no MachineOSBuild is building — and:
 *       · loaded wanted, pod-delivered method (DaemonSet, KMM Module): the method's pod on
 *         the node cannot start (CrashLoopBackOff after ≥ CRASH_LOOP_RESTARTS restarts, or
 *         an image pull the kubelet fails: ErrImagePull/ImagePullBackOff/InvalidImageName/
 *         ErrImageNeverPull) and no other pod of the method on it is starting; or the
 *         newest Build failed (OpenShift never retries a Build: only a trigger or a user
 *         starts another) and no pod of the method on it is starting;
 *       · loaded wanted, OS-image method (MachineConfig, MachineOSConfig): nothing of the
 *         method is pending — the node runs what its pool says (e.g. it keeps its
 *         pinned layered image after an upgrade), or the newest MachineOSBuild failed;
 *       · unloaded wanted: no pod of the method is left on the node (nothing there can
 *         unload it any more).
 * Not terminal, whatever else holds: a Build in progress (a dtk-tracking ImageStream
 * trigger or KMM building for the new kernel: the new image brings a new pod), a
 * MachineOSBuild building, a pool updating, a node not Ready or not on its final config,
 * a method pod Pending without a failure (being created), being deleted, or running
 * without crash-looping (a rollout replacing pods). Operator and build pods (owned by a
 * ReplicaSet or a Job, or carrying openshift.io/build.name) are not the method's driver
 * pods: a running KMM operator does not load the module by itself.
 *
 * A set whose DaemonSets schedule no pod anywhere (status.desiredNumberScheduled 0 at the
 * current generation) ends the wait at once, before this decision (daemonset-status.ts).
 * Known gap: a DaemonSet that schedules pods elsewhere but none on a pending node (e.g.
 * Node Feature Discovery's kernel label keeps a pinned pod off it) looks like pods not yet
 * created there, so that wait runs to its timeout.
 */
import type { WatchObject } from './watch.js';
import { degradedWhy, machineOSBuildOutcome, MCO_STATE, pullFailure } from './observers.js';
import { nodesOfPool, type PoolObj } from './pool-choice.js';

/**
 * Restarts before a CrashLoopBackOff counts: the kubelet's back-off (10 s doubling to 5 min
 * upstream) has been taken three times, so it is no single failure during a rollout (a
 * postStart that ran before the node rebooted, a container started before its image moved).
 */
export const CRASH_LOOP_RESTARTS = 3;

const MCO_CURRENT = 'machineconfiguration.openshift.io/currentConfig';
const MCO_DESIRED = 'machineconfiguration.openshift.io/desiredConfig';
const MCO_CURRENT_IMAGE = 'machineconfiguration.openshift.io/currentImage';
const MCO_DESIRED_IMAGE = 'machineconfiguration.openshift.io/desiredImage';
const BUILD_NAME_LABEL = 'openshift.io/build.name';

type Node = WatchObject & { status?: { conditions?: { type: string; status: string }[]; nodeInfo?: { bootID?: string } } };
type Pool = PoolObj & {
  metadata: { generation?: number };
  status?: { machineCount?: number; updatedMachineCount?: number; degradedMachineCount?: number; observedGeneration?: number; conditions?: { type: string; status: string; message?: string }[] };
};
type Container = {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; running?: unknown; terminated?: unknown };
  lastState?: { terminated?: { exitCode?: number; reason?: string } };
};
type Pod = WatchObject & {
  metadata: WatchObject['metadata'] & { uid?: string; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string }[] };
  spec?: { nodeName?: string };
  status?: { phase?: string; containerStatuses?: Container[] };
};
type Build = WatchObject & { metadata: WatchObject['metadata'] & { creationTimestamp?: string }; status?: { phase?: string; reason?: string; message?: string } };
type MachineOSBuild = WatchObject & { metadata: WatchObject['metadata'] & { creationTimestamp?: string }; status?: { conditions?: { type: string; status: string; message?: string }[] } };

export interface SettleInput {
  /** Nodes where the wanted module state does not hold. */
  pending: string[];
  wantLoaded: boolean;
  /** The method loads the driver with pods (DaemonSet, KMM Module); otherwise with the OS image. */
  podDelivered: boolean;
  nodes: Iterable<WatchObject>;
  pools: Iterable<WatchObject>;
  /** Pods of the followed namespaces. */
  pods: Iterable<WatchObject>;
  /** Builds of the followed namespaces. */
  builds: Iterable<WatchObject>;
  /** MachineOSBuilds (image mode), when watched. */
  machineOSBuilds?: Iterable<WatchObject>;
}

export type SettleDecision =
  | { terminal: false; why: string }
  /** `key` names the evidence without its counters: the grace window restarts when it changes. */
  | { terminal: true; reason: string; key: string };

const IN_PROGRESS_BUILD = new Set(['New', 'Pending', 'Running']);
const FAILED_BUILD = new Set(['Failed', 'Error', 'Cancelled']);

function condition(o: { status?: { conditions?: { type: string; status: string; message?: string }[] } }, type: string): boolean {
  return (o.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

function newest<T extends { metadata: { name: string; creationTimestamp?: string } }>(xs: T[]): T | undefined {
  return [...xs].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name)).at(-1);
}

/** Not one of the method's driver pods: an operator's (ReplicaSet), a Job's, or a Build's pod. */
function driverPod(p: Pod): boolean {
  if (p.metadata.labels?.[BUILD_NAME_LABEL]) return false;
  return !(p.metadata.ownerReferences ?? []).some((o) => o.kind === 'ReplicaSet' || o.kind === 'Job' || o.kind === 'Build');
}

/** Why a pod cannot start as it is, or undefined (it runs, starts, or is done). */
export function podCannotStart(p: Pod): string | undefined {
  const pull = pullFailure(p);
  if (pull) return `${pull.reason}${pull.image ? ` (${pull.image})` : ''}`;
  for (const c of p.status?.containerStatuses ?? []) {
    const restarts = c.restartCount ?? 0;
    if (restarts < CRASH_LOOP_RESTARTS) continue;
    // Between two back-offs the container runs again (a postStart being tried): still the
    // same crash loop while its last run failed and it is not ready.
    const lastFailed = (c.lastState?.terminated?.exitCode ?? 0) !== 0;
    if (c.state?.waiting?.reason === 'CrashLoopBackOff' || (lastFailed && c.ready !== true)) return `CrashLoopBackOff, ${restarts} restarts`;
  }
  return undefined;
}

/** A pod still on its way: being deleted, being created, or running without a crash loop. */
function podMoving(p: Pod): boolean {
  if (p.metadata.deletionTimestamp) return true;
  const phase = p.status?.phase ?? 'Pending';
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  return podCannotStart(p) === undefined;
}

function nodeSettledOnConfig(n: Node): string | undefined {
  if (n.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return 'not Ready';
  const a = n.metadata.annotations ?? {};
  if (a[MCO_STATE] !== undefined && a[MCO_STATE] !== 'Done') return `MCO state ${a[MCO_STATE]}`;
  if (a[MCO_DESIRED] !== undefined && a[MCO_CURRENT] !== a[MCO_DESIRED]) return `on ${a[MCO_CURRENT] ?? '?'}, not yet on ${a[MCO_DESIRED]}`;
  if (a[MCO_DESIRED_IMAGE] !== undefined && a[MCO_CURRENT_IMAGE] !== a[MCO_DESIRED_IMAGE]) return 'not yet on its desired OS image';
  return undefined;
}

function poolUpdating(p: Pool): boolean {
  const s = p.status ?? {};
  if (condition(p, 'Updating')) return true;
  if (p.metadata.generation !== undefined && s.observedGeneration !== undefined && s.observedGeneration < p.metadata.generation) return true;
  return (s.updatedMachineCount ?? 0) < (s.machineCount ?? 0);
}

/** Whether the watched objects show that the pending nodes' driver state cannot change by itself. */
export function settleDecision(i: SettleInput): SettleDecision {
  if (i.pending.length === 0) return { terminal: false, why: 'nothing pending' };
  const nodes = [...i.nodes] as Node[];
  const pools = [...i.pools] as Pool[];
  const pods = ([...i.pods] as Pod[]).filter(driverPod);
  const builds = [...i.builds] as Build[];
  const mosbs = [...(i.machineOSBuilds ?? [])] as MachineOSBuild[];
  const running = builds.find((b) => IN_PROGRESS_BUILD.has(b.status?.phase ?? 'New'));
  if (running) return { terminal: false, why: `Build ${running.metadata.namespace}/${running.metadata.name} is ${running.status?.phase ?? 'New'}` };
  const building = mosbs.find((m) => machineOSBuildOutcome(m as never) === undefined);
  if (building) return { terminal: false, why: `MachineOSBuild ${building.metadata.name} is building` };
  const lastBuild = newest(builds);
  const buildFailed = lastBuild && FAILED_BUILD.has(lastBuild.status?.phase ?? '') ? lastBuild : undefined;
  const lastMosb = newest(mosbs);
  const mosbFailed = lastMosb && machineOSBuildOutcome(lastMosb as never)?.state === 'Failed' ? lastMosb : undefined;

  const reasons: string[] = [];
  const keys: string[] = [];
  for (const name of [...i.pending].sort()) {
    const node = nodes.find((n) => n.metadata.name === name);
    if (!node) return { terminal: false, why: `node ${name} is not seen` };
    const mine = pools.filter((p) => nodesOfPool(p, pools, nodes).includes(name));
    const held = mine.find((p) => (p.status?.degradedMachineCount ?? 0) > 0 || degradedWhy(p as never) !== undefined) ?? mine.find((p) => p.spec?.paused === true && poolUpdating(p));
    if (held) {
      const degraded = (held.status?.degradedMachineCount ?? 0) > 0 || degradedWhy(held as never) !== undefined;
      reasons.push(`${name}: MachineConfigPool ${held.metadata.name} ${degraded ? `is degraded${degradedWhy(held as never) ? ` (${degradedWhy(held as never)})` : ''}` : 'is paused with a rollout pending'}`);
      keys.push(`${name}:pool/${held.metadata.name}:${degraded ? 'degraded' : 'paused'}`);
      continue;
    }
    const notSettled = nodeSettledOnConfig(node);
    if (notSettled) return { terminal: false, why: `node ${name} ${notSettled}` };
    const updating = mine.find(poolUpdating);
    if (updating) return { terminal: false, why: `MachineConfigPool ${updating.metadata.name} is updating` };
    const boot = node.status?.nodeInfo?.bootID ?? '';
    const here = pods.filter((p) => p.spec?.nodeName === name);
    const moving = here.find(podMoving);
    if (moving) return { terminal: false, why: `pod ${moving.metadata.namespace}/${moving.metadata.name} on ${name} is ${moving.metadata.deletionTimestamp ? 'being deleted' : moving.status?.phase ?? 'Pending'}` };
    if (!i.wantLoaded) {
      if (here.some((p) => !p.status?.phase || !['Succeeded', 'Failed'].includes(p.status.phase))) return { terminal: false, why: `a pod of the method is still on ${name}` };
      reasons.push(`${name}: no pod of the method is left there to unload it, and nothing else is rolling out`);
      keys.push(`${name}:${boot}:no-pod`);
      continue;
    }
    if (i.podDelivered) {
      const stuck = here.map((p) => [p, podCannotStart(p)] as const).filter(([, why]) => why !== undefined);
      if (stuck.length > 0) {
        const failed = buildFailed ? ` (the newest Build, ${buildFailed.metadata.namespace}/${buildFailed.metadata.name}, ${buildFailed.status?.phase})` : '';
        reasons.push(`${name}: ${stuck.map(([p, why]) => `pod ${p.metadata.namespace}/${p.metadata.name} ${why}`).join('; ')}, with no build or rollout in progress${failed}`);
        keys.push(`${name}:${boot}:${stuck.map(([p, why]) => `${p.metadata.uid ?? p.metadata.name}/${why!.replace(/, \d+ restarts$/, '')}`).join(',')}`);
        continue;
      }
      if (buildFailed) {
        reasons.push(`${name}: Build ${buildFailed.metadata.namespace}/${buildFailed.metadata.name} ${buildFailed.status?.phase}${buildFailed.status?.reason ? ` (${buildFailed.status.reason})` : ''} and nothing starts another`);
        keys.push(`${name}:${boot}:build/${buildFailed.metadata.name}`);
        continue;
      }
      return { terminal: false, why: `no pod of the method on ${name} has failed for good (pods not yet created?)` };
    }
    if (mosbFailed) {
      reasons.push(`${name}: MachineOSBuild ${mosbFailed.metadata.name} failed and the MCO does not retry it`);
      keys.push(`${name}:${boot}:mosb/${mosbFailed.metadata.name}`);
      continue;
    }
    reasons.push(`${name}: Ready on its pool's current config, no OS image build or rollout pending`);
    keys.push(`${name}:${boot}:os-image`);
  }
  return { terminal: true, reason: reasons.join('; '), key: keys.join('|') };
}

/**
 * Ends a wait only once a terminal decision has held, with the same evidence, for
 * `graceMs`: a crash loop during a normal rollout (the new pod, the rebuild) changes its
 * evidence or stops being terminal before then.
 */
export class SettleClock {
  private since: { key: string; atMs: number } | undefined;
  constructor(private readonly graceMs: number) {}

  /** The reason, once the terminal state has held for the grace window; otherwise undefined. */
  update(d: SettleDecision, nowMs: number): string | undefined {
    if (!d.terminal) {
      this.since = undefined;
      return undefined;
    }
    if (this.since?.key !== d.key) this.since = { key: d.key, atMs: nowMs };
    return nowMs - this.since.atMs >= this.graceMs ? d.reason : undefined;
  }
}
