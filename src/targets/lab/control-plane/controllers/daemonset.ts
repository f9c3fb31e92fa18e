/**
 * DaemonSet → one privileged pod per matching node running the manifest's own
 * container command, with its lifecycle hooks run literally in the pod's root:
 * postStart on every (re)start — a failing postStart kills the container, which the
 * kubelet restarts with back-off (CrashLoopBackOff) — and preStop on graceful stop.
 * Image triggers (`image.openshift.io/triggers`) roll pods when their tag moves.
 */
import type { K8sObject } from '../../../../artifacts/artifact-set.js';
import { dnsLabel } from '../../../../names.js';
import type { ClusterNode, PodRecord } from '../cluster-types.js';
import type { LabCluster } from '../lab-cluster.js';
import { matchesNodeAffinity, matchesSelector } from '../objects.js';
import { execInPod, removePod } from '../pod-runtime.js';

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  lifecycle?: { postStart?: { exec?: { command: string[] } }; preStop?: { exec?: { command: string[] } } };
}
interface DaemonSetSpec {
  template: { spec: { nodeSelector?: Record<string, string>; affinity?: unknown; containers: Container[] } };
}

/** Restarts tried within one reconcile before leaving the pod in CrashLoopBackOff. */
const RESTARTS_PER_RECONCILE = 2;

const podImageDigest = new WeakMap<PodRecord, string>();

function owner(ds: K8sObject): string {
  return `DaemonSet/${ds.metadata.namespace}/${ds.metadata.name}`;
}

function podName(ds: K8sObject, node: ClusterNode): string {
  return dnsLabel(ds.metadata.name, node.name);
}

function eligible(ds: K8sObject, node: ClusterNode): boolean {
  const spec = (ds.spec as DaemonSetSpec).template.spec;
  return matchesSelector(node.labels, spec.nodeSelector) && matchesNodeAffinity(node.labels, spec.affinity);
}

export async function reconcileDaemonSets(c: LabCluster): Promise<void> {
  const sets = c.store.list('DaemonSet');
  for (const node of c.nodes) {
    if (node.lab.state !== 'ready') continue;
    // Pods whose DaemonSet is gone or no longer selects this node are stopped.
    for (const pod of [...node.pods.values()].filter((p) => p.owner.startsWith('DaemonSet/'))) {
      const ds = sets.find((s) => owner(s) === pod.owner);
      if (!ds || !eligible(ds, node)) await stopPod(c, node, pod, ds ? 'NodeAffinity' : 'Deleted');
    }
    if (node.cordoned) continue;
    for (const ds of sets) {
      if (!eligible(ds, node)) continue;
      await ensurePod(c, node, ds);
    }
  }
}

async function ensurePod(c: LabCluster, node: ClusterNode, ds: K8sObject): Promise<void> {
  const container = (ds.spec as DaemonSetSpec).template.spec.containers[0]!;
  const name = podName(ds, node);
  let pod = node.pods.get(name);
  const image = c.registry.pull(container.image);
  if (pod && pod.phase === 'Running' && image && podImageDigest.get(pod) !== image.digest) {
    // The image tag moved (image trigger): roll the pod.
    await stopPod(c, node, pod, 'ImageChange');
    pod = undefined;
  }
  if (pod && pod.phase === 'Running') return;
  if (!pod) {
    pod = {
      name,
      owner: owner(ds),
      component: 'driver-container',
      imageRef: container.image,
      restarts: 0,
      phase: 'CrashLoopBackOff',
      preStop: container.lifecycle?.preStop?.exec?.command,
      startedAt: Date.now(),
    };
    node.pods.set(name, pod);
  }
  pod.imageRef = container.image;
  pod.preStop = container.lifecycle?.preStop?.exec?.command;
  const command = [...(container.command ?? []), ...(container.args ?? [])];
  for (let attempt = 0; attempt <= RESTARTS_PER_RECONCILE; attempt++) {
    if (!(await c.startPodOn(node, pod, command))) return; // image not pullable
    podImageDigest.set(pod, c.registry.pull(pod.imageRef)!.digest);
    const postStart = container.lifecycle?.postStart?.exec?.command;
    if (!postStart) return;
    const hook = await execInPod(node.lab, pod.name, postStart);
    if (hook.code === 0) return;
    // FailedPostStartHook: the kubelet kills the container and restarts it.
    c.emit('fault', { fault: 'post-start-failed', message: `${pod.name}: ${postStart.join(' ')} exited ${hook.code}: ${hook.output.split('\n').slice(-3).join(' | ')}` }, node.name);
    await removePod(node.lab, pod.name);
    pod.phase = 'CrashLoopBackOff';
    // Seen gone; the restart is recorded when it is seen running again (startPodOn).
    c.podGone(pod, 'FailedPostStartHook');
  }
}

async function stopPod(c: LabCluster, node: ClusterNode, pod: PodRecord, reason: string): Promise<void> {
  if (pod.phase === 'Running' && pod.preStop) {
    const r = await execInPod(node.lab, pod.name, pod.preStop);
    // A failing preStop cannot block termination (Kubernetes only logs it): record it.
    if (r.code !== 0) c.emit('fault', { fault: 'pre-stop-failed', message: `${pod.name}: ${pod.preStop.join(' ')} exited ${r.code}: ${r.output}` }, node.name);
  }
  await removePod(node.lab, pod.name);
  node.pods.delete(pod.name);
  c.emit('pod-stop', { pod: pod.name, component: pod.component, reason }, node.name);
}

/** Finalizer of a deleted DaemonSet: every pod stops gracefully (preStop). */
export async function stopDaemonSetPods(c: LabCluster, ds: K8sObject): Promise<void> {
  for (const node of c.nodes) {
    if (node.lab.state !== 'ready') continue;
    for (const pod of [...node.pods.values()].filter((p) => p.owner === owner(ds))) await stopPod(c, node, pod, 'Deleted');
  }
}
