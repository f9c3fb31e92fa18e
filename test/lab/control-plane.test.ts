/**
 * The emulated control plane realizes each method's own rendered manifests on real
 * QEMU nodes: DTK DaemonSet lifecycle hooks, KMM Module kernel mappings and builds,
 * MachineConfig osImageURL rollouts with reboots — and a cluster upgrade where each
 * method behaves as its OpenShift counterpart does.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { LabCluster } from '../../src/targets/lab/control-plane/lab-cluster.js';
import { listKernels } from '../../src/targets/lab/kernels/catalog.js';
import { labRelease } from '../../src/targets/lab/release.js';
import { labAvailability, skipReason } from './helpers.js';

const kernels = listKernels().filter((k) => !k.flavour.startsWith('rt'));
const from = kernels.find((k) => k.kver === '6.1.0-56-amd64') ?? kernels.at(-1);
const to = kernels.find((k) => k.kver !== from?.kver);
const availability = labAvailability();
const store = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-cp-store-'));

interface Ev {
  kind: string;
  node?: string;
  data: Record<string, unknown>;
}

let cluster: LabCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

async function setup(method: 'dtk' | 'kmm' | 'layering', variant?: string) {
  const driver = await loadDriver(REFERENCE_DRIVER_FILE);
  const events: Ev[] = [];
  const runDir = mkdtempSync(path.join(os.tmpdir(), `kmodlab-cp-${method}-`));
  cluster = await LabCluster.create({ runDir, release: { kernel: from! }, driver, buildStore: store, emit: (kind, data, node) => events.push({ kind, node, data }) });
  const [set] = renderMethods(driver.spec, labRelease(from!), method, { pool: 'master', variant, registry: method === 'layering' ? 'quay.io/acme' : undefined });
  return { cluster, events, objects: allObjects(set!, 'day2'), set: set! };
}

function loaded(events: Ev[], module: string): boolean | undefined {
  return events.filter((e) => e.kind === 'module-state' && e.data.module === module).at(-1)?.data.loaded as boolean | undefined;
}

describe.skipIf(!availability.ok || !from)(`lab control plane${skipReason(availability)}`, () => {
  it('dtk (pinned): the DaemonSet postStart loads the driver; after an upgrade the pinned pod no longer fits the node', async () => {
    const { cluster, events, objects } = await setup('dtk');
    await cluster.apply(objects);
    expect(loaded(events, 'simple_kmod')).toBe(true);
    expect(loaded(events, 'simple_procfs_kmod')).toBe(true);
    const node = cluster.nodes[0]!;
    expect((await node.lab.exec('cat /sys/module/simple_kmod/parameters/greeting')).stdout.trim()).toBe('kmodlab');
    expect([...node.pods.values()].map((p) => p.phase)).toEqual(['Running']);
    expect(events.filter((e) => e.kind === 'build' && e.data.ok).map((e) => e.data.kver)).toContain(from!.kver);
    expect(events.some((e) => e.kind === 'node-down')).toBe(false); // no reboot

    if (to) {
      await cluster.changeRelease(to, 'upgrade');
      expect(node.lab.kernel.kver).toBe(to.kver);
      expect(loaded(events, 'simple_kmod')).toBe(false); // lost: nothing rebuilt for the new kernel
      expect(events.some((e) => e.kind === 'pod-stop' && e.data.reason === 'NodeAffinity')).toBe(true);
    }
  });

  it('dtk: deleting the DaemonSet runs preStop, which unloads the modules', async () => {
    const { cluster, events, objects } = await setup('dtk');
    await cluster.apply(objects);
    expect(loaded(events, 'simple_kmod')).toBe(true);
    await cluster.delete(objects);
    expect(loaded(events, 'simple_kmod')).toBe(false);
    expect(loaded(events, 'simple_procfs_kmod')).toBe(false);
    expect(events.some((e) => e.kind === 'pod-stop' && e.data.reason === 'Deleted')).toBe(true);
  });

  it('kmm: the Module is matched, built and loaded; after an upgrade KMM builds and loads for the new kernel by itself', async () => {
    const { cluster, events, objects } = await setup('kmm');
    await cluster.apply(objects);
    expect(loaded(events, 'simple_kmod')).toBe(true);
    expect(loaded(events, 'simple_procfs_kmod')).toBe(true);
    expect(cluster.nodes[0]!.labels['kmm.node.kubernetes.io/kmodlab-simple-kmod.simple-kmod.ready']).toBe('');
    // KMM passes parameters to moduleName only; the image's modprobe.d is not read.
    expect((await cluster.nodes[0]!.lab.exec('cat /sys/module/simple_kmod/parameters/greeting')).stdout.trim()).toBe('hello');
    if (to) {
      await cluster.changeRelease(to, 'upgrade');
      expect(cluster.nodes[0]!.lab.kernel.kver).toBe(to.kver);
      expect(loaded(events, 'simple_kmod')).toBe(true);
      expect(events.filter((e) => e.kind === 'build' && e.data.ok).map((e) => e.data.kver)).toContain(to.kver);
      expect(events.some((e) => e.kind === 'manual-step')).toBe(false);
    }
    await cluster.delete(objects);
    expect(loaded(events, 'simple_kmod')).toBe(false);
  });

  it('kmm: without the operator Subscription the Module does nothing', async () => {
    const { cluster, events, objects } = await setup('kmm');
    await cluster.apply(objects.filter((o) => o.kind !== 'Subscription'));
    expect(loaded(events, 'simple_kmod')).toBe(false);
    expect(events.some((e) => e.kind === 'fault' && e.data.fault === 'no-operator')).toBe(true);
  });

  it('layering: osImageURL rolls the node into the layered image (a reboot) and the driver loads at boot; an upgrade leaves the node behind', async () => {
    const { cluster, events, objects } = await setup('layering');
    const bootId = cluster.nodes[0]!.lab.currentBootId;
    await cluster.apply(objects);
    const node = cluster.nodes[0]!;
    expect(node.lab.currentBootId).not.toBe(bootId);
    expect(events.filter((e) => e.kind === 'node-up').length).toBe(2);
    expect(node.os.kind).toBe('layered');
    expect(loaded(events, 'simple_kmod')).toBe(true);
    expect(node.lab.consoleText()).toContain('modules-load.d: loaded simple_kmod');
    if (to) {
      await cluster.changeRelease(to, 'upgrade');
      expect(node.lab.kernel.kver).toBe(from!.kver); // MCO keeps the override
      expect(events.some((e) => e.kind === 'manual-step')).toBe(true);
      expect(loaded(events, 'simple_kmod')).toBe(true);
    }
    const before = events.filter((e) => e.kind === 'node-up').length;
    await cluster.delete(objects);
    expect(events.filter((e) => e.kind === 'node-up').length).toBe(before + 1); // reverting reboots
    expect(node.os.kind).toBe('stock');
    expect(loaded(events, 'simple_kmod')).toBe(false);
  });
});

describe.skipIf(!availability.ok || !from)(`lab Day 1${skipReason(availability)}`, () => {
  it("kmm Day 1: the loader MachineConfig's pull unit stores the image and reboots; its load unit loads the driver at boot, before the network", async () => {
    const driver = await loadDriver(REFERENCE_DRIVER_FILE);
    const events: Ev[] = [];
    const { LabTarget } = await import('../../src/targets/lab/lab-target.js');
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-cp-day1-'));
    const target = new LabTarget({ runDir, driver, kernels: { from: from! }, buildStore: store, emit: (kind, data, node) => events.push({ kind, node, data }) });
    const [set] = renderMethods(driver.spec, labRelease(from!), 'kmm', { pool: 'master', day1: true, registry: 'registry.lab.kmodlab.invalid/kmodlab' });
    try {
      await target.reset({ release: labRelease(from!), day1: set! });
      expect(events.filter((e) => e.kind === 'node-up').length).toBe(2); // first boot + the pull unit's reboot
      expect(loaded(events, 'simple_kmod')).toBe(true);
      expect(loaded(events, 'simple_procfs_kmod')).toBe(true);
      const r = await target.waitForModules(['simple_kmod'], { loaded: true, timeoutMs: 1000 });
      expect(r.ok).toBe(true);
    } finally {
      await target.close();
    }
  });
});
