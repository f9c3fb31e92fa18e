/**
 * The evaluation's own runner (runEvaluation + the scenarios) on a ClusterTarget
 * against the fake cluster, then the report: same shape as a lab run's report,
 * labelled `cluster (<context>)`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import '../../src/methods/all.js';
import { loadDriver } from '../../src/driver/load.js';
import { Recorder } from '../../src/evaluation/recorder.js';
import { runEvaluation, targetEmitter, type RecordingScope } from '../../src/evaluation/run-evaluation.js';
import { readRun } from '../../src/evaluation/read-run.js';
import { buildReport } from '../../src/report/build.js';
import { ReportSchema } from '../../src/report/model.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { FakePrometheus, seriesAt } from './fake-prometheus.js';
import { NODE_NAMES, startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { fixtureSecrets, FIXTURE_TOKEN, kubeconfigFor, tempDir } from './helpers.js';
import { readFileSync } from 'node:fs';

const LAB_RUN = path.join(import.meta.dirname, '..', 'fixtures', 'runs', 'complete');

function keysDeep(v: unknown, prefix = ''): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [prefix];
  return Object.entries(v).flatMap(([k, x]) => keysDeep(x, prefix ? `${prefix}.${k}` : k));
}

describe('kmodlab evaluation on the cluster target (fake cluster)', () => {
  let cluster: FakeCluster;
  let prom: FakePrometheus;
  beforeEach(async () => {
    const driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
    cluster = await startFakeCluster(FIXTURE_TOKEN, driver.modules.map((m) => m.name));
    prom = new FakePrometheus();
    prom.tokens.add(FIXTURE_TOKEN);
    await prom.start();
    prom.answer = (q) => (q.query.startsWith('node_memory') ? NODE_NAMES.map((n) => seriesAt(q, { instance: n }, () => 8e9)) : []);
  });
  afterEach(async () => {
    await prom.stop();
    await cluster.api.stop();
  });

  it('day2 + uninstall through runEvaluation; the report has the lab report\'s shape and the cluster label', async () => {
    const driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
    const runDir = tempDir('kmodlab-cluster-eval-');
    const recorder = new Recorder(runDir);
    const scope: RecordingScope = {};
    const target = await ClusterTarget.connect({
      kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url),
      emit: targetEmitter(recorder, scope, 'cluster'),
      prometheusUrl: prom.url,
      prometheusMinWindowMs: 0,
      readyzIntervalMs: 100,
      probeIntervalMs: 50,
      pollMs: 50,
    });
    const { failed } = await runEvaluation(
      { runId: 'cluster-test', target, recorder, driver, methods: ['dtk'], scenarios: ['day2', 'uninstall'], render: { pool: 'worker' }, day1Registry: 'quay.io/acme', settleTimeoutMs: 5000, steadyMs: 300 },
      scope,
    );
    recorder.close();
    expect(failed).toBe(0);
    const run = readRun(runDir);
    expect(run.warnings).toEqual([]);
    const report = buildReport(run, { now: new Date(0) });
    expect(ReportSchema.safeParse(report).success).toBe(true);
    expect(report.run.target).toBe('cluster');
    expect(report.run.targetLabel).toBe('cluster (default/api-sno-lab-example:6443/kube:admin)');
    const day2 = report.results.find((r) => r.method === 'dtk' && r.scenario === 'day2')!;
    expect(day2.status).toBe('completed');
    // The baseline ran on the cluster too (target-agnostic): the same scenarios with nothing applied.
    const events = run.events;
    const baselineDay2 = report.results.find((r) => r.method === 'baseline' && r.scenario === 'day2')!;
    expect(baselineDay2.status).toBe('completed');
    expect(events.filter((e) => e.method === 'baseline' && e.kind === 'apply')).toEqual([]);
    expect(baselineDay2.metrics['reboots']).toHaveProperty('value');
    // Attributable = with the method − baseline, from both segments' lines.
    for (const id of ['reboots', 'podRestarts'] as const) {
      const m = day2.metrics[id] as { value: number; from: number[] };
      const b = baselineDay2.metrics[id] as { value: number; from: number[] };
      expect(day2.attributable?.[id]).toEqual(expect.objectContaining({ value: m.value - b.value }));
    }
    expect(report.summary.footnotes.some((f) => f.includes('attributable'))).toBe(true);
    // Same shape as a lab run's report: the same fields (optional ones aside: host, error, other releases), per result the same metric ids.
    const lab = buildReport(readRun(LAB_RUN), { now: new Date(0) });
    const shape = (r: typeof report) => new Set(keysDeep({ ...r, run: { ...r.run, host: undefined, error: undefined, endedAt: undefined, releases: { from: r.run.releases.from } }, results: undefined, summary: undefined, features: undefined }));
    expect(shape(report)).toEqual(shape(lab));
    const labDay2 = lab.results.find((r) => r.method === 'dtk' && r.scenario === 'day2')!;
    expect(Object.keys(day2.metrics).sort()).toEqual(Object.keys(labDay2.metrics).sort());
    // Columns follow the scenarios run: the same titles as the lab's for the scenarios both ran.
    expect(report.summary.columnIds).toEqual(['method', 'resources', ...report.scenarios, 'memory']);
    expect(lab.summary.columns).toEqual(expect.arrayContaining(report.summary.columns));
    const text = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8') + JSON.stringify(report);
    for (const s of fixtureSecrets()) expect(text).not.toContain(s);
  }, 60_000);
});
