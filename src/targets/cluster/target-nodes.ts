/**
 * The nodes a method's objects reach — the only nodes where kmodlab waits for (or probes)
 * the driver. Waiting on every node would wait forever for nodes the method never
 * targets (control-plane nodes of a worker-pool method, nodes of another custom pool).
 *   - DaemonSet: the pod template's nodeSelector and required node affinity, as the
 *     scheduler applies them (kubernetes: nodeSelector is AND of labels; affinity
 *     nodeSelectorTerms are ORed, each term's matchExpressions ANDed);
 *   - KMM Module: `spec.selector` (KMM runs its worker pods on the nodes whose labels
 *     match it; kernel-module-management api/v1beta1 ModuleSpec.Selector);
 *   - MachineConfig: its `machineconfiguration.openshift.io/role` label → the pool of that
 *     name → the pool's nodes; MachineOSConfig: `spec.machineConfigPool.name`.
 * A set with none of these targets every node (undefined).
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { nodesOfPool, selectorMatches, type LabelledNode, type PoolObj } from './pool-choice.js';

type Expr = { key: string; operator: string; values?: string[] };

function exprMatches(e: Expr, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, e.key);
  switch (e.operator) {
    case 'In':
      return has && (e.values ?? []).includes(labels[e.key]!);
    case 'NotIn':
      return !has || !(e.values ?? []).includes(labels[e.key]!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      // Gt/Lt and unknown operators: not decided here; keep the node (probing it is harmless).
      return true;
  }
}

function podSpecMatches(spec: { nodeSelector?: Record<string, string>; affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchExpressions?: Expr[] }[] } } } }, labels: Record<string, string>): boolean {
  if (spec.nodeSelector && !selectorMatches(spec.nodeSelector, labels)) return false;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && terms.length > 0 && !terms.some((t) => (t.matchExpressions ?? []).every((e) => exprMatches(e, labels)))) return false;
  return true;
}

const ROLE_LABEL = 'machineconfiguration.openshift.io/role';

/** Node names the objects target, or undefined when none of them narrows it (every node). */
export function targetedNodes(objects: K8sObject[], nodes: LabelledNode[], clusterPools: PoolObj[]): string[] | undefined {
  const pools = [...clusterPools.filter((p) => !objects.some((o) => o.kind === 'MachineConfigPool' && o.metadata.name === p.metadata.name)), ...(objects.filter((o) => o.kind === 'MachineConfigPool') as PoolObj[])];
  const hit = new Set<string>();
  let narrowed = false;
  const poolNodes = (name: string | undefined) => {
    narrowed = true;
    const p = pools.find((x) => x.metadata.name === name);
    if (p) for (const n of nodesOfPool(p, pools, nodes)) hit.add(n);
  };
  for (const o of objects) {
    const spec = (o as { spec?: Record<string, any> }).spec;
    if (o.kind === 'DaemonSet') {
      narrowed = true;
      const podSpec = spec?.['template']?.['spec'] ?? {};
      for (const n of nodes) if (podSpecMatches(podSpec, n.metadata.labels ?? {})) hit.add(n.metadata.name);
    } else if (o.kind === 'Module') {
      narrowed = true;
      for (const n of nodes) if (selectorMatches(spec?.['selector'] ?? {}, n.metadata.labels ?? {})) hit.add(n.metadata.name);
    } else if (o.kind === 'MachineConfig' && o.metadata.labels?.[ROLE_LABEL]) {
      poolNodes(o.metadata.labels[ROLE_LABEL]);
    } else if (o.kind === 'MachineOSConfig') {
      poolNodes(spec?.['machineConfigPool']?.['name']);
    }
  }
  return narrowed ? [...hit].sort() : undefined;
}
