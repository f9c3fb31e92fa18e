/**
 * Resource samples from Prometheus → run events.
 *   - W1: only samples taken inside the window the target asked for (a window shorter
 *     than one step is queried wider, its earlier points are not the window's), and only
 *     pods that are alive and not builds (build pods belong to the build's figures);
 *   - S2: the pod working set and the namespace's memory usage are different metrics and
 *     are recorded as such, never as RSS.
 * Against the fake Prometheus (answers built per query, like the real matrix format).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { PrometheusClient } from '../../src/targets/cluster/prometheus.js';
import { sampleResources, type PodInfo } from '../../src/targets/cluster/resource-samples.js';
import { FakePrometheus, seriesAt } from './fake-prometheus.js';
import { FIXTURE_TOKEN, kubeconfigFor } from './helpers.js';

const NS = 'simple-kmod-dtk';
type Ev = { kind: string; data: Record<string, unknown>; node?: string };

describe('resource samples', () => {
  let prom: FakePrometheus;
  let client: PrometheusClient;
  beforeEach(async () => {
    prom = new FakePrometheus();
    prom.tokens.add(FIXTURE_TOKEN);
    await prom.start();
    client = new PrometheusClient({ url: prom.url, credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', 'https://127.0.0.1:1') }) });
    const pods = ['driver-a', 'driver-b-build', 'gone'];
    prom.answer = (q) => {
      if (q.query.startsWith('namespace:')) return [seriesAt(q, { namespace: NS }, () => 7_000_000)];
      if (q.query.includes('container_memory_working_set_bytes')) return pods.map((p) => seriesAt(q, { namespace: NS, pod: p, node: 'worker-0' }, () => 3_000_000));
      if (q.query.includes('container_cpu_usage_seconds_total')) return pods.map((p) => seriesAt(q, { namespace: NS, pod: p, node: 'worker-0', container: 'c' }, (i) => 10 + i));
      return [];
    };
  });
  afterEach(async () => prom.stop());

  async function sample(fromMs: number, toMs: number): Promise<Ev[]> {
    const events: Ev[] = [];
    const pods = new Map<string, PodInfo>([
      [`${NS}/driver-a`, { component: 'driver-container', node: 'worker-0', alive: true }],
      [`${NS}/driver-b-build`, { component: 'simple-kmod-build', node: 'worker-0', alive: true, build: true }],
    ]);
    await sampleResources({ prom: client, emit: (kind, data, node) => events.push({ kind, data, node }), namespaces: [NS], nodes: ['worker-0'], pods, fromMs, toMs });
    return events;
  }

  it('W1: no sample from before the window, even when the query had to be widened to one step', async () => {
    const to = Math.floor(Date.now() / 1000) * 1000;
    const from = to - 5_000; // shorter than the 15 s minimum step
    const events = await sample(from, to);
    expect(prom.queries[0]!.startS).toBeLessThan(from / 1000); // it was widened
    const mem = events.filter((e) => e.kind === 'sample-memory');
    expect(mem.length).toBeGreaterThan(0);
    for (const e of mem) expect(e.data['at'] as number).toBeGreaterThanOrEqual(from);
    for (const e of events.filter((e) => e.kind === 'sample-cpu')) expect(e.data['fromMs'] as number).toBeGreaterThanOrEqual(from);
  });

  it('W1: build pods and pods no longer alive are not steady-state samples', async () => {
    const to = Math.floor(Date.now() / 1000) * 1000;
    const events = await sample(to - 120_000, to);
    const pods = new Set(events.filter((e) => e.kind === 'sample-memory' || e.kind === 'sample-cpu').map((e) => e.data['pod']).filter(Boolean));
    expect([...pods]).toEqual([`${NS}/driver-a`]);
  });

  it('S2: working set and namespace usage are separate metrics, neither recorded as RSS', async () => {
    const to = Math.floor(Date.now() / 1000) * 1000;
    const events = await sample(to - 120_000, to);
    const pod = events.filter((e) => e.kind === 'sample-memory' && e.data['pod'] === `${NS}/driver-a`);
    const ns = events.filter((e) => e.kind === 'sample-memory' && e.data['namespace'] === NS && e.data['pod'] === undefined);
    expect(pod.length).toBeGreaterThan(0);
    expect(ns.length).toBeGreaterThan(0);
    for (const e of pod) expect(e.data).toMatchObject({ workingSetBytes: 3_000_000 });
    for (const e of ns) expect(e.data).toMatchObject({ usageBytes: 7_000_000 });
    for (const e of [...pod, ...ns]) expect(e.data['rssBytes']).toBeUndefined();
  });
});

describe('pod info for the sampler', async () => {
  const { podInfo } = await import('../../src/targets/cluster/pod-info.js');
  const pod = (labels: Record<string, string>, phase: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: NS, labels }, spec: { nodeName: 'worker-0' }, status: { phase } }) as never;
  it.each([
    ['a Running driver pod', {}, 'Running', { alive: true, build: false }],
    ['a Succeeded pod', {}, 'Succeeded', { alive: false }],
    ['an OpenShift build pod', { 'openshift.io/build.name': 'simple-kmod-1' }, 'Running', { build: true }],
    ['a KMM build pod', { 'kmm.node.kubernetes.io/pod-type': 'build' }, 'Running', { build: true }],
    ['a KMM sign pod', { 'kmm.node.kubernetes.io/pod-type': 'sign' }, 'Running', { build: true }],
  ])('%s', (_w, labels, phase, want) => {
    expect(podInfo(pod(labels, phase))).toMatchObject({ node: 'worker-0', ...want });
  });
});
