import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { ReadyzMonitor } from '../../src/targets/cluster/readyz.js';
import { parseProbeLog, probeModules, probePod, probeScript } from '../../src/targets/cluster/probe-pod.js';
import { chooseStep, findGaps, MAX_POINTS, parseRangeResponse, PrometheusClient, QUERIES } from '../../src/targets/cluster/prometheus.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { FakePrometheus, seriesAt } from './fake-prometheus.js';
import { FIXTURE_TOKEN, kubeconfigFor } from './helpers.js';

type Ev = { kind: string; data: Record<string, unknown>; node?: string };

describe('readyz outage measurement', () => {
  let fake: FakeKubeApiServer;
  let client: KubeClient;
  beforeEach(async () => {
    fake = new FakeKubeApiServer();
    client = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', await fake.start()) }) });
  });
  afterEach(async () => fake.stop());

  it('measures an outage from the first failed poll to the first ok one (500 and connection reset alike)', async () => {
    let now = 1_000_000;
    const events: Ev[] = [];
    const m = new ReadyzMonitor({ client, emit: (kind, data, node) => events.push({ kind, data, node }), now: () => now, intervalMs: 1000 });
    expect(await m.pollOnce()).toBe(true);
    fake.readyz = 'notready';
    now += 1000;
    await m.pollOnce();
    fake.readyz = 'down'; // the API process is gone during the reboot
    now += 120_000;
    await m.pollOnce();
    fake.readyz = 'ok';
    now += 60_000;
    await m.pollOnce();
    expect(m.outages).toEqual([{ fromMs: 1_001_000, toMs: 1_181_000 }]);
    expect(events.map((e) => [e.kind, e.data['apiOutage']])).toEqual([
      ['progress', 'start'],
      ['progress', 'end'],
    ]);
    expect(events[1]!.data['outageMs']).toBe(180_000);
  });

  it('keeps measuring up to the limit (default 30 min), then stops and never claims a length', async () => {
    let now = 0;
    const events: Ev[] = [];
    const m = new ReadyzMonitor({ client, emit: (kind, data) => events.push({ kind, data }), now: () => now });
    expect(m.limitMs).toBe(30 * 60_000);
    fake.readyz = 'down';
    await m.pollOnce();
    for (let i = 0; i < 40; i++) {
      now += 60_000;
      await m.pollOnce();
    }
    expect(events.filter((e) => e.kind === 'fault')).toHaveLength(1);
    expect(events.find((e) => e.kind === 'fault')!.data['fault']).toBe('api-outage-limit');
    fake.readyz = 'ok';
    now += 60_000;
    await m.pollOnce();
    expect(m.outages).toHaveLength(1);
    expect(m.outages[0]).toMatchObject({ fromMs: 0, limitReached: true, endedAfterLimit: true });
    expect(m.outages[0]!.toMs).toBeUndefined();
    expect(events.at(-1)!.data['outageMs']).toBeUndefined();
    // A later outage is a new one.
    fake.readyz = 'notready';
    now += 1000;
    await m.pollOnce();
    expect(m.outages).toHaveLength(2);
  });

  it('start/stop polls on its own', async () => {
    const events: Ev[] = [];
    const m = new ReadyzMonitor({ client, emit: (kind, data) => events.push({ kind, data }), intervalMs: 20 });
    m.start();
    await new Promise((r) => setTimeout(r, 60));
    fake.readyz = 'notready';
    await new Promise((r) => setTimeout(r, 80));
    fake.readyz = 'ok';
    await new Promise((r) => setTimeout(r, 80));
    await m.stop();
    expect(m.outages).toHaveLength(1);
    expect(m.outages[0]!.toMs).toBeGreaterThan(m.outages[0]!.fromMs);
    expect(fake.log.filter((r) => r.path === '/readyz').length).toBeGreaterThan(4);
  });
});

