/**
 * `kmodlab evaluate --target cluster` end to end against the fake Kubernetes API server:
 * with --dry-run=server nothing is stored, with --observe-only nothing but reads is
 * sent; both write the three reports, labelled `cluster (<context>)`, and day1 is
 * reported as needing install time.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadDriver } from '../../src/driver/load.js';
import type { Report } from '../../src/report/model.js';
import { startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { FIXTURE_TOKEN, fixtureSecrets, kubeconfigFor, tempDir } from './helpers.js';

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(['node', 'kmodlab', ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe('kmodlab evaluate --target cluster (fake API server)', () => {
  let cluster: FakeCluster;
  beforeEach(async () => {
    const driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
    cluster = await startFakeCluster(FIXTURE_TOKEN, driver.modules.map((m) => m.name));
  });
  afterEach(async () => {
    await cluster.api.stop();
  });

  it.each([['--dry-run=server'], ['--observe-only']])('%s: runs, changes nothing, writes the reports', async (mode) => {
    const out = tempDir('kmodlab-cluster-cli-');
    const kubeconfig = kubeconfigFor('ocp-token.kubeconfig', cluster.api.url);
    const names = () => cluster.api.all().map((o) => `${o.kind}/${(o.metadata as { namespace?: string }).namespace ?? ''}/${(o.metadata as { name: string }).name}`).sort();
    const before = names();
    const r = await cli('evaluate', '--target', 'cluster', '--kubeconfig', kubeconfig, mode, '--methods', 'dtk', '--scenarios', 'day1,day2,uninstall', '--settle-timeout', '2', '--steady', '1', '--out', out, '--prometheus-url', 'http://127.0.0.1:9');
    expect(r.code, r.err).toBe(0);
    for (const f of ['events.jsonl', 'report.md', 'report.json', 'report.html']) expect(existsSync(path.join(out, f)), f).toBe(true);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    expect(report.run.targetLabel).toMatch(/^cluster \(/);
    const day1 = report.results.find((x) => x.method === 'dtk' && x.scenario === 'day1')!;
    expect(day1.status).toBe('not-run');
    expect(day1.reason).toMatch(/requires install time/);
    expect(report.results.find((x) => x.method === 'dtk' && x.scenario === 'day2')!.status).toBe('completed');
    expect(names()).toEqual(before); // nothing created or deleted
    const text = readFileSync(path.join(out, 'events.jsonl'), 'utf8') + r.err + r.out;
    for (const s of fixtureSecrets()) expect(text).not.toContain(s);
  });

  it('refuses lab-only and conflicting flags with exit code 2', async () => {
    expect((await cli('evaluate', '--target', 'cluster', '--kernel', '6.1.0-56-amd64')).err).toMatch(/--kernel applies to --target lab/);
    expect((await cli('evaluate', '--target', 'lab', '--kubeconfig', 'x')).err).toMatch(/--kubeconfig applies to --target cluster/);
    const r = await cli('evaluate', '--target', 'cluster', '--dry-run', 'server', '--observe-only');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/conflict/);
    expect((await cli('evaluate', '--target', 'cluster', '--upgrade-to', '4.14.13')).err).toMatch(/--yes-upgrade-my-cluster/);
  });

  it('--out holding a run: refused (exit 2) unless --overwrite, which replaces it', async () => {
    const out = tempDir('kmodlab-cluster-cli-');
    const kubeconfig = kubeconfigFor('ocp-token.kubeconfig', cluster.api.url);
    const args = ['evaluate', '--target', 'cluster', '--kubeconfig', kubeconfig, '--dry-run=server', '--methods', 'dtk', '--scenarios', 'day2', '--settle-timeout', '2', '--steady', '1', '--out', out, '--prometheus-url', 'http://127.0.0.1:9'];
    expect((await cli(...args)).code).toBe(0);
    const first = readFileSync(path.join(out, 'events.jsonl'), 'utf8');
    const again = await cli(...args);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/--out .*already holds a run/);
    expect(again.err).toMatch(/--overwrite/);
    expect(readFileSync(path.join(out, 'events.jsonl'), 'utf8')).toBe(first);
    const replaced = await cli(...args, '--overwrite');
    expect(replaced.code, replaced.err).toBe(0);
    const events = readFileSync(path.join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    expect(events.filter((e) => e.kind === 'run-start')).toHaveLength(1);
    expect(readFileSync(path.join(out, 'events.jsonl'), 'utf8')).not.toBe(first);
  });

  it('--out: a non-empty directory that holds no run is never emptied', async () => {
    const out = tempDir('kmodlab-cluster-cli-');
    writeFileSync(path.join(out, 'notes.txt'), 'mine');
    const r = await cli('evaluate', '--target', 'cluster', '--dry-run=server', '--out', out, '--overwrite');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not empty and holds no run/);
    expect(readFileSync(path.join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('kmodlab evaluate: a failed scenario (fake API server)', () => {
  let cluster: FakeCluster;
  beforeEach(async () => {
    // The driver containers "load" a module the driver does not have: the driver never shows up.
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['some-other-module']);
  });
  afterEach(async () => {
    await cluster.api.stop();
  });

  it('exits 3, not 1 or 0, and still writes the reports', async () => {
    const out = tempDir('kmodlab-cluster-cli-');
    const kubeconfig = kubeconfigFor('ocp-token.kubeconfig', cluster.api.url);
    // uninstall needs the driver loaded before it removes it: it fails; day2 only records what it saw.
    const r = await cli('evaluate', '--target', 'cluster', '--kubeconfig', kubeconfig, '--methods', 'dtk', '--scenarios', 'day2,uninstall', '--settle-timeout', '1', '--steady', '1', '--out', out, '--prometheus-url', 'http://127.0.0.1:9');
    expect(r.code, r.err).toBe(3);
    expect(r.err).toMatch(/1 scenario\(s\) failed/);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    expect(report.results.find((x) => x.method === 'dtk' && x.scenario === 'uninstall')!.status).toBe('failed');
    expect(report.results.find((x) => x.method === 'dtk' && x.scenario === 'day2')!.status).toBe('completed');
  });
});
