/** Metric rules on small hand-written runs: one rule, one table row. */
import { describe, expect, it } from 'vitest';
import { deriveScenario } from '../../src/evaluation/metrics/index.js';
import type { Measured, Scalar } from '../../src/evaluation/metrics/measured.js';
import { apply, down, mod, runOf, runStart, scenario, up, type Ev } from './helpers.js';

type Row = [name: string, events: Ev[], metric: string, expected: Scalar | { notMeasured: string | RegExp }];

/** Derives one metric of the (method, scenario) the run-start plans first. */
function metric(events: Ev[], name: string, method = 'dtk', scn = 'day2', node?: string): Measured<Scalar> {
  const r = deriveScenario(runOf(events), method as never, scn as never);
  return (node ? r.nodes[node]![name] : r.metrics[name])!;
}

function check(m: Measured<Scalar>, expected: Row[3]) {
  if (typeof expected === 'object' && 'notMeasured' in expected) {
    expect(m).toHaveProperty('notMeasured');
    expect((m as { notMeasured: string }).notMeasured).toMatch(expected.notMeasured);
  } else {
    expect(m).toHaveProperty('value', expected);
  }
}

/** A probe sample (`at`: when it started, if not when it was recorded) and an availability change. */
const probe = (t: number, isUp: boolean, at?: number): Ev => ({ at: t, kind: 'canary', node: 'n1', data: { up: isUp, via: 'probe', probeMs: 12, ...(at !== undefined ? { at } : {}), ...(isUp ? {} : { error: 'HTTP 503' }) } });
const avail = (t: number, isUp: boolean): Ev => ({ at: t, kind: 'canary', node: 'n1', data: { up: isUp, via: 'availability' } });
const end = (at: number) => [{ at, kind: 'run-end', data: { status: 'completed' } }] as Ev[];
/** `endAt: null` = the run was killed during the scenario (no scenario-end, no run-end). */
const day2 = (body: Ev[], endAt: number | null = 10_000, ok = true) => [
  runStart(),
  up(1, 'b0'),
  ...scenario('dtk', 'day2', 100, endAt ?? undefined, body, ok),
  ...(endAt === null ? [] : end(endAt + 1)),
];

