/**
 * The canary prober against the fake API server's pod proxy: a probe is an HTTP GET of
 * pods/<pod>:8080/proxy/ through the API server; it fails while the node has no canary pod
 * (or the proxy cannot reach it, or does not answer in time) and recovers when the pod is
 * back. The failed samples, recorded as the cluster target records them, are the
 * disruption figures.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CanaryProber, canaryEventData, probeCanaryPod, SampleRecordPolicy, type CanarySample } from '../../src/targets/cluster/canary-probe.js';
import { canaryPodOn } from '../../src/targets/cluster/observers.js';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { checkEventData } from '../../src/evaluation/events.js';
import { deriveScenario } from '../../src/evaluation/metrics/index.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { FIXTURE_TOKEN, kubeconfigFor, until } from './helpers.js';
import { apply, mod, runOf, runStart, scenario, T0, up, type Ev } from '../evaluation/helpers.js';

const NS = 'kmodlab';
const NODE = 'worker-0';

function canaryPod(name: string, phase = 'Running') {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/component': 'canary' }, creationTimestamp: new Date().toISOString() }, spec: { nodeName: NODE }, status: { phase } };
}

describe('canary probes through the API server pod proxy', () => {
  let api: FakeKubeApiServer;
  let client: KubeClient;
  beforeEach(async () => {
    api = new FakeKubeApiServer();
    api.tokens.add(FIXTURE_TOKEN);
    await api.start();
    client = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', api.url), env: {} }) });
  });
  afterEach(async () => {
    await api.stop();
  });

  it('a running canary pod answers through pods/<pod>:8080/proxy/', async () => {
    api.put(canaryPod('canary-a'));
    const r = await probeCanaryPod(client, NS, 'canary-a', 2_000);
    expect(r).toMatchObject({ ok: true });
    expect(r.probeMs).toBeGreaterThanOrEqual(0);
    expect(api.log.at(-1)).toMatchObject({ method: 'GET', path: `/api/v1/namespaces/${NS}/pods/canary-a%3A8080/proxy/`, status: 200 });
  });

  it('a pod the proxy cannot reach, or one that does not answer in time, is a failed probe', async () => {
    api.put(canaryPod('canary-a', 'Pending'));
    const refused = await probeCanaryPod(client, NS, 'canary-a', 2_000);
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatch(/503/);
    api.podProxy = () => 'hang';
    api.put(canaryPod('canary-a'));
    const slow = await probeCanaryPod(client, NS, 'canary-a', 150);
    expect(slow).toMatchObject({ ok: false, error: 'no answer within 150 ms' });
    expect(slow.probeMs).toBeGreaterThanOrEqual(140);
  });

  it('succeeds, fails while the pod is missing, recovers; the recorded failures are the disruption', async () => {
    api.put(canaryPod('canary-a'));
    const samples: CanarySample[] = [];
    const policy = new SampleRecordPolicy(5_000);
    const recorded: CanarySample[] = [];
    const prober = new CanaryProber({
      client,
      namespace: NS,
      nodes: () => [NODE],
      podOn: (node) => canaryPodOn(api.all('Pod') as never, node),
      intervalMs: 40,
      timeoutMs: 500,
      onSample: (s) => {
        samples.push(s);
        if (policy.keep(s)) recorded.push(s);
      },
    });
    prober.start();
    try {
      await until(() => samples.some((s) => s.ok), 5_000, 'a good probe');
      // The pod goes (drained, node down): probes fail without a pod to address.
      api.removeObject('v1', 'Pod', 'canary-a', NS);
      await until(() => samples.filter((s) => !s.ok).length >= 3, 5_000, 'three failed probes');
      // A new pod (new name, as a ReplicaSet makes it) answers again.
      api.put(canaryPod('canary-b'));
      const back = samples.length;
      await until(() => samples.slice(back).some((s) => s.ok && s.pod === 'canary-b'), 5_000, 'recovery');
      expect(await prober.waitAnswering([NODE], samples.at(-1)!.at, 2_000)).toEqual([]);
    } finally {
      await prober.stop();
    }
    const failed = samples.filter((s) => !s.ok);
    expect(failed.every((s) => s.error === `no running canary pod on ${NODE}` && s.pod === undefined)).toBe(true);
    const firstFail = samples.findIndex((s) => !s.ok);
    const recovery = samples.findIndex((s, i) => i > firstFail && s.ok);
    expect(samples.slice(firstFail, recovery).every((s) => !s.ok)).toBe(true);
    // Every failure and every change is recorded; unchanged successes only now and then.
    expect(recorded.filter((s) => !s.ok)).toEqual(failed);
    expect(recorded).toContain(samples[recovery]);

    // The record, as the cluster target writes it, and the figures derived from it.
    const base = samples[0]!.at;
    const rel = (t: number) => 2_000 + (t - base);
    const events: Ev[] = recorded.map((s) => {
      const data = { ...canaryEventData(s), at: T0 + rel(s.at) };
      expect(checkEventData({ t: 0, source: 'cluster', kind: 'canary', data })).toBeUndefined();
      return { at: rel(s.at) + s.probeMs, kind: 'canary', node: 'n1', data };
    });
    const endAt = rel(samples.at(-1)!.at) + 1_000;
    const run = runOf([runStart(), up(1, 'b0'), ...scenario('dtk', 'day2', 100, endAt, [apply(1_000), mod(1_500, true), ...events]), { at: endAt + 1, kind: 'run-end', data: { status: 'completed' } }]);
    const m = deriveScenario(run, 'dtk', 'day2').metrics;
    expect(m['canaryFailedProbes']).toMatchObject({ value: failed.length });
    expect(m['canaryDisruptionMs']).toMatchObject({ value: samples[recovery]!.at - samples[firstFail]!.at });
  }, 30_000);
});
