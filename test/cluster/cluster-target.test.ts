/**
 * evaluate-level: the ClusterTarget driven through the Target interface the way a
 * day2 + uninstall scenario drives it, against the fake cluster, recording with the
 * real Recorder — full mode, --dry-run=server and --observe-only. The record must
 * have the lab's shapes (every payload valid, only kinds the lab also records) and
 * the metric derivation must read it.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync as readdir, readFileSync } from 'node:fs';
import path from 'node:path';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { loadDriver } from '../../src/driver/load.js';
import { ReleaseSchema } from '../../src/release/release.js';
import type { ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { Recorder, EVENTS_FILE } from '../../src/evaluation/recorder.js';
import { checkEventData, EventEnvelopeSchema, type RunEvent } from '../../src/evaluation/events.js';
import { readRun } from '../../src/evaluation/read-run.js';
import { deriveRun } from '../../src/evaluation/metrics/index.js';
import { UserError } from '../../src/errors.js';
import { ClusterTarget, type ClusterTargetOptions } from '../../src/targets/cluster/cluster-target.js';
import { ReleaseChangeHeld, type TargetEmit } from '../../src/targets/target.js';
import { FakePrometheus, seriesAt } from './fake-prometheus.js';
import { FAKE_RELEASE_IMAGE_4_14_13, KVER, NODE_NAMES, startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { fixtureSecrets, FIXTURE_TOKEN, kubeconfigFor, tempDir, until } from './helpers.js';

const DTK_IMAGE = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'3'.repeat(64)}`;
const LAB_RUN = path.join(import.meta.dirname, '..', 'fixtures', 'runs', 'complete', EVENTS_FILE);

let set: ArtifactSet;
let modules: string[];
let driverName: string;
let labKinds: Set<string>;

beforeAll(async () => {
  const driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
  modules = driver.modules.map((m) => m.name);
  driverName = driver.name;
  const release = ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, driverToolkitImage: DTK_IMAGE, sources: {} });
  set = renderMethods(driver, release, 'dtk')[0]!;
  labKinds = new Set(readFileSync(LAB_RUN, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as RunEvent).kind));
});

interface Harness {
  cluster: FakeCluster;
  prom: FakePrometheus;
  kubeconfig: string;
  runDir: string;
  recorder: Recorder;
  scenario: 'day2' | 'uninstall';
  emit: TargetEmit;
  errors: string[];
  /** Moves the target's Prometheus clock forward (scenario windows of minutes, in ms). */
  clockOffsetMs: number;
}

async function harness(): Promise<Harness> {
  const cluster = await startFakeCluster(FIXTURE_TOKEN, modules);
  const prom = new FakePrometheus();
  prom.tokens.add(FIXTURE_TOKEN);
  await prom.start();
  prom.answer = (q) => {
    if (q.query.startsWith('namespace:')) return [seriesAt(q, { namespace: dsNs() }, () => 900_000)];
    if (q.query.includes('container_memory_working_set_bytes')) {
      return NODE_NAMES.map((n) => seriesAt(q, { namespace: dsNs(), pod: `${dsName()}-${n}`, node: n }, (i) => 800_000 + i, new Set([1])));
    }
    if (q.query.includes('container_cpu_usage_seconds_total')) return NODE_NAMES.map((n) => seriesAt(q, { namespace: dsNs(), pod: `${dsName()}-${n}`, node: n }, () => 0.001));
    if (q.query === 'node_memory_MemTotal_bytes') return NODE_NAMES.map((n) => seriesAt(q, { instance: n }, () => 16e9));
    if (q.query === 'node_memory_MemAvailable_bytes') return NODE_NAMES.map((n) => seriesAt(q, { instance: n }, () => 12e9));
    return [];
  };
  const runDir = tempDir('kmodlab-cluster-run-');
  const recorder = new Recorder(runDir, { source: 'cluster' });
  const h: Harness = {
    cluster,
    prom,
    kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url),
    runDir,
    recorder,
    scenario: 'day2',
    errors: [],
    clockOffsetMs: 0,
    emit: (kind, data, node) => {
      recorder.record(kind, data as never, { method: 'dtk', scenario: h.scenario, node });
    },
  };
  return h;
}