describe.each<Row>([
  ['loaded after apply', day2([apply(1000), mod(3500, true)]), 'timeToDriverMs', 2500],
  ['loaded, success', day2([apply(1000), mod(3500, true)]), 'success', true],
  ['never loaded', day2([apply(1000), mod(3500, false)]), 'timeToDriverMs', { notMeasured: 'driver not loaded on n1 by scenario end' }],
  ['never loaded → success false', day2([apply(1000), mod(3500, false)]), 'success', false],
  ['no module-state at all', day2([apply(1000)]), 'success', { notMeasured: 'no module-state for mod_a recorded on n1 since its last boot' }],
  ['no apply', day2([mod(3500, true)]), 'timeToDriverMs', { notMeasured: 'no apply event recorded in this scenario' }],
  ['module names: simple-kmod ≡ simple_kmod', [runStart({ driver: { name: 'd', version: '1', modules: ['mod-a'] } }), up(1, 'b0'), ...scenario('dtk', 'day2', 100, 9000, [apply(1000), mod(2000, true, 'mod_a')]), ...end(9001)], 'timeToDriverMs', 1000],
  // A reboot forgets module states: loaded before it says nothing about after it.
  ['loaded, reboot, no report since', day2([apply(1000), mod(2000, true), down(3000), up(5000, 'b1')]), 'success', { notMeasured: /since its last boot/ }],
  ['reboot: new boot id', day2([apply(1000), down(2000), up(4000, 'b1'), mod(4500, true)]), 'reboots', 1],
  ['agent reconnect: same boot id is not a reboot', day2([apply(1000), up(2000, 'b0'), mod(4500, true)]), 'reboots', 0],
  ['boots before the apply are the scenario’s, not the method’s', day2([down(200, 'poweroff'), up(900, 'b9'), apply(1000), mod(1500, true)]), 'reboots', 0],
  ['downtime: two downs, total', day2([apply(1000), down(2000), up(4000, 'b1'), down(5000), up(8000, 'b2'), mod(8500, true)]), 'downtimeTotalMs', 5000],
  ['downtime: two downs, longest', day2([apply(1000), down(2000), up(4000, 'b1'), down(5000), up(8000, 'b2'), mod(8500, true)]), 'downtimeLongestMs', 3000],
  ['downtime: still down at the end counts to the end', day2([apply(1000), mod(1500, true), down(6000)]), 'downtimeTotalMs', 4000],
  ['canary reported on change only', day2([{ at: 500, kind: 'canary', node: 'n1', data: { up: true } }, apply(1000), { at: 2000, kind: 'canary', node: 'n1', data: { up: false } }, { at: 3500, kind: 'canary', node: 'n1', data: { up: true } }, mod(4000, true)]), 'canaryDisruptionMs', 1500],
  ['failed probes: a cluster\'s observation snapshots of a known outage are not more failures', day2([{ at: 500, kind: 'canary', node: 'n1', data: { up: true } }, apply(1000), { at: 2000, kind: 'canary', node: 'n1', data: { up: false } }, { at: 2500, kind: 'canary', node: 'n1', data: { up: false, snapshot: true } }, { at: 3000, kind: 'canary', node: 'n1', data: { up: false, snapshot: true } }, { at: 3500, kind: 'canary', node: 'n1', data: { up: true } }, mod(4000, true)]), 'canaryFailedProbes', 1],
  ['canary up throughout (one report before the apply)', day2([{ at: 500, kind: 'canary', node: 'n1', data: { up: true } }, apply(1000), mod(4000, true)]), 'canaryDisruptionMs', 0],
  ['no canary at all', day2([apply(1000), mod(4000, true)]), 'canaryDisruptionMs', { notMeasured: 'no canary probe recorded on n1' }],
  // Probes (1 s) with a canary pod missing for three of them; the Deployment's availability says otherwise and is ignored.
  ['disruption = the span the failed probes cover, from their own `at`', day2([probe(500, true), apply(1000), probe(2000, false, 1990), probe(3000, false), probe(4000, false), probe(5000, true, 4990), mod(6000, true)]), 'canaryDisruptionMs', 3000],
  ['failed probes counted one by one', day2([probe(500, true), apply(1000), probe(2000, false), probe(3000, false), probe(4000, false), probe(5000, true), mod(6000, true)]), 'canaryFailedProbes', 3],
  ['availability changes are context, not disruption', day2([probe(500, true), apply(1000), avail(1500, false), avail(4500, true), probe(5000, true), mod(6000, true)]), 'canaryDisruptionMs', 0],
  ['availability changes are not failed probes', day2([probe(500, true), apply(1000), avail(1500, false), avail(4500, true), mod(6000, true)]), 'canaryFailedProbes', 0],
  ['only availability recorded: not measured', day2([avail(500, true), apply(1000), avail(1500, false), mod(6000, true)]), 'canaryDisruptionMs', { notMeasured: 'no canary probe recorded on n1' }],
  ['still failing at the end counts to the end', day2([probe(500, true), apply(1000), mod(6000, true), probe(8000, false)]), 'canaryDisruptionMs', 2000],
  ['pod restarts counted (canary pod excluded)', day2([apply(1000), { at: 1100, kind: 'pod-start', node: 'n1', data: { pod: 'p', component: 'driver-container' } }, { at: 2000, kind: 'pod-restart', node: 'n1', data: { pod: 'p', component: 'driver-container', restartCount: 1, reason: 'Error' } }, { at: 2100, kind: 'pod-restart', node: 'n1', data: { pod: 'c', component: 'canary', restartCount: 1, reason: 'x' } }, mod(3000, true)]), 'podRestarts', 1],
])('%s', (_name, events, name, expected) => {
  it(`${name}`, () => check(metric(events, name), expected));
});

