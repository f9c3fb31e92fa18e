/**
 * Attributable impact = with the method − the baseline (the same scenario run with no
 * driver method), never clamped, "not measured (why)" without a baseline figure; on
 * small hand-written runs, one rule per row.
 */
import { describe, expect, it } from 'vitest';
import { attributable, NO_BASELINE } from '../../src/evaluation/metrics/attributable.js';
import { deriveRun } from '../../src/evaluation/metrics/index.js';
import { measured, notMeasured } from '../../src/evaluation/metrics/measured.js';
import { apply, down, mod, runOf, runStart, scenario, up, type Ev } from './helpers.js';

describe('attributable(with, baseline)', () => {
  it.each([
    ['method adds a reboot', measured(2, [5, 9]), measured(1, [2]), { value: 1, from: [2, 5, 9] }],
    ['the same as the baseline → 0', measured(1, [5]), measured(1, [2]), { value: 0, from: [2, 5] }],
    ['baseline larger → negative, not clamped, and said', measured(0, [5]), measured(3000, [2]), { value: -3000, from: [2, 5], note: expect.stringMatching(/baseline measured more \(3000\)/) }],
    ['baseline not measured → not measured, why', measured(1, [5]), notMeasured('run interrupted before this scenario'), { notMeasured: 'baseline not measured: run interrupted before this scenario' }],
    ['no baseline in the run → not measured, why', measured(1, [5]), undefined, { notMeasured: NO_BASELINE }],
    ['method not measured → not measured', notMeasured('scenario failed: boom'), measured(1, [2]), { notMeasured: 'not measured with the method: scenario failed: boom' }],
  ])('%s', (_n, withMethod, baseline, want) => expect(attributable(withMethod, baseline)).toEqual(want));
});

const end = (at: number): Ev => ({ at, kind: 'run-end', data: { status: 'completed' } });
const canary = (at: number, isUp: boolean): Ev => ({ at, kind: 'canary', node: 'n1', data: { up: isUp } });
const mark = (at: number, step: string): Ev => ({ at, kind: 'progress', data: { step, trigger: true } });

/** An upgrade that reboots the node once, with or without the method's driver. */
function upgradeBody(at: number, bootId: string, withDriver: boolean): Ev[] {
  return [
    ...(withDriver ? [apply(at), mod(at + 500, true)] : []),
    canary(at + 600, true),
    withDriver ? { at: at + 1000, kind: 'progress', data: { step: 'upgrade start' } } : mark(at + 1000, 'upgrade start'),
    canary(at + 1100, false),
    down(at + 1200),
    up(at + 4000, bootId, '6.1.0-56-amd64'),
    canary(at + 4500 + (withDriver ? 2000 : 0), true),
    ...(withDriver ? [mod(at + 5000, true)] : []),
  ];
}

describe('deriveRun with a baseline', () => {
  const events: Ev[] = [
    runStart({ scenarios: ['upgrade'], baseline: true }),
    up(1, 'b0'),
    ...scenario('baseline', 'upgrade', 100, 9_000, upgradeBody(200, 'b1', false)),
    ...scenario('dtk', 'upgrade', 10_000, 20_000, upgradeBody(10_100, 'b2', true)),
    end(20_001),
  ];
  const rows = deriveRun(runOf(events));
  const base = rows.find((r) => r.method === 'baseline')!;
  const dtk = rows.find((r) => r.method === 'dtk')!;

  it('the baseline row comes first and carries impact figures only', () => {
    expect(rows.map((r) => r.method)).toEqual(['baseline', 'dtk']);
    expect(Object.keys(base.metrics).sort()).toEqual(['canaryDisruptionMs', 'canaryFailedProbes', 'downtimeLongestMs', 'downtimeTotalMs', 'nodesLeftOnOldRelease', 'podRestarts', 'reboots']);
    expect(base.attributable).toBeUndefined();
    // Its trigger is its own start mark: the upgrade's reboot counts, the clean-state boot does not.
    expect(base.metrics['reboots']).toMatchObject({ value: 1 });
  });

  it('the upgrade reboots the node either way: the method adds no reboot, and only its extra canary downtime', () => {
    expect(dtk.metrics['reboots']).toMatchObject({ value: 1 });
    expect(dtk.attributable!['reboots']).toMatchObject({ value: 0 });
    const m = (dtk.metrics['canaryDisruptionMs'] as { value: number }).value;
    const b = (base.metrics['canaryDisruptionMs'] as { value: number }).value;
    expect(m - b).toBe(2000);
    expect(dtk.attributable!['canaryDisruptionMs']).toMatchObject({ value: 2000 });
    // Audit trail: the lines of both segments.
    const from = (dtk.attributable!['reboots'] as { from: number[] }).from;
    expect(from.some((l) => l < events.findIndex((e) => e.method === 'dtk') + 1)).toBe(true);
  });

  it('a run without a baseline says so in every attributable figure', () => {
    const noBase = deriveRun(runOf([runStart({ scenarios: ['upgrade'] }), up(1, 'b0'), ...scenario('dtk', 'upgrade', 100, 9_000, upgradeBody(200, 'b1', true)), end(9_001)]));
    expect(noBase.map((r) => r.method)).toEqual(['dtk']);
    expect(noBase[0]!.attributable!['reboots']).toEqual({ notMeasured: NO_BASELINE });
  });

  it('a baseline planned but cut short: attributable is not measured, with the baseline’s reason', () => {
    const cut = deriveRun(runOf([runStart({ scenarios: ['upgrade'], baseline: true }), up(1, 'b0'), ...scenario('baseline', 'upgrade', 100, undefined, upgradeBody(200, 'b1', false).slice(0, 3))]));
    const d = cut.find((r) => r.method === 'dtk')!;
    expect(d.attributable!['reboots']).toHaveProperty('notMeasured');
    expect((cut.find((r) => r.method === 'baseline')!.metrics['reboots'] as { notMeasured: string }).notMeasured).toMatch(/interrupted/);
  });
});

describe('the baseline in the run record', () => {
  it('"baseline" is a valid method of an event; a misspelt one is refused with the line', () => {
    const ok = runOf([runStart({ baseline: true }), ...scenario('baseline', 'day2', 100, 200, [mark(150, 'day2 start')])]);
    expect(ok.warnings).toEqual([]);
    const bad = runOf([runStart(), ...scenario('base-line', 'day2', 100, 200, [])]);
    expect(bad.warnings).toContainEqual(expect.stringMatching(/^line 2: not an event \(method: /));
  });
});
