/**
 * The DaemonSet controller, reconciling from the lab API like kube-controller-manager's
 * (k8s.io/kubernetes pkg/controller/daemon/daemon_controller.go): for each DaemonSet, the
 * nodes that should run its pod (nodeSelector, required node affinity, taints against the
 * pod's tolerations plus the ones every daemon pod gets — daemon/util/daemonset_util.go
 * AddOrUpdateDaemonPodTolerations); one Pod per such node, created with a controller
 * ownerReference (the garbage collector deletes them with the DaemonSet); pods on nodes
 * that no longer qualify are deleted; a changed template rolls the pods (RollingUpdate,
 * maxUnavailable at a time; OnDelete leaves them); status counts desired, current, ready,
 * updated and available pods. Reads come from the process's shared informers only.
 *
 * Unlike upstream (≥1.12, ScheduleDaemonSetPods), the pod is bound directly
 * (spec.nodeName): the lab has no scheduler. Image references go through `resolveImage`
 * (ImageStream tags, see images.ts) before the pod is created.
 */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1DaemonSet, type V1Node, type V1Pod, type V1Toleration } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { matchesNodeAffinity, matchesSelector, tolerates } from '../objects.js';
import { PATHS, type SharedInformers } from '../informers.js';
import { ReconcileLoop } from './reconcile-loop.js';

