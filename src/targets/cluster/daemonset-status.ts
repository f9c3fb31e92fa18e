/**
 * DaemonSets that place no pod anywhere. The DaemonSet controller (kubernetes
 * pkg/controller/daemon) writes `status.desiredNumberScheduled` — the nodes that should run
 * a pod, after nodeSelector, required affinity and taints/tolerations — and
 * `status.observedGeneration`, the spec generation those counts were computed for. Once the
 * current generation is observed with desiredNumberScheduled 0, no pod of it will appear
 * until a node changes (labels, taints) or the DaemonSet does: a wait for a driver that only
 * such DaemonSets deliver can end at once, and says which and why.
 *
 * The method's nodes are narrowed from the selectors at apply time (target-nodes.ts), but
 * that reading knows neither taints (a pool whose nodes carry a NoSchedule taint the pod
 * does not tolerate) nor labels that changed since (Node Feature Discovery relabelling the
 * kernel after an upgrade keeps a pinned pod off the node): the controller's status does.
 */
import type { WatchEventType, WatchObject } from './watch.js';
import type { Emitted } from './observers.js';

type DaemonSet = WatchObject & {
  metadata: WatchObject['metadata'] & { generation?: number };
  spec?: { template?: { spec?: { nodeSelector?: Record<string, string> } } };
  status?: { observedGeneration?: number; desiredNumberScheduled?: number; numberReady?: number };
};

export interface DaemonSetRef {
  namespace: string;
  name: string;
}

const label = (r: DaemonSetRef) => `DaemonSet ${r.namespace}/${r.name}`;

/**
 * The desired pod count the controller computed for the DaemonSet's current spec, or
 * undefined while it has not (no status yet, or an older generation's).
 */
export function observedDesired(ds: WatchObject | undefined): number | undefined {
  const d = ds as DaemonSet | undefined;
  const s = d?.status;
  if (s?.observedGeneration === undefined || s.desiredNumberScheduled === undefined) return undefined;
  const generation = d!.metadata.generation;
  if (generation !== undefined && s.observedGeneration < generation) return undefined;
  return s.desiredNumberScheduled;
}

function why(ds: DaemonSet): string {
  const sel = ds.spec?.template?.spec?.nodeSelector;
  const selector = sel && Object.keys(sel).length ? ` (nodeSelector ${Object.entries(sel).map(([k, v]) => (v ? `${k}=${v}` : k)).join(',')})` : '';
  return `${label({ namespace: ds.metadata.namespace ?? '', name: ds.metadata.name })} schedules no pod: desiredNumberScheduled 0 at generation ${ds.status?.observedGeneration}, no node matches its selector, affinity and tolerations${selector}`;
}

/**
 * Why no pod of the applied DaemonSets will run anywhere — every one of them is watched
 * and observed with desiredNumberScheduled 0 — or undefined (none applied, one not seen
 * or not yet observed by its controller, or one that schedules pods).
 */
export function noDaemonSetPod(applied: DaemonSetRef[], watched: Iterable<WatchObject>): string | undefined {
  if (applied.length === 0) return undefined;
  const seen = [...watched] as DaemonSet[];
  const reasons: string[] = [];
  for (const ref of applied) {
    const ds = seen.find((d) => d.metadata.namespace === ref.namespace && d.metadata.name === ref.name);
    if (observedDesired(ds) !== 0) return undefined;
    reasons.push(why(ds!));
  }
  return reasons.join('; ');
}

/** DaemonSets: observed scheduling no pod → a `progress` note (once per spell); scheduling pods again → another. */
export function daemonSetEvents(type: WatchEventType, ds: WatchObject, old: WatchObject | undefined): Emitted[] {
  if (type === 'DELETED') return [];
  const now = observedDesired(ds);
  const before = observedDesired(old);
  if (now === 0 && before !== 0) return [['progress', { step: why(ds as DaemonSet), daemonSet: `${ds.metadata.namespace}/${ds.metadata.name}`, desiredNumberScheduled: 0 }]];
  if (now !== undefined && now > 0 && before === 0) {
    return [['progress', { step: `${label({ namespace: ds.metadata.namespace ?? '', name: ds.metadata.name })} schedules ${now} pod(s) again`, daemonSet: `${ds.metadata.namespace}/${ds.metadata.name}`, desiredNumberScheduled: now }]];
  }
  return [];
}
