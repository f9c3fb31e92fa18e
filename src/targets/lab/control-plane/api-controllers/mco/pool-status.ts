/**
 * The node controller's part of the lab's Machine Config Operator, following
 * openshift/machine-config-operator release-4.14 pkg/controller/node:
 *   - node_controller.go getPoolsForNode: a node belongs to the pools whose nodeSelector
 *     matches; a node that is both master and worker lives in the master pool only;
 *   - node_controller.go getAllCandidateMachines / setDesiredMachineConfigAnnotation: while
 *     the pool is not paused, point at most maxUnavailable (default 1) nodes at a time at
 *     the pool's target config (desiredConfig annotation); a node whose daemon failed
 *     (Degraded) can be retargeted and does not count as unavailable, but nodes failing on
 *     the current target use up capacity;
 *   - status.go calculateStatus: machine counts from the nodes' annotations and Ready
 *     condition, conditions Updated/Updating/NodeDegraded/RenderDegraded/Degraded, and
 *     status.configuration = spec.configuration once every node is updated.
 * Pure functions over the pool and its nodes.
 */
import type { V1Node } from '@kubernetes/client-node';
import { selects, type MachineConfigPool, type PoolCondition } from './render.js';

/** Node annotations of the machine-config-daemon (pkg/daemon/constants/constants.go). */
export const ANN = {
  current: 'machineconfiguration.openshift.io/currentConfig',
  desired: 'machineconfiguration.openshift.io/desiredConfig',
  state: 'machineconfiguration.openshift.io/state',
  reason: 'machineconfiguration.openshift.io/reason',
  desiredDrain: 'machineconfiguration.openshift.io/desiredDrain',
  lastAppliedDrain: 'machineconfiguration.openshift.io/lastAppliedDrain',
} as const;

export type DaemonState = 'Done' | 'Working' | 'Degraded';

const ann = (n: V1Node, k: string) => n.metadata?.annotations?.[k] ?? '';

