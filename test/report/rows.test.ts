/**
 * The features table and the measured rows never contradict each other: each row's
 * features column describes the variant the row's scenarios rendered and were measured
 * with (the `render` events), never another one; runs recorded with the three old
 * method ids still read as the default variants.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { allMethods } from '../../src/methods/index.js';
import { featureFor, FEATURE_KEYS, type FeatureKey } from '../../src/methods/method.js';
import { METHOD_ROW_IDS, methodRow } from '../../src/methods/rows.js';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import { Recorder } from '../../src/evaluation/recorder.js';
import { runEvaluation, targetEmitter, type RecordingScope } from '../../src/evaluation/run-evaluation.js';
import { SCENARIO_IDS } from '../../src/evaluation/events.js';
import { readRun } from '../../src/evaluation/read-run.js';
import { buildReport, measuredRow } from '../../src/report/build.js';
import type { Report } from '../../src/report/model.js';
import type { Release } from '../../src/release/release.js';
import type { Target, TargetReleases } from '../../src/targets/target.js';
import { runOf, runStart } from '../evaluation/helpers.js';
import { reportFixture } from './support.js';

const release = (kver: string, n: string): Release => ({
  kernelVersion: kver,
  driverToolkitImage: `quay.io/example/driver-toolkit@sha256:${n.repeat(64)}`,
  rhcosImage: `quay.io/example/rhel-coreos@sha256:${n.repeat(64)}`,
  osFamily: 'rhcos',
  sources: {},
});

/**
 * A named fake target: no nodes, every driver reported in place. It stands in for the
 * lab here only to drive the evaluation's renders and records (the lab's own realization
 * of every row is tested through its API: evaluate-lab-api.test.ts,
 * lab-up-mosc.test.ts).
 */
class NoNodesFakeTarget implements Target {
  readonly kind = 'lab' as const;
  readonly label = 'fake target (no nodes)';
  readonly openshiftVersion = '4.19.0';
  applied: { method: string; variant?: string }[] = [];
  nodes() {
    return ['fake-0'];
  }
  releases(): TargetReleases {
    return { from: release('5.14.0-427.13.1.el9_4.x86_64', 'a'), upgradeTo: release('5.14.0-427.20.1.el9_4.x86_64', 'b'), realtime: release('5.14.0-427.13.1.el9_4.x86_64+rt', 'a') };
  }
  async reset() {}
  async apply(set: { method: string; variant?: string }) {
    this.applied.push({ method: set.method, variant: set.variant });
  }
  async remove() {}
  async changeRelease() {}
  async waitForModules() {
    return { ok: true, pending: [] };
  }
  async observe() {}
  async close() {}
}

/** The row's features column must be its measured variant's facts, with that variant named. */
function expectFeaturesMatchRows(report: Report): void {
  for (const row of report.methods) {
    const m = allMethods().find((x) => x.id === row.method)!;
    for (const f of report.features) {
      const v = f.values[row.id];
      const fact = featureFor(m, row.variant, f.key as FeatureKey);
      expect(v, `${row.id} ${f.key}`).toEqual(fact && { value: fact.value, source: fact.source, variant: row.variant });
    }
  }
}

