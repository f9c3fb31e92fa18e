/**
 * The Deployment controller, reconciling from the lab API like kube-controller-manager's
 * (k8s.io/kubernetes pkg/controller/deployment): a Deployment owns ReplicaSets (controller
 * ownerReference), one per pod template; the ReplicaSet controller makes their pods.
 *   - The "new" ReplicaSet is the one whose template equals the Deployment's, ignoring the
 *     `pod-template-hash` label (util/deployment_util.go EqualIgnoreHash); when there is
 *     none it is created as `<deployment>-<hash>` with that label on its template and in
 *     its selector (sync.go getNewReplicaSet; the hash of the template and collisionCount,
 *     encoded like rand.SafeEncodeString), revision = the highest old revision + 1
 *     (annotation deployment.kubernetes.io/revision, also copied onto the Deployment).
 *   - Recreate (recreate.go): old ReplicaSets scaled to 0; the new one scaled up only once
 *     no old pod runs.
 *   - RollingUpdate (rolling.go): maxSurge rounded up, maxUnavailable down, both 0 → 1
 *     (ResolveFenceposts); the new ReplicaSet grows while all replicas stay ≤ replicas +
 *     maxSurge; old ones shrink — unhealthy replicas first — while available pods stay ≥
 *     replicas − maxUnavailable.
 *   - Status (sync.go calculateStatus): replicas, updatedReplicas, readyReplicas,
 *     availableReplicas, unavailableReplicas, observedGeneration; conditions Available
 *     (MinimumReplicasAvailable / MinimumReplicasUnavailable) and Progressing
 *     (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
 *     ProgressDeadlineExceeded after progressDeadlineSeconds without progress, progress.go).
 *     That is what `kubectl rollout status` and `kubectl wait --for=condition=Available` read.
 *   - Old ReplicaSets at 0 beyond revisionHistoryLimit are deleted (sync.go cleanupDeployment).
 * Not done: paused deployments are left alone entirely (no scaling either), rollback
 * annotations, proportional scaling of several old ReplicaSets during a rollout.
 */