describe('memory and CPU: a figure needs samples; 0 needs an observed absence', () => {
  const mem = (at: number, rss: number, component = 'driver-container'): Ev => ({ at, kind: 'sample-memory', node: 'n1', data: { component, rssBytes: rss } });
  const nodeMem = (at: number): Ev => ({ at, kind: 'sample-node-memory', node: 'n1', data: { totalBytes: 1e9, availableBytes: 9e8 } });
  it.each<Row>([
    ['median of a component’s samples', day2([apply(1000), mod(1500, true), mem(2000, 1_000_000), mem(3000, 5_000_000), mem(4000, 1_100_000)]), 'memoryBytes', 1_100_000],
    ['components summed', day2([apply(1000), mod(1500, true), mem(2000, 1000), mem(2000, 2000, 'other')]), 'memoryBytes', 3000],
    ['samples before the apply do not count', day2([mem(500, 7777), apply(1000), mod(1500, true), mem(2000, 1000)]), 'memoryBytes', 1000],
    ['canary samples are not the method’s', day2([apply(1000), mod(1500, true), mem(2000, 380_000, 'canary'), nodeMem(2000)]), 'memoryBytes', 0],
    ['no sample at all is not 0', day2([apply(1000), mod(1500, true)]), 'memoryBytes', { notMeasured: 'no memory sample recorded on n1' }],
    ['node sampled, no pod started: 0', day2([apply(1000), mod(1500, true), nodeMem(2000)]), 'memoryBytes', 0],
    ['node sampled but a pod started without samples: not measured', day2([apply(1000), { at: 1200, kind: 'pod-start', node: 'n1', data: { pod: 'p', component: 'x' } }, mod(1500, true), nodeMem(2000)]), 'memoryBytes', { notMeasured: /no memory sample/ }],
    ['a pod that exited (KMM worker) is not resident: 0', day2([apply(1000), { at: 1200, kind: 'pod-start', node: 'n1', data: { pod: 'w', component: 'kmm-worker' } }, mod(1500, true), { at: 1700, kind: 'pod-stop', node: 'n1', data: { pod: 'w', component: 'kmm-worker', reason: 'Completed' } }, nodeMem(2000)]), 'memoryBytes', 0],
    ['start-up samples (before the driver was loaded) are not steady state', day2([apply(1000), mem(1200, 9_000_000), mod(1500, true), mem(2000, 1000), mem(3000, 1000)]), 'memoryBytes', 1000],
    ['CPU share = Σ cpuMs / Σ windowMs', day2([apply(1000), mod(1500, true), { at: 2000, kind: 'sample-cpu', node: 'n1', data: { component: 'x', cpuMs: 10, windowMs: 1000 } }, { at: 3000, kind: 'sample-cpu', node: 'n1', data: { component: 'x', cpuMs: 30, windowMs: 1000 } }]), 'cpuShare', 0.02],
  ])('%s', (_n, events, name, expected) => check(metric(events, name), expected));
});

describe('builds', () => {
  const build = (at: number, d: Record<string, unknown>): Ev => ({ at, kind: 'build', data: { kver: 'k', ok: true, cached: false, ...d } });
  it.each<Row>([
    ['wall summed over builds that did work', day2([apply(1000), build(2000, { wallMs: 4000 }), build(3000, { wallMs: 100, cached: true }), build(9000, { wallMs: 3000 }), mod(9500, true)]), 'buildWallMs', 7000],
    ['CPU = user + sys', day2([apply(1000), build(2000, { userCpuMs: 3000, systemCpuMs: 800 }), mod(9500, true)]), 'buildCpuMs', 3800],
    ['peak RSS is the max', day2([apply(1000), build(2000, { peakRssBytes: 5 }), build(3000, { peakRssBytes: 9 }), mod(9500, true)]), 'buildPeakRssBytes', 9],
    ['a field not recorded is not measured, naming the line', day2([apply(1000), build(2000, { wallMs: 1 }), mod(9500, true)]), 'buildCpuMs', { notMeasured: /^build at line 5 did not record userCpuMs\/systemCpuMs$/ }],
    ['no build', day2([apply(1000), mod(9500, true)]), 'buildWallMs', { notMeasured: 'no build in this scenario' }],
    ['no build: count 0', day2([apply(1000), mod(9500, true)]), 'buildCount', 0],
  ])('%s', (_n, events, name, expected) => check(metric(events, name), expected));
});

describe('interrupted, failed and not-run scenarios', () => {
  const killed = day2([apply(1000), down(2000), up(4000, 'b1'), mod(4500, true), { at: 5000, kind: 'pod-restart', node: 'n1', data: { pod: 'p', component: 'driver-container', restartCount: 1, reason: 'Error' } }], null);
  it.each<Row>([
    ['what was reached is measured', killed, 'timeToDriverMs', 3500],
    ['final states are not', killed, 'success', { notMeasured: 'run interrupted during this scenario' }],
    ['counts say how many so far', killed, 'reboots', { notMeasured: 'run interrupted during this scenario (1 so far)' }],
    ['pod restarts so far', killed, 'podRestarts', { notMeasured: 'run interrupted during this scenario (1 so far)' }],
    ['failed scenario: the error is the reason', day2([apply(1000)], 5000, false), 'timeToDriverMs', { notMeasured: 'scenario failed: boom; driver not loaded on n1 by scenario end' }],
  ])('%s', (_n, events, name, expected) => check(metric(events, name), expected));

  it('a scenario after the kill: run interrupted before this scenario', () => {
    const events = [runStart({ scenarios: ['day2', 'upgrade'] }), ...scenario('dtk', 'day2', 100, undefined, [apply(1000)])];
    const r = deriveScenario(runOf(events), 'dtk', 'upgrade');
    expect(r.status).toBe('not-run');
    for (const m of Object.values(r.metrics)) expect(m).toEqual({ notMeasured: expect.stringMatching(/^run interrupted before this scenario|^only for/) });
  });
});

