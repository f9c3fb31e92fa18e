/**
 * The README's main command end to end: `kmodlab evaluate` with no arguments runs every
 * method through every scenario in the lab and writes the three reports; the summary
 * table has no empty or #N/A cell, and the outcomes are the ones each method's
 * OpenShift counterpart has. A second test kills a run halfway and reports on it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { labAvailability, skipReason } from '../lab/helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'kmodlab.js');
const availability = labAvailability();

import type { Report } from '../../src/report/model.js';

type ReportJson = Report;

function metric(report: ReportJson, method: string, scenario: string, name: string): { value?: unknown; notMeasured?: string } | undefined {
  return (report.results.find((r) => r.method === method && r.scenario === scenario)?.metrics as Record<string, { value?: unknown; notMeasured?: string }> | undefined)?.[name];
}

function qemuPidsFor(runDir: string): string[] {
  const r = spawnSync('pgrep', ['-f', `qemu-system.*${runDir}`], { encoding: 'utf8' });
  return r.stdout.trim().split('\n').filter(Boolean);
}

describe.skipIf(!availability.ok)(`kmodlab evaluate (lab)${skipReason(availability)}`, () => {
  it('runs the default evaluation end to end and writes report.md, report.json and report.html', { timeout: 1_500_000 }, () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'kmodlab-e2e-')), 'run');
    const r = spawnSync(process.execPath, [BIN, 'evaluate', '--out', out], { encoding: 'utf8', cwd: ROOT, timeout: 1_480_000 });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    // progress: elapsed, step counter, time left, method/scenario, step (the 5 baseline steps come first)
    expect(r.stderr).toMatch(/\[\d\d:\d\d 18\/30 ~(<1|\d+) min left\] dtk\/upgrade: /);
    for (const f of ['events.jsonl', 'report.md', 'report.json', 'report.html']) expect(existsSync(path.join(out, f)), f).toBe(true);
    // The summary printed at the end fits a terminal: one block per method, no Markdown table.
    expect(r.stdout).toMatch(/^ {2}Additional resource consumption +\S/m);
    expect(r.stdout).not.toMatch(/^\|/m);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportJson;
    expect(report.run.status).toBe('completed');
    expect(report.run.targetLabel).toBe('lab (QEMU TCG)');
    // Every variant is a row.
    expect(report.summary.rows.map((r) => r.method)).toEqual(['layering', 'layering-on-cluster', 'dtk', 'dtk-tracking', 'kmm']);
    // The baseline ran every scenario: attributable figures are measured, not "no baseline".
    expect(report.results.filter((x) => x.method === 'baseline').map((x) => x.status)).toEqual(['completed', 'completed', 'completed', 'completed', 'completed']);
    for (const row of report.summary.rows) {
      for (const cell of row.cells) {
        expect(cell.text.trim()).not.toBe('');
        expect(cell.text).not.toMatch(/#N\/A/);
      }
    }
    for (const method of ['layering', 'layering-on-cluster', 'dtk', 'dtk-tracking', 'kmm']) {
      expect(metric(report, method, 'day2', 'success')?.value, `${method} day2`).toBe(true);
      expect(metric(report, method, 'uninstall', 'success')?.value, `${method} uninstall`).toBe(true);
      expect(metric(report, method, 'uninstall', 'leftovers')?.value, `${method} leftovers`).toBe(0);
    }
    // As on OpenShift: layering reboots, the others do not; only KMM follows the upgrade by itself.
    expect(metric(report, 'layering', 'day2', 'reboots')?.value).toBeGreaterThanOrEqual(1);
    expect(metric(report, 'dtk', 'day2', 'reboots')?.value).toBe(0);
    expect(metric(report, 'kmm', 'day2', 'reboots')?.value).toBe(0);
    expect(metric(report, 'kmm', 'upgrade', 'manualSteps')?.value).toBe(0);
    expect(metric(report, 'dtk', 'upgrade', 'manualSteps')?.value).toBeGreaterThanOrEqual(1);
    expect(metric(report, 'layering', 'upgrade', 'manualSteps')?.value).toBeGreaterThanOrEqual(1);
    // The variants that follow upgrades restore the driver on the new kernel; their pinned controls do not.
    expect(metric(report, 'dtk-tracking', 'upgrade', 'success')?.value).toBe(true);
    expect(metric(report, 'layering-on-cluster', 'upgrade', 'success')?.value).toBe(true);
    expect(metric(report, 'dtk', 'upgrade', 'success')?.value).toBe(false);
    expect(metric(report, 'layering', 'upgrade', 'success')?.value).toBe(false);
    expect(qemuPidsFor(out)).toEqual([]);
  });

  it('a run killed halfway keeps what it recorded; the report marks the rest "not measured (run interrupted)"', { timeout: 300_000 }, async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'kmodlab-e2e-int-')), 'run');
    const child = spawn(process.execPath, [BIN, 'evaluate', '--methods', 'dtk', '--scenarios', 'day2,upgrade,uninstall', '--no-baseline', '--out', out], { cwd: ROOT, stdio: 'ignore' });
    const events = path.join(out, 'events.jsonl');
    // Kill it once the first scenario is over and the second has started.
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const tick = setInterval(() => {
        const text = existsSync(events) ? readFileSync(events, 'utf8') : '';
        if (/"kind":"scenario-start","method":"dtk","scenario":"upgrade"/.test(text) && /"kind":"node-up"/.test(text.split('"scenario":"upgrade"').slice(1).join(''))) {
          clearInterval(tick);
          child.kill('SIGTERM');
          resolve();
        } else if (Date.now() - started > 240_000) {
          clearInterval(tick);
          child.kill('SIGKILL');
          reject(new Error('the run did not reach the upgrade scenario'));
        }
      }, 200);
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c, s) => r(c ?? (s ? 128 : null))));
    expect(code).toBe(143); // 128 + SIGTERM, after writing the partial report
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(qemuPidsFor(out)).toEqual([]); // no VM outlives the command
    const r = spawnSync(process.execPath, [BIN, 'report', out, '--format', 'json'], { encoding: 'utf8', cwd: ROOT });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ReportJson;
    expect(report.run.status).toBe('interrupted');
    expect(metric(report, 'dtk', 'day2', 'success')?.value).toBe(true);
    const uninstall = report.results.find((x) => x.method === 'dtk' && x.scenario === 'uninstall');
    expect(JSON.stringify(uninstall)).toMatch(/not measured|interrupted|not-run/i);
    expect(JSON.stringify(report.results.find((x) => x.method === 'dtk' && x.scenario === 'upgrade'))).toMatch(/interrupted/);
  });
});
