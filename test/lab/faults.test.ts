/**
 * Faults are recorded, never crash kmodlab: an unsigned module on a kernel that
 * enforces signatures, a module needing an in-tree module its image lacks, a node
 * killed in the middle of a rollout.
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
import { labRelease } from '../../src/targets/lab/release.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';

/** Most nodes cordoned/drained at the same time, from node-drain start/end events. */
function maxDrainedAtOnce(events: Ev[]): number {
  const down = new Set<string>();
  let max = 0;
  for (const e of events.filter((x) => x.kind === 'node-drain')) {
    if (e.data.phase === 'start') down.add(e.node!);
    else down.delete(e.node!);
    max = Math.max(max, down.size);
  }
  return max;
}

const availability = labAvailability();
const store = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-faults-store-'));
const FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'drivers');

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

async function start(opts: { driverFile?: string; nodes?: number; cmdline?: string; onEvent?: (e: Ev, c: LabCluster) => void }) {
  const kernel = primaryKernel(availability.kernels.filter((k) => !k.flavour.startsWith('rt')));
  const driver = await loadDriver(opts.driverFile ?? REFERENCE_DRIVER_FILE);
  const events: Ev[] = [];
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-faults-'));
  let self: LabCluster | undefined;
  cluster = await LabCluster.create({
    runDir,
    release: { kernel },
    driver,
    nodes: opts.nodes,
    cmdline: opts.cmdline,
    buildStore: store,
    emit: (kind, data, node) => {
      const e = { kind, node, data };
      events.push(e);
      if (self) opts.onEvent?.(e, self);
    },
  });
  self = cluster;
  const render = (method: string) => allObjects(renderMethods(driver.spec, labRelease(kernel), method, { pool: (opts.nodes ?? 1) > 1 ? 'worker' : 'master', registry: 'quay.io/acme' })[0]!, 'day2');
  return { cluster, events, render };
}

describe.skipIf(!availability.ok)(`lab faults${skipReason(availability)}`, () => {
  it('module.sig_enforce=1: the unsigned module is refused by the kernel; the pod restarts and the refusal is recorded', async () => {
    const { cluster, events, render } = await start({ cmdline: 'module.sig_enforce=1' });
    await cluster.apply(render('dtk'));
    const fault = events.find((e) => e.kind === 'fault' && e.data.fault === 'post-start-failed');
    expect(fault?.data.message).toMatch(/Key was rejected by service/);
    expect(events.filter((e) => e.kind === 'pod-restart').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === 'module-state' && e.data.module === 'simple_kmod').at(-1)?.data.loaded).toBe(false);
    expect(await cluster.nodes[0]!.lab.dmesg()).toMatch(/Loading of unsigned module is rejected/);
  });

  it('a module needing an in-tree module its image lacks fails with the kernel\'s unknown-symbol message', async () => {
    const { cluster, events, render } = await start({ driverFile: path.join(FIXTURES, 'needs-crc7', 'driver.yaml') });
    await cluster.apply(render('dtk'));
    const fault = events.find((e) => e.kind === 'fault' && e.data.fault === 'post-start-failed');
    expect(fault?.data.message).toMatch(/Unknown symbol in module|unknown symbol/i);
    expect(await cluster.nodes[0]!.lab.dmesg()).toMatch(/needs_crc7: Unknown symbol crc7_be/);
  });

  it('a node killed in the middle of a layering rollout is detected, restarted, and the rollout completes', async () => {
    let killed = false;
    const { cluster, events, render } = await start({
      nodes: 2,
      onEvent: (e, c) => {
        if (!killed && e.kind === 'node-drain' && e.data.phase === 'start' && e.node === 'worker-1') {
          killed = true;
          process.kill(c.nodeByName('worker-1')!.lab.pid!, 'SIGKILL');
        }
      },
    });
    await cluster.apply(render('layering'));
    expect(killed).toBe(true);
    expect(events.some((e) => e.kind === 'node-down' && e.node === 'worker-1' && e.data.reason === 'crash')).toBe(true);
    expect(events.some((e) => e.kind === 'fault' && e.node === 'worker-1' && String(e.data.fault).startsWith('node-'))).toBe(true);
    for (const n of cluster.nodes) {
      expect(n.os.kind).toBe('layered');
      expect((await n.lab.exec('[ -d /sys/module/simple_kmod ]')).code).toBe(0);
    }
    // maxUnavailable 1: the two nodes were never down at the same time.
    const maxDown = maxDrainedAtOnce(events);
    expect(maxDown).toBe(1);
  });
});

describe.skipIf(!availability.ok)(`lab rollout honours the pool's maxUnavailable${skipReason(availability)}`, () => {
  it('a MachineConfigPool with maxUnavailable 2 updates both nodes at once', async () => {
    const { cluster, events, render } = await start({ nodes: 2 });
    await cluster.apply([
      { apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfigPool', metadata: { name: 'worker' }, spec: { maxUnavailable: 2 } },
      ...render('layering'),
    ]);
    const maxDown = maxDrainedAtOnce(events);
    expect(maxDown).toBe(2);
    for (const n of cluster.nodes) expect(n.os.kind).toBe('layered');
  });
});
