/**
 * The verdict's ranking rules, on a real recorded lab run (test/fixtures/runs/lab-recorded)
 * and on the generated one: every claim backed by a figure of the run or a documented
 * feature with its source; misses rank below partial answers below full ones; measured
 * impact breaks ties; constraints no method meets are named.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { allMethods } from '../../src/methods/index.js';
import { metricAt, type Report } from '../../src/report/model.js';
import { CONSTRAINT_IDS, verdict, type ConstraintId, type Verdict } from '../../src/report/verdict.js';
import { writeReports } from '../../src/report/write.js';
import { FIXED_NOW, FIXTURES, reportFixture } from './support.js';

const real = reportFixture('lab-recorded').report;
const generated = reportFixture('complete').report;
const num = (r: Report, p: string) => {
  const m = metricAt(r, p);
  return m && 'value' in m && typeof m.value === 'number' ? m.value : undefined;
};
const bool = (r: Report, p: string) => {
  const m = metricAt(r, p);
  return m && 'value' in m && typeof m.value === 'boolean' ? m.value : undefined;
};
const rankOf = (v: Verdict, method: string) => v.ranking.find((x) => x.method === method)!.rank;
const answer = (v: Verdict, method: string, c: ConstraintId) => v.ranking.find((x) => x.method === method)!.assessments.find((a) => a.constraint === c)!;

async function kmodlab(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'kmodlab', ...args], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

describe.each([
  ['the real recorded run', real],
  ['the generated run', generated],
])('verdict on %s', (_name, report) => {
  it('every claim is backed: measured figures equal report.json, documented ones carry the method’s source', () => {
    const v = verdict(report, CONSTRAINT_IDS);
    expect(v.ranking).toHaveLength(report.methods.length);
    for (const r of v.ranking) {
      expect(r.assessments.map((a) => a.constraint)).toEqual(CONSTRAINT_IDS);
      for (const a of r.assessments) {
        expect(a.evidence.length, `${r.method} ${a.constraint}`).toBeGreaterThan(0);
        for (const e of a.evidence) {
          if (e.kind === 'measured') {
            expect(e.metric.startsWith(`${r.method}.`)).toBe(true);
            expect((metricAt(report, e.metric) as { value: unknown }).value).toEqual(e.value);
          } else {
            const fact = allMethods().find((m) => m.id === r.method)!.features.find((f) => f.key === e.feature)!;
            expect(e.source).toBe(fact.source);
            expect(e.source).toMatch(/^https:\/\//);
          }
        }
      }
    }
  });

  it('no-reboot is judged from the measured day-2 reboots where they were measured', () => {
    const v = verdict(report, ['no-reboot']);
    for (const m of report.methods) {
      const reboots = num(report, `${m.id}.day2.reboots`);
      const a = answer(v, m.id, 'no-reboot');
      if (reboots === undefined) {
        expect(a.evidence.map((e) => e.kind)).toEqual(['documented']);
      } else {
        expect(a.meets).toBe(reboots === 0 ? 'yes' : 'no');
        expect(a.evidence).toContainEqual(expect.objectContaining({ kind: 'measured', metric: `${m.id}.day2.reboots`, value: reboots }));
      }
    }
    // A method that rebooted ranks below every one that did not.
    const rebooted = report.methods.filter((m) => (num(report, `${m.id}.day2.reboots`) ?? 0) > 0).map((m) => m.id);
    expect(rebooted.length).toBeGreaterThan(0);
    for (const r of rebooted) for (const o of v.ranking.filter((x) => answer(v, x.method, 'no-reboot').meets === 'yes')) expect(rankOf(v, r)).toBeGreaterThan(o.rank);
  });

  it('follow-upgrades is judged from the upgrade scenario: restored with no manual step → meets', () => {
    const v = verdict(report, ['follow-upgrades']);
    for (const m of report.methods) {
      const ok = bool(report, `${m.id}.upgrade.success`);
      const manual = num(report, `${m.id}.upgrade.manualSteps`) ?? 0;
      expect(answer(v, m.id, 'follow-upgrades').meets).toBe(ok === undefined ? expect.anything() : ok && manual === 0 ? 'yes' : ok ? 'partly' : 'no');
    }
    expect(v.ranking[0]!.method).toBe(report.methods.find((m) => bool(report, `${m.id}.upgrade.success`) === true && !num(report, `${m.id}.upgrade.manualSteps`))!.id);
  });

  it('misses rank below partial answers, which rank below full ones', () => {
    const v = verdict(report, CONSTRAINT_IDS);
    const key = (r: Verdict['ranking'][number]) => [r.assessments.filter((a) => a.meets === 'no').length, r.assessments.filter((a) => a.meets === 'partly').length];
    for (let i = 1; i < v.ranking.length; i++) {
      const [a, b] = [key(v.ranking[i - 1]!), key(v.ranking[i]!)];
      expect(a[0]! < b[0]! || (a[0] === b[0] && a[1]! <= b[1]!), JSON.stringify([a, b])).toBe(true);
    }
  });

  it('without constraints, measured impact alone decides: fewer day-2 reboots first', () => {
    const v = verdict(report, []);
    expect(v.unmet).toEqual([]);
    for (const r of v.ranking) expect(r.assessments).toEqual([]);
    const reboots = v.ranking.map((r) => r.impact.day2Reboots).filter((x): x is number => x !== undefined);
    expect(reboots).toEqual([...reboots].sort((a, b) => a - b));
  });

  it('names the constraints no method fully meets', () => {
    const v = verdict(report, CONSTRAINT_IDS);
    for (const c of CONSTRAINT_IDS) {
      const someone = v.ranking.some((r) => answer(v, r.method, c).meets === 'yes');
      expect(v.unmet.includes(c), c).toBe(!someone);
    }
    // Only layering runs no privileged pod (documented), and it reboots.
    expect(answer(v, 'layering', 'no-privileged-pods').meets).toBe('yes');
    expect(answer(v, 'dtk', 'no-privileged-pods').meets).toBe('no');
    expect(answer(v, 'kmm', 'no-privileged-pods').meets).toBe('no');
  });
});

describe('the real run: KMM’s day 2 failed under load', () => {
  it('its day-2 figures are not measured, so no-reboot falls back to the documentation (with its source)', () => {
    expect(metricAt(real, 'kmm.day2.reboots')).toHaveProperty('notMeasured');
    const a = answer(verdict(real, ['no-reboot']), 'kmm', 'no-reboot');
    expect(a.evidence).toEqual([expect.objectContaining({ kind: 'documented', feature: 'reboot-required' })]);
    expect(a.meets).toBe('yes');
  });
});

describe('kmodlab recommend', () => {
  const copy = (name: string) => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-rec-')), name);
    cpSync(path.join(FIXTURES, name), dir, { recursive: true });
    return dir;
  };

  it('prints a numbered ranking "1. <method> (variant) — why" and the unmet constraints', async () => {
    const r = await kmodlab('recommend', copy('lab-recorded'), '--constraints', 'sno,no-reboot,day1-network-driver,no-privileged-pods');
    expect(r.code, r.stderr).toBe(0);
    const ranks = r.stdout.split('\n').filter((l) => /^\d+\. /.test(l));
    expect(ranks).toHaveLength(3);
    ranks.forEach((l, i) => expect(l).toMatch(new RegExp(`^${i + 1}\\. (layering|dtk|kmm) \\([a-z-]+\\) — `)));
    expect(r.stdout).toMatch(/^No method fully meets: .*day1-network-driver/m);
  });

  it('-o json is the verdict of the report', async () => {
    const dir = copy('lab-recorded');
    const r = await kmodlab('recommend', dir, '--constraints', 'follow-upgrades', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as Verdict;
    expect(v.constraints).toEqual(['follow-upgrades']);
    expect(v).toEqual(JSON.parse(JSON.stringify(verdict(real, ['follow-upgrades']))));
  });

  it.each([
    [['--constraints', 'sno,fast'], /--constraints: unknown "fast": expected a comma-separated list of sno, no-reboot/],
    [['-o', 'yaml'], /-o\/--output yaml: expected text or json/],
  ])('bad input %j → exit 2 naming the flag', async (args, msg) => {
    const r = await kmodlab('recommend', copy('complete'), ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});

describe('the reports open with the verdict for the constraints given to evaluate', () => {
  it('constraints recorded in run-start are the verdict’s; Markdown and HTML show it before the summary', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-rec-')), 'run');
    cpSync(path.join(FIXTURES, 'lab-recorded'), dir, { recursive: true });
    const file = path.join(dir, 'events.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const start = JSON.parse(lines[0]!);
    start.data.constraints = ['sno', 'follow-upgrades'];
    writeFileSync(file, `${[JSON.stringify(start), ...lines.slice(1)].join('\n')}\n`);
    const w = writeReports(dir, { now: FIXED_NOW });
    expect(w.report.verdict).toEqual(JSON.parse(JSON.stringify(verdict(w.report, ['sno', 'follow-upgrades']))));
    const md = w.texts.md;
    expect(md.indexOf('## Verdict')).toBeGreaterThan(0);
    expect(md.indexOf('## Verdict')).toBeLessThan(md.indexOf('## Summary'));
    expect(md).toMatch(/For the constraints \*\*sno, follow-upgrades\*\*/);
    expect(md).toMatch(/^1\. \*\*kmm\*\* \(in-cluster-build\) — /m);
    expect(w.texts.html.indexOf('id="verdict"')).toBeLessThan(w.texts.html.indexOf('id="summary"'));
  });

  it('without constraints the report says it ranked on measured impact alone', () => {
    expect(reportFixture('complete').texts.md).toMatch(/## Verdict\n\nNo constraints were given to `kmodlab evaluate --constraints`: ranked on measured impact alone\./);
  });

  it('evaluate --constraints with an unknown name → exit 2 before anything is created', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-rec-')), 'run');
    const r = await kmodlab('evaluate', '--constraints', 'no-reboot,cheap', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--constraints: unknown value "cheap"/);
    expect(existsSync(out)).toBe(false);
  });
});