export function isNodeReady(n: V1Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** current == desired and the daemon says Done (status.go isNodeDone). */
export function isNodeDone(n: V1Node): boolean {
  return ann(n, ANN.current) !== '' && ann(n, ANN.current) === ann(n, ANN.desired) && ann(n, ANN.state) === 'Done';
}

/** status.go isNodeUnavailable: not Ready, or updating with a daemon that has not failed. */
export function isNodeUnavailable(n: V1Node): boolean {
  if (!isNodeReady(n)) return true;
  if (isNodeDone(n)) return false;
  return ann(n, ANN.state) !== 'Degraded';
}

/** The nodes of a pool (getPoolsForNode: master wins over worker). */
export function nodesOfPool(pool: MachineConfigPool, pools: MachineConfigPool[], nodes: V1Node[]): V1Node[] {
  return nodes.filter((n) => poolOfNode(n, pools)?.metadata.name === pool.metadata.name);
}

export function poolOfNode(n: V1Node, pools: MachineConfigPool[]): MachineConfigPool | undefined {
  const matching = pools.filter((p) => !p.metadata.deletionTimestamp && selects(p.spec?.nodeSelector, n.metadata?.labels));
  if (matching.length <= 1) return matching[0];
  const master = matching.find((p) => p.metadata.name === 'master');
  if (master && matching.length === 2 && matching.some((p) => p.metadata.name === 'worker')) return master;
  // Upstream refuses a node in more than one custom pool ("node belongs to %d custom roles"): none here either.
  const custom = matching.filter((p) => p.metadata.name !== 'worker');
  return custom.length === 1 ? custom[0] : undefined;
}

/** spec.maxUnavailable: an int or a percentage of the pool's machines (rounded down, at least 1); default 1. */
export function maxUnavailable(pool: MachineConfigPool, machines: number): number {
  const v = pool.spec?.maxUnavailable;
  if (typeof v === 'number') return Math.max(1, Math.floor(v));
  if (typeof v === 'string' && /^\d+%$/.test(v)) return Math.max(1, Math.floor((machines * Number(v.slice(0, -1))) / 100));
  if (typeof v === 'string' && /^\d+$/.test(v)) return Math.max(1, Number(v));
  return 1;
}

/** Nodes to point at the target now (getAllCandidateMachines + the capacity it leaves). */
export function candidates(pool: MachineConfigPool, nodes: V1Node[]): V1Node[] {
  const target = pool.spec?.configuration?.name;
  if (!target || pool.spec?.paused) return [];
  const unavailable = nodes.filter(isNodeUnavailable).length;
  let capacity = maxUnavailable(pool, nodes.length) - unavailable;
  if (capacity <= 0) return [];
  const failingThisConfig = nodes.filter((n) => ann(n, ANN.desired) === target && ann(n, ANN.state) === 'Degraded').length;
  capacity -= failingThisConfig;
  if (capacity <= 0) return [];
  // Nodes already off-line for another reason are taken first: updating them costs no availability.
  const want = nodes.filter((n) => ann(n, ANN.desired) !== target).sort((a, b) => Number(isNodeUnavailable(b)) - Number(isNodeUnavailable(a)));
  return want.slice(0, capacity);
}

function condition(type: string, on: boolean, reason: string, message: string, prev: PoolCondition[] | undefined, now: string): PoolCondition {
  const status = on ? 'True' : 'False';
  const old = prev?.find((c) => c.type === type);
  return { type, status, reason, message, lastTransitionTime: old?.status === status ? old.lastTransitionTime : now };
}

/**
 * status.go calculateStatus; `renderError`: the render controller's failure for this pool, if
 * any; `buildWait`: why the pool waits for its on-cluster layering build (machineosconfig.ts
 * layeredBuildWait) — upstream's nodes are not Done until they run that build's image
 * (LayeredNodeState.IsDone), so the pool is Updating, not Updated, while it is built.
 */
export function poolStatus(pool: MachineConfigPool, nodes: V1Node[], renderError: string | undefined, now: string, buildWait?: string): NonNullable<MachineConfigPool['status']> {
  const target = pool.spec?.configuration?.name ?? '';
  const updated = buildWait ? [] : nodes.filter((n) => isNodeDone(n) && ann(n, ANN.current) === target);
  const ready = updated.filter((n) => isNodeReady(n));
  const unavailable = nodes.filter(isNodeUnavailable);
  const degraded = nodes.filter((n) => ann(n, ANN.state) === 'Degraded');
  const allUpdated = target !== '' && updated.length === nodes.length && unavailable.length === 0;
  const prev = pool.status?.conditions;
  const nodeDegradedMsg = degraded.map((n) => `Node ${n.metadata!.name} is reporting: ${JSON.stringify(ann(n, ANN.reason))}`).join(', ');
  const conditions = [
    condition('RenderDegraded', !!renderError, renderError ? 'RenderFailed' : '', renderError ? `Failed to render configuration for pool ${pool.metadata.name}: ${renderError}` : '', prev, now),
    condition('NodeDegraded', degraded.length > 0, degraded.length ? `${degraded.length} nodes are reporting degraded status on sync` : '', nodeDegradedMsg, prev, now),
    condition('Degraded', !!renderError || degraded.length > 0, '', '', prev, now),
    condition('Updated', allUpdated, '', allUpdated ? `All nodes are updated with MachineConfig ${target}` : '', prev, now),
    buildWait && !pool.spec?.paused
      ? condition('Updating', true, '', buildWait, prev, now)
      : condition('Updating', !allUpdated && !pool.spec?.paused && target !== '', '', !allUpdated && target ? `All nodes are updating to MachineConfig ${target}` : '', prev, now),
  ];
  return {
    observedGeneration: pool.metadata.generation ?? 1,
    // The pool's status names the config every node runs; until then the previous one.
    configuration: allUpdated ? pool.spec!.configuration : pool.status?.configuration,
    machineCount: nodes.length,
    updatedMachineCount: updated.length,
    readyMachineCount: ready.length,
    unavailableMachineCount: unavailable.length,
    degradedMachineCount: degraded.length,
    conditions,
  };
}