/** Tolerations the DaemonSet controller adds to every daemon pod (daemonset_util.go). */
export const DAEMON_TOLERATIONS: V1Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** Should this node run the DaemonSet's pod? (daemon_controller.go NodeShouldRunDaemonPod) */
export function shouldRun(ds: V1DaemonSet, node: V1Node): boolean {
  const spec = ds.spec!.template.spec!;
  const labels = node.metadata?.labels ?? {};
  if (!matchesSelector(labels, spec.nodeSelector)) return false;
  if (!matchesNodeAffinity(labels, spec.affinity)) return false;
  const tolerations = [...(spec.tolerations ?? []), ...DAEMON_TOLERATIONS];
  return (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute').every((t) => tolerates(tolerations, t));
}

const isReady = (p: V1Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const ownedBy = (p: V1Pod, uid: string) => (p.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === uid);

export interface DaemonSetControllerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  /** Resolves an ImageStream tag to the digest reference it points at (undefined: not yet). */
  resolveTag?: (namespace: string, stream: string, tag: string) => string | undefined;
  log?: (line: string) => void;
}

export class DaemonSetController {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  /** `dsUid/node` → when a pod create was sent and not yet seen (upstream: expectations). */
  private readonly expecting = new Map<string, number>();
  private readonly loop: ReconcileLoop;

  constructor(private readonly o: DaemonSetControllerOptions) {
    this.core = o.kc.makeApiClient(CoreV1Api);
    this.apps = o.kc.makeApiClient(AppsV1Api);
    this.loop = new ReconcileLoop({ informers: o.informers, paths: [PATHS.daemonsets, PATHS.pods, PATHS.nodes], debounceMs: 50, pass: () => this.pass() });
  }

  async start(): Promise<void> {
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Something changed: reconcile every DaemonSet once more (coalesced). */
  kick(): void {
    this.loop.kick();
  }

  /** Every DaemonSet reconciled once; the periodic resync catches image tags that moved. */
  private async pass(): Promise<void> {
    for (const ds of this.o.informers.list<V1DaemonSet>(PATHS.daemonsets)) {
      if (ds.metadata?.deletionTimestamp) continue;
      await this.reconcile(ds).catch((e: Error) => this.o.log?.(`daemonset ${ds.metadata?.namespace}/${ds.metadata?.name}: ${e.message.split('\n')[0]}`));
    }
  }

  /** The pod template as this controller creates it; undefined while an image does not resolve. */
  private podFor(ds: V1DaemonSet, node: string, generation: string, hash: string): V1Pod {
    const t = ds.spec!.template;
    const ns = ds.metadata!.namespace!;
    const spec = structuredClone(t.spec!);
    for (const c of spec.containers) c.image = this.resolveImage(ds, c.name, c.image!) ?? c.image;
    spec.nodeName = node;
    spec.tolerations = [...(spec.tolerations ?? []), ...DAEMON_TOLERATIONS.filter((d) => !(spec.tolerations ?? []).some((x) => x.key === d.key && x.effect === d.effect))];
    spec.restartPolicy ??= 'Always';
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${ds.metadata!.name}-`,
        namespace: ns,
        labels: { ...(t.metadata?.labels ?? {}), 'controller-revision-hash': hash, 'pod-template-generation': generation },
        ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata!.name!, uid: ds.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec,
    };
  }

  /**
   * What a container's image becomes on OpenShift before a node pulls it: the image trigger
   * controller (openshift/openshift-controller-manager pkg/image/trigger, annotation
   * `image.openshift.io/triggers`) sets the container named in fieldPath to the digest of
   * the ImageStreamTag; a reference into the internal registry
   * (`image-registry.openshift-image-registry.svc:5000/<ns>/<stream>:<tag>`) is served from
   * the stream. Unlike upstream the DaemonSet's spec is not patched: pods get the
   * resolved reference when they are created (a moved tag is a new revision, see reconcile).
   */
  private resolveImage(ds: V1DaemonSet, container: string, image: string): string | undefined {
    const resolve = this.o.resolveTag;
    if (!resolve) return undefined;
    const ns = ds.metadata!.namespace!;
    try {
      const triggers = JSON.parse(ds.metadata?.annotations?.['image.openshift.io/triggers'] ?? '[]') as { from?: { kind?: string; name?: string; namespace?: string }; fieldPath?: string; paused?: boolean | string }[];
      for (const t of triggers) {
        if (t.from?.kind !== 'ImageStreamTag' || !t.from.name || t.paused === true || t.paused === 'true') continue;
        const m = /containers\[\?\(@\.name=="([^"]+)"\)\]\.image/.exec(t.fieldPath ?? '');
        if (m?.[1] !== container) continue;
        const [stream, tag = 'latest'] = t.from.name.split(':');
        const ref = resolve(t.from.namespace ?? ns, stream!, tag);
        if (ref) return ref;
      }
    } catch {
      // An unparsable annotation triggers nothing (the trigger controller skips it too).
    }
    const internal = /^image-registry\.openshift-image-registry\.svc:5000\/([^/]+)\/([^/:@]+)(?::([^/@]+))?$/.exec(image);
    return internal ? resolve(internal[1]!, internal[2]!, internal[3] ?? 'latest') : undefined;
  }

  private async reconcile(ds: V1DaemonSet): Promise<void> {
    const ns = ds.metadata!.namespace!;
    const uid = ds.metadata!.uid!;
    const generation = String(ds.metadata!.generation ?? 1);
    // The template as the pods get it (with resolved images): a moved image tag is a new revision.
    const probe = this.podFor(ds, '', generation, '');
    const hash = createHash('sha256').update(JSON.stringify(probe.spec!.containers)).digest('hex').slice(0, 10);
    const nodes = this.o.informers.list<V1Node>(PATHS.nodes);
    const pods = this.o.informers.list<V1Pod>(PATHS.pods).filter((p) => p.metadata?.namespace === ns && ownedBy(p, uid) && !p.metadata?.deletionTimestamp);
    const byNode = new Map<string, V1Pod[]>();
    for (const p of pods) byNode.set(p.spec?.nodeName ?? '', [...(byNode.get(p.spec?.nodeName ?? '') ?? []), p]);

    let desired = 0;
    const live: V1Pod[] = [];
    for (const node of nodes) {
      const name = node.metadata!.name!;
      const here = byNode.get(name) ?? [];
      byNode.delete(name);
      const key = `${uid}/${name}`;
      if (here.length) this.expecting.delete(key);
      if (!shouldRun(ds, node)) {
        for (const p of here) await this.deletePod(p, 'node no longer qualifies');
        continue;
      }
      desired += 1;
      if (here.length === 0) {
        const sent = this.expecting.get(key);
        if (sent && Date.now() - sent < 10_000) continue;
        await this.core.createNamespacedPod({ namespace: ns, body: this.podFor(ds, name, generation, hash) });
        this.expecting.set(key, Date.now());
        this.o.log?.(`daemonset ${ns}/${ds.metadata!.name}: created a pod on ${name}`);
        continue;
      }
      // Extra pods for one node: keep the oldest (daemon_controller.go podsShouldBeOnNode).
      const [keep, ...extra] = [...here].sort((a, b) => String(a.metadata!.creationTimestamp).localeCompare(String(b.metadata!.creationTimestamp)));
      for (const p of extra) await this.deletePod(p, 'more than one pod on the node');
      live.push(keep!);
    }
    // Pods on nodes that are gone.
    for (const rest of byNode.values()) for (const p of rest) await this.deletePod(p, 'its node is gone');

    const updated = live.filter((p) => p.metadata?.labels?.['controller-revision-hash'] === hash);
    const ready = live.filter(isReady);
    const strategy = ds.spec!.updateStrategy?.type ?? 'RollingUpdate';
    if (strategy === 'RollingUpdate') {
      // rolling_update.go: delete old pods while the unavailable count stays within maxUnavailable.
      const mu = ds.spec!.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
      const maxUnavailable = typeof mu === 'string' && mu.endsWith('%') ? Math.max(1, Math.floor((desired * Number(mu.slice(0, -1))) / 100)) : Number(mu) || 1;
      let unavailable = desired - ready.length;
      const old = live.filter((p) => !updated.includes(p)).sort((a, b) => Number(isReady(a)) - Number(isReady(b)));
      for (const p of old) {
        if (!isReady(p)) await this.deletePod(p, 'template changed');
        else if (unavailable < maxUnavailable) {
          unavailable += 1;
          await this.deletePod(p, 'template changed');
        }
      }
    }
    const status = {
      currentNumberScheduled: live.length,
      desiredNumberScheduled: desired,
      numberMisscheduled: 0,
      numberReady: ready.length,
      numberAvailable: ready.length,
      numberUnavailable: Math.max(0, desired - ready.length),
      updatedNumberScheduled: updated.length,
      observedGeneration: ds.metadata!.generation ?? 1,
    };
    const cur = ds.status ?? {};
    if (Object.entries(status).some(([k, v]) => (cur as Record<string, unknown>)[k] !== v)) {
      await this.apps.patchNamespacedDaemonSetStatus({ namespace: ns, name: ds.metadata!.name!, body: { status } }, this.merge);
    }
  }

  private async deletePod(p: V1Pod, why: string): Promise<void> {
    this.o.log?.(`daemonset: deleting pod ${p.metadata!.namespace}/${p.metadata!.name} (${why})`);
    await this.core.deleteNamespacedPod({ namespace: p.metadata!.namespace!, name: p.metadata!.name! }).catch(() => undefined);
  }
}
