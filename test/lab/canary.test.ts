/**
 * The lab's canary is a real workload: busybox httpd in the guest, probed from the host
 * every 0.5 s through QEMU's forwarded port. Killing the process shows as failed probes
 * (raw samples in the events) until it runs again. At every boot the kernel the guest
 * reports is compared with the one the lab meant to boot: asked for one kernel and
 * given another, the node-up says which booted and a kernel-mismatch fault is recorded.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import { CANARY_PROBE_MS, LabCluster } from '../../src/targets/lab/control-plane/lab-cluster.js';
import { listKernels } from '../../src/targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../../src/targets/lab/kernels/lab-releases.js';
import { buildInitramfs } from '../../src/targets/lab/os-image/initramfs.js';
import { labAvailability, skipReason } from './helpers.js';

const availability = labAvailability();
const kernels = listKernels().filter((k) => !k.flavour.includes('rt'));
const from = kernels.length ? chooseLabKernels(listKernels()).from : undefined;
const other = kernels.find((k) => k.kver !== from?.kver);

interface Ev {
  t: number;
  kind: string;
  data: Record<string, unknown>;
  node?: string;
}

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!availability.ok || !from)(`lab canary and booted-kernel check${skipReason(availability)}`, () => {
  let cluster: LabCluster | undefined;
  afterAll(async () => cluster?.shutdown());
  const events: Ev[] = [];

  it('a killed canary process is seen as failed probes until it runs again', { timeout: 300_000 }, async () => {
    const driver = await loadDriver(REFERENCE_DRIVER_FILE);
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-canary-'));
    cluster = await LabCluster.create({
      runDir: tmp,
      release: { kernel: from! },
      driver,
      buildStore: path.join(tmp, 'builds'),
      emit: (kind, data, node) => events.push({ t: Date.now(), kind, data, node }),
    });
    const node = cluster.nodes[0]!;
    const canary = () => events.filter((e) => e.kind === 'canary' && e.node === node.name);
    await until('a good probe', () => canary().some((e) => e.data['up'] === true));
    const before = canary().length;

    const killedAt = Date.now();
    await cluster.killCanary(node);
    await until('failed probes', () => canary().slice(before).filter((e) => e.data['up'] === false).length >= 3);
    const failed = canary().slice(before).filter((e) => e.data['up'] === false);
    // Raw samples: each failed probe is its own event, with how long it took and why.
    for (const f of failed) {
      expect(f.t).toBeGreaterThanOrEqual(killedAt);
      expect(typeof f.data['probeMs']).toBe('number');
      expect(String(f.data['error'])).not.toBe('');
    }
    // Probes come at the fixed interval (not faster), however long the node takes.
    const gaps = failed.slice(1).map((f, i) => f.t - failed[i]!.t);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(CANARY_PROBE_MS - 50);

    await cluster.restartCanary(node);
    const n = canary().length;
    await until('a good probe after the restart', () => canary().slice(n - 1).some((e) => e.data['up'] === true));
    // The node agent was never the path: it answered throughout, the workload did not.
    expect(node.lab.state).toBe('ready');
  });

  it.skipIf(!other)('a node asked to boot one kernel that boots another records a kernel-mismatch fault', { timeout: 300_000 }, async () => {
    const node = cluster!.nodes[0]!;
    const first = events.find((e) => e.kind === 'node-up')!;
    expect(first.data['kver']).toBe(from!.kver);
    expect(first.data['intendedKver']).toBe(from!.kver);
    expect(events.filter((e) => e.kind === 'fault')).toEqual([]);
    // The lab means `other` (its name), the node gets `from`'s kernel and image: a stale /boot entry.
    const initramfs = await buildInitramfs({ kernel: from! });
    const n = events.length;
    await cluster!.rebootNode(node, { kernel: { ...from!, kver: other!.kver }, initramfs: initramfs.path });
    const up = events.slice(n).find((e) => e.kind === 'node-up')!;
    expect(up.data['kver']).toBe(from!.kver);
    expect(up.data['intendedKver']).toBe(other!.kver);
    const fault = events.slice(n).find((e) => e.kind === 'fault');
    expect(fault?.data['fault']).toBe('kernel-mismatch');
    expect(String(fault?.data['message'])).toContain(`booted kernel ${from!.kver}`);
    expect(String(fault?.data['message'])).toContain(other!.kver);
  });
});
