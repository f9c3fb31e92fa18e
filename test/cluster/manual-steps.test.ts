/**
 * Manual steps are counted alike on every target: what a rendered README tells a person
 * to do besides `oc apply` is a `manual-step` event whether the lab does it for them or
 * the user must (cluster). One scenario (dtk day 2, the reference driver from a path:
 * a binary BuildConfig fed by `oc start-build --from-dir`). Here on a cluster (the fake
 * API server); the lab runs the same cluster target and its dtk day2 run is checked for
 * the same step in test/lab/evaluate-lab-api.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { manualStepsOf } from '../../src/artifacts/manual-steps.js';
import { loadDriver } from '../../src/driver/load.js';
import { readRun } from '../../src/evaluation/read-run.js';
import { Recorder } from '../../src/evaluation/recorder.js';
import { runEvaluation, targetEmitter, type RecordingScope } from '../../src/evaluation/run-evaluation.js';
import { renderMethods } from '../../src/methods/render.js';
import { resolveRelease } from '../../src/release/resolve.js';
import { buildReport } from '../../src/report/build.js';
import type { Report } from '../../src/report/model.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { FakePrometheus } from './fake-prometheus.js';
import { FIXTURE_TOKEN, kubeconfigFor, tempDir } from './helpers.js';

const DRIVER = 'drivers/simple-kmod/driver.yaml';
const steps = (r: Report) => {
  const res = r.results.find((x) => x.method === 'dtk' && x.scenario === 'day2')!;
  return { count: res.metrics['manualSteps'], list: res.manualSteps.map((s) => s.description) };
};

describe('manualStepsOf (the README’s steps, from the artifact set)', () => {
  it('per method and phase', async () => {
    const driver = await loadDriver(DRIVER);
    const release = await resolveRelease({ ocpVersion: '4.14.12', kernel: '5.14.0-284.52.1.el9_2.x86_64' });
    const set = (m: string, day1: boolean) => renderMethods(driver.spec, release, m, { day1, registry: 'quay.io/acme' })[0]!;
    expect(manualStepsOf(set('dtk', false), 'day2', '/src/simple-kmod').map((s) => s.command)).toEqual([expect.stringMatching(/^oc start-build \S+ -n \S+ --from-dir=\/src\/simple-kmod --follow$/)]);
    // The Module builds in the cluster, but a path driver's source reaches KMM's build only as an image someone pushed.
    expect(manualStepsOf(set('kmm', false), 'day2', '/src/simple-kmod').map((s) => s.command)).toEqual([
      expect.stringMatching(/^podman build -f Containerfile\.source -t (\S+-source:\S+) \/src\/simple-kmod && podman push \1$/),
    ]);
    expect(manualStepsOf(set('layering', false), 'day2').map((s) => s.command)).toEqual(['./build.sh']);
    expect(manualStepsOf(set('dtk', true), 'day1').map((s) => s.command)).toEqual([expect.stringMatching(/^podman build -f Containerfile /)]);
    expect(manualStepsOf(set('kmm', true), 'day1').length).toBeGreaterThan(0); // the Day-1 image is built off-cluster
  });
});

describe('the same count on the lab and on a cluster (dtk day 2)', () => {
  let cluster: FakeCluster;
  let prom: FakePrometheus;
  beforeAll(async () => {
    const driver = (await loadDriver(DRIVER)).spec;
    cluster = await startFakeCluster(FIXTURE_TOKEN, driver.modules.map((m) => m.name));
    prom = new FakePrometheus();
    prom.tokens.add(FIXTURE_TOKEN);
    await prom.start();
    prom.answer = () => [];
  });
  afterAll(async () => {
    await prom?.stop();
    await cluster?.api.stop();
  });

  async function onCluster(): Promise<Report> {
    const driver = (await loadDriver(DRIVER)).spec;
    const runDir = tempDir('kmodlab-manual-steps-');
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
    await runEvaluation({ runId: 'c', target, recorder, driver, methods: ['dtk'], scenarios: ['day2'], render: { pool: 'worker' }, day1Registry: 'quay.io/acme', settleTimeoutMs: 5000, steadyMs: 300 }, scope);
    recorder.close();
    return buildReport(readRun(runDir));
  }

  it('cluster (fake API server): the start-build is the user’s, one manual step', async () => {
    const r = await onCluster();
    expect(steps(r).count).toMatchObject({ value: 1 });
    expect(steps(r).list).toEqual([expect.stringMatching(/^start the binary build /)]);
  }, 60_000);
});