describe('rows: measured variant = features column', () => {
  it('a default evaluation renders each of the five rows with its own variant, and the report shows that variant', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-rows-')), 'run');
    const driver = await loadDriver(REFERENCE_DRIVER_FILE);
    const recorder = new Recorder(dir);
    const target = new NoNodesFakeTarget();
    const { failed } = await runEvaluation(
      { runId: 'rows', target, recorder, driver: driver.spec, methods: [...METHOD_ROW_IDS], scenarios: [...SCENARIO_IDS], render: { pool: 'master' }, day1Registry: 'quay.io/example', steadyMs: 0 },
      {},
    );
    recorder.close();
    expect(failed).toBe(0);
    const run = readRun(dir);
    const report = buildReport(run);
    expect(report.methods.map((m) => m.id)).toEqual([...METHOD_ROW_IDS]);
    for (const id of METHOD_ROW_IDS) {
      const { method, variant } = methodRow(id);
      const renders = run.events.filter((e) => e.kind === 'render' && e.method === id);
      // day1 of on-cluster layering / dtk tracking refuses to render (no install-time form): 4 renders, else 5.
      expect(renders.length, id).toBeGreaterThanOrEqual(4);
      for (const e of renders) expect(e.data, id).toMatchObject({ method, variant });
      expect(report.methods.find((m) => m.id === id)).toMatchObject({ method, variant });
    }
    // What the target was given is what the row says it measured.
    expect(new Set(target.applied.map((a) => `${a.method}/${a.variant}`))).toEqual(new Set(['layering/off-cluster', 'layering/on-cluster', 'dtk/pinned', 'dtk/tracking', 'kmm/in-cluster-build']));
    expectFeaturesMatchRows(report);
    // The variants differ where the methods document a difference, so a swapped column would show.
    const follows = report.features.find((f) => f.key === 'follows-kernel-upgrades')!.values;
    expect(follows['dtk']!.value).not.toBe(follows['dtk-tracking']!.value);
    expect(follows['dtk-tracking']!.value).toMatch(/^partly: rebuilt when openshift\/driver-toolkit:latest moves/);
    expect(follows['layering-on-cluster']!.value).toMatch(/MCO rebuilds/);
    // Day 1 of the variants without an install-time form is not run, with why — not failed.
    for (const id of ['layering-on-cluster', 'dtk-tracking'] as const) {
      const day1 = report.results.find((r) => r.method === id && r.scenario === 'day1')!;
      expect(day1.status).toBe('not-run');
      expect(day1.reason).toMatch(/no Day-1 form: --day1 with/);
    }
    // On-cluster layering needs an OpenShift version: rendered as the one the target follows, said in the record.
    const onCluster = run.events.find((e) => e.kind === 'render' && e.method === 'layering-on-cluster')!;
    expect(onCluster.data['release']).toBe('5.14.0-427.13.1.el9_4.x86_64, rendered as OpenShift 4.19.0, the semantics fake target (no nodes) follows');
    // The verdict speaks of the same rows and variants.
    expect(report.verdict.ranking.map((r) => `${r.method}/${r.variant}`).sort()).toEqual(report.methods.map((m) => `${m.id}/${m.variant}`).sort());
    expect(readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).toContain('"kind":"render"');
  }, 120_000);

  it('a variant the release cannot have (no MachineOSConfig on OpenShift 4.14) is not run, with why — not failed', async () => {
    class OpenShift414 extends NoNodesFakeTarget {
      override releases(): TargetReleases {
        const r = super.releases();
        return { ...r, from: { ...r.from, version: '4.14.12' } };
      }
    }
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-rows-414-')), 'run');
    const driver = await loadDriver(REFERENCE_DRIVER_FILE);
    const recorder = new Recorder(dir);
    const target = new OpenShift414();
    const { failed } = await runEvaluation(
      { runId: 'rows-414', target, recorder, driver: driver.spec, methods: ['layering-on-cluster', 'dtk-tracking'], scenarios: ['day2'], render: { pool: 'master' }, day1Registry: 'quay.io/example', steadyMs: 0 },
      {},
    );
    recorder.close();
    expect(failed).toBe(0);
    const report = buildReport(readRun(dir));
    const r = (id: string) => report.results.find((x) => x.method === id && x.scenario === 'day2')!;
    expect(r('layering-on-cluster').status).toBe('not-run');
    expect(r('layering-on-cluster').reason).toMatch(/^not available for OpenShift 4\.14\.12: --variant on-cluster: OpenShift 4\.14\.12 has no on-cluster layering/);
    expect(r('dtk-tracking').status).toBe('completed');
    expect(target.applied).toEqual([{ method: 'dtk', variant: 'tracking' }]);
  });

  it('a row whose scenarios rendered another variant shows that variant, not its name', () => {
    const run = runOf([
      runStart({ methods: ['dtk-tracking'] }),
      { at: 1, kind: 'scenario-start', method: 'dtk-tracking', scenario: 'day2', data: { variant: 'tracking' } },
      { at: 2, kind: 'render', method: 'dtk-tracking', scenario: 'day2', data: { method: 'dtk', variant: 'pinned', day1: false } },
      { at: 3, kind: 'scenario-end', method: 'dtk-tracking', scenario: 'day2', data: { ok: true } },
      { at: 4, kind: 'run-end', data: { status: 'completed' } },
    ]);
    const report = buildReport(run);
    expect(report.methods).toEqual([{ id: 'dtk-tracking', method: 'dtk', title: 'Driver Toolkit (DTK) driver containers (pinned)', variant: 'pinned' }]);
    expectFeaturesMatchRows(report);
    expect(report.features.find((f) => f.key === 'follows-kernel-upgrades')!.values['dtk-tracking']!.value).toMatch(/^no: the image is built for one kernel/);
  });

  it('a row measured with two variants is refused', () => {
    const run = runOf([
      runStart({ methods: ['dtk'] }),
      { at: 1, kind: 'render', method: 'dtk', scenario: 'day2', data: { method: 'dtk', variant: 'pinned', day1: false } },
      { at: 2, kind: 'render', method: 'dtk', scenario: 'upgrade', data: { method: 'dtk', variant: 'tracking', day1: false } },
    ]);
    expect(() => measuredRow(run, 'dtk')).toThrow(/row dtk was measured with several variants \(dtk\/pinned, dtk\/tracking\)/);
  });

  it.each(['complete', 'lab-recorded'] as const)('the recorded run %s (three old ids, no render events) reads as the default variants', (name) => {
    const { report } = reportFixture(name);
    for (const m of report.methods) {
      expect(['layering', 'dtk', 'kmm']).toContain(m.id);
      expect(m.variant).toBe(allMethods().find((x) => x.id === m.id)!.variants[0]);
    }
    expectFeaturesMatchRows(report);
    expect(Object.keys(FEATURE_KEYS).length).toBe(report.features.length);
  });
});

