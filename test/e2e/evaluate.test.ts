/**
 * The README's main command end to end on the lab, its default target: `kmodlab evaluate`
 * brings the lab up (`kmodlab lab up`: QEMU nodes behind a Kubernetes API), runs the
 * cluster target against it, writes the three reports and takes the lab down. The
 * figures are the ones the method's OpenShift counterpart has (KMM follows an upgrade
 * with no manual step, nothing reboots). A second test interrupts a run and reports on it.
 *
 * The set is KMM and the baseline through day2, upgrade and uninstall: the full default
 * evaluation (every row × every scenario) takes far longer on TCG nodes and is timed by
 * `npm run bench`; the other rows are run through the same path by
 * test/lab/evaluate-lab-api.test.ts and evaluate-lab-api-day1.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRun } from '../../src/evaluation/read-run.js';
import type { Report } from '../../src/report/model.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import { labAvailability, skipReason, testLabCache } from '../lab/helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'kmodlab.js');
const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'prometheus'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0;
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: not installed: ${missing.join(', ')}]`;

function metric(report: Report, method: string, scenario: string, name: string): { value?: unknown; notMeasured?: string } | undefined {
  return (report.results.find((r) => r.method === method && r.scenario === scenario)?.metrics as Record<string, { value?: unknown; notMeasured?: string }> | undefined)?.[name];
}

describe.skipIf(!ok)(`kmodlab evaluate (lab)${ok ? '' : why}`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-e2e-'));
  // Its own lab state and cache (a lab someone runs by hand is left alone); the release
  // images come from the lab registry, named explicitly.
  let registry: LabRegistry;
  const env = () => ({ ...process.env, KMODLAB_LAB_DIR: path.join(dir, 'state'), KMODLAB_CACHE: testLabCache(path.join(dir, 'cache')), KMODLAB_REGISTRY: registry.host });
  /** QEMU processes of this file's labs (their command lines name its state directory). */
  const qemuPids = () => spawnSync('pgrep', ['-f', `qemu-system.*${dir}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  const labStatus = () => spawnSync(process.execPath, [BIN, 'lab', 'status'], { encoding: 'utf8', cwd: ROOT, env: env() }).stdout;
  beforeAll(async () => {
    registry = await openRegistry();
  });
  afterAll(async () => {
    spawnSync(process.execPath, [BIN, 'lab', 'down'], { cwd: ROOT, env: env() });
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs KMM and the baseline through day2, upgrade and uninstall and writes report.md, report.json and report.html', { timeout: 1_800_000 }, () => {
    const out = path.join(dir, 'run');
    const r = spawnSync(process.execPath, [BIN, 'evaluate', '--methods', 'kmm', '--scenarios', 'day2,upgrade,uninstall', '--out', out], { encoding: 'utf8', cwd: ROOT, env: env(), timeout: 1_780_000 });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    // progress: elapsed, step counter, time left, method/scenario, step (the 3 baseline steps come first; a row runs its upgrade last)
    expect(r.stderr).toMatch(/\[\d\d:\d\d 6\/6 ~(<1|\d+) min left\] kmm\/upgrade: /);
    for (const f of ['events.jsonl', 'report.md', 'report.json', 'report.html']) expect(existsSync(path.join(out, f)), f).toBe(true);
    // The summary printed at the end fits a terminal: one block per method, no Markdown table.
    expect(r.stdout).toMatch(/^ {2}Additional resource consumption +\S/m);
    expect(r.stdout).not.toMatch(/^\|/m);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    expect(report.run.status).toBe('completed');
    expect(report.run.targetLabel).toBe('lab (QEMU TCG)');
    expect(report.summary.rows.map((x) => x.method)).toEqual(['kmm']);
    // The baseline ran every scenario: attributable figures are measured, not "no baseline".
    expect(report.results.filter((x) => x.method === 'baseline').map((x) => x.status)).toEqual(['completed', 'completed', 'completed']);
    for (const row of report.summary.rows) {
      for (const cell of row.cells) {
        expect(cell.text.trim()).not.toBe('');
        expect(cell.text).not.toMatch(/#N\/A/);
      }
    }
    expect(metric(report, 'kmm', 'day2', 'success')?.value).toBe(true);
    expect(metric(report, 'kmm', 'uninstall', 'success')?.value).toBe(true);
    expect(metric(report, 'kmm', 'uninstall', 'leftovers')?.value).toBe(0);
    // As on OpenShift: KMM loads without a reboot and follows the upgrade by itself.
    expect(metric(report, 'kmm', 'day2', 'reboots')?.value).toBe(0);
    expect(metric(report, 'kmm', 'upgrade', 'success')?.value).toBe(true);
    expect(metric(report, 'kmm', 'upgrade', 'manualSteps')?.value).toBe(0);
    // Day 2 through the cluster target as on OpenShift: the operator installed through OLM, the
    // apply waited for its CSV to succeed (B1; the order against the Module: kmm-olm.test.ts);
    // no build failed; the modules seen loaded by probe pods on the node; no fault.
    const day2 = readRun(out).events.filter((e) => e.method === 'kmm' && e.scenario === 'day2');
    const steps = day2.filter((e) => e.kind === 'progress').map((e) => String(e.data['step']));
    expect(steps.some((s) => /Succeeded/.test(s)), steps.join('\n')).toBe(true);
    // (KMM builds only when its kmod image is not in the registry yet: an earlier run's may be.)
    expect(day2.filter((e) => e.kind === 'build' && e.data['ok'] !== true)).toEqual([]);
    expect(day2.filter((e) => e.kind === 'module-state' && e.data['loaded'] === true).map((e) => e.node)).toContain('lab-node-0');
    expect(day2.filter((e) => e.kind === 'fault')).toEqual([]);
    // The lab this run started is down again, and no VM outlives the command.
    expect(labStatus()).toMatch(/^lab: down/m);
    expect(qemuPids()).toEqual([]);
  });

  it('a run killed halfway keeps what it recorded; the report marks the rest "not measured (run interrupted)"', { timeout: 900_000 }, async () => {
    const out = path.join(dir, 'interrupted');
    const child = spawn(process.execPath, [BIN, 'evaluate', '--methods', 'dtk', '--scenarios', 'day2,uninstall', '--out', out], { cwd: ROOT, env: env(), stdio: 'ignore' });
    const events = path.join(out, 'events.jsonl');
    // Kill it once the baseline's day2 is over and dtk's day2 has applied its objects.
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      child.once('exit', (c) => {
        clearInterval(tick);
        reject(new Error(`the run ended (exit ${c}) before dtk day2 applied anything: ${existsSync(events) ? readFileSync(events, 'utf8').slice(-2000) : 'no events'}`));
      });
      const tick = setInterval(() => {
        const text = existsSync(events) ? readFileSync(events, 'utf8') : '';
        if (/"kind":"apply","method":"dtk","scenario":"day2"/.test(text)) {
          clearInterval(tick);
          child.removeAllListeners('exit');
          child.kill('SIGTERM');
          resolve();
        } else if (Date.now() - started > 840_000) {
          clearInterval(tick);
          child.kill('SIGKILL');
          reject(new Error('the run did not reach dtk day2'));
        }
      }, 200);
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c, s) => r(c ?? (s ? 128 : null))));
    expect(code).toBe(143); // 128 + SIGTERM, after writing the partial report
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    // The lab the run started goes with it: no VM outlives the command.
    let left = qemuPids();
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await new Promise((res) => setTimeout(res, 500));
      left = qemuPids();
    }
    expect(left).toEqual([]);
    const r = spawnSync(process.execPath, [BIN, 'report', out, '--format', 'json'], { encoding: 'utf8', cwd: ROOT });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.run.status).toBe('interrupted');
    expect(report.results.find((x) => x.method === 'baseline' && x.scenario === 'day2')?.status).toBe('completed');
    expect(JSON.stringify(report.results.find((x) => x.method === 'dtk' && x.scenario === 'day2'))).toMatch(/interrupted/);
    expect(JSON.stringify(report.results.find((x) => x.method === 'dtk' && x.scenario === 'uninstall'))).toMatch(/not measured|interrupted|not-run/i);
  });
});
