/**
 * The lab's Deployment, ReplicaSet and scheduler controllers against the real lab API
 * server in this process, driven by the real kubectl 1.32, without QEMU: the nodes are
 * Node objects the test registers, and the test plays the kubelet (a named stand-in:
 * it marks bound pods Running and Ready, as the lab's kubelets do on a booted node).
 * The QEMU path is test/lab/lab-up-deployments.test.ts.
 */
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentController } from '../../src/targets/lab/control-plane/api-controllers/deployment.js';
import { ReplicaSetController } from '../../src/targets/lab/control-plane/api-controllers/replicaset.js';
import { fitError, pickNode, Scheduler } from '../../src/targets/lab/control-plane/api-controllers/scheduler.js';
import { PATHS, SharedInformers } from '../../src/targets/lab/control-plane/informers.js';
import { kubectlBinary, startTestApi, type TestApi } from './api-server-helpers.js';
import { pollUntil } from './helpers.js';

const NODES = ['node-a', 'node-b'];

function deployment(name: string, extra: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'registry.example/app:1', command: ['sleep', 'infinity'] }], ...podSpec } },
      ...extra,
    },
  });
}

describe.skipIf(!kubectlBinary())('Deployment → ReplicaSet → Pods and the scheduler, on the lab API with kubectl', () => {
  let api: TestApi;
  let informers: SharedInformers;
  let core: CoreV1Api;
  const stops: (() => Promise<void>)[] = [];
  const kubectl = (...args: string[]) => api.kubectl(args, { timeoutMs: 120_000 });
  const pods = async (selector: string): Promise<V1Pod[]> => JSON.parse((await kubectl('get', 'pods', '-l', selector, '-o', 'json')).stdout).items;
  const until = <T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000) => pollUntil(f, ok, ms);

  beforeAll(async () => {
    api = await startTestApi();
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (const n of NODES) {
      await core.createNode({ body: { metadata: { name: n, labels: { 'kubernetes.io/hostname': n, 'node-role.kubernetes.io/worker': '' } } } });
      await core.patchNodeStatus({ name: n, body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ok', lastHeartbeatTime: now, lastTransitionTime: now }] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
    informers = new SharedInformers(kc);
    const scheduler = new Scheduler({ kc, informers });
    const rs = new ReplicaSetController({ kc, informers });
    const dc = new DeploymentController({ kc, informers });
    for (const c of [scheduler, rs, dc]) await c.start();
    stops.push(() => dc.stop(), () => rs.stop(), () => scheduler.stop(), () => informers.stop());
    // The stand-in kubelet: a bound pod starts and becomes Ready.
    await informers.subscribe(PATHS.pods, (type, o) => {
      const p = o as V1Pod;
      if (type === 'delete' || !p.spec?.nodeName || p.status?.phase === 'Running' || p.metadata?.deletionTimestamp) return;
      const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      void core
        .patchNamespacedPodStatus(
          { namespace: p.metadata!.namespace!, name: p.metadata!.name!, body: { status: { phase: 'Running', conditions: [...(p.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), { type: 'Ready', status: 'True', lastTransitionTime: t }] } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )
        .catch(() => undefined);
    });
  }, 60_000);
  afterAll(async () => {
    for (const s of stops) await s();
    await api?.stop();
  });

  it('rolls a Deployment out: ReplicaSet with pod-template-hash, owned pods bound to nodes, rollout status, Available', async () => {
    const a = await kubectl('apply', '-f', api.file('web.json', deployment('web')));
    expect(a.code, a.stderr).toBe(0);
    const r = await kubectl('rollout', 'status', 'deployment/web', '--timeout=60s');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('successfully rolled out');
    expect((await kubectl('wait', '--for=condition=Available', 'deployment/web', '--timeout=30s')).code).toBe(0);
    const rs = JSON.parse((await kubectl('get', 'rs', '-l', 'app=web', '-o', 'json')).stdout).items;
    expect(rs).toHaveLength(1);
    const hash = rs[0].metadata.labels['pod-template-hash'];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(rs[0].metadata.name).toBe(`web-${hash}`);
    expect(rs[0].metadata.ownerReferences[0]).toMatchObject({ kind: 'Deployment', name: 'web', controller: true });
    expect(rs[0].spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    const ps = await pods('app=web');
    expect(ps).toHaveLength(2);
    for (const p of ps) {
      expect(p.metadata!.ownerReferences![0]).toMatchObject({ kind: 'ReplicaSet', name: rs[0].metadata.name, controller: true });
      expect(p.metadata!.labels!['pod-template-hash']).toBe(hash);
      expect(NODES).toContain(p.spec!.nodeName);
      expect(p.status!.conditions!.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
    }
    // Spread: the two replicas land on the two nodes.
    expect(new Set(ps.map((p) => p.spec!.nodeName)).size).toBe(2);
    const d = JSON.parse((await kubectl('get', 'deploy', 'web', '-o', 'json')).stdout);
    expect(d.status).toMatchObject({ replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: d.metadata.generation });
    expect(d.status.conditions.find((c: { type: string }) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
  }, 120_000);

  it('replaces a deleted pod', async () => {
    const before = (await pods('app=web')).map((p) => p.metadata!.name!);
    expect((await kubectl('delete', 'pod', before[0]!, '--wait=false')).code).toBe(0);
    const after = await until(
      () => pods('app=web'),
      (ps) => ps.length === 2 && !ps.some((p) => p.metadata!.name === before[0]) && ps.every((p) => p.status?.phase === 'Running'),
    );
    expect(after.map((p) => p.metadata!.name)).not.toContain(before[0]);
    expect(after).toHaveLength(2);
    expect((await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s')).code).toBe(0);
  }, 60_000);

  it('a changed template rolls to a new ReplicaSet; the old one is scaled to 0', async () => {
    const p = await kubectl('patch', 'deployment', 'web', '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { annotations: { rev: '2' } } } } }));
    expect(p.code, p.stderr).toBe(0);
    const r = await kubectl('rollout', 'status', 'deployment/web', '--timeout=60s');
    expect(r.code, r.stderr).toBe(0);
    const rs = JSON.parse((await kubectl('get', 'rs', '-l', 'app=web', '-o', 'json')).stdout).items as { metadata: { annotations: Record<string, string> }; spec: { replicas: number } }[];
    expect(rs).toHaveLength(2);
    const byRev = Object.fromEntries(rs.map((x) => [x.metadata.annotations['deployment.kubernetes.io/revision'], x.spec.replicas]));
    expect(byRev).toEqual({ '1': 0, '2': 2 });
    const ps = await until(() => pods('app=web'), (x) => x.length === 2 && x.every((q) => q.metadata?.annotations?.rev === '2'));
    expect(ps.every((q) => q.metadata?.annotations?.rev === '2')).toBe(true);
  }, 120_000);

  it('a cordoned node gets no new pod; a pod that fits nowhere is Pending, PodScheduled=False Unschedulable', async () => {
    expect((await kubectl('cordon', 'node-a')).code).toBe(0);
    expect((await kubectl('apply', '-f', api.file('pinned.json', deployment('pinned', { replicas: 1 }, { nodeSelector: { 'kubernetes.io/hostname': 'node-a' } })))).code).toBe(0);
    const [p] = await until(() => pods('app=pinned'), (ps) => ps.length === 1 && (ps[0]!.status?.conditions ?? []).some((c) => c.type === 'PodScheduled'));
    expect(p!.spec!.nodeName).toBeUndefined();
    expect(p!.status!.phase).toBe('Pending');
    expect(p!.status!.conditions!.find((c) => c.type === 'PodScheduled')).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
      message: "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..",
    });
    const ev = JSON.parse((await kubectl('get', 'events', '--field-selector', `involvedObject.name=${p!.metadata!.name}`, '-o', 'json')).stdout).items;
    expect(ev.find((e: { reason: string }) => e.reason === 'FailedScheduling')).toMatchObject({ type: 'Warning', source: { component: 'default-scheduler' } });
    // A new replica of web goes to the uncordoned node only.
    const sc = await kubectl('scale', 'deployment/web', '--replicas=3');
    expect(sc.code, sc.stderr).toBe(0);
    expect(JSON.parse((await kubectl('get', '--raw', '/apis/apps/v1/namespaces/default/deployments/web/scale')).stdout)).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 }, status: { selector: 'app=web' } });
    expect((await kubectl('rollout', 'status', 'deployment/web', '--timeout=60s')).code).toBe(0);
    const web = await pods('app=web');
    const newest = [...web].sort((a, b) => String(b.metadata!.creationTimestamp).localeCompare(String(a.metadata!.creationTimestamp)))[0]!;
    expect(newest.spec!.nodeName).toBe('node-b');
    // Uncordoned: the pending pod is bound.
    expect((await kubectl('uncordon', 'node-a')).code).toBe(0);
    const [bound] = await until(() => pods('app=pinned'), (ps) => ps[0]?.spec?.nodeName === 'node-a');
    expect(bound!.spec!.nodeName).toBe('node-a');
    expect((await kubectl('rollout', 'status', 'deployment/pinned', '--timeout=30s')).code).toBe(0);
  }, 120_000);

  it('kubectl drain (protobuf DeleteOptions): the pods leave the node, their ReplicaSet recreates them on the other one', async () => {
    const on = async (n: string) => (await pods('app=web')).filter((p) => p.spec?.nodeName === n);
    expect((await on('node-a')).length).toBeGreaterThan(0);
    const d = await kubectl('drain', 'node-a', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s');
    expect(d.code, d.stderr).toBe(0);
    const web = await until(() => pods('app=web'), (ps) => ps.length === 3 && ps.every((p) => p.spec?.nodeName === 'node-b' && p.status?.phase === 'Running'));
    expect(web.map((p) => p.spec!.nodeName)).toEqual(['node-b', 'node-b', 'node-b']);
    expect((await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s')).code).toBe(0);
    expect((await kubectl('uncordon', 'node-a')).code).toBe(0);
  }, 120_000);

  it('deleting the Deployment removes its ReplicaSets and pods (ownerReferences)', async () => {
    expect((await kubectl('delete', 'deployment', 'web', 'pinned')).code).toBe(0);
    const left = await until(() => pods('app in (web,pinned)'), (ps) => ps.length === 0);
    expect(left).toHaveLength(0);
    expect(JSON.parse((await kubectl('get', 'rs', '-o', 'json')).stdout).items).toHaveLength(0);
  }, 60_000);

  it('pods/binding: a second binding of a bound pod is a Conflict, as kube-apiserver answers', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'manual' }, spec: { schedulerName: 'someone-else', containers: [{ name: 'c', image: 'x' }] } } });
    await core.createNamespacedPodBinding({ namespace: 'default', name: 'manual', body: { metadata: { name: 'manual' }, target: { kind: 'Node', name: 'node-b' } } });
    const p = await core.readNamespacedPod({ namespace: 'default', name: 'manual' });
    expect(p.spec!.nodeName).toBe('node-b');
    const again = await core.createNamespacedPodBinding({ namespace: 'default', name: 'manual', body: { metadata: { name: 'manual' }, target: { kind: 'Node', name: 'node-a' } } }).catch((e: { code?: number; body?: string }) => e);
    expect((again as { code?: number }).code).toBe(409);
    expect(JSON.parse(String((again as { body?: string }).body)).message).toContain('pod manual is already assigned to node "node-b"');
  });
});

describe('scheduler filters (units)', () => {
  const node = (name: string, o: { labels?: Record<string, string>; unschedulable?: boolean; taints?: object[]; ready?: boolean } = {}) =>
    ({ metadata: { name, labels: o.labels ?? {} }, spec: { unschedulable: o.unschedulable, taints: o.taints }, status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] } }) as never;
  const pod = (spec: object = {}) => ({ metadata: { name: 'p' }, spec: { containers: [], ...spec } }) as never;

  it('cordon, taints, NotReady and selectors, with the upstream diagnosis', () => {
    expect(pickNode(pod(), [node('a', { unschedulable: true }), node('b')], () => 0)).toEqual({ node: 'b' });
    expect(pickNode(pod({ tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }), [node('a', { unschedulable: true })], () => 0)).toEqual({ node: 'a' });
    expect(pickNode(pod(), [node('a', { taints: [{ key: 'gpu', value: 'x', effect: 'NoSchedule' }] }), node('b', { ready: false })], () => 0)).toEqual({
      unschedulable: '0/2 nodes are available: 1 node(s) had untolerated taint {gpu: x}, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..',
    });
    expect(pickNode(pod({ nodeSelector: { disk: 'ssd' } }), [node('a', { labels: { disk: 'ssd' } }), node('b')], () => 0)).toEqual({ node: 'a' });
    expect(pickNode(pod(), [node('a'), node('b')], (n) => (n === 'a' ? 3 : 1))).toEqual({ node: 'b' });
    expect(fitError(0, [])).toBe('no nodes available to schedule pods');
  });
});
