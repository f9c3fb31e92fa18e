/**
 * Which MachineConfigPool the driver and the kernel switch go to. `worker` is not always
 * right: on single-node OpenShift the one node carries both the master and the worker
 * role labels, and the MCO puts such a node in the master pool only
 * (machine-config-operator release-4.14, pkg/controller/node/node_controller.go
 * getPoolsForNode: "In the case where a node is both master/worker, have it live under
 * the master pool") — the worker pool exists with 0 machines, and a MachineConfig for it
 * never rolls out anywhere. So:
 *   - no pool asked for: `worker` when it holds machines, else the pool holding the most;
 *   - a pool asked for (`--pool`): it must exist and hold at least one machine.
 * Machine counts come from the pool's status (the MCO's own count); a pool without status
 * yet is counted from its nodeSelector with the master-wins rule above.
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { UserError } from '../../errors.js';

export type PoolObj = K8sObject & { spec?: { nodeSelector?: { matchLabels?: Record<string, string> }; paused?: boolean }; status?: { machineCount?: number } };
export type LabelledNode = { metadata: { name: string; labels?: Record<string, string> } };

export function selectorMatches(matchLabels: Record<string, string> | undefined, labels: Record<string, string> = {}): boolean {
  if (!matchLabels) return false;
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

/** Nodes of a pool from its nodeSelector, a node with the master role counted in master only. */
export function nodesOfPool(pool: PoolObj, pools: PoolObj[], nodes: LabelledNode[]): string[] {
  const master = pools.find((p) => p.metadata.name === 'master');
  return nodes
    .filter((n) => selectorMatches(pool.spec?.nodeSelector?.matchLabels, n.metadata.labels))
    .filter((n) => pool.metadata.name === 'master' || !master || !selectorMatches(master.spec?.nodeSelector?.matchLabels, n.metadata.labels))
    .map((n) => n.metadata.name)
    .sort();
}

export function machineCount(pool: PoolObj, pools: PoolObj[], nodes: LabelledNode[]): number {
  return pool.status?.machineCount ?? nodesOfPool(pool, pools, nodes).length;
}

export interface PoolChoice {
  pool: string;
  /** Why this pool (shown as progress). */
  reason: string;
}

export function choosePool(pools: PoolObj[], nodes: LabelledNode[], requested: string | undefined): PoolChoice {
  // MachineConfigPool served but no pool at all: nothing to choose from (not an MCO-managed cluster).
  if (pools.length === 0) return { pool: requested ?? 'worker', reason: 'the cluster has no MachineConfigPool' };
  const counts = pools.map((p) => ({ name: p.metadata.name, n: machineCount(p, pools, nodes) }));
  const summary = counts.map((c) => `${c.name} (${c.n} machine${c.n === 1 ? '' : 's'})`).join(', ') || 'none';
  if (requested !== undefined) {
    const c = counts.find((x) => x.name === requested);
    if (!c) throw new UserError(`--pool ${requested}: the cluster has no MachineConfigPool ${requested}`, `pools: ${summary}`);
    if (c.n === 0) {
      const holding = counts.filter((x) => x.n > 0).map((x) => x.name);
      throw new UserError(
        `--pool ${requested}: MachineConfigPool ${requested} has 0 machines, so nothing applied for it reaches a node${requested === 'worker' && holding.includes('master') ? ' (single-node OpenShift puts its node in the master pool)' : ''}`,
        `pass --pool ${holding[0] ?? '<a pool with machines>'}, or leave --pool out to use the pool that holds the nodes; pools: ${summary}`,
      );
    }
    return { pool: requested, reason: `--pool ${requested}` };
  }
  const worker = counts.find((x) => x.name === 'worker');
  if (worker && worker.n > 0) return { pool: 'worker', reason: `worker holds ${worker.n} machine(s)` };
  const best = [...counts].sort((a, b) => b.n - a.n)[0];
  if (!best || best.n === 0) throw new UserError(`no MachineConfigPool holds a machine (pools: ${summary})`, 'pass --pool <pool> once the nodes have joined a pool');
  return { pool: best.name, reason: `${worker ? 'worker has 0 machines' : 'no worker pool'}; ${best.name} holds ${best.n} (pools: ${summary})` };
}
