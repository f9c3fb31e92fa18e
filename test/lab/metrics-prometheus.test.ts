/**
 * The lab's exporter → Debian's real Prometheus → the cluster target's Prometheus client
 * and resource sampler, with the PromQL they run on OpenShift. The usage comes from a
 * named fake source (no QEMU): what it reports must come back out of those queries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import ts from 'typescript';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { PrometheusClient, QUERIES } from '../../src/targets/cluster/prometheus.js';
import { sampleResources } from '../../src/targets/cluster/resource-samples.js';
import { startExporter, type MetricsExporter } from '../../src/targets/lab/metrics/exporter.js';
import { startPrometheus, type LabPrometheus } from '../../src/targets/lab/metrics/prometheus-server.js';
import { startLabMetrics } from '../../src/targets/lab/metrics/lab-metrics.js';
import type { ContainerUsage, UsageSnapshot, UsageSource } from '../../src/targets/lab/metrics/usage.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { kubeconfigFor } from '../cluster/helpers.js';
import { listeners, alive, waitGone } from './processes.js';
import { REPO, removeTempDirs, tempDir } from './helpers.js';

const NS = 'simple-kmod-dtk';

/** Named fake: pods with fixed memory and CPU counters growing at a fixed rate (cores). */
class FakeUsageSource implements UsageSource {
  readonly t0 = Date.now();
  // Random per run, so a match cannot come from constants elsewhere.
  readonly pods = [
    { node: 'worker-0', pod: 'driver-a', containers: [{ name: 'load', ws: rnd(), usage: rnd(), cores: 0.25 }, { name: 'side', ws: rnd(), usage: rnd(), cores: 0.05 }] },
    { node: 'worker-1', pod: 'driver-b', containers: [{ name: 'load', ws: rnd(), usage: rnd(), cores: 0.5 }] },
  ];
  readonly nodes = [
    { node: 'worker-0', total: rnd() * 64, avail: rnd() * 16 },
    { node: 'worker-1', total: rnd() * 64, avail: rnd() * 16 },
  ];
  scrapes = 0;

  async sample(): Promise<UsageSnapshot> {
    this.scrapes++;
    const at = Date.now();
    const s = (at - this.t0) / 1000;
    const containers: Array<ContainerUsage & { node: string }> = this.pods.flatMap((p) =>
      p.containers.map((c) => ({ node: p.node, namespace: NS, pod: p.pod, container: c.name, image: 'lab/driver:1', workingSetBytes: c.ws, usageBytes: c.usage, cpuSeconds: 100 + c.cores * s, at })),
    );
    // Another namespace's pod: must not leak into NS's queries.
    containers.push({ node: 'worker-0', namespace: 'other', pod: 'x', container: 'c', workingSetBytes: 5e9, usageBytes: 5e9, cpuSeconds: 3 * s, at });
    return {
      containers,
      nodes: this.nodes.map((n) => ({ node: n.node, memTotalBytes: n.total, memAvailableBytes: n.avail, workingSetBytes: n.total - n.avail, cpuSeconds: 2 * s, at })),
    };
  }
}

function rnd(): number {
  return (1 + Math.floor(Math.random() * 4000)) * 4096;
}

const haveProm = !!findTool('prometheus');

