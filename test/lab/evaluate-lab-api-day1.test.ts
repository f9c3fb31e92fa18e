/**
 * `kmodlab evaluate --scenarios day1`: the install through the lab API —
 * the README's off-cluster build of the driver image (into the lab registry), then a fresh
 * `kmodlab lab up --manifests <the Day-1 openshift/ files>` whose API holds the objects
 * before the node joins; the DaemonSet's pod loads the driver as the node comes up.
 * Layering Day 1: build.sh's OS image is built before the install (not inside "first boot
 * → loaded"); the node joins on the stock image, the MCO's first-boot update rebases it into
 * the layered image once (one reboot), nothing is rebuilt after the boot, and the module is
 * loaded at boot.
 * KMM's Day-1 form (a loader MachineConfig whose units pull the kmod image and load it at
 * boot) is evaluate-lab-api-kmm-day1.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import { labAvailability, REPO, skipReason, testLabCache } from './helpers.js';

const BIN = path.join(REPO, 'bin', 'kmodlab.js');
const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'prometheus'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0;
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: not installed: ${missing.join(', ')}]`;

type Events = { kind: string; method?: string; scenario?: string; node?: string; data: Record<string, unknown> }[];

describe.skipIf(!ok)(`kmodlab evaluate --scenarios day1${ok ? '' : why}`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-labapi-day1-'));
  // Its own lab state and cache (a lab someone runs by hand is left alone); the release
  // images come from the lab registry, named explicitly.
  let registry: LabRegistry;
  const env = (sub = '') => ({ ...process.env, KMODLAB_LAB_DIR: path.join(dir, sub, 'state'), KMODLAB_CACHE: testLabCache(path.join(dir, sub, 'cache')), KMODLAB_REGISTRY: registry.host });
  /** bin/kmodlab.js with this file's lab state and cache (under `sub`, when given: a lab log of its own). */
  const runIn = (sub: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: REPO, env: env(sub), timeout: 1_400_000 });
  const run = (...args: string[]) => runIn('', ...args);
  beforeAll(async () => {
    registry = await openRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('dtk day1: the driver image built off-cluster, the manifests created before the node joined, the driver loaded', { timeout: 1_500_000 }, () => {
    const out = path.join(dir, 'run');
    const r = run('evaluate', '--methods', 'dtk', '--scenarios', 'day1', '--no-baseline', '--out', out);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    const result = report.results.find((x) => x.method === 'dtk' && x.scenario === 'day1');
    expect((result?.metrics as Record<string, { value?: unknown }>)['success']?.value, 'dtk day1').toBe(true);
    const events = readFileSync(path.join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as Events;
    const day1 = events.filter((e) => e.scenario === 'day1');
    // The README's podman build of the driver image, performed by kmodlab and counted.
    const step = day1.find((e) => e.kind === 'manual-step' && String(e.data['command']).startsWith('podman build -f Containerfile '));
    expect(step?.data['performedBy']).toBe('kmodlab');
    expect(day1.some((e) => e.kind === 'build' && e.data['ok'] === true && e.data['by'] === 'off-cluster driver-image')).toBe(true);
    // The installer manifests, then the driver loaded on the node, seen by a probe pod.
    expect(day1.find((e) => e.kind === 'apply')?.data['phase']).toBe('day1');
    expect(day1.filter((e) => e.kind === 'module-state' && e.data['loaded'] === true).map((e) => e.node)).toContain('lab-node-0');
    // The lab log shows the objects created before the node was provisioned.
    const log = readFileSync(path.join(dir, 'cache', 'lab-api', 'api.log'), 'utf8');
    const created = log.indexOf('install manifest 99_kmodlab-simple-kmod-daemonset.yaml: created DaemonSet/');
    expect(created, 'the DaemonSet was created from the installer manifests').toBeGreaterThan(-1);
    expect(created).toBeLessThan(log.indexOf('node lab-node-0: registered'));
    expect(run('lab', 'status').stdout).toMatch(/^lab: down/m);
  });

  it("layering day1: build.sh's image built before the install; the node joins on the stock image and rebases into the layered one once; loaded at boot", { timeout: 1_500_000 }, () => {
    const out = path.join(dir, 'layering-run');
    const r = runIn('layering', 'evaluate', '--methods', 'layering', '--scenarios', 'day1', '--no-baseline', '--out', out);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    const result = report.results.find((x) => x.method === 'layering' && x.scenario === 'day1');
    expect((result?.metrics as Record<string, { value?: unknown }>)['success']?.value, 'layering day1').toBe(true);
    const day1 = (readFileSync(path.join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as Events).filter((e) => e.scenario === 'day1');
    // build.sh, performed by kmodlab and counted, before the installer manifests are applied.
    expect(day1.find((e) => e.kind === 'manual-step' && e.data['command'] === './build.sh')?.data['performedBy']).toBe('kmodlab');
    const built = day1.findIndex((e) => e.kind === 'build' && e.data['ok'] === true && e.data['by'] === 'off-cluster layered-os-image');
    const applied = day1.findIndex((e) => e.kind === 'apply' && e.data['phase'] === 'day1');
    expect(built).toBeGreaterThanOrEqual(0);
    expect(built).toBeLessThan(applied);
    expect(day1.slice(applied).some((e) => e.kind === 'build')).toBe(false); // nothing rebuilt after the install
    expect(day1.filter((e) => e.kind === 'module-state' && e.data['loaded'] === true).map((e) => e.node)).toContain('lab-node-0');
    // The lab's log: the node registered on the stock image, then one OS update into the layered image.
    const log = readFileSync(path.join(dir, 'layering', 'cache', 'lab-api', 'api.log'), 'utf8');
    const registered = log.indexOf('node lab-node-0: registered');
    const rebases = [...log.matchAll(/machine-config: lab-node-0: rebooting into (\S+)/g)];
    expect(registered).toBeGreaterThan(-1);
    expect(rebases.map((m) => m[1]), 'one reboot, into the layered image').toHaveLength(1);
    expect(rebases[0]!.index).toBeGreaterThan(registered);
    expect(rebases[0]![1]).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(rebases[0]![1]).not.toMatch(/\/node-os@/); // not the release's base image
    expect(runIn('layering', 'lab', 'status').stdout).toMatch(/^lab: down/m);
  });
});
