/** The seed's summary table, filled from measurements; honest about what was not measured. */
import { describe, expect, it } from 'vitest';
import { SUMMARY_COLUMNS } from '../../src/report/model.js';
import { reportFixture } from './support.js';

const complete = reportFixture('complete');
const interrupted = reportFixture('interrupted');
const cells = (r: typeof complete, method: string) => r.report.summary.rows.find((x) => x.method === method)!.cells.map((c) => c.text);

describe('summary of the complete run', () => {
  it('has exactly the seed’s columns, one row per method', () => {
    expect(complete.report.summary.columns).toEqual([...SUMMARY_COLUMNS]);
    expect(complete.report.summary.columns.join(' | ')).toBe('Out-Of-Tree method | Additional resource consumption | Day1 | Day2 | Upgrade rollout | Memory consumption [B]');
    expect(complete.report.summary.rows.map((r) => r.method)).toEqual(['layering', 'dtk', 'kmm']);
  });

  it('no empty or #N/A cell; "not measured" only for what the lab emulates, saying so', () => {
    for (const row of complete.report.summary.rows) {
      expect(row.cells).toHaveLength(6);
      for (const c of row.cells) {
        expect(c.text.trim()).not.toBe('');
        expect(c.text).not.toMatch(/#N\/A|undefined|NaN|null/);
        for (const m of c.text.matchAll(/not measured \(([^)]*)\)/g)) expect(m[1]).toMatch(/emulated by the target/);
      }
    }
  });

  it('the Markdown table has the same cells', () => {
    const lines = complete.texts.md.split('\n');
    const head = lines.findIndex((l) => l.startsWith('| Out-Of-Tree method'));
    expect(lines[head]).toBe(`| ${SUMMARY_COLUMNS.join(' | ')} |`);
    for (let i = 0; i < 3; i++) expect(lines[head + 2 + i]!.split(' | ').length).toBe(6);
  });

  it.each([
    ['layering', 2, /^loaded only after 1 extra reboot on 1\/1 nodes, [\d.]+ s \[lab \(QEMU TCG\)\] after first boot$/],
    ['layering', 3, /^loaded on 1\/1 nodes in [\d.]+ s \[lab \(QEMU TCG\)\], 1 reboot \([\d.]+ s \[lab \(QEMU TCG\)\] down\)$/],
    ['layering', 4, /^not restored: manual rebuild needed \(1 manual step\), 1\/1 node left on old release$/],
    ['layering', 5, /^0 \(no resident component\)$/],
    ['dtk', 2, /^loaded at first boot on 1\/1 nodes, [\d.]+ s \[lab \(QEMU TCG\)\] after first boot, 0 extra reboots$/],
    ['dtk', 3, /^loaded on 1\/1 nodes in [\d.]+ s \[lab \(QEMU TCG\)\], 0 reboots$/],
    ['dtk', 4, /^not restored: manual rebuild needed \(1 manual step\), driver loaded on 0\/1 nodes after the upgrade, 4 pod restarts$/],
    ['dtk', 5, /^1,0\d\d,\d\d\d \(median, driver-container\)$/],
    ['kmm', 4, /^restored automatically in [\d.]+ s \[lab \(QEMU TCG\)\]$/],
    // The lab emulates KMM's operator: its cost is not measured there, and the cell says so.
    ['kmm', 1, /^resident components: not measured \(kmm-operator emulated by the target, [^)]*\); driver build \(day2\): [\d.]+ s \[lab \(QEMU TCG\)\] wall, /],
    ['kmm', 5, /^not measured \(kmm-operator emulated by the target/],
  ])('%s column %i', (method, col, re) => expect(cells(complete, method)[col]).toMatch(re));

  it('every duration carries the target label', () => {
    for (const row of complete.report.summary.rows) {
      for (const c of row.cells) for (const m of c.text.matchAll(/\d(?:\.\d)? (?:ms|s)\b( \[[^\]]+\])?/g)) expect(m[1], c.text).toBe(' [lab (QEMU TCG)]');
    }
  });

  it('each cell lists the metrics it was composed from', () => {
    const day2 = complete.report.summary.rows[1]!.cells[3]!;
    expect(day2.metrics).toEqual(expect.arrayContaining(['dtk.day2.success', 'dtk.day2.timeToDriverMs', 'dtk.day2.reboots']));
  });
});

describe('summary of the interrupted run (killed during dtk upgrade)', () => {
  it('reports what was measured before the kill', () => {
    expect(interrupted.report.run.status).toBe('interrupted');
    expect(cells(interrupted, 'layering')).toEqual(cells(complete, 'layering'));
    expect(cells(interrupted, 'dtk')[3]).toBe(cells(complete, 'dtk')[3]);
  });

  it('marks the scenario it was killed in, with what was seen', () => {
    expect(cells(interrupted, 'dtk')[4]).toBe('not measured (run interrupted during this scenario; seen before it: 1 reboot, 2 pod restarts)');
  });

  it('marks everything after the kill "not measured (run interrupted …)"', () => {
    const kmm = cells(interrupted, 'kmm');
    for (const c of kmm.slice(2)) expect(c).toBe('not measured (run interrupted before this scenario)');
    expect(kmm[1]).toMatch(/^resident components: not measured \(run interrupted before this scenario\); driver build: not measured \(run interrupted before this scenario\)$/);
    for (const r of interrupted.report.results.filter((x) => x.method === 'kmm')) {
      expect(r.status).toBe('not-run');
      for (const m of Object.values(r.metrics)) expect('notMeasured' in m).toBe(true);
    }
  });

  it('no cell is empty or #N/A there either', () => {
    for (const row of interrupted.report.summary.rows) for (const c of row.cells) expect(c.text).toMatch(/\S/), expect(c.text).not.toMatch(/#N\/A|undefined|NaN/);
  });

  it('the warnings name the cut-short line', () => {
    expect(interrupted.report.run.warnings).toEqual([expect.stringMatching(/^line \d+: last line is cut short/)]);
    expect(interrupted.texts.md).toContain('Run interrupted');
  });
});