describe.skipIf(!haveProm)(`lab metrics through a real Prometheus${haveProm ? '' : ' [SKIPPED: prometheus not installed (scripts/lab-packages.sh)]'}`, () => {
  const fake = new FakeUsageSource();
  let exporter: MetricsExporter;
  let prom: LabPrometheus;
  let client: PrometheusClient;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-prom-'));
    exporter = await startExporter(fake);
    prom = await startPrometheus({ targets: [exporter.target], dir: path.join(dir, 'prometheus'), scrapeIntervalS: 1 });
    // The cluster target's client, with a kubeconfig's bearer token as on OpenShift (the lab's Prometheus ignores it).
    client = new PrometheusClient({ url: prom.url, credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', 'https://127.0.0.1:1', dir) }) });
    // Enough scrapes for rate() and for the recording rule to have run.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = Date.now();
      const s = await client.queryRange(QUERIES.namespaceMemory(NS), now - 10_000, now, 1).catch(() => []);
      if ((s[0]?.points.length ?? 0) >= 4) break;
      if (Date.now() > deadline) throw new Error(`Prometheus has no recorded samples after 60 s (${fake.scrapes} scrapes)`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 90_000);

  afterAll(async () => {
    await prom?.stop();
    await exporter?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only', () => {
    expect(prom.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("the cluster target's PromQL returns the fake's figures with its labels and units", async () => {
    const end = Date.now();
    const start = end - 8_000;
    const mem = await client.queryRange(QUERIES.podMemory(NS), start, end, 1);
    const byPod = new Map(mem.map((s) => [`${s.metric['namespace']}/${s.metric['pod']}@${s.metric['node']}`, s]));
    expect([...byPod.keys()].sort()).toEqual([`${NS}/driver-a@worker-0`, `${NS}/driver-b@worker-1`]);
    for (const p of fake.pods) {
      // container!="" keeps the containers only: the pod (container="") series would double it.
      const want = p.containers.reduce((a, c) => a + c.ws, 0);
      expect(byPod.get(`${NS}/${p.pod}@${p.node}`)!.points.at(-1)![1]).toBe(want);
    }

    // The counter itself, in seconds, per container.
    const counters = await client.queryRange(`container_cpu_usage_seconds_total{namespace="${NS}",container!=""}`, start, end, 1);
    expect(counters).toHaveLength(3);
    // Step-aligned points carry the last scrape's value, so over an 8 s window with 2 s
    // scrapes a rate read from them is off by up to a scrape interval: each rate is only
    // checked to be the fake's within ±50 %, while the ratio between containers (scraped at
    // the same instants) must be exact.
    const rateOf = (c: (typeof counters)[number]) => {
      const [t0, v0] = c.points[0]!;
      const [t1, v1] = c.points.at(-1)!;
      return (v1 - v0) / ((t1 - t0) / 1000);
    };
    const wantOf = (c: (typeof counters)[number]) => fake.pods.find((p) => p.pod === c.metric['pod'])!.containers.find((x) => x.name === c.metric['container'])!;
    for (const c of counters) {
      expect(c.metric).toMatchObject({ cpu: 'total', job: 'kubelet', metrics_path: '/metrics/cadvisor' });
      expect(rateOf(c)).toBeGreaterThan(wantOf(c).cores * 0.5);
      expect(rateOf(c)).toBeLessThan(wantOf(c).cores * 1.5);
    }
    for (const c of counters.slice(1)) expect(rateOf(c) / rateOf(counters[0]!)).toBeCloseTo(wantOf(c).cores / wantOf(counters[0]!).cores, 2);

    // The cluster target's rate()[5m] query: one series per pod with its node. Its value on
    // series younger than 5 minutes is an increase divided by the whole 5 minutes (Prometheus'
    // extrapolation stops near the first sample), so only the ratio between pods is the
    // fake's: both counters were scraped at the same instants.
    const cpu = await client.queryRange(QUERIES.podCpu(NS), start, end, 1);
    expect(cpu.map((s) => [s.metric['pod'], s.metric['node']]).sort()).toEqual(fake.pods.map((p) => [p.pod, p.node]).sort());
    const last = (pod: string) => cpu.find((x) => x.metric['pod'] === pod)!.points.at(-1)![1];
    const cores = (i: number) => fake.pods[i]!.containers.reduce((a, c) => a + c.cores, 0);
    expect(last('driver-a')).toBeGreaterThan(0);
    expect(last('driver-b') / last('driver-a')).toBeCloseTo(cores(1) / cores(0), 3);

    const ns = await client.queryRange(QUERIES.namespaceMemory(NS), start, end, 1);
    expect(ns).toHaveLength(1);
    expect(ns[0]!.points.at(-1)![1]).toBe(fake.pods.flatMap((p) => p.containers).reduce((a, c) => a + c.usage, 0));

    const total = await client.queryRange(QUERIES.nodeMemTotal(), start, end, 1);
    const avail = await client.queryRange(QUERIES.nodeMemAvailable(), start, end, 1);
    for (const n of fake.nodes) {
      expect(total.find((s) => s.metric['instance'] === n.node)!.points.at(-1)![1]).toBe(n.total);
      expect(avail.find((s) => s.metric['instance'] === n.node)!.points.at(-1)![1]).toBe(n.avail);
    }

    // cAdvisor's root cgroup per node
    const root = await client.queryRange('container_memory_working_set_bytes{id="/"}', start, end, 1);
    expect(root.map((s) => [s.metric['node'], s.points.at(-1)![1]]).sort()).toEqual(fake.nodes.map((n) => [n.node, n.total - n.avail]).sort());
  });

  it("the cluster target's resource sampler turns them into its events", async () => {
    const events: Array<{ kind: string; data: Record<string, unknown>; node?: string }> = [];
    const to = Date.now();
    await sampleResources({
      prom: client,
      emit: (kind, data, node) => events.push({ kind, data, node }),
      namespaces: [NS],
      nodes: fake.nodes.map((n) => n.node),
      // Pods the sampler does not know are gone: both are listed, as the pod watches would.
      pods: new Map([
        [`${NS}/driver-a`, { component: 'driver-container', node: 'worker-0' }],
        [`${NS}/driver-b`, { component: 'driver-container', node: 'worker-1' }],
      ]),
      fromMs: to - 6_000,
      toMs: to,
      // This Prometheus scrapes every second: a 6 s window holds several 1 s steps.
      stepS: 1,
    });
    expect(events.filter((e) => e.kind === 'fault')).toEqual([]);
    const memA = events.filter((e) => e.kind === 'sample-memory' && e.data['pod'] === `${NS}/driver-a`);
    expect(memA.length).toBeGreaterThan(0);
    expect(memA.every((e) => e.node === 'worker-0' && e.data['component'] === 'driver-container' && e.data['workingSetBytes'] === fake.pods[0]!.containers[0]!.ws + fake.pods[0]!.containers[1]!.ws)).toBe(true);
    const cpu = (pod: string) => events.find((e) => e.kind === 'sample-cpu' && e.data['pod'] === `${NS}/${pod}`)!;
    expect(cpu('driver-b').node).toBe('worker-1');
    expect(cpu('driver-a').data['component']).toBe('driver-container');
    // CPU is the counters' increase over the same scrape instants: the pods' CPU per window stand in the fake's ratio (0.5 : 0.3 cores).
    const share = (pod: string) => (cpu(pod).data['cpuMs'] as number) / (cpu(pod).data['windowMs'] as number);
    expect(share('driver-b') / share('driver-a')).toBeCloseTo(0.5 / 0.3, 3);
    const nodeMem = events.filter((e) => e.kind === 'sample-node-memory');
    expect(new Set(nodeMem.map((e) => e.node))).toEqual(new Set(['worker-0', 'worker-1']));
    expect(nodeMem.find((e) => e.node === 'worker-1')!.data).toMatchObject({ totalBytes: fake.nodes[1]!.total, availableBytes: fake.nodes[1]!.avail });
  });

  it('stops with its owner: the process is gone and a second one on the same storage is refused while it runs', async () => {
    await expect(startPrometheus({ targets: [exporter.target], dir: prom.dir })).rejects.toThrow(/already runs .*pid/);
    const pid = prom.pid;
    await prom.stop();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe.skipIf(!haveProm)('the lab metrics service', () => {
  it('starts the endpoint and Prometheus together and stops both', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-prom-'));
    const m = await startLabMetrics(new FakeUsageSource(), { dir });
    try {
      expect((await fetch(`${m.metricsUrl}/metrics`)).status).toBe(200);
      expect((await fetch(`${m.prometheusUrl}/-/ready`)).status).toBe(200);
      // the config it runs with: loopback only, the endpoint as its target
      const cfg = await (await fetch(`${m.prometheusUrl}/api/v1/status/config`)).json();
      expect(cfg.data.yaml).toContain(`- ${new URL(m.metricsUrl).host}`);
      const flags = await (await fetch(`${m.prometheusUrl}/api/v1/status/flags`)).json();
      expect(flags.data['web.listen-address']).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(flags.data['storage.tsdb.path']).toBe(path.join(dir, 'data'));
    } finally {
      await m.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => process.kill(m.prometheusPid, 0)).toThrow();
    await expect(fetch(`${m.metricsUrl}/metrics`)).rejects.toThrow();
  }, 60_000);
});

describe.skipIf(!haveProm)('the lab Prometheus never outlives kmodlab', () => {
  afterAll(() => removeTempDirs());

  /** The modules a child process needs, transpiled (Node 20 cannot run .ts). */
  function transpileTree(): string {
    const outDir = tempDir('prom-child');
    const walk = (d: string): string[] => readdirSync(d).flatMap((e) => (statSync(path.join(d, e)).isDirectory() ? walk(path.join(d, e)) : e.endsWith('.ts') ? [path.join(d, e)] : []));
    const files = [path.join(REPO, 'src/errors.ts'), ...['metrics', 'host', 'node'].flatMap((d) => walk(path.join(REPO, 'src/targets/lab', d)))];
    for (const file of files) {
      const out = path.join(outDir, path.relative(REPO, file)).replace(/\.ts$/, '.js');
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: file }).outputText);
    }
    writeFileSync(path.join(outDir, 'package.json'), '{"type":"module"}\n');
    return outDir;
  }

  it.each(['SIGTERM', 'SIGKILL'] as const)('killed with %s: Prometheus goes too; it listened on 127.0.0.1 only', async (signal) => {
    const out = transpileTree();
    const script = path.join(out, 'child.mjs');
    writeFileSync(
      script,
      `import { startLabMetrics } from './src/targets/lab/metrics/lab-metrics.js';\n` +
        `const m = await startLabMetrics({ sample: async () => ({ containers: [], nodes: [] }) }, { dir: process.argv[2] });\n` +
        `process.stdout.write(JSON.stringify({ pid: m.prometheusPid, url: m.prometheusUrl }) + '\\n');\n` +
        `setInterval(() => {}, 1000);\n`,
    );
    const child = spawn(process.execPath, [script, tempDir('prom-dir')], { cwd: out, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') } });
    const first = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before Prometheus started`)));
    });
    const { pid, url } = JSON.parse(first) as { pid: number; url: string };
    expect(alive(pid)).toBe(true);
    expect(listeners(Number(new URL(url).port))).toEqual(['0100007F']);
    child.kill(signal);
    expect(await waitGone(pid, 10_000)).toBe(true);
  }, 60_000);
});
