/**
 * A small FAKE cluster on top of the fake API server: two worker nodes, a
 * ClusterVersion, a worker MachineConfigPool, and "controllers" that do what kubelet,
 * the DaemonSet controller and the Deployment controller would, just enough for the
 * cluster target's flow: DaemonSet → one Running pod per node, which "loads" the
 * driver modules; probe pods print what the node's /sys shows; canaries become
 * available, with a Running canary pod on their node that the pod proxy answers for.
 */
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { node } from './node-fixtures.js';
import { targetedNodes } from '../../src/targets/cluster/target-nodes.js';

export const NODE_NAMES = ['worker-0', 'worker-1'];
export const KVER = '5.14.0-284.52.1.el9_2.x86_64';
export const FAKE_DTK_IMAGE = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'d'.repeat(64)}`;
export const FAKE_RELEASE_IMAGE_4_14_13 = 'quay.io/openshift-release-dev/ocp-release@sha256:0000000000000000000000000000000000000000000000000000000000041413';

export interface FakeCluster {
  api: FakeKubeApiServer;
  /** node → modules currently loaded there. */
  loaded: Map<string, Set<string>>;
  /** How the fake builder ends every new Build (binary builds started through instantiatebinary). */
  buildOutcome: { phase: 'Complete' | 'Failed'; log: string; message?: string };
  /** Modules `modprobe -r` cannot remove ("in use"). */
  stuck: Set<string>;
  /** How long a driver pod takes from created to Running (and the driver loaded). */
  podStartMs: number;
}

type Taint = { key: string; value?: string; effect: string };
type Toleration = { key?: string; operator?: string; value?: string; effect?: string };
type PodSpec = { tolerations?: Toleration[] };

/** A toleration covers a taint (k8s.io/api core/v1 toleration.go ToleratesTaint). */
function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

/** The node exists, matches the DaemonSet's selectors and its NoSchedule/NoExecute taints are tolerated. */
function schedulable(node: { metadata: Record<string, any>; spec?: { taints?: Taint[] } } | undefined, ds: Parameters<typeof targetedNodes>[0][number], podSpec: PodSpec): boolean {
  if (!node) return false;
  if (!targetedNodes([ds], [node as never], [])?.includes(node.metadata['name'])) return false;
  return (node.spec?.taints ?? []).filter((t) => t.effect !== 'PreferNoSchedule').every((taint) => (podSpec.tolerations ?? []).some((t) => tolerates(t, taint)));
}

export async function startFakeCluster(token: string, modules: string[]): Promise<FakeCluster> {
  const api = new FakeKubeApiServer();
  api.tokens.add(token);
  await api.start();
  const loaded = new Map(NODE_NAMES.map((n) => [n, new Set<string>()]));
  const stuck = new Set<string>();
  for (const [i, n] of NODE_NAMES.entries()) {
    const obj = node(n, `boot-${i}-a`, true, { kernel: KVER });
    obj.metadata.labels = { ...obj.metadata.labels, 'node-role.kubernetes.io/worker': '' };
    api.put(obj);
  }
  api.put({
    apiVersion: 'config.openshift.io/v1',
    kind: 'ClusterVersion',
    metadata: { name: 'version' },
    spec: {},
    // As the CVO reports them: the update service's recommendations, with their payload images.
    status: { desired: { version: '4.14.12' }, availableUpdates: [{ version: '4.14.13', image: FAKE_RELEASE_IMAGE_4_14_13 }] },
  });
  api.put({
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfigPool',
    metadata: { name: 'worker' },
    spec: { configuration: { name: 'rendered-worker-1' }, nodeSelector: { matchLabels: { 'node-role.kubernetes.io/worker': '' } } },
    status: { configuration: { name: 'rendered-worker-1' }, machineCount: 2, updatedMachineCount: 2, readyMachineCount: 2, degradedMachineCount: 0, unavailableMachineCount: 0 },
  });
  // As on OpenShift: the release's driver-toolkit image stream (openshift/driver-toolkit), pinned by digest.
  api.put({
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name: 'driver-toolkit', namespace: 'openshift' },
    spec: { tags: [{ name: 'latest', from: { kind: 'DockerImage', name: FAKE_DTK_IMAGE } }] },
    status: { tags: [{ tag: 'latest', items: [{ dockerImageReference: FAKE_DTK_IMAGE, image: FAKE_DTK_IMAGE.split('@')[1] }] }] },
  });
  const cluster: FakeCluster = { api, loaded, stuck, buildOutcome: { phase: 'Complete', log: 'STEP 1/9: FROM driver-toolkit\nSuccessfully pushed\n' }, podStartMs: 30 };
  api.reactors.push((type, o, s) => {
    // The build controller and builder: a new Build runs, then ends as buildOutcome says, with its log.
    if (o.kind !== 'Build' || type !== 'ADDED') return;
    const ns = o.metadata['namespace'] as string;
    const name = o.metadata['name'] as string;
    const end = cluster.buildOutcome;
    setTimeout(() => s.get('build.openshift.io/v1', 'Build', name, ns) && s.update('build.openshift.io/v1', 'Build', name, ns, (b) => (b['status'] = { phase: 'Running' })), 20);
    setTimeout(() => {
      if (!s.get('build.openshift.io/v1', 'Build', name, ns)) return;
      s.podLogs.set(`${ns}/${name}`, end.log);
      s.update('build.openshift.io/v1', 'Build', name, ns, (b) => (b['status'] = { phase: end.phase, ...(end.message ? { message: end.message } : {}) }));
    }, 60);
  });
  api.reactors.push((type, o, s) => {
    const ns = o.metadata['namespace'] as string | undefined;
    const name = o.metadata['name'] as string;
    if (o.kind === 'DaemonSet' && type === 'ADDED') {
      // As the DaemonSet controller: the nodes whose labels match the pod template and whose
      // NoSchedule/NoExecute taints it tolerates; their count is the status it writes.
      const podSpec = (o['spec']?.template?.spec ?? {}) as PodSpec;
      const nodes = NODE_NAMES.filter((n) => schedulable(s.get('v1', 'Node', n), o as never, podSpec));
      const status = (ready: number) => ({ observedGeneration: o.metadata['generation'] ?? 1, desiredNumberScheduled: nodes.length, currentNumberScheduled: nodes.length, numberReady: ready, numberMisscheduled: 0 });
      setTimeout(() => s.get('apps/v1', 'DaemonSet', name, ns) && s.update('apps/v1', 'DaemonSet', name, ns, (d) => (d['status'] = status(0))), 5);
      let ready = 0;
      for (const n of nodes) {
        s.put({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `${name}-${n}`, namespace: ns, labels: { 'app.kubernetes.io/component': 'driver-container' }, ownerReferences: [{ kind: 'DaemonSet', name }] },
          spec: { nodeName: n },
          status: { phase: 'Pending' },
        });
        setTimeout(() => {
          for (const m of modules) loaded.get(n)!.add(m);
          if (s.get('v1', 'Pod', `${name}-${n}`, ns)) s.update('v1', 'Pod', `${name}-${n}`, ns, (p) => (p.status = { phase: 'Running', containerStatuses: [{ name: 'c', restartCount: 0 }] }));
          ready += 1;
          if (s.get('apps/v1', 'DaemonSet', name, ns)) s.update('apps/v1', 'DaemonSet', name, ns, (d) => (d['status'] = status(ready)));
        }, cluster.podStartMs);
      }
    }
    if (o.kind === 'DaemonSet' && type === 'DELETED') {
      for (const n of NODE_NAMES) {
        for (const m of modules) loaded.get(n)!.delete(m);
        for (const p of s.all('Pod').filter((p) => p.metadata['namespace'] === ns && p.metadata['name'] === `${name}-${n}`)) {
          s.removeObject('v1', 'Pod', p.metadata['name'], ns);
        }
      }
    }
    const podComponent = (o.metadata['labels'] as Record<string, string> | undefined)?.['app.kubernetes.io/component'];
    if (o.kind === 'Pod' && type === 'ADDED' && podComponent === 'module-unload') {
      // "modprobe -r" on the node: removes what is not stuck.
      const spec = o['spec'] as { nodeName: string; containers: { command: string[] }[] };
      const asked = /for m in ([^;]*); do/.exec(spec.containers[0]!.command.at(-1)!)![1]!.trim().split(/\s+/);
      // modprobe treats '-' and '_' in module names alike.
      const norm = (m: string) => m.replace(/-/g, '_');
      const set = loaded.get(spec.nodeName) ?? new Set<string>();
      for (const m of asked) if (![...stuck].some((x) => norm(x) === norm(m))) for (const l of [...set]) if (norm(l) === norm(m)) set.delete(l);
    }
    if (o.kind === 'Pod' && type === 'ADDED' && (podComponent === 'module-probe' || podComponent === 'module-unload')) {
      // "Run" the probe's script: one `probe <module> <sysfs name>` line per module.
      const spec = o['spec'] as { nodeName: string; containers: { command: string[] }[] };
      const n = spec.nodeName;
      const asked = [...spec.containers[0]!.command.at(-1)!.matchAll(/^probe (\S+) \S+$/gm)].map((m) => m[1]!);
      const norm = (m: string) => m.replace(/-/g, '_');
      const isLoaded = (m: string) => [...(loaded.get(n) ?? [])].some((l) => norm(l) === norm(m));
      const lines = asked.map((m) => (isLoaded(m) ? `kmodlab-probe ${m} 1 16384 OE live` : `kmodlab-probe ${m} 0`));
      s.podLogs.set(`${ns}/${name}`, `${lines.join('\n')}\n`);
      setTimeout(() => s.get('v1', 'Pod', name, ns) && s.update('v1', 'Pod', name, ns, (p) => (p.status = { phase: 'Succeeded' })), 10);
    }
    if (o.kind === 'Deployment' && type === 'ADDED') {
      // The ReplicaSet controller, scheduler and kubelet: one Running pod on the node the template selects.
      const template = o['spec']?.template as { metadata?: { labels?: Record<string, string> }; spec?: { nodeSelector?: Record<string, string> } } | undefined;
      const nodeName = template?.spec?.nodeSelector?.['kubernetes.io/hostname'];
      s.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-pod`, namespace: ns, labels: template?.metadata?.labels ?? {}, ownerReferences: [{ kind: 'ReplicaSet', name: `${name}-rs` }] }, spec: { nodeName }, status: { phase: 'Running' } });
      setTimeout(() => s.update('apps/v1', 'Deployment', name, ns, (d) => (d.status = { availableReplicas: 1, replicas: 1 })), 10);
    }
    if (o.kind === 'Deployment' && type === 'DELETED' && s.get('v1', 'Pod', `${name}-pod`, ns)) s.removeObject('v1', 'Pod', `${name}-pod`, ns);
  });
  return cluster;
}