function dsNs(): string {
  return set.files.flatMap((f) => f.objects ?? []).find((o) => o.kind === 'DaemonSet')!.metadata.namespace!;
}

function dsName(): string {
  return set.files.flatMap((f) => f.objects ?? []).find((o) => o.kind === 'DaemonSet')!.metadata.name;
}

function target(h: Harness, extra: Partial<ClusterTargetOptions> = {}): Promise<ClusterTarget> {
  return ClusterTarget.connect({
    kubeconfig: h.kubeconfig,
    emit: h.emit,
    prometheusUrl: h.prom.url,
    readyzIntervalMs: 50,
    probeIntervalMs: 50,
    pollMs: 50,
    now: () => Date.now() + h.clockOffsetMs,
    watch: { backoffMs: { initial: 20, max: 200 } },
    ...extra,
  });
}

/** What an evaluation does for day2 then uninstall, through the Target interface only. */
async function day2AndUninstall(h: Harness, t: ClusterTarget, mode: 'full' | 'dry-run' | 'observe-only'): Promise<void> {
  h.recorder.record('run-start', {
    runId: 'test',
    target: 'cluster',
    targetLabel: t.label,
    methods: ['dtk'],
    scenarios: ['day2', 'uninstall'],
    nodes: t.nodes(),
    driver: { name: driverName, version: '1.0.0', modules },
    releases: { from: t.releases().from.kernelVersion ?? t.releases().from.version ?? 'unknown' },
  });
  h.scenario = 'day2';
  h.recorder.record('scenario-start', {}, { method: 'dtk', scenario: 'day2' });
  await t.reset({ release: t.releases().from });
  if (mode === 'observe-only') {
    // Someone else applies; kmodlab only follows.
    await t.follow(set);
    for (const o of set.files.flatMap((f) => (f.phase === 'day2' ? (f.objects ?? []) : []))) {
      h.cluster.api.put({ ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace } } as never);
    }
  } else {
    await t.apply(set);
  }
  const w = await t.waitForModules(modules, { loaded: true, timeoutMs: 3000 });
  if (mode === 'full') expect(w).toEqual({ ok: true, pending: [] });
  else expect(w.ok).toBe(false);
  if (mode !== 'dry-run') {
    // A driver-container restart on worker-1.
    await until(() => h.cluster.api.get('v1', 'Pod', `${dsName()}-worker-1`, dsNs())?.status?.phase === 'Running', 3000, 'driver pod running');
    h.cluster.api.update('v1', 'Pod', `${dsName()}-worker-1`, dsNs(), (p) => (p.status.containerStatuses = [{ name: 'c', restartCount: 1, lastState: { terminated: { reason: 'Error', exitCode: 1 } } }]));
    await new Promise((r) => setTimeout(r, 100));
  }
  h.clockOffsetMs += 10 * 60_000; // ten minutes of "scenario" for Prometheus
  await t.observe();
  h.recorder.record('scenario-end', { ok: mode === 'full' || w.ok }, { method: 'dtk', scenario: 'day2' });

  h.scenario = 'uninstall';
  h.recorder.record('scenario-start', {}, { method: 'dtk', scenario: 'uninstall' });
  if (mode === 'observe-only') {
    for (const o of [...set.files.flatMap((f) => (f.phase === 'day2' ? (f.objects ?? []) : []))].reverse()) h.cluster.api.removeObject(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
  } else {
    await t.remove(set);
  }
  const u = await t.waitForModules(modules, { loaded: false, timeoutMs: 3000 });
  if (mode === 'full') expect(u).toEqual({ ok: true, pending: [] });
  h.clockOffsetMs += 10 * 60_000;
  await t.observe();
  h.recorder.record('scenario-end', { ok: true }, { method: 'dtk', scenario: 'uninstall' });
  h.recorder.record('run-end', { status: 'completed' });
}

function readEvents(h: Harness): RunEvent[] {
  return readFileSync(path.join(h.runDir, EVENTS_FILE), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);
}

