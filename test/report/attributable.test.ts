/**
 * Attributable figures and the ranking on them, on a real recorded lab run with a
 * baseline (test/fixtures/runs/lab-baseline): every attributable figure is the method's
 * minus the baseline's for the same scenario, the summary pairs them "measured /
 * attributable" with one footnote saying what that means, and the verdict ranks on the
 * attributable figures.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { writeReports } from '../../src/report/write.js';
import { FIXED_NOW, FIXTURES } from './support.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summaryMarkdown, verdictMarkdown } from '../../src/report/markdown.js';
import { metricAt, type Report } from '../../src/report/model.js';
import { CONSTRAINT_IDS, verdict } from '../../src/report/verdict.js';
import { ATTRIBUTABLE_NOTE } from '../../src/report/summary.js';
import { IMPACT_METRICS } from '../../src/evaluation/metrics/attributable.js';
import { reportFixture } from './support.js';

const fixture = reportFixture('lab-baseline');
const report: Report = fixture.report;
const value = (p: string) => {
  const m = metricAt(report, p);
  return m && 'value' in m && typeof m.value === 'number' ? m.value : undefined;
};

describe('a recorded run with a baseline', () => {
  it('has a baseline result per scenario, with impact figures only', () => {
    const base = report.results.filter((r) => r.method === 'baseline');
    expect(base.map((r) => r.scenario)).toEqual(report.scenarios);
    for (const r of base) {
      expect(r.attributable).toBeUndefined();
      for (const id of Object.keys(r.metrics)) expect([...IMPACT_METRICS, 'nodesLeftOnOldRelease']).toContain(id);
    }
  });

  it('attributable = method − baseline for every impact figure both measured; else not measured with why', () => {
    let compared = 0;
    for (const m of report.methods) {
      for (const s of report.scenarios) {
        for (const id of IMPACT_METRICS) {
          const a = metricAt(report, `${m.id}.${s}.attributable.${id}`);
          if (!a) continue;
          const mine = value(`${m.id}.${s}.${id}`);
          const base = value(`baseline.${s}.${id}`);
          if (mine !== undefined && base !== undefined) {
            expect(a, `${m.id}.${s}.${id}`).toHaveProperty('value', mine - base);
            compared++;
          } else expect(a, `${m.id}.${s}.${id}`).toHaveProperty('notMeasured');
        }
      }
    }
    expect(compared).toBeGreaterThan(20);
  });

  it('the upgrade reboots the node with or without a method: the methods that move with it add no reboot', () => {
    expect(value('baseline.upgrade.reboots')).toBeGreaterThanOrEqual(1);
    for (const m of ['dtk', 'kmm']) {
      const measured = value(`${m}.upgrade.reboots`);
      // A scenario that failed before the release change has nothing to compare.
      if (measured === undefined || report.results.find((r) => r.method === m && r.scenario === 'upgrade')?.status !== 'completed') continue;
      expect(measured).toBeGreaterThanOrEqual(1);
      expect(value(`${m}.upgrade.attributable.reboots`)).toBe(measured - value('baseline.upgrade.reboots')!);
    }
  });

  it('the summary shows "measured / attributable" pairs and says once what attributable means', () => {
    const texts = report.summary.rows.flatMap((r) => r.cells.map((c) => c.text));
    expect(texts.some((t) => / \/ (0|[+−]\d)/.test(t))).toBe(true);
    for (const t of texts) expect(t.length, t).toBeLessThanOrEqual(60);
    expect(report.summary.footnotes.filter((f) => f === ATTRIBUTABLE_NOTE)).toHaveLength(1);
    // Markdown: the per-scenario tables have the baseline column and attributable rows.
    expect(fixture.texts.md).toMatch(/\| Metric \| layering \| dtk \| kmm \| baseline \|/);
    expect(fixture.texts.md).toMatch(/\| Reboots, attributable \(− baseline\) \|/);
  });

  it('the verdict ranks on attributable impact, and says so', () => {
    const v = verdict(report, []);
    for (const r of v.ranking) {
      expect(r.impact.basis).toBe('attributable');
      if (r.impact.day2Reboots !== undefined) expect(r.impact.day2Reboots).toBe(value(`${r.method}.day2.attributable.reboots`));
      expect(r.why).toMatch(/measured, less the baseline/);
    }
    const reboots = v.ranking.map((r) => r.impact.day2Reboots).filter((x): x is number => x !== undefined);
    expect(reboots).toEqual([...reboots].sort((a, b) => a - b));
    // no-reboot is judged from the attributable figure, and its evidence resolves in report.json.
    for (const r of verdict(report, CONSTRAINT_IDS).ranking) {
      const a = r.assessments.find((x) => x.constraint === 'no-reboot')!;
      const e = a.evidence.find((x) => x.kind === 'measured');
      if (!e || e.kind !== 'measured') continue;
      expect(e.metric).toBe(`${r.method}.day2.attributable.reboots`);
      expect(metricAt(report, e.metric)).toHaveProperty('value', e.value);
      expect(a.meets).toBe(Number(e.value) <= 0 ? 'yes' : 'no');
    }
  });
});

describe("the README's sample report", () => {
  it('is the recorded default run’s verdict and summary table, as kmodlab writes them', () => {
    const report = reportFixture('lab-default').report;
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const sample = readme.slice(readme.indexOf('### Sample report'));
    for (const line of summaryMarkdown(report).split('\n').filter((l) => l.startsWith('|'))) expect(sample).toContain(line);
    for (const line of verdictMarkdown(report).split('\n').filter((l) => /^\d+\. /.test(l))) expect(sample).toContain(`> ${line}`);
  });
});

describe('a baseline that did not run for a scenario', () => {
  it('its cells say "?" for attributable and a footnote says why; the figures as measured stay', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-attr-')), 'run');
    cpSync(path.join(FIXTURES, 'lab-baseline'), dir, { recursive: true });
    const file = path.join(dir, 'events.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    // Drop the baseline's upgrade segment: planned (run-start says baseline), never recorded.
    writeFileSync(file, `${lines.filter((l) => !(l.includes('"method":"baseline"') && l.includes('"scenario":"upgrade"'))).join('\n')}\n`);
    const r = writeReports(dir, { now: FIXED_NOW }).report;
    const dtk = r.results.find((x) => x.method === 'dtk' && x.scenario === 'upgrade')!;
    expect(dtk.attributable!['reboots']).toEqual({ notMeasured: 'baseline not measured: scenario not run' });
    const cell = r.summary.rows.find((x) => x.method === 'dtk')!.cells[r.summary.columnIds.indexOf('upgrade')]!;
    expect(cell.text).toMatch(/1 reboot \/ \?/);
    expect(cell.notes.map((n) => r.summary.footnotes[n - 1])).toContain('dtk, upgrade: attributable reboots not measured: baseline not measured: scenario not run');
  });
});
