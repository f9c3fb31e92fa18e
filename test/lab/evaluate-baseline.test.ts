/**
 * A real lab evaluation with its baseline: `kmodlab evaluate --methods dtk --scenarios
 * day2` runs the day-2 scenario once with no driver method (method "baseline": the node
 * is installed and sampled, nothing is applied) and once with DTK, in the same run. The
 * report has a baseline row, attributable figures (with DTK − baseline) behind the
 * summary's "measured / attributable" pairs, and the canary probed for real in both.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { readRun } from '../../src/evaluation/read-run.js';
import type { Report } from '../../src/report/model.js';
import { labAvailability, removeTempDirs, skipReason, tempDir } from './helpers.js';

const availability = labAvailability();
afterAll(removeTempDirs);

describe.skipIf(!availability.ok)(`evaluate with a baseline (lab)${skipReason(availability)}`, () => {
  it('one scenario, one method: a baseline row, attributable figures, real canary probes', { timeout: 600_000 }, async () => {
    const out = join(tempDir('eval-baseline'), 'run');
    let err = '';
    const code = await main(['node', 'kmodlab', 'evaluate', '--methods', 'dtk', '--scenarios', 'day2', '--out', out], { stdout: () => undefined, stderr: (t) => void (err += t) });
    expect(code, err.slice(-3000)).toBe(0);
    expect(err).toMatch(/\[\d\d:\d\d 1\/2\] baseline\/day2: start/);

    const run = readRun(out);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    const base = report.results.find((r) => r.method === 'baseline' && r.scenario === 'day2')!;
    const dtk = report.results.find((r) => r.method === 'dtk' && r.scenario === 'day2')!;
    expect(base.status).toBe('completed');
    expect(dtk.status).toBe('completed');
    // Nothing applied in the baseline: no apply, no build, no pod of a method.
    const baseEvents = run.events.filter((e) => e.method === 'baseline');
    expect(baseEvents.filter((e) => ['apply', 'build', 'pod-start'].includes(e.kind))).toEqual([]);
    // The canary was probed for real in both segments (raw samples with their duration).
    for (const m of ['baseline', 'dtk']) {
      const probes = run.events.filter((e) => e.kind === 'canary' && e.method === m);
      expect(probes.length, m).toBeGreaterThan(0);
      expect(probes.every((p) => typeof p.data['probeMs'] === 'number')).toBe(true);
    }
    // Attributable = DTK − baseline, exactly, for every impact figure both measured.
    for (const [id, a] of Object.entries(dtk.attributable ?? {})) {
      const m = dtk.metrics[id];
      const b = base.metrics[id];
      if (a && 'value' in a && m && 'value' in m && b && 'value' in b) expect(a.value, id).toBe(Number(m.value) - Number(b.value));
    }
    expect(dtk.attributable?.['reboots']).toEqual(expect.objectContaining({ value: 0 }));
    // The summary pairs them ("no reboot / 0") and says what attributable means once.
    const row = report.summary.rows.find((r) => r.method === 'dtk')!;
    const cell = row.cells[report.summary.columnIds.indexOf('day2')]!;
    expect(cell.text).toMatch(/no reboot \/ 0/);
    expect(cell.notes.map((n) => report.summary.footnotes[n - 1])).toContainEqual(expect.stringMatching(/attributable .* the baseline/));
    // Markdown: the per-scenario table has the baseline column and the attributable rows.
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| Metric \| dtk \| baseline \|/);
    expect(md).toMatch(/\| Reboots, attributable \(− baseline\) \| 0 \| — \|/);
    const secs = (r: typeof base) => (Date.parse(r.endedAt!) - Date.parse(r.startedAt!)) / 1000;
    console.log(`baseline day2: ${secs(base).toFixed(1)} s; dtk day2: ${secs(dtk).toFixed(1)} s`);
  });
});