function expectLabShapes(events: RunEvent[]): void {
  for (const e of events) {
    expect(EventEnvelopeSchema.safeParse(e).success).toBe(true);
    expect(checkEventData(e), `${e.kind}: ${JSON.stringify(e.data)}`).toBeUndefined();
    expect(labKinds.has(e.kind), `kind ${e.kind} is not one the lab records`).toBe(true);
  }
}

function expectNoSecrets(h: Harness, events: RunEvent[], extra: string[] = []): void {
  const text = `${JSON.stringify(events)}\n${extra.join('\n')}`;
  for (const s of fixtureSecrets()) expect(text).not.toContain(s);
  expect(text).not.toMatch(/Bearer /);
}

describe('ClusterTarget (against the fake cluster)', () => {
  let h: Harness;
  let t: ClusterTarget | undefined;
  beforeEach(async () => {
    h = await harness();
    t = undefined;
  });
  afterEach(async () => {
    await t?.close();
    h.recorder.close();
    await h.prom.stop();
    await h.cluster.api.stop();
  });

  it('records nothing before the first reset (the run-start line comes first)', async () => {
    t = await target(h);
    h.cluster.api.update('v1', 'Node', 'worker-0', undefined, (n) => (n.status.nodeInfo.bootID = 'boot-0-early'));
    h.cluster.api.readyz = 'notready';
    await new Promise((r) => setTimeout(r, 150));
    h.cluster.api.readyz = 'ok';
    expect(readFileSync(path.join(h.runDir, EVENTS_FILE), 'utf8')).toBe('');
    await t.reset({ release: t.releases().from });
    expect(readEvents(h).map((e) => [e.kind, e.node, e.data['bootId']])).toContainEqual(['node-up', 'worker-0', 'boot-0-early']);
  });

  it('is labelled cluster (<context>) and knows nodes and releases', async () => {
    t = await target(h);
    expect(t.kind).toBe('cluster');
    expect(t.label).toBe('cluster (default/api-sno-lab-example:6443/kube:admin)');
    expect(t.nodes()).toEqual(NODE_NAMES);
    const r = t.releases();
    expect(r.from).toMatchObject({ version: '4.14.12', kernelVersion: KVER });
    expect(r.realtime?.sources['kernel']).toMatch(/kernelType: realtime/);
    expect(r.upgradeTo).toBeUndefined();
  });

  it('full day2 + uninstall: applies, sees modules on the host, canaries, restarts, samples — lab-shaped and derivable', async () => {
    t = await target(h);
    await day2AndUninstall(h, t, 'full');
    const events = readEvents(h);
    expectLabShapes(events);
    const kinds = new Set(events.map((e) => e.kind));
    for (const k of ['node-up', 'apply', 'module-state', 'canary', 'pod-start', 'pod-restart', 'sample-memory', 'sample-cpu', 'sample-node-memory', 'delete']) expect(kinds, k).toContain(k);
    const loaded = events.filter((e) => e.kind === 'module-state' && e.data['loaded'] === true);
    expect(new Set(loaded.map((e) => e.node))).toEqual(new Set(NODE_NAMES));
    expect(loaded[0]!.data).toMatchObject({ coresizeBytes: 16384, taint: 'OE', signed: false });
    expect(events.find((e) => e.kind === 'pod-restart')).toMatchObject({ node: 'worker-1', data: { restartCount: 1, reason: 'Error', component: 'driver-container' } });
    // The gap Prometheus had (step 1 of each pod series) is reported as a gap.
    expect(events.some((e) => e.kind === 'progress' && (e.data['gap'] as { missingSteps?: number } | undefined)?.missingSteps === 1)).toBe(true);
    // Applied for real, then deleted with foreground propagation.
    expect(h.cluster.api.log.some((r) => r.method === 'PATCH' && r.query['fieldManager'] === 'kmodlab' && r.query['dryRun'] === undefined)).toBe(true);
    expect(h.cluster.api.all('DaemonSet')).toEqual([]);
    // observe({ modules: false }) samples without a probe pod per node; observe() probes.
    const probes = () => readEvents(h).filter((e) => e.kind === 'module-state').length;
    const before = probes();
    await t.observe({ modules: false });
    expect(probes()).toBe(before);
    await t.observe();
    expect(probes()).toBeGreaterThan(before);
    const derived = deriveRun(readRun(h.runDir));
    const day2 = derived.find((d) => d.scenario === 'day2')!;
    expect(day2.status).toBe('completed');
    expect(day2.metrics['success']).toMatchObject({ value: true });
    expectNoSecrets(h, events);
  });

  it('a scenario quicker than the Prometheus minimum window is still sampled: its closing observation waits for the window', async () => {
    // Over a second: the query's points are on whole seconds.
    t = await target(h, { prometheusMinWindowMs: 1_200, closingWaitMs: 1_200 });
    await t.reset({ release: t.releases().from });
    await t.apply(set);
    const samples = () => readEvents(h).filter((e) => e.kind === 'sample-memory').length;
    // A window shorter than the minimum waits for the next observation…
    await t.observe({ modules: false });
    expect(samples()).toBe(0);
    // …and the scenario's last one waits until the window spans it, then samples.
    const started = Date.now();
    await t.observe({ modules: false, closing: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(samples()).toBeGreaterThan(0);
    // A wait longer than the target allows is not made (a cluster allows none by default:
    // its window is the user's --steady, not stretched to the 60 s minimum).
    for (const extra of [{ prometheusMinWindowMs: 60_000 }, { prometheusMinWindowMs: Number.MAX_SAFE_INTEGER, closingWaitMs: 1_200 }]) {
      await t.close();
      t = await target(h, extra);
      await t.reset({ release: t.releases().from });
      const before = samples();
      const t1 = Date.now();
      await t.observe({ modules: false, closing: true });
      expect(Date.now() - t1).toBeLessThan(1_000);
      expect(samples()).toBe(before);
    }
  });

  it('resource queries step at the scrape interval the target gives (the lab: 2 s), by default 15 s', async () => {
    for (const [extra, step] of [[{ prometheusStepS: 2 }, 2], [{}, 15]] as const) {
      t = await target(h, { prometheusMinWindowMs: 1_200, closingWaitMs: 1_200, ...extra });
      await t.reset({ release: t.releases().from });
      await t.apply(set);
      const from = h.prom.queries.length;
      await t.observe({ modules: false, closing: true });
      const queries = h.prom.queries.slice(from);
      expect(queries.length).toBeGreaterThan(0);
      for (const q of queries) expect(q.stepS).toBe(step);
      await t.close();
      t = undefined;
    }
  });

  it('--dry-run=server: nothing persisted, no probe pods or canaries, lab-shaped events', async () => {
    t = await target(h, { dryRun: 'server' });
    const before = h.cluster.api.all().length;
    await day2AndUninstall(h, t, 'dry-run');
    await t.close();
    t = undefined;
    const writes = h.cluster.api.log.filter((r) => r.method !== 'GET');
    expect(writes.length).toBeGreaterThan(0);
    for (const r of writes) expect(r.query['dryRun'], `${r.method} ${r.path}`).toBe('All');
    expect(h.cluster.api.all().length).toBe(before);
    expect(h.cluster.api.all('DaemonSet')).toEqual([]);
    const events = readEvents(h);
    expectLabShapes(events);
    expect(events.find((e) => e.kind === 'apply')!.data).toMatchObject({ dryRun: 'server' });
    expect(events.some((e) => e.kind === 'module-state')).toBe(false);
    expect(events.some((e) => e.kind === 'progress' && /not observed/.test(String(e.data['step'])))).toBe(true);
    expectNoSecrets(h, events);
  });

  it('--observe-only: read verbs only, follows what someone else applied, lab-shaped events', async () => {
    t = await target(h, { observeOnly: true });
    const e = await t.apply(set).catch((x: Error) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toMatch(/--observe-only/);
    await expect(t.remove(set)).rejects.toThrow(/--observe-only/);
    await expect(t.changeRelease(t.releases().realtime!, 'kernel-switch')).rejects.toThrow(/--observe-only/);
    await day2AndUninstall(h, t, 'observe-only');
    await t.close();
    t = undefined;
    expect(h.cluster.api.log.filter((r) => r.method !== 'GET')).toEqual([]);
    const events = readEvents(h);
    expectLabShapes(events);
    const kinds = new Set(events.map((x) => x.kind));
    for (const k of ['node-up', 'pod-start', 'pod-restart', 'pod-stop', 'sample-memory']) expect(kinds, k).toContain(k);
    expectNoSecrets(h, events, [(e as Error).message, (e as UserError).hint ?? '']);
  });

  it('reboot during the run: bootID change on a node → node-down + node-up in the record', async () => {
    t = await target(h);
    await t.reset({ release: t.releases().from });
    h.cluster.api.update('v1', 'Node', 'worker-0', undefined, (n) => (n.status.conditions = [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }]));
    h.cluster.api.update('v1', 'Node', 'worker-0', undefined, (n) => {
      n.status.conditions = [{ type: 'Ready', status: 'True' }];
      n.status.nodeInfo.bootID = 'boot-0-b';
    });
    await until(() => readEvents(h).filter((e) => e.node === 'worker-0' && e.kind === 'node-up').length === 2, 3000, 'second node-up');
    const mine = readEvents(h).filter((e) => e.node === 'worker-0' && (e.kind === 'node-up' || e.kind === 'node-down'));
    expect(mine.map((e) => [e.kind, e.data['bootId'] ?? e.data['reason']])).toEqual([
      ['node-up', 'boot-0-a'],
      ['node-down', 'hang'],
      ['node-up', 'boot-0-b'],
    ]);
  });

  it('a node the machine-config daemon is updating is pending until it runs its new config: no probe there ends a wait', async () => {
    t = await target(h);
    await t.reset({ release: t.releases().from });
    const MCO = 'machineconfiguration.openshift.io';
    h.cluster.api.update('v1', 'Node', 'worker-0', undefined, (n) => (n.metadata.annotations = { ...n.metadata.annotations, [`${MCO}/currentConfig`]: 'rendered-worker-a', [`${MCO}/desiredConfig`]: 'rendered-worker-b', [`${MCO}/state`]: 'Working' }));
    await until(() => t!.nodeKernels().has('worker-0'), 3000, 'the node watch');
    await new Promise((r) => setTimeout(r, 200));
    const during = await t.waitForModules(modules, { loaded: false, timeoutMs: 1500 });
    expect(during.ok).toBe(false);
    expect(during.pending).toEqual(['worker-0']);
    h.cluster.api.update('v1', 'Node', 'worker-0', undefined, (n) => (n.metadata.annotations = { ...n.metadata.annotations, [`${MCO}/currentConfig`]: 'rendered-worker-b', [`${MCO}/state`]: 'Done' }));
    await new Promise((r) => setTimeout(r, 200));
    expect(await t.waitForModules(modules, { loaded: false, timeoutMs: 3000 })).toMatchObject({ ok: true, pending: [] });
  });

  it('API outage while running: measured from /readyz, watches resume afterwards', async () => {
    t = await target(h);
    await t.reset({ release: t.releases().from }); // events are recorded from the first reset on
    h.cluster.api.readyz = 'down';
    h.cluster.api.disconnectWatches();
    await new Promise((r) => setTimeout(r, 300));
    h.cluster.api.readyz = 'ok';
    await until(() => t!.apiOutages.some((o) => o.toMs !== undefined), 3000, 'outage end');
    h.cluster.api.update('v1', 'Node', 'worker-1', undefined, (n) => (n.status.nodeInfo.bootID = 'boot-1-b'));
    await until(() => readEvents(h).some((e) => e.kind === 'node-up' && e.data['bootId'] === 'boot-1-b'), 3000, 'node-up after the outage');
    const outage = readEvents(h).find((e) => e.kind === 'progress' && e.data['apiOutage'] === 'end')!;
    expect(outage.data['outageMs']).toBeGreaterThanOrEqual(200);
  });

  it('scenario support: day1 requires install time; upgrade only with --upgrade-to and confirmation', async () => {
    t = await target(h);
    const s = t.scenarioSupport();
    expect(s.day1).toEqual({ supported: false, reason: expect.stringMatching(/^requires install time/) });
    expect(s.day2.supported && s.uninstall.supported && s['kernel-switch'].supported).toBe(true);
    expect(s.upgrade).toEqual({ supported: false, reason: expect.stringMatching(/--upgrade-to/) });
    await expect(t.changeRelease(ReleaseSchema.parse({ version: '4.14.13', sources: {} }), 'upgrade')).rejects.toThrow(UserError);
    await t.close();
    t = await target(h, { upgradeTo: '4.14.13' });
    expect(t.scenarioSupport().upgrade.supported).toBe(false); // no confirmation
    await t.close();
    t = await target(h, { upgradeTo: '4.14.13', confirmUpgrade: true });
    expect(t.scenarioSupport().upgrade.supported).toBe(true);
    expect(t.releases().upgradeTo?.version).toBe('4.14.13');
  });

  it('day1 with --day1-install-dir writes the Day-1 manifests and says it requires install time', async () => {
    const dir = tempDir();
    t = await target(h, { day1InstallDir: dir });
    const driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
    const day1 = renderMethods(driver, ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, driverToolkitImage: DTK_IMAGE, sources: {} }), 'kmm', { day1: true, registry: 'quay.io/acme' })[0]!;
    await expect(t.reset({ release: t.releases().from, day1 })).rejects.toThrow(/requires install time/);
    expect(readdir(path.join(dir, 'kmm')).length).toBeGreaterThan(0);
    expect(readEvents(h).some((e) => e.kind === 'manual-step')).toBe(true);
  });

  it('kernel switch: MachineConfig kernelType realtime for the pool, waits for the pool rollout', async () => {
    t = await target(h, { rolloutTimeoutMs: 5000 });
    await t.reset({ release: t.releases().from });
    // The fake MCO: a new MachineConfig → a new rendered config, rolled out shortly after.
    h.cluster.api.reactors.push((type, o, s) => {
      if (o.kind !== 'MachineConfig' || type !== 'ADDED') return;
      s.update('machineconfiguration.openshift.io/v1', 'MachineConfigPool', 'worker', undefined, (p) => {
        p.spec.configuration.name = 'rendered-worker-2';
        p.status.updatedMachineCount = 0;
      });
      setTimeout(() => s.update('machineconfiguration.openshift.io/v1', 'MachineConfigPool', 'worker', undefined, (p) => {
        p.status.configuration.name = 'rendered-worker-2';
        p.status.updatedMachineCount = 2;
      }), 100);
    });
    await t.changeRelease(t.releases().realtime!, 'kernel-switch');
    const mc = h.cluster.api.get('machineconfiguration.openshift.io/v1', 'MachineConfig', '99-kmodlab-worker-kernel-realtime');
    expect(mc?.['spec']).toEqual({ kernelType: 'realtime' });
    expect(mc?.metadata['labels']['machineconfiguration.openshift.io/role']).toBe('worker');
    const pool = readEvents(h).filter((e) => e.kind === 'progress' && e.data['pool'] === 'worker');
    expect(pool.map((e) => e.data['updatedMachineCount'])).toContain(0);
  }, 20_000);

  it('a failed MachineOSBuild of the pool ends the rollout wait: a failed build event with its time to failure, a blocker, and the manual step', async () => {
    t = await target(h, { rolloutTimeoutMs: 60_000 });
    await t.reset({ release: t.releases().from });
    // The fake MCO under on-cluster layering: the new rendered config gets a MachineOSBuild, which fails; no node is updated.
    const name = 'worker-1a2b3c4d5e6f708192a3b4c5d6e7f809';
    const conditions = (state: string) =>
      Object.entries({ Prepared: 'Prepared', Building: 'Building', Failed: 'Failed', Interrupted: 'Interrupted', Succeeded: 'Ready' }).map(([type, reason]) => ({ type, reason, status: type === state ? 'True' : 'False', message: 'x', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }));
    h.cluster.api.reactors.push((type, o, s) => {
      if (o.kind !== 'MachineConfig' || type !== 'ADDED') return;
      s.update('machineconfiguration.openshift.io/v1', 'MachineConfigPool', 'worker', undefined, (p) => (p.spec.configuration.name = 'rendered-worker-2'));
      s.put({
        apiVersion: 'machineconfiguration.openshift.io/v1',
        kind: 'MachineOSBuild',
        metadata: { name, labels: { 'machineconfiguration.openshift.io/machine-os-config': 'worker', 'machineconfiguration.openshift.io/target-machine-config-pool': 'worker' } },
        spec: { machineConfig: { name: 'rendered-worker-2' }, machineOSConfig: { name: 'worker' }, renderedImagePushSpec: 'quay.io/acme/os:worker' },
        status: { buildStart: '2025-06-03T11:02:04Z', conditions: conditions('Building') },
      });
      setTimeout(() => s.update('machineconfiguration.openshift.io/v1', 'MachineOSBuild', name, undefined, (b) => Object.assign(b['status'], { buildEnd: '2025-06-03T11:03:30Z', conditions: conditions('Failed') })), 100);
    });
    const t0 = Date.now();
    const held = await t.changeRelease(t.releases().realtime!, 'kernel-switch').catch((e: Error) => e);
    // Held by the method (the scenario records that as its finding), not any other failure.
    expect(held).toBeInstanceOf(ReleaseChangeHeld);
    expect((held as Error).message).toMatch(new RegExp(`rollout of MachineConfigPool worker cannot complete: MachineOSBuild ${name} \\(MachineOSConfig worker\\) Failed after 86 s`));
    expect(Date.now() - t0).toBeLessThan(20_000);
    const events = readEvents(h);
    expect(events.find((e) => e.kind === 'build')?.data).toMatchObject({ ok: false, build: `MachineOSBuild/${name}`, wallMs: 86_000 });
    expect(events.find((e) => e.kind === 'manual-step')?.data['description']).toMatch(/kernel-switch: MachineConfigPool worker's image build on the realtime kernel failed/);
    expect(t.blockers()).toEqual([expect.stringMatching(new RegExp(`^MachineOSBuild ${name} `))]);
  }, 30_000);
});

/**
 * RBAC sufficiency: the calls are derived from the code path — every request the fake
 * API server received during full flows (day2, uninstall, kernel switch, upgrade) and
 * an --observe-only flow — and each is checked, with RBAC's rules, against the roles
 * `kmodlab rbac` prints.
 */
import { main } from '../../src/cli/main.js';
import { parseYamlStream } from '../../src/yaml.js';
import type { LoggedRequest } from './fake-kube-apiserver.js';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

async function printedRules(args: string[]): Promise<Rule[]> {
  let out = '';
  const code = await main(['node', 'kmodlab', 'rbac', ...args], { stdout: (t) => (out += t), stderr: () => undefined });
  expect(code).toBe(0);
  const roles = parseYamlStream(out) as { kind: string; rules: Rule[] }[];
  expect(roles.every((r) => r.kind === 'ClusterRole')).toBe(true);
  return roles.flatMap((r) => r.rules);
}

/** What the authorizer would check for one request (independent of the client's own bookkeeping). */
function attributes(r: LoggedRequest): { verb: string; group?: string; resource?: string; name?: string; path: string }[] {
  const segs = r.path.split('/').filter(Boolean);
  const isDiscovery = (segs[0] === 'api' && segs.length <= 2) || (segs[0] === 'apis' && segs.length <= 3) || segs[0] === 'readyz';
  if (isDiscovery) return [{ verb: 'get', path: r.path }];
  const group = segs[0] === 'api' ? '' : segs[1]!;
  let rest = segs.slice(segs[0] === 'api' ? 2 : 3);
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [res, name, sub] = rest;
  const resource = sub ? `${res}/${sub}` : res!;
  let verb = { GET: name ? 'get' : 'list', POST: 'create', PATCH: 'patch', DELETE: 'delete', PUT: 'update' }[r.method]!;
  if (r.method === 'GET' && r.query['watch'] === 'true') verb = 'watch';
  const out = [{ verb, group, resource, name, path: r.path }];
  if (r.method === 'PATCH' && r.contentType === 'application/apply-patch+yaml') out.push({ verb: 'create', group, resource, name, path: r.path });
  return out;
}

function allowed(rules: Rule[], a: ReturnType<typeof attributes>[number]): boolean {
  return rules.some((rule) => {
    if (!rule.verbs.includes(a.verb) && !rule.verbs.includes('*')) return false;
    if (a.resource === undefined) return (rule.nonResourceURLs ?? []).some((u) => (u.endsWith('*') ? a.path.startsWith(u.slice(0, -1)) : u === a.path));
    if (!rule.apiGroups?.includes(a.group!) || !rule.resources?.includes(a.resource)) return false;
    return !rule.resourceNames || (a.name !== undefined && rule.resourceNames.includes(a.name));
  });
}

describe('RBAC printed by `kmodlab rbac` is sufficient for what the code calls', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    h.recorder.close();
    await h.prom.stop();
    await h.cluster.api.stop();
  });

  it('full evaluation: day2, uninstall, kernel switch and upgrade', async () => {
    const t = await target(h, { upgradeTo: '4.14.13', confirmUpgrade: true, rolloutTimeoutMs: 5000, upgradeTimeoutMs: 5000 });
    h.cluster.api.put({ apiVersion: 'route.openshift.io/v1', kind: 'Route', metadata: { name: 'thanos-querier', namespace: 'openshift-monitoring' }, spec: { host: '127.0.0.1' } });
    h.cluster.api.reactors.push((type, o, s) => {
      if (o.kind === 'MachineConfig' && type === 'ADDED') {
        s.update('machineconfiguration.openshift.io/v1', 'MachineConfigPool', 'worker', undefined, (p) => (p.spec.configuration.name = 'rendered-worker-2'));
        setTimeout(() => s.update('machineconfiguration.openshift.io/v1', 'MachineConfigPool', 'worker', undefined, (p) => (p.status.configuration.name = 'rendered-worker-2')), 50);
      }
    });
    await day2AndUninstall(h, t, 'full');
    await t.changeRelease(t.releases().realtime!, 'kernel-switch');
    // The fake CVO: a desiredUpdate is "installed" shortly after it is set.
    h.cluster.api.reactors.push((type, o, s) => {
      const want = (o['spec'] as { desiredUpdate?: { version?: string } } | undefined)?.desiredUpdate?.version;
      if (o.kind !== 'ClusterVersion' || !want || o['status'].history?.[0]?.version === want) return;
      setTimeout(() => s.update('config.openshift.io/v1', 'ClusterVersion', 'version', undefined, (cv) => (cv.status.history = [{ version: want, state: 'Completed' }])), 20);
    });
    await t.changeRelease(t.releases().upgradeTo!, 'upgrade');
    expect(h.cluster.api.get('config.openshift.io/v1', 'ClusterVersion', 'version')!['spec']).toEqual({ desiredUpdate: { version: '4.14.13', image: FAKE_RELEASE_IMAGE_4_14_13, force: false } });
    await t.close();
    const rules = await printedRules([]);
    const requests = h.cluster.api.log;
    expect(requests.length).toBeGreaterThan(50);
    const verbs = new Set<string>();
    for (const r of requests) {
      for (const a of attributes(r)) {
        verbs.add(`${a.verb} ${a.group ?? ''}/${a.resource ?? a.path}`);
        expect(allowed(rules, a), `${r.method} ${r.path} → ${a.verb} ${a.group}/${a.resource} ${a.name ?? ''}`).toBe(true);
      }
    }
    // The flows did exercise writes of every sort.
    for (const v of ['create /pods', 'get /pods/log', 'patch apps/daemonsets', 'delete apps/daemonsets', 'patch apps/deployments', 'watch /nodes', 'patch machineconfiguration.openshift.io/machineconfigs', 'patch config.openshift.io/clusterversions']) {
      expect(verbs, v).toContain(v);
    }
    // And the client's own record names a table entry for every request.
    expect(t.client.calls.length).toBeGreaterThan(0);
  }, 30_000);

  it('--observe-only: every request is a read, and `kmodlab rbac --observe-only` allows it', async () => {
    const t = await target(h, { observeOnly: true });
    await day2AndUninstall(h, t, 'observe-only');
    await t.close();
    const rules = await printedRules(['--observe-only']);
    for (const rule of rules) for (const v of rule.verbs) expect(['get', 'list', 'watch']).toContain(v);
    for (const r of h.cluster.api.log) {
      expect(r.method).toBe('GET');
      for (const a of attributes(r)) expect(allowed(rules, a), `${r.method} ${r.path}`).toBe(true);
    }
  });
});