describe('module probe pod', () => {
  it('the pod: pinned by nodeName, privileged, /sys read-only, tolerates everything, no SA token', () => {
    const p = probePod('kmodlab', 'worker-0', ['simple-kmod']) as any;
    expect(p.spec.nodeName).toBe('worker-0');
    expect(p.spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(p.spec.containers[0].securityContext.privileged).toBe(true);
    expect(p.spec.containers[0].volumeMounts[0]).toEqual({ name: 'host-sys', mountPath: '/host/sys', readOnly: true });
    expect(p.spec.volumes[0].hostPath.path).toBe('/sys');
    expect(p.spec.automountServiceAccountToken).toBe(false);
    expect(p.spec.restartPolicy).toBe('Never');
  });

  it('the script reads /sys/module with shell builtins only, looks modules up with "-" as "_", and refuses names that are not module names', () => {
    const sys = mkdtempSync(join(tmpdir(), 'kmodlab-sys-'));
    try {
      const mod = (name: string, files: Record<string, string>) => {
        mkdirSync(join(sys, 'module', name), { recursive: true });
        for (const [f, v] of Object.entries(files)) writeFileSync(join(sys, 'module', name, f), v);
      };
      mod('simple_kmod', { coresize: '16384\n', taint: 'OE\n', initstate: 'live\n' });
      mod('clean_mod', { coresize: '8192\n', taint: '', initstate: 'coming\n' });
      // A built-in module has a directory but no coresize/initstate.
      mod('builtin_mod', {});
      const script = probeScript(['simple-kmod', 'clean-mod', 'builtin_mod', 'simple-procfs-kmod']).replaceAll('/host/sys', sys);
      // No PATH: any cat/tr/sed the script ran would fail, and a process per value is what it must not cost.
      const out = execFileSync('/bin/sh', ['-c', script], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
      expect(parseProbeLog(out)).toEqual([
        { module: 'simple-kmod', loaded: true, coresizeBytes: 16384, taint: 'OE', initstate: 'live', signed: false },
        { module: 'clean-mod', loaded: true, coresizeBytes: 8192, taint: '', initstate: 'coming', signed: true },
        { module: 'builtin_mod', loaded: true },
        { module: 'simple-procfs-kmod', loaded: false },
      ]);
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
    expect(() => probeScript(['x; rm -rf /'])).toThrow(/invalid module name/);
  });

  it.each([
    ['loaded, tainted OE', 'kmodlab-probe simple-kmod 1 16384 OE live', { module: 'simple-kmod', loaded: true, coresizeBytes: 16384, taint: 'OE', initstate: 'live', signed: false }],
    ['loaded, signed (O only)', 'kmodlab-probe simple-kmod 1 16384 O live', { module: 'simple-kmod', loaded: true, coresizeBytes: 16384, taint: 'O', initstate: 'live', signed: true }],
    ['loaded, untainted (empty taint file)', 'kmodlab-probe m 1 8192  live', { module: 'm', loaded: true, coresizeBytes: 8192, taint: '', initstate: 'live', signed: true }],
    ['not loaded', 'kmodlab-probe simple-kmod 0', { module: 'simple-kmod', loaded: false }],
  ])('parses %s', (_w, line, want) => {
    expect(parseProbeLog(`noise\n${line}\n`)).toEqual([want]);
  });

  it('creates the pod on the node, reads the result from its log and deletes the pod', async () => {
    const fake = new FakeKubeApiServer();
    fake.tokens.add(FIXTURE_TOKEN);
    const client = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', await fake.start()) }) });
    // The fake "kubelet": runs probe pods at once with what the node's /sys shows.
    fake.reactors.push((type, o, s) => {
      if (type !== 'ADDED' || o.kind !== 'Pod') return;
      s.podLogs.set(`${o.metadata['namespace']}/${o.metadata['name']}`, 'kmodlab-probe simple-kmod 1 16384 OE live\nkmodlab-probe simple-procfs-kmod 0\n');
      setTimeout(() => s.update('v1', 'Pod', o.metadata['name'], o.metadata['namespace'], (p) => (p.status = { phase: 'Succeeded' })), 20);
    });
    try {
      const r = await probeModules({ client, namespace: 'kmodlab', node: 'worker-0', modules: ['simple-kmod', 'simple-procfs-kmod'], pollMs: 20 });
      expect(r).toEqual([
        { module: 'simple-kmod', loaded: true, coresizeBytes: 16384, taint: 'OE', initstate: 'live', signed: false },
        { module: 'simple-procfs-kmod', loaded: false },
      ]);
      const created = fake.log.find((x) => x.method === 'POST')!;
      expect(created.path).toBe('/api/v1/namespaces/kmodlab/pods');
      expect(fake.log.some((x) => x.path.endsWith('/log'))).toBe(true);
      expect(fake.log.some((x) => x.method === 'DELETE')).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      expect(fake.all('Pod')).toEqual([]);
    } finally {
      await fake.stop();
    }
  });
});

describe('module probe pod deleted before it finished', () => {
  it('fails at once (a node drain evicts it) instead of waiting out the timeout', async () => {
    const fake = new FakeKubeApiServer();
    fake.tokens.add(FIXTURE_TOKEN);
    const client = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', await fake.start()) }) });
    // The drain: the pod is deleted while it is still Pending.
    fake.reactors.push((type, o, s) => {
      if (type !== 'ADDED' || o.kind !== 'Pod') return;
      setTimeout(() => s.removeObject('v1', 'Pod', o.metadata['name'] as string, o.metadata['namespace'] as string), 20);
    });
    try {
      const t0 = Date.now();
      await expect(probeModules({ client, namespace: 'kmodlab', node: 'worker-0', modules: ['simple-kmod'], pollMs: 20, timeoutMs: 10_000 })).rejects.toThrow(/was deleted before it finished/);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      await fake.stop();
    }
  });
});

describe('Prometheus', () => {
  it('step: ≥ 15 s and never more than 11,000 points', () => {
    expect(chooseStep(0, 10 * 60_000)).toBe(15);
    const week = 7 * 24 * 3600_000;
    const step = chooseStep(0, week);
    expect(Math.floor(week / 1000 / step) + 1).toBeLessThanOrEqual(MAX_POINTS);
    expect(Math.floor(week / 1000 / (step - 1)) + 1).toBeGreaterThan(MAX_POINTS); // the smallest such step
  });

  it('gaps are missing steps, merged, never interpolated', () => {
    const pts: [number, number][] = [0, 15, 60, 75, 120].map((s) => [s * 1000, 1]);
    expect(findGaps(pts, 0, 120_000, 15)).toEqual([
      { fromMs: 30_000, toMs: 45_000, missingSteps: 2 },
      { fromMs: 90_000, toMs: 105_000, missingSteps: 2 },
    ]);
  });

  it('parses a matrix; NaN/Inf values are dropped (a gap), errors are errors', () => {
    const s = parseRangeResponse({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { pod: 'p' }, values: [[1.5, '10'], [16.5, 'NaN'], [31.5, '+Inf'], [46.5, '12']] }] } });
    expect(s).toEqual([{ metric: { pod: 'p' }, points: [[1500, 10], [46500, 12]] }]);
    expect(() => parseRangeResponse({ status: 'error', error: 'bad query' })).toThrow(/bad query/);
  });

  describe('against the fake Prometheus', () => {
    let prom: FakePrometheus;
    let kubeconfig: string;
    beforeEach(async () => {
      prom = new FakePrometheus();
      prom.tokens.add(FIXTURE_TOKEN);
      await prom.start();
      kubeconfig = kubeconfigFor('ocp-token.kubeconfig', 'http://127.0.0.1:1');
    });
    afterEach(async () => prom.stop());

    it('query_range with the kubeconfig bearer token; a week-long window stays under the points limit', async () => {
      prom.answer = (q) => [seriesAt(q, { namespace: 'simple-kmod-dtk', pod: 'driver-abc', node: 'worker-0' }, (i) => 1_000_000 + i, new Set([2, 3]))];
      const p = new PrometheusClient({ url: prom.url, credentials: new Credentials({ kubeconfig }) });
      const start = 1_795_600_800_000;
      const series = await p.queryRange(QUERIES.podMemory('simple-kmod-dtk'), start, start + 10 * 60_000, 15);
      expect(prom.authHeaders.at(-1)).toBe(`Bearer ${FIXTURE_TOKEN}`);
      expect(prom.queries[0]!.query).toBe('sum by (namespace, pod, node) (container_memory_working_set_bytes{namespace="simple-kmod-dtk",container!=""})');
      expect(series[0]!.points).toHaveLength(41 - 2);
      expect(findGaps(series[0]!.points, start, start + 600_000, 15)).toEqual([{ fromMs: start + 30_000, toMs: start + 45_000, missingSteps: 2 }]);
      const week = 7 * 24 * 3600_000;
      await p.queryRange(QUERIES.namespaceMemory('x'), start, start + week, chooseStep(start, start + week));
      await expect(p.queryRange(QUERIES.namespaceMemory('x'), start, start + week, 15)).rejects.toThrow(/11,000 points/);
    });

    it('token refresh: a 401 re-reads the kubeconfig and retries once', async () => {
      const p = new PrometheusClient({ url: prom.url, credentials: new Credentials({ kubeconfig }) });
      prom.tokens.clear();
      prom.tokens.add('sha256~renewed-token-0002');
      writeFileSync(kubeconfig, readFileSync(kubeconfig, 'utf8').replace(FIXTURE_TOKEN, 'sha256~renewed-token-0002'));
      await p.queryRange(QUERIES.namespaceMemory('x'), 0, 60_000, 15);
      expect(prom.authHeaders).toEqual([`Bearer ${FIXTURE_TOKEN}`, 'Bearer sha256~renewed-token-0002']);
      prom.tokens.clear();
      prom.tokens.add('sha256~yet-another-0003');
      const e = await p.queryRange(QUERIES.namespaceMemory('x'), 0, 60_000, 15).catch((x: Error) => x);
      expect(String(e)).toMatch(/cluster-monitoring-view/);
      expect(String(e)).not.toMatch(/renewed-token|FIXTURE/);
    });

    it('finds thanos-querier through its route in openshift-monitoring', async () => {
      const fake = new FakeKubeApiServer();
      const client = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', await fake.start()) }) });
      try {
        await expect(PrometheusClient.discover(client)).rejects.toMatchObject({ message: expect.stringMatching(/thanos-querier/), hint: expect.stringMatching(/--prometheus-url/) });
        fake.put({ apiVersion: 'route.openshift.io/v1', kind: 'Route', metadata: { name: 'thanos-querier', namespace: 'openshift-monitoring' }, spec: { host: 'thanos-querier-openshift-monitoring.apps.sno.lab.example', tls: { termination: 'reencrypt' } } });
        expect(await PrometheusClient.discover(client)).toBe('https://thanos-querier-openshift-monitoring.apps.sno.lab.example');
        expect(fake.log.at(-1)!.path).toBe('/apis/route.openshift.io/v1/namespaces/openshift-monitoring/routes/thanos-querier');
      } finally {
        await fake.stop();
      }
    });
  });
});
