/** KMM's time to driver and the operator install: measured where the target sees it, "not measured (why)" where not. */
import { describe, expect, it } from 'vitest';
import { deriveScenario } from '../../src/evaluation/metrics/index.js';
import { NO_OPERATOR } from '../../src/evaluation/metrics/operator-install.js';
import { readRun } from '../../src/evaluation/read-run.js';
import { FIXTURES, reportFixture } from '../report/support.js';
import { apply, mod, runOf, runStart, scenario, up, type Ev } from './helpers.js';
import path from 'node:path';

const podStart = (at: number, pod: string, component: string, extra: Record<string, unknown> = {}): Ev => ({ at, kind: 'pod-start', node: 'n1', data: { pod, component, ...extra } });
const day2 = (body: Ev[]) => deriveScenario(runOf([runStart({ methods: ['kmm'] }), ...scenario('kmm', 'day2', 0, 90_000, [up(1, 'b1'), ...body])]), 'kmm', 'day2').metrics;

describe('operatorInstallMs', () => {
  it('cluster: from the apply to the last operator pod running, and time to driver (same apply) includes it', () => {
    const m = day2([apply(10_000), podStart(31_000, 'openshift-kmm/kmm-operator-controller-abc', 'kmm-operator-controller'), podStart(34_500, 'openshift-kmm/kmm-operator-webhook-def', 'kmm-operator-webhook'), mod(52_000, true)]);
    expect(m['operatorInstallMs']).toMatchObject({ value: 24_500 });
    expect(m['timeToDriverMs']).toMatchObject({ value: 42_000 });
    expect((m['timeToDriverMs'] as { value: number }).value).toBeGreaterThanOrEqual((m['operatorInstallMs'] as { value: number }).value);
  });

  it('cluster with the operator installed before the run: not measured, saying so', () => {
    const m = day2([podStart(500, 'openshift-kmm/kmm-operator-controller-abc', 'kmm-operator-controller'), apply(10_000), mod(20_000, true)]);
    expect(m['operatorInstallMs']).toEqual({ notMeasured: expect.stringMatching(/^the operator was running before the apply .*installed before this run/) });
  });

  it('a method without an operator', () => {
    const m = day2([apply(10_000), podStart(12_000, 'x/driver-container-abc', 'driver-container'), mod(20_000, true)]);
    expect(m['operatorInstallMs']).toEqual({ notMeasured: NO_OPERATOR });
  });

  it('the real lab run: the emulated operator is not measured, saying why', () => {
    const run = readRun(path.join(FIXTURES, 'lab-recorded'));
    const day1 = deriveScenario(run, 'kmm', 'day1').metrics['operatorInstallMs'];
    expect(day1).toEqual({ notMeasured: expect.stringMatching(/^the lab emulates the operator: .*no install to time/) });
    expect(deriveScenario(run, 'layering', 'day1').metrics['operatorInstallMs']).toEqual({ notMeasured: NO_OPERATOR });
  });

  it('the report notes it on the day-2 cell when day 2 ran', () => {
    const r = reportFixture('complete').report;
    const row = r.summary.rows.find((x) => x.method === 'kmm')!;
    const cell = row.cells[r.summary.columnIds.indexOf('day2')]!;
    const notes = cell.notes.map((n) => r.summary.footnotes[n - 1]);
    const m = r.results.find((x) => x.method === 'kmm' && x.scenario === 'day2')!.metrics['operatorInstallMs']!;
    if ('value' in m) expect(notes).toContainEqual(expect.stringMatching(/^kmm, day2: time to driver includes the operator install, /));
    else if (m.notMeasured !== NO_OPERATOR) expect(notes).toContain(`kmm, day2: operator install not measured: ${m.notMeasured}`);
    for (const other of ['layering', 'dtk']) {
      const o = r.summary.rows.find((x) => x.method === other)!.cells[r.summary.columnIds.indexOf('day2')]!;
      expect(o.notes.map((n) => r.summary.footnotes[n - 1]).some((f) => /operator install/.test(f!))).toBe(false);
    }
  });
});