describe('day 1: loaded at first boot, extra reboots', () => {
  const d1 = (body: Ev[]) => [runStart({ scenarios: ['day1'] }), up(1, 'b0'), ...scenario('dtk', 'day1', 100, 20_000, body), ...end(20_001)];
  it.each<Row>([
    // The node is off, the manifests are in place, it boots.
    ['artifacts before the boot, loaded in it', d1([down(200, 'poweroff'), apply(300), up(2500, 'b1'), mod(3000, true)]), 'loadedAtFirstBoot', true],
    // As the lab does it: the node boots, the installer manifests are applied at once.
    ['boot, then installer manifests', d1([down(200, 'poweroff'), up(2500, 'b1'), apply(2600), mod(3000, true)]), 'loadedAtFirstBoot', true],
    ['boot, then manifests: time from boot', d1([down(200, 'poweroff'), up(2500, 'b1'), apply(2600), mod(3000, true)]), 'timeFromFirstBootMs', 500],
    ['rebase reboot: not at first boot', d1([down(200, 'poweroff'), up(2500, 'b1'), apply(2600), down(4000), up(6000, 'b2'), mod(6500, true)]), 'loadedAtFirstBoot', false],
    ['rebase reboot: 1 extra reboot', d1([down(200, 'poweroff'), up(2500, 'b1'), apply(2600), down(4000), up(6000, 'b2'), mod(6500, true)]), 'reboots', 1],
    ['first boot is not an extra reboot', d1([down(200, 'poweroff'), apply(300), up(2500, 'b1'), mod(3000, true)]), 'reboots', 0],
  ])('%s', (_n, events, name, expected) => check(metric(events, name, 'dtk', 'day1'), expected));
});

describe('upgrade and kernel switch', () => {
  const K1 = '6.1.0-54-amd64';
  const K2 = '6.1.0-56-amd64';
  const upg = (body: Ev[], scn = 'upgrade') => [runStart({ scenarios: [scn] }), up(1, 'b0', K1), ...scenario('dtk', scn, 100, 30_000, [apply(500), mod(900, true), ...body]), ...end(30_001)];
  const announce = (at: number, scn = 'upgrade'): Ev => ({ at, kind: 'progress', data: { step: `${scn} start`, from: K1, to: K2 } });
  it.each<Row>([
    ['trigger announced by progress "upgrade start"', upg([announce(5000), down(6000), up(8000, 'b1', K2), mod(9000, true)]), 'timeToDriverMs', 4000],
    ['trigger: an apply marked trigger', upg([apply(5000, { trigger: true }), down(6000), up(8000, 'b1', K2), mod(9500, true)]), 'timeToDriverMs', 4500],
    ['trigger: the first apply after the driver was loaded', upg([apply(5000), down(6000), up(8000, 'b1', K2), mod(9500, true)]), 'timeToDriverMs', 4500],
    ['loaded on the old kernel only: not restored', upg([announce(5000), mod(9000, true)]), 'success', false],
    ['node left on the old release', upg([announce(5000)]), 'nodesLeftOnOldRelease', 1],
    ['new kernel, driver missing', upg([announce(5000), down(6000), up(8000, 'b1', K2), mod(9000, false)]), 'nodesWithDriver', 0],
    ['new kernel, driver missing: nobody left behind', upg([announce(5000), down(6000), up(8000, 'b1', K2), mod(9000, false)]), 'nodesLeftOnOldRelease', 0],
    ['no trigger recorded', [runStart({ scenarios: ['upgrade'] }), up(1, 'b0', K1), ...scenario('dtk', 'upgrade', 100, 30_000, [mod(900, true)]), ...end(30_001)], 'timeToDriverMs', { notMeasured: 'no apply event recorded in this scenario' }],
  ])('%s', (_n, events, name, expected) => check(metric(events, name, 'dtk', 'upgrade'), expected));
});

describe('several nodes', () => {
  const two = (body: Ev[]) => [runStart({ nodes: ['n1', 'n2'] }), up(1, 'a0', undefined, 'n1'), up(1, 'b0', undefined, 'n2'), ...scenario('dtk', 'day2', 100, 20_000, [apply(1000), ...body]), ...end(20_001)];
  it('time to driver is the slowest node; per node figures are kept', () => {
    const events = two([mod(2000, true, 'mod_a', 'n1'), mod(5000, true, 'mod_a', 'n2')]);
    expect(metric(events, 'timeToDriverMs')).toHaveProperty('value', 4000);
    expect(metric(events, 'timeToDriverMs', 'dtk', 'day2', 'n1')).toHaveProperty('value', 1000);
  });
  it('one node failing decides success', () => {
    const events = two([mod(2000, true, 'mod_a', 'n1'), mod(5000, false, 'mod_a', 'n2')]);
    expect(metric(events, 'success')).toHaveProperty('value', false);
    expect(metric(events, 'nodesWithDriver')).toHaveProperty('value', 1);
  });
});