import { AppsV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Deployment, type V1DeploymentCondition, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { ReconcileLoop } from './reconcile-loop.js';
import { PATHS, type SharedInformers } from '../informers.js';
import { controlledBy } from './replicaset.js';
import { rfc3339 } from '../kube-time.js';

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';

/** intstr: an int, or a percentage of `total` rounded up or down (intstr.GetScaledValueFromIntOrPercent). */
function scaled(v: number | string | undefined, total: number, roundUp: boolean, dflt: string): number {
  const x = v ?? dflt;
  if (typeof x === 'number') return x;
  const m = /^(\d+)%$/.exec(x);
  if (!m) return Number(x) || 0;
  const f = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(f) : Math.floor(f);
}

/** deployment_util.go ResolveFenceposts. */
export function fenceposts(d: V1Deployment): { surge: number; unavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const surge = scaled(ru?.maxSurge as number | string | undefined, replicas, true, '25%');
  let unavailable = scaled(ru?.maxUnavailable as number | string | undefined, replicas, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** JSON with sorted keys: templates compared and hashed independently of key order. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => `${JSON.stringify(k)}:${stable(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v instanceof Date ? v.toISOString() : v);
}

function withoutHash(t: V1ReplicaSet['spec'] extends infer S ? (S extends { template?: infer T } ? T : never) : never): unknown {
  const c = structuredClone(t ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (c.metadata?.labels) delete c.metadata.labels[POD_TEMPLATE_HASH];
  return c;
}

/** controller.ComputeHash + rand.SafeEncodeString: the pod-template-hash of a template. */
export function templateHash(template: unknown, collisionCount = 0): string {
  const n = createHash('sha256').update(stable(template)).update(String(collisionCount)).digest().readUInt32BE(0);
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...String(n)].map((ch) => alphabet[ch.charCodeAt(0) % alphabet.length]).join('');
}

const revisionOf = (rs: V1ReplicaSet) => Number(rs.metadata?.annotations?.[REVISION] ?? 0);

export interface DeploymentControllerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  log?: (line: string) => void;
}

export class DeploymentController {
  private readonly apps: AppsV1Api;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  /** deployment uid → name of a ReplicaSet created and not yet in the informer. */
  private readonly created = new Map<string, { rs: V1ReplicaSet; at: number }>();
  private readonly loop: ReconcileLoop;

  constructor(private readonly o: DeploymentControllerOptions) {
    this.loop = new ReconcileLoop({ informers: o.informers, paths: [PATHS.deployments, PATHS.replicasets, PATHS.pods], pass: () => this.pass() });
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
    for (const d of this.o.informers.list<V1Deployment>(PATHS.deployments)) {
      if (d.metadata?.deletionTimestamp || this.loop.stopped) continue;
      await this.reconcile(d).catch((e: Error) => this.o.log?.(`deployment ${d.metadata?.namespace}/${d.metadata?.name}: ${e.message.split('\n')[0]}`));
    }
  }

  private async scale(rs: V1ReplicaSet, replicas: number, d: V1Deployment, surge: number): Promise<void> {
    if ((rs.spec?.replicas ?? 0) === replicas) return;
    const annotations = { 'deployment.kubernetes.io/desired-replicas': String(d.spec?.replicas ?? 1), 'deployment.kubernetes.io/max-replicas': String((d.spec?.replicas ?? 1) + surge) };
    await this.apps.patchNamespacedReplicaSet({ namespace: rs.metadata!.namespace!, name: rs.metadata!.name!, body: { metadata: { annotations }, spec: { replicas } } }, this.merge);
    this.o.log?.(`deployment ${d.metadata!.namespace}/${d.metadata!.name}: scaled ${rs.metadata!.name} from ${rs.spec?.replicas ?? 0} to ${replicas}`);
    rs.spec = { ...rs.spec!, replicas };
  }

  private async reconcile(d: V1Deployment): Promise<void> {
    const ns = d.metadata!.namespace!;
    const uid = d.metadata!.uid!;
    if (d.spec?.paused) return;
    const owned = this.o.informers.list<V1ReplicaSet>(PATHS.replicasets).filter((rs) => rs.metadata?.namespace === ns && controlledBy(rs, uid) && !rs.metadata?.deletionTimestamp);
    const pending = this.created.get(uid);
    if (pending && !owned.some((rs) => rs.metadata?.name === pending.rs.metadata?.name)) {
      if (Date.now() - pending.at < 30_000) owned.push(pending.rs);
    } else this.created.delete(uid);
    const want = stable(withoutHash(d.spec!.template as never));
    let newRS = owned.filter((rs) => stable(withoutHash(rs.spec?.template as never)) === want).sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)))[0];
    const old = owned.filter((rs) => rs !== newRS).sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)));
    const replicas = d.spec?.replicas ?? 1;
    const recreate = d.spec?.strategy?.type === 'Recreate';
    const { surge, unavailable } = recreate ? { surge: 0, unavailable: replicas } : fenceposts(d);
    const sumSpec = (xs: V1ReplicaSet[]) => xs.reduce((s, rs) => s + (rs.spec?.replicas ?? 0), 0);
    let createdNow = false;

    if (recreate) {
      for (const rs of old) await this.scale(rs, 0, d, surge);
      const pods = this.o.informers.list<V1Pod>(PATHS.pods).filter((p) => p.metadata?.namespace === ns && old.some((rs) => controlledBy(p, rs.metadata!.uid!)));
      const oldRunning = pods.some((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
      if (!oldRunning) {
        if (!newRS) {
          newRS = await this.createRS(d, owned, replicas);
          createdNow = true;
        } else await this.scale(newRS, replicas, d, surge);
      }
    } else {
      const maxTotal = replicas + surge;
      if (!newRS) {
        const room = Math.max(0, Math.min(maxTotal - sumSpec(old), replicas));
        newRS = await this.createRS(d, owned, room);
        createdNow = true;
      } else if ((newRS.spec?.replicas ?? 0) > replicas) await this.scale(newRS, replicas, d, surge);
      else if ((newRS.spec?.replicas ?? 0) < replicas) {
        const current = sumSpec([newRS, ...old]);
        const up = Math.min(maxTotal - current, replicas - (newRS.spec?.replicas ?? 0));
        if (up > 0) await this.scale(newRS, (newRS.spec?.replicas ?? 0) + up, d, surge);
      }
      // Old ReplicaSets: unhealthy replicas first, then down to the availability floor.
      if (sumSpec(old) > 0) {
        const minAvailable = replicas - unavailable;
        const newUnavailable = (newRS.spec?.replicas ?? 0) - (newRS.status?.availableReplicas ?? 0);
        let maxScaledDown = sumSpec([newRS, ...old]) - minAvailable - newUnavailable;
        for (const rs of old) {
          if (maxScaledDown <= 0) break;
          const unhealthy = (rs.spec?.replicas ?? 0) - (rs.status?.availableReplicas ?? 0);
          const down = Math.min(maxScaledDown, unhealthy);
          if (down > 0) {
            await this.scale(rs, (rs.spec?.replicas ?? 0) - down, d, surge);
            maxScaledDown -= down;
          }
        }
        const available = [newRS, ...old].reduce((s, rs) => s + Math.min(rs.spec?.replicas ?? 0, rs.status?.availableReplicas ?? 0), 0);
        let total = available - minAvailable;
        for (const rs of old) {
          if (total <= 0) break;
          const down = Math.min(rs.spec?.replicas ?? 0, total);
          if (down > 0) {
            await this.scale(rs, (rs.spec?.replicas ?? 0) - down, d, surge);
            total -= down;
          }
        }
      }
    }
    await this.cleanup(d, old);
    await this.syncStatus(d, newRS, old, createdNow, unavailable);
  }

  private async createRS(d: V1Deployment, owned: V1ReplicaSet[], replicas: number): Promise<V1ReplicaSet> {
    const ns = d.metadata!.namespace!;
    const hash = templateHash(withoutHash(d.spec!.template as never), d.status?.collisionCount ?? 0);
    const template = structuredClone(d.spec!.template);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash } };
    const revision = Math.max(0, ...owned.map(revisionOf)) + 1;
    const { surge } = d.spec?.strategy?.type === 'Recreate' ? { surge: 0 } : fenceposts(d);
    const body: V1ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata!.name}-${hash}`,
        namespace: ns,
        labels: { ...(template.metadata.labels ?? {}) },
        annotations: { [REVISION]: String(revision), 'deployment.kubernetes.io/desired-replicas': String(d.spec?.replicas ?? 1), 'deployment.kubernetes.io/max-replicas': String((d.spec?.replicas ?? 1) + surge) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata!.name!, uid: d.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        replicas,
        minReadySeconds: d.spec?.minReadySeconds,
        selector: { ...d.spec!.selector, matchLabels: { ...(d.spec!.selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash } },
        template,
      },
    };
    const rs = await this.apps.createNamespacedReplicaSet({ namespace: ns, body });
    this.created.set(d.metadata!.uid!, { rs, at: Date.now() });
    this.o.log?.(`deployment ${ns}/${d.metadata!.name}: created ReplicaSet ${rs.metadata!.name} (revision ${revision}, ${replicas} replicas)`);
    if (d.metadata?.annotations?.[REVISION] !== String(revision)) {
      await this.apps.patchNamespacedDeployment({ namespace: ns, name: d.metadata!.name!, body: { metadata: { annotations: { [REVISION]: String(revision) } } } }, this.merge);
    }
    return rs;
  }

  /** sync.go cleanupDeployment: old ReplicaSets at 0 replicas beyond revisionHistoryLimit, oldest first. */
  private async cleanup(d: V1Deployment, old: V1ReplicaSet[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = old.filter((rs) => (rs.spec?.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0 && rs.metadata?.uid);
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      await this.apps.deleteNamespacedReplicaSet({ namespace: rs.metadata!.namespace!, name: rs.metadata!.name! }).catch(() => undefined);
    }
  }

  private async syncStatus(d: V1Deployment, newRS: V1ReplicaSet | undefined, old: V1ReplicaSet[], createdNow: boolean, maxUnavailable: number): Promise<void> {
    const all = newRS ? [newRS, ...old] : old;
    const sum = (f: (rs: V1ReplicaSet) => number | undefined) => all.reduce((s, rs) => s + (f(rs) ?? 0), 0);
    const replicas = d.spec?.replicas ?? 1;
    const counts = {
      replicas: sum((rs) => rs.status?.replicas),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas),
      availableReplicas: sum((rs) => rs.status?.availableReplicas),
      unavailableReplicas: Math.max(0, sum((rs) => rs.spec?.replicas) - sum((rs) => rs.status?.availableReplicas)),
    };
    const cur = d.status ?? {};
    const now = rfc3339();
    const ts = (v: unknown) => (v ? rfc3339(new Date(v as string)) : undefined);
    const conditions: V1DeploymentCondition[] = (cur.conditions ?? []).map((c) => ({ ...c, lastUpdateTime: ts(c.lastUpdateTime) as never, lastTransitionTime: ts(c.lastTransitionTime) as never }));
    const setCond = (c: { type: string; status: string; reason: string; message: string }, progressed: boolean) => {
      const i = conditions.findIndex((x) => x.type === c.type);
      const prev = i >= 0 ? conditions[i] : undefined;
      const same = prev && prev.status === c.status && prev.reason === c.reason;
      const next = {
        ...c,
        lastUpdateTime: (same && !progressed ? prev.lastUpdateTime : now) as never,
        lastTransitionTime: (prev && prev.status === c.status ? prev.lastTransitionTime : now) as never,
      };
      if (i >= 0) conditions[i] = next;
      else conditions.push(next);
    };
    const available = counts.availableReplicas >= replicas - maxUnavailable;
    setCond(
      available
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      false,
    );
    const name = newRS?.metadata?.name ?? '';
    // deployment_util.go DeploymentComplete
    const complete = counts.updatedReplicas === replicas && counts.replicas === replicas && counts.availableReplicas === replicas && !!newRS;
    const progressed = counts.updatedReplicas > (cur.updatedReplicas ?? 0) || counts.availableReplicas > (cur.availableReplicas ?? 0) || counts.readyReplicas > (cur.readyReplicas ?? 0);
    const prog = conditions.find((c) => c.type === 'Progressing');
    if (createdNow) setCond({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${name}"` }, true);
    else if (complete) setCond({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.` }, prog?.reason !== 'NewReplicaSetAvailable');
    else if (progressed) setCond({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.` }, true);
    else if (!prog && newRS) setCond({ type: 'Progressing', status: 'True', reason: 'FoundNewReplicaSet', message: `Found new replica set "${name}"` }, true);
    else if (prog && prog.reason !== 'NewReplicaSetAvailable' && prog.status === 'True') {
      const deadline = d.spec?.progressDeadlineSeconds ?? 600;
      const last = prog.lastUpdateTime ? new Date(prog.lastUpdateTime as never).getTime() : Date.now();
      if (Date.now() - last > deadline * 1000) setCond({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.` }, true);
    }
    const status = { ...counts, observedGeneration: d.metadata?.generation ?? 1, conditions, ...(cur.collisionCount !== undefined ? { collisionCount: cur.collisionCount } : {}) };
    const before = stable({ ...cur, conditions: (cur.conditions ?? []).map((c) => ({ ...c, lastUpdateTime: ts(c.lastUpdateTime), lastTransitionTime: ts(c.lastTransitionTime) })) });
    if (stable(status) === before) return;
    await this.apps.patchNamespacedDeploymentStatus({ namespace: d.metadata!.namespace!, name: d.metadata!.name!, body: { status } }, this.merge);
  }
}
