/**
 * `kmodlab evaluate` on the lab (its default target): the lab brought up with `kmodlab lab up` and
 * evaluated through the cluster target — server-side apply, the Binary build fed through
 * `instantiatebinary`, module presence read by probe pods, memory from the lab's
 * Prometheus — the path a user's OpenShift cluster takes, end to end from the CLI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.js';
import { readRun } from '../../src/evaluation/read-run.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import { inspectManifest } from '../../src/targets/lab/images/registry-client.js';
import { labImageRef } from '../../src/targets/lab/control-plane/api-controllers/machineosconfig.js';
import { LAB_POD_TIMING } from '../../src/targets/lab/kubelet/pod-manager.js';
import { CRASH_LOOP_RESTARTS } from '../../src/targets/cluster/settled.js';
import { labAvailability, REPO, skipReason, testLabCache } from './helpers.js';

const BIN = path.join(REPO, 'bin', 'kmodlab.js');
const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'prometheus'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0;
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: not installed: ${missing.join(', ')}]`;

// The run as readRun() reads it (schema-checked), seen through the fields these checks index.
type Events = { kind: string; method?: string; scenario?: string; node?: string; data: Record<string, unknown> }[];

describe.skipIf(!ok)(`kmodlab evaluate --target lab${ok ? '' : why}`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-labapi-'));
  // Its own lab state and cache (a lab someone runs by hand is left alone); the release
  // images come from the lab registry, named explicitly.
  let registry: LabRegistry;
  const env = () => ({ ...process.env, KMODLAB_LAB_DIR: path.join(dir, 'state'), KMODLAB_CACHE: testLabCache(path.join(dir, 'cache')), KMODLAB_REGISTRY: registry.host });
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: REPO, env: env(), timeout: 1_400_000 });
  beforeAll(async () => {
    registry = await openRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses cluster flags (exit 2), also under the lab\'s former name lab-api', () => {
    for (const target of ['lab', 'lab-api']) {
      const r = run('evaluate', '--target', target, '--kubeconfig', '/nonexistent', '--out', path.join(dir, 'refused'));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--kubeconfig applies to --target cluster, not --target lab/);
    }
  });

  it('DTK and the baseline, day2 and uninstall: loaded, unloaded, attributable figures, the README step counted, memory from Prometheus, the lab stopped afterwards', { timeout: 1_500_000 }, () => {
    const out = path.join(dir, 'run');
    const r = run('evaluate', '--methods', 'dtk', '--scenarios', 'day2,uninstall', '--steady', '1', '--out', out);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toMatch(/\[\d\d:\d\d 1\/4\] baseline\/day2: start/);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    expect(report.run.targetLabel).toBe('lab (QEMU TCG)');
    const result = (method: string, scenario: string) => report.results.find((x) => x.method === method && x.scenario === scenario)!;
    const metric = (method: string, scenario: string, name: string) => (result(method, scenario).metrics as Record<string, { value?: unknown; notMeasured?: string }>)[name];
    expect(metric('dtk', 'day2', 'success')?.value, 'dtk day2').toBe(true);
    expect(metric('dtk', 'uninstall', 'success')?.value, 'dtk uninstall').toBe(true);
    const events = readRun(out).events as unknown as Events;
    // Module presence came from probe pods on the lab's node, through the API.
    const loaded = events.filter((e) => e.kind === 'module-state' && e.scenario === 'day2' && e.data['loaded'] === true);
    expect(loaded.map((e) => e.node)).toContain('lab-node-0');
    // The Binary build was fed by kmodlab, and counted as the README's manual step: the same
    // one step test/cluster/manual-steps.test.ts counts for the user on a cluster.
    expect(events.filter((e) => e.kind === 'manual-step' && e.method === 'dtk' && e.scenario === 'day2').map((e) => e.data['performedBy'])).toEqual(['kmodlab']);
    expect(metric('dtk', 'day2', 'manualSteps')).toMatchObject({ value: 1 });
    expect(result('dtk', 'day2').manualSteps.map((s) => s.description)).toEqual([expect.stringMatching(/^start the binary build /)]);
    // The Binary build completed in the lab (fed through instantiatebinary); the canary answered; no fault.
    expect(events.some((e) => e.kind === 'build' && e.method === 'dtk' && e.scenario === 'day2' && e.data['ok'] === true && e.data['build'] !== undefined)).toBe(true);
    expect(events.some((e) => e.kind === 'canary' && e.method === 'dtk' && e.node === 'lab-node-0' && e.data['up'] === true)).toBe(true);
    expect(events.filter((e) => e.kind === 'fault' && e.method === 'dtk')).toEqual([]);
    // Uninstall starts where day2 left the row (its set applied, its image built, on the same
    // lab): the unchanged set applied again builds nothing, as a person would not start the build again.
    expect(events.filter((e) => e.kind === 'build' && e.method === 'dtk' && e.scenario === 'uninstall')).toEqual([]);
    expect(events.some((e) => e.kind === 'progress' && e.method === 'dtk' && e.scenario === 'uninstall' && /nothing changed since: not started again/.test(String(e.data['step'])))).toBe(true);
    // Memory of the driver's pods came from the lab Prometheus (a real query, not the agent).
    expect(events.filter((e) => e.kind === 'fault' && e.data['fault'] === 'prometheus-unavailable')).toEqual([]);
    expect(events.some((e) => e.kind === 'sample-memory' && e.scenario === 'day2')).toBe(true);

    // The baseline: the same scenarios with no driver method, in the same run.
    const base = result('baseline', 'day2');
    const dtk = result('dtk', 'day2');
    expect(base.status).toBe('completed');
    // Nothing applied in the baseline: no apply, no build, no pod of a method.
    expect(events.filter((e) => e.method === 'baseline' && ['apply', 'build', 'pod-start'].includes(e.kind))).toEqual([]);
    // The canary was observed in both segments.
    for (const m of ['baseline', 'dtk']) expect(events.filter((e) => e.kind === 'canary' && e.method === m).length, m).toBeGreaterThan(0);
    // Attributable = DTK − baseline, exactly, for every impact figure both measured.
    for (const [id, a] of Object.entries(dtk.attributable ?? {})) {
      const m = dtk.metrics[id];
      const b = base.metrics[id];
      if (a && 'value' in a && m && 'value' in m && b && 'value' in b) expect(a.value, id).toBe(Number(m.value) - Number(b.value));
    }
    expect(dtk.attributable?.['reboots']).toEqual(expect.objectContaining({ value: 0 }));
    // The summary pairs them ("no reboot / 0") and says what attributable means once.
    const row = report.summary.rows.find((x) => x.method === 'dtk')!;
    const cell = row.cells[report.summary.columnIds.indexOf('day2')]!;
    expect(cell.text).toMatch(/no reboot \/ 0/);
    expect(cell.notes.map((n) => report.summary.footnotes[n - 1])).toContainEqual(expect.stringMatching(/attributable .* the baseline/));
    // Markdown: the per-scenario table has the baseline column and the attributable rows.
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| Metric \| dtk \| baseline \|/);
    expect(md).toMatch(/\| Reboots, attributable \(− baseline\) \| 0 \| — \|/);

    // The lab this run started is down again.
    const status = run('lab', 'status');
    expect(status.stdout).toMatch(/^lab: down/m);
    expect(existsSync(path.join(out, 'report.md'))).toBe(true);
  });

  it('on-cluster layering through the lab API (MachineOSConfig → MachineOSBuild) loads on Day 2; its build carries measured image figures (the dtk tracking row: the upgrade case below)', { timeout: 1_500_000 }, async () => {
    const out = path.join(dir, 'variants');
    const r = run('evaluate', '--target', 'lab', '--methods', 'layering-on-cluster', '--scenarios', 'day2', '--no-baseline', '--out', out);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    const events = readRun(out).events as unknown as Events;
    for (const method of ['layering-on-cluster']) {
      const end = events.find((e) => e.kind === 'scenario-end' && e.method === method && e.scenario === 'day2');
      expect(end?.data, `${method} day2`).toMatchObject({ ok: true });
      expect(end?.data['skipped'], `${method} day2 was run`).toBeUndefined();
      const success = (report.results.find((x) => x.method === method && x.scenario === 'day2')?.metrics as Record<string, { value?: unknown }>)['success'];
      expect(success?.value, `${method} day2 success`).toBe(true);
      // Loaded on the lab's node, as its probe pod read it.
      const loaded = events.filter((e) => e.kind === 'module-state' && e.method === method && e.scenario === 'day2' && e.data['loaded'] === true);
      expect(loaded.map((e) => e.node), `${method} loaded`).toContain('lab-node-0');
      // The row was rendered as its own variant, not the method's default.
      expect(events.find((e) => e.kind === 'render' && e.method === method)?.data['variant']).toBe('on-cluster');
    }

    // Image figures through the API: the Build's and the MachineOSBuild's build events carry the
    // build host's figures (annotation), their image's size and layers as the registry holds them.
    // The registry is opened again: the process that served it during the run may have gone
    // (this process, blocked in the run, could not take it over); its storage is the same.
    const live = await openRegistry();
    try {
      await checkBuildFigures(live, report, events, 'layering-on-cluster', 'day2');
    } finally {
      await live.stop();
    }
  });

  // The lab's side of an upgrade for DTK (what `lab up` with kubectl once tested on its own):
  // pinned — nothing rebuilds, the postStart modprobe finds no module for the new kernel, the
  // pod crash-loops (the lab has no Node Feature Discovery to keep it off the node); tracking —
  // the driver-toolkit tag moves, the BuildConfig's ImageChange trigger rebuilds, the
  // DaemonSet's image trigger replaces the pod, loaded on the new kernel. KMM's upgrade:
  // test/e2e/evaluate.test.ts; layering's pinned osImageURL across a base-image change: lab-up-mco.test.ts.
  it('an upgrade: dtk pinned is settled (its pod crash-loops on the new kernel, nothing rebuilds) well before the settle timeout and the report says so; dtk tracking rebuilds and is not cut short, its builds and pulls carry measured image figures', { timeout: 1_500_000 }, async () => {
    const out = path.join(dir, 'upgrade');
    const r = run('evaluate', '--methods', 'dtk,dtk-tracking', '--scenarios', 'upgrade', '--no-baseline', '--steady', '1', '--out', out);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const events = readRun(out).events as unknown as Events;
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    const success = (method: string) => (report.results.find((x) => x.method === method && x.scenario === 'upgrade')?.metrics as Record<string, { value?: unknown }>)['success']?.value;
    // Pinned: not restored, and the wait ended as settled, not at the 300 s timeout.
    expect(success('dtk')).toBe(false);
    const fault = events.find((e) => e.kind === 'fault' && e.method === 'dtk' && e.data['fault'] === 'driver-not-loaded');
    const message = String(fault?.data['message'] ?? '');
    expect(message).toMatch(/after the upgrade: the driver is not loaded on lab-node-0 and cannot change without another action \(lab-node-0: pod \S+ CrashLoopBackOff, \d+ restarts, with no build or rollout in progress\), seen after \d+ s/);
    const seenAfterS = Number(/seen after (\d+) s/.exec(message)?.[1]);
    // The lab's grace window (its kubelet's back-off after a third restart) after the crash loop is established, well short of the settle timeout.
    expect(seenAfterS).toBeGreaterThanOrEqual((LAB_POD_TIMING.backoffMs * 2 ** CRASH_LOOP_RESTARTS) / 1000);
    expect(seenAfterS).toBeLessThan(240);
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/^- dtk: fault `driver-not-loaded`: .*cannot change without another action \(.*CrashLoopBackOff.*\), seen after \d+ s/m);
    // Tracking: the ImageStream trigger rebuilds for the new kernel and the pod comes back; no settled end.
    expect(success('dtk-tracking'), JSON.stringify(events.filter((e) => e.method === 'dtk-tracking' && (e.kind === 'fault' || e.kind === 'build')))).toBe(true);
    expect(events.filter((e) => e.method === 'dtk-tracking' && e.kind === 'fault' && /cannot change without another action/.test(String(e.data['message'])))).toEqual([]);
    const upgradeStart = events.findIndex((e) => e.method === 'dtk-tracking' && e.kind === 'progress' && e.data['step'] === 'upgrade start');
    expect(upgradeStart).toBeGreaterThan(0);
    expect(events.slice(upgradeStart).some((e) => e.kind === 'build' && e.method === 'dtk-tracking' && e.data['ok'] === true), 'a rebuild after the upgrade began').toBe(true);
    // The tracking row was rendered as its own variant; its in-cluster builds (Build objects, fed
    // by kmodlab) and the node's pulls of what they pushed carry measured image figures.
    expect(events.find((e) => e.kind === 'render' && e.method === 'dtk-tracking')?.data['variant']).toBe('tracking');
    const live = await openRegistry();
    try {
      await checkBuildFigures(live, report, events, 'dtk-tracking', 'upgrade');
    } finally {
      await live.stop();
    }
    checkTrackingPulls(report, events);
    // The upgrade itself (the ClusterVersion's desiredUpdate, the lab's CVO and MCO): the node
    // ended with the node on the release's kernel in both rows.
    const to = (events.find((e) => e.kind === 'run-start')!.data['releases'] as { upgradeTo: string }).upgradeTo;
    for (const method of ['dtk', 'dtk-tracking']) {
      const boots = events.filter((e) => e.kind === 'node-up' && e.method === method && e.scenario === 'upgrade' && e.node === 'lab-node-0');
      expect(boots.at(-1)?.data['kver'], `${method}: ${JSON.stringify(boots.map((b) => b.data))}`).toBe(to);
    }
  });

  /** The build events of `method` in a run: build host figures, and the image as the registry holds it. */
  async function checkBuildFigures(registry: LabRegistry, report: Report, events: Events, method: string, scenario: string) {
    // In-cluster builds (a Build, a MachineOSBuild) name their object; off-cluster steps (a source image) say `by`.
    const built = events.filter((e) => e.kind === 'build' && e.method === method && e.data['ok'] === true && e.data['build'] !== undefined);
    expect(built.length, `${method}: a build event per in-cluster build`).toBeGreaterThan(0);
    for (const b of built) {
      const d = b.data as Record<string, number | string | undefined>;
      for (const k of ['buildahWallMs', 'userCpuMs', 'peakRssBytes', 'imageBytes', 'layers']) expect(d[k], `${method} ${k} in ${JSON.stringify(d)}`).toBeGreaterThan(0);
      // The registry here is named (KMODLAB_REGISTRY): kmodlab does not read its storage.
      expect(d['bytesPushed'], `${method} bytesPushed`).toBeUndefined();
      const manifest = await inspectManifest(labImageRef(String(d['image']), registry.prefix), registry.insecure);
      expect(manifest, `${method}: ${d['image']} in the registry`).toBeDefined();
      expect(d['imageBytes'], `${method} image size`).toBe(manifest!.sizeBytes);
      expect(d['layers'], `${method} layers`).toBe(manifest!.layers.length);
    }
    const m = report.results.find((x) => x.method === method && x.scenario === scenario)!.metrics as Record<string, { value?: unknown }>;
    expect(m['buildImageBytes']?.value, `${method} image metric`).toBeGreaterThan(0);
  }

  /**
   * The tracking row's pulls: the node pulled a driver image its builds pushed (the kubelet's
   * Pulled Event): its size as stored, and the bytes the node fetched — fewer, as the runtime
   * base's layers were there (the canary runs it). (dtk tracking builds two images: the source
   * image and the driver container the DaemonSet runs.) And the OS image the on-cluster
   * layering row shipped is larger than the driver image: the methods ship different images.
   */
  function checkTrackingPulls(report: Report, events: Events) {
    const builtImages = events.filter((e) => e.kind === 'build' && e.method === 'dtk-tracking' && e.data['ok'] === true && e.data['build'] !== undefined).map((e) => e.data);
    const pulls = events.filter((e) => e.kind === 'image-pull' && e.method === 'dtk-tracking');
    const pulled = pulls.find((e) => builtImages.some((b) => b['image'] === e.data['image']));
    expect(pulled?.node, `a pull of one of ${builtImages.map((b) => b['image']).join(', ')} among ${pulls.map((p) => p.data['image']).join(', ')}`).toBe('lab-node-0');
    const imageBytes = builtImages.find((b) => b['image'] === pulled!.data['image'])!['imageBytes'] as number;
    expect(pulled!.data['imageBytes']).toBe(imageBytes);
    expect(pulled!.data['bytes']).toBeGreaterThan(0);
    expect(pulled!.data['bytes']).toBeLessThan(imageBytes);
    const dtkCell = report.summary.rows.find((x) => x.method === 'dtk-tracking')!.cells[report.summary.columnIds.indexOf('resources')]!;
    // The row loaded its driver: the cell shows the build that worked, the image and the pull.
    expect(dtkCell.text).toMatch(/^build (\d+ min )?[\d.]+ m?s · [\d.]+ [kMG]B img · ≤?[\d.]+ [kMG]B\/node$/);
    const size = (r: Report, method: string, scenario: string) => (r.results.find((x) => x.method === method && x.scenario === scenario)!.metrics as Record<string, { value?: number }>)['buildImageBytes']?.value;
    const variants = path.join(dir, 'variants', 'report.json');
    if (existsSync(variants)) expect(size(JSON.parse(readFileSync(variants, 'utf8')) as Report, 'layering-on-cluster', 'day2')).toBeGreaterThan(size(report, 'dtk-tracking', 'upgrade')!);
  }
});
