/**
 * `kmodlab evaluate --target lab-api --methods kmm --scenarios day1`: KMM's Day-1 form on
 * the lab API path — the README's off-cluster build of the kmod image (into the lab
 * registry), then a fresh `kmodlab lab up --manifests <the Day-1 openshift/ files>`: the
 * node's first rendered config holds the loader MachineConfig, so the machine-config
 * daemon runs its pull unit after the network (image pulled, one reboot) and its load
 * unit runs the script's modprobe lines at the next boot, before the network (console).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
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

describe.skipIf(!ok)(`kmodlab evaluate --methods kmm --scenarios day1${ok ? '' : why}`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-labapi-kmm-day1-'));
  let registry: LabRegistry;
  const env = () => ({ ...process.env, KMODLAB_LAB_DIR: path.join(dir, 'state'), KMODLAB_CACHE: testLabCache(path.join(dir, 'cache')), KMODLAB_REGISTRY: registry.host });
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: REPO, env: env(), timeout: 1_700_000 });
  beforeAll(async () => {
    registry = await openRegistry();
  });
  afterAll(async () => {
    run('lab', 'down');
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the loader MachineConfig: pulled once after the network, one reboot, the driver loaded at boot before the network', { timeout: 1_800_000 }, () => {
    const out = path.join(dir, 'run');
    const r = run('evaluate', '--methods', 'kmm', '--scenarios', 'day1', '--no-baseline', '--out', out);
    const log = readFileSync(path.join(dir, 'cache', 'lab-api', 'api.log'), 'utf8');
    expect(r.status, `${r.stderr.slice(-3000)}\n--- lab log ---\n${log.slice(-3000)}`).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    const result = report.results.find((x) => x.method === 'kmm' && x.scenario === 'day1');
    expect((result?.metrics as Record<string, { value?: unknown }>)['success']?.value, 'kmm day1').toBe(true);
    const events = readFileSync(path.join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as Events;
    const day1 = events.filter((e) => e.scenario === 'day1');
    expect(day1.filter((e) => e.kind === 'module-state' && e.data['loaded'] === true).map((e) => e.node)).toContain('lab-node-0');
    // The README's off-cluster build of the kmod image, performed by kmodlab before the install.
    expect(day1.some((e) => e.kind === 'build' && e.data['ok'] === true && e.data['by'] === 'off-cluster driver-image')).toBe(true);
    const steps = day1.filter((e) => e.kind === 'manual-step');
    expect(steps.some((e) => String(e.data['command']).startsWith('podman build -f Containerfile ') && e.data['performedBy'] === 'kmodlab'), JSON.stringify(steps.map((e) => e.data))).toBe(true);
    // No reboot beyond the pull unit's one (what the cluster target saw of it, if it was connected then).
    expect(day1.filter((e) => e.kind === 'node-down' && e.node === 'lab-node-0').length).toBeLessThanOrEqual(1);

    // The pull unit: the image of the node's kernel, pulled once (by digest), then one reboot.
    const pulled = log.split('\n').filter((l) => /lab-node-0: \S+-pull\.service: pulled \S+:\S+ \(sha256:[0-9a-f]{64}\)/.test(l));
    expect(pulled, log.slice(-3000)).toHaveLength(1);
    expect(log.split('\n').filter((l) => l.includes('lab-node-0: rebooted after the Day-1 pull'))).toHaveLength(1);
    expect(log).not.toMatch(/Day-1 pull: |-pull\.service: pulling .* failed/);

    // The guest console: two boots (provisioned, the pull's reboot); the second ran the load
    // unit's hook — the script's modprobe from the node-local copy — before the network.
    const consoleLog = path.join(dir, 'cache', 'lab-api', 'nodes', 'lab-node-0.console.log');
    expect(existsSync(consoleLog)).toBe(true);
    const text = readFileSync(consoleLog, 'utf8');
    const boots = text.split(/^(?=kmodlab-init: \S+ up )/m).filter((b) => b.startsWith('kmodlab-init: '));
    expect(boots, text.slice(-3000)).toHaveLength(2);
    expect(boots[0]).not.toMatch(/-load\.service: loaded from/);
    const second = boots[1]!;
    const loaded = second.search(/-load\.service: loaded from \S+:\S+ \(sha256:/);
    expect(loaded, second.slice(-3000)).toBeGreaterThan(-1);
    // Every module of the driver, in its load order, from the node-local copy of the image's /opt.
    const driver = parse(readFileSync(path.join(REPO, 'drivers', 'simple-kmod', 'driver.yaml'), 'utf8')) as { modules: { name: string }[] };
    const insmods = [...second.matchAll(/^insmod (\/var\/lib\/kmodlab\/\S+\/lib\/modules\/\S+\/([^/\s]+)\.ko)/gm)].map((m) => m[2]);
    expect(insmods).toEqual(driver.modules.map((m) => m.name));
    expect(second.indexOf('insmod ')).toBeLessThan(loaded);
    expect(second).toMatch(/kmodlab-init: boot hook \/etc\/kmodlab\/boot\.d\/50-\S+-load\.service\.sh done/);
  });
});
