/**
 * The ReplicaSet controller, reconciling from the lab API like kube-controller-manager's
 * (k8s.io/kubernetes pkg/controller/replicaset/replica_set.go syncReplicaSet): the active
 * pods a ReplicaSet controls (controller ownerReference; not Succeeded/Failed, not being
 * deleted — controller.FilterActivePods) are counted against spec.replicas; missing pods
 * are created from the template (generateName `<rs>-`, the template's labels, a controller
 * ownerReference, no nodeName: the scheduler binds them), surplus ones deleted in
 * getPodsToDelete's order (unbound, then Pending, then not Ready, then the newest first).
 * A pod that is deleted (by a user or a drain) is replaced at the next sync. Creations
 * and deletions in flight are remembered until the informer shows them (upstream:
 * expectations), so a slow watch does not double them. Status: replicas,
 * fullyLabeledReplicas, readyReplicas, availableReplicas (Ready for minReadySeconds),
 * observedGeneration.
 */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { ReconcileLoop } from './reconcile-loop.js';
import { PATHS, type SharedInformers } from '../informers.js';
import { selectorMatches } from './selectors.js';

const readySince = (p: V1Pod): number | undefined => {
  const c = (p.status?.conditions ?? []).find((x) => x.type === 'Ready' && x.status === 'True');
  return c ? (c.lastTransitionTime ? new Date(c.lastTransitionTime).getTime() : 0) : undefined;
};
export const isPodReady = (p: V1Pod) => readySince(p) !== undefined;
/** podutil.IsPodAvailable: Ready for at least minReadySeconds. */
export const isPodAvailable = (p: V1Pod, minReadySeconds: number, now = Date.now()) => {
  const since = readySince(p);
  return since !== undefined && (minReadySeconds === 0 || now - since >= minReadySeconds * 1000);
};
export const isActive = (p: V1Pod) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata?.deletionTimestamp;
export const controlledBy = (o: { metadata?: { ownerReferences?: { controller?: boolean; uid: string }[] } }, uid: string) => (o.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === uid);

/** getPodsToDelete's ranking (controller_utils.go ActivePods): the first ones are deleted first. */
export function deletionOrder(pods: V1Pod[]): V1Pod[] {
  const rank = (p: V1Pod) => [p.spec?.nodeName ? 1 : 0, p.status?.phase === 'Pending' ? 0 : p.status?.phase === 'Unknown' ? 1 : 2, isPodReady(p) ? 1 : 0];
  return [...pods].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp)); // newer first
  });
}

export interface ReplicaSetControllerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  log?: (line: string) => void;
}

export class ReplicaSetController {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  /** rs uid → names created / deleted and not yet seen so in the informer, with when. */
  private readonly creating = new Map<string, Map<string, number>>();
  private readonly deleting = new Map<string, Map<string, number>>();
  private readonly loop: ReconcileLoop;

  constructor(private readonly o: ReplicaSetControllerOptions) {
    this.loop = new ReconcileLoop({ informers: o.informers, paths: [PATHS.replicasets, PATHS.pods], pass: () => this.pass() });
    this.core = o.kc.makeApiClient(CoreV1Api);
    this.apps = o.kc.makeApiClient(AppsV1Api);
  }

  async start(): Promise<void> {
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  kick(): void {
    this.loop.kick();
  }

  private async pass(): Promise<void> {
    for (const rs of this.o.informers.list<V1ReplicaSet>(PATHS.replicasets)) {
      if (rs.metadata?.deletionTimestamp || this.loop.stopped) continue;
      await this.reconcile(rs).catch((e: Error) => this.o.log?.(`replicaset ${rs.metadata?.namespace}/${rs.metadata?.name}: ${e.message.split('\n')[0]}`));
    }
  }

  private pending(map: Map<string, Map<string, number>>, uid: string, seen: (name: string) => boolean): Map<string, number> {
    const m = map.get(uid) ?? new Map<string, number>();
    map.set(uid, m);
    const now = Date.now();
    for (const [name, at] of m) if (seen(name) || now - at > 30_000) m.delete(name);
    return m;
  }

  private async reconcile(rs: V1ReplicaSet): Promise<void> {
    const ns = rs.metadata!.namespace!;
    const uid = rs.metadata!.uid!;
    const all = this.o.informers.list<V1Pod>(PATHS.pods).filter((p) => p.metadata?.namespace === ns && controlledBy(p, uid));
    const names = new Set(all.filter(isActive).map((p) => p.metadata!.name!));
    const creating = this.pending(this.creating, uid, (n) => names.has(n));
    const deleting = this.pending(this.deleting, uid, (n) => !names.has(n));
    const active = all.filter((p) => isActive(p) && !deleting.has(p.metadata!.name!));
    const want = rs.spec?.replicas ?? 1;
    const diff = active.length + creating.size - want;
    if (diff < 0) {
      for (let i = 0; i < -diff && !this.loop.stopped; i++) {
        const t = rs.spec!.template!;
        const pod: V1Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            generateName: `${rs.metadata!.name}-`,
            namespace: ns,
            labels: { ...(t.metadata?.labels ?? {}) },
            ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata!.name!, uid, controller: true, blockOwnerDeletion: true }],
          },
          spec: structuredClone(t.spec!),
        };
        const made = await this.core.createNamespacedPod({ namespace: ns, body: pod });
        creating.set(made.metadata!.name!, Date.now());
        this.o.log?.(`replicaset ${ns}/${rs.metadata!.name}: created pod ${made.metadata!.name}`);
      }
    } else if (diff > 0) {
      for (const p of deletionOrder(active).slice(0, Math.min(diff, active.length))) {
        deleting.set(p.metadata!.name!, Date.now());
        await this.core.deleteNamespacedPod({ namespace: ns, name: p.metadata!.name! }).catch(() => undefined);
        this.o.log?.(`replicaset ${ns}/${rs.metadata!.name}: deleted pod ${p.metadata!.name} (scaling down)`);
      }
    }
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const labels = rs.spec?.template?.metadata?.labels ?? {};
    const status = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => selectorMatches({ matchLabels: labels }, p.metadata?.labels ?? {})).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => isPodAvailable(p, minReady)).length,
      observedGeneration: rs.metadata!.generation ?? 1,
    };
    const cur = (rs.status ?? {}) as Record<string, unknown>;
    if (Object.entries(status).some(([k, v]) => (cur[k] ?? 0) !== v)) {
      await this.apps.patchNamespacedReplicaSetStatus({ namespace: ns, name: rs.metadata!.name!, body: { status } }, this.merge);
    }
  }
}
