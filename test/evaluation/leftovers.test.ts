import { describe, expect, it } from 'vitest';
import { deriveScenario } from '../../src/evaluation/metrics/index.js';
import { apply, mod, runOf, runStart, scenario, up, type Ev } from './helpers.js';

const uninstallRun = (body: Ev[], ended = true): Ev[] => [
  runStart({ scenarios: ['uninstall'] }),
  up(1, 'b0'),
  ...scenario('dtk', 'uninstall', 100, ended ? 9000 : undefined, body),
  ...(ended ? [{ at: 9001, kind: 'run-end', data: { status: 'completed' } } as Ev] : []),
];
const del = (at: number): Ev => ({ at, kind: 'delete', data: { objects: ['DaemonSet/x'] } });
const left = (at: number, items: string[]): Ev => ({ at, kind: 'progress', data: { step: 'leftovers after removal', leftovers: items } });

describe('leftovers after removal', () => {
  it('counts what the target listed, and names it', () => {
    const m = deriveScenario(runOf(uninstallRun([apply(200), mod(300, true), del(1000), mod(1500, false), left(2000, ['n1: custom OS image quay.io/x@sha256:1'])])), 'dtk', 'uninstall').metrics['leftovers'];
    expect(m).toMatchObject({ value: 1, note: 'n1: custom OS image quay.io/x@sha256:1' });
  });
  it('zero is a measurement only when the target listed nothing', () => {
    const m = deriveScenario(runOf(uninstallRun([apply(200), del(1000), left(2000, [])])), 'dtk', 'uninstall').metrics['leftovers'];
    expect(m).toMatchObject({ value: 0, note: 'nothing left on the nodes' });
  });
  it('no listing → not measured, with the reason', () => {
    const m = deriveScenario(runOf(uninstallRun([apply(200), del(1000)])), 'dtk', 'uninstall').metrics['leftovers'];
    expect(m).toEqual({ notMeasured: 'the target did not list what was left after the removal' });
  });
  it('a cleanup delete before the scenario (what an earlier one left applied) is not the removal: a fresh node after it is no reboot', () => {
    const cleanup: Ev = { at: 150, kind: 'delete', data: { objects: ['Module/x'], cleanup: true } };
    const r = deriveScenario(runOf(uninstallRun([cleanup, up(160, 'b1'), apply(200), mod(300, true), del(1000), mod(1500, false), left(2000, [])])), 'dtk', 'uninstall');
    expect(r.metrics['reboots']).toMatchObject({ value: 0 });
    expect(r.metrics['leftovers']).toMatchObject({ value: 0 });
  });
  it('applies to the uninstall scenario only', () => {
    const r = deriveScenario(runOf([runStart(), up(1, 'b0'), ...scenario('dtk', 'day2', 100, 9000, [apply(200)])]), 'dtk', 'day2');
    expect(r.metrics['leftovers']).toBeUndefined();
  });
});

describe('resident components the target only emulates', () => {
  it('are "not measured", saying why, never 0', () => {
    const events: Ev[] = [
      runStart({ methods: ['kmm'] }),
      up(1, 'b0'),
      ...scenario('kmm', 'day2', 100, 9000, [
        { at: 150, kind: 'pod-start', node: 'n1', data: { pod: 'kmm-operator-controller', component: 'kmm-operator', emulated: true } },
        apply(200),
        mod(300, true),
        { at: 400, kind: 'sample-node-memory', node: 'n1', data: { totalBytes: 2e8, availableBytes: 1.5e8 } },
      ]),
      { at: 9001, kind: 'run-end', data: { status: 'completed' } } as Ev,
    ];
    const m = deriveScenario(runOf(events), 'kmm', 'day2').metrics['memoryBytes'];
    expect(m).toEqual({ notMeasured: 'kmm-operator emulated by the target, not run on n1: its memory cannot be sampled' });
  });
});
