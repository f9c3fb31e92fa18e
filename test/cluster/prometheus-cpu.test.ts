/**
 * W2: CPU time of a pod over a window = the increase of its cAdvisor counter
 * (container_cpu_usage_seconds_total) over that window, with counter resets (a container
 * restart starts from 0) handled as Prometheus' increase() does — not Σ rate[5m] × step:
 * on a series younger than the 5 min range, rate() divides the increase by (close to)
 * the whole range and reads far too low. Through the lab's exporter and Debian's real
 * Prometheus, fed by a named fake usage source: a young container (counter from 0), and
 * one that restarts mid-window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { PrometheusClient } from '../../src/targets/cluster/prometheus.js';
import { sampleResources } from '../../src/targets/cluster/resource-samples.js';
import { startExporter, type MetricsExporter } from '../../src/targets/lab/metrics/exporter.js';
import { startPrometheus, type LabPrometheus } from '../../src/targets/lab/metrics/prometheus-server.js';
import type { UsageSnapshot, UsageSource } from '../../src/targets/lab/metrics/usage.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { kubeconfigFor } from './helpers.js';

const NS = 'cpu-test';
const CORES_A = 0.2 + Math.random() * 0.6;
const CORES_B = 0.2 + Math.random() * 0.6;
const RESTART_AFTER_S = 6;

/** Named fake usage source: `young` counts from 0 at start; `restarts` starts over after RESTART_AFTER_S. */
class FakeCpuSource implements UsageSource {
  readonly t0 = Date.now();
  async sample(): Promise<UsageSnapshot> {
    const at = Date.now();
    const s = (at - this.t0) / 1000;
    const b = s < RESTART_AFTER_S ? 50 + CORES_B * s : CORES_B * (s - RESTART_AFTER_S);
    return {
      containers: [
        { node: 'worker-0', namespace: NS, pod: 'young', container: 'c', workingSetBytes: 1, cpuSeconds: CORES_A * s, at },
        { node: 'worker-0', namespace: NS, pod: 'restarts', container: 'c', workingSetBytes: 1, cpuSeconds: b, at },
      ],
      nodes: [],
    };
  }
}

const haveProm = !!findTool('prometheus');

describe.skipIf(!haveProm)(`CPU from the counter through a real Prometheus${haveProm ? '' : ' [SKIPPED: prometheus not installed]'}`, () => {
  let exporter: MetricsExporter;
  let prom: LabPrometheus;
  let dir: string;
  let client: PrometheusClient;
  const source = new FakeCpuSource();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-promcpu-'));
    exporter = await startExporter(source);
    prom = await startPrometheus({ targets: [exporter.target], dir: path.join(dir, 'prometheus'), scrapeIntervalS: 1 });
    client = new PrometheusClient({ url: prom.url, credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', 'https://127.0.0.1:1', dir) }) });
    // Past the restart, with a few more scrapes.
    await new Promise((r) => setTimeout(r, (RESTART_AFTER_S + 8) * 1000));
  }, 60_000);
  afterAll(async () => {
    await prom?.stop();
    await exporter?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cpuMs is the counter increase over the window: young series and a reset included', async () => {
    const toMs = Date.now();
    const fromMs = source.t0 - 2_000; // the window covers the containers' whole life
    const events: { kind: string; data: Record<string, unknown> }[] = [];
    await sampleResources({
      prom: client,
      emit: (kind, data) => events.push({ kind, data }),
      namespaces: [NS],
      nodes: [],
      pods: new Map([
        [`${NS}/young`, { component: 'young', node: 'worker-0', alive: true }],
        [`${NS}/restarts`, { component: 'restarts', node: 'worker-0', alive: true }],
      ]),
      fromMs,
      toMs,
      stepS: 1,
    });
    expect(events.filter((e) => e.kind === 'fault')).toEqual([]);
    const cpu = (pod: string) => events.find((e) => e.kind === 'sample-cpu' && e.data['pod'] === `${NS}/${pod}`)!.data;
    // Expected CPU: the fake's cores × the time the counter was observed, ± 2 scrape intervals.
    const young = cpu('young');
    const youngWant = CORES_A * (young['windowMs'] as number);
    expect(young['cpuMs'] as number).toBeGreaterThan(youngWant - CORES_A * 2000);
    expect(young['cpuMs'] as number).toBeLessThan(youngWant + CORES_A * 2000);
    // With a restart: 50 s of prior CPU are not this window's, the increase is b's growth before and after.
    const r = cpu('restarts');
    const rWant = CORES_B * (r['windowMs'] as number);
    expect(r['cpuMs'] as number).toBeGreaterThan(rWant - CORES_B * 3000);
    expect(r['cpuMs'] as number).toBeLessThan(rWant + CORES_B * 3000);
  });
});