describe('figures a target reads at the end of each scenario', () => {
  it('afterScenario is recorded in its scenario, before scenario-end, for methods; the registry storage figure comes from it', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-after-')), 'run');
    const driver = await loadDriver(REFERENCE_DRIVER_FILE);
    const recorder = new Recorder(dir);
    const scope: RecordingScope = {};
    const emit = targetEmitter(recorder, scope, 'lab');
    let reads = 0;
    class ReadsStorage extends NoNodesFakeTarget {
      async afterScenario() {
        reads++;
        emit('registry-storage', { bytes: 1_000 * reads, blobs: 1, images: [`reg/x@sha256:${reads}`] });
      }
    }
    await runEvaluation({ runId: 'after', target: new ReadsStorage(), recorder, driver: driver.spec, methods: ['dtk'], scenarios: ['day2', 'uninstall'], render: { pool: 'master' }, day1Registry: 'quay.io/example', steadyMs: 0, baseline: false }, scope);
    recorder.close();
    const run = readRun(dir);
    const lines = run.events.filter((e) => e.kind === 'registry-storage' || e.kind === 'scenario-end').map((e) => `${e.kind} ${e.method}/${e.scenario}`);
    expect(lines).toEqual(['registry-storage dtk/day2', 'scenario-end dtk/day2', 'registry-storage dtk/uninstall', 'scenario-end dtk/uninstall']);
    const report = buildReport(run);
    expect(report.results.find((r) => r.method === 'dtk' && r.scenario === 'day2')!.metrics['registryStorageBytes']).toMatchObject({ value: 1_000, note: '1 blob of 1 image' });
  }, 60_000);
});
