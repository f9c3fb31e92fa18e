/**
 * The cluster target's kernel switch against `kmodlab lab up` (one QEMU node, single-node
 * OpenShift): the same code a user's cluster gets — the pool chosen from the pools'
 * machine counts (master, worker has 0), the realtime MachineConfig applied, the pool
 * watched until its status names the new config — with the lab's Machine Config Operator
 * on the other side: the node reboots into the realtime kernel and back, and the node
 * observer sees each reboot (a new bootID, the kernel it runs).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventKind } from '../../src/evaluation/events.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { chooseLabKernels } from '../../src/targets/lab/kernels/lab-releases.js';
import { labAvailability, pollUntil, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'mkfs.erofs'].filter((t) => !findTool(t));
const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
const realtime = kernel ? chooseLabKernels(lab.kernels, { from: kernel.kver }).realtime : undefined;
const ok = lab.ok && missing.length === 0 && !!realtime;
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no realtime lab kernel'}]`;

describe.skipIf(!ok)(`the cluster target's kernel switch on kmodlab lab up${ok ? '' : why}`, () => {
  const h = new LabUpHarness('ctmco');
  const { dir, kubeconfig } = h;
  let target: ClusterTarget | undefined;
  let runtimeBase: string;
  const events: { t: number; kind: EventKind; data: Record<string, unknown>; node?: string }[] = [];

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel!, images: [kernel!, realtime!] });
    expect(up.code, up.stderr).toBe(0);
    runtimeBase = runtimeBaseOf(release);
  }, 900_000);
  afterAll(async () => {
    await target?.close();
    await h.stop();
  }, 300_000);

  it('picks the master pool, switches to the realtime kernel and back; the node observer sees both reboots', async () => {
    target = await ClusterTarget.connect({ kubeconfig, env: {}, home: path.join(dir, 'home'), emit: (kind, data, node) => events.push({ t: Date.now(), kind, data, node }), probeImage: runtimeBase, canaryImage: runtimeBase, pollMs: 1_000, rolloutTimeoutMs: 900_000, prometheusMinWindowMs: Number.MAX_SAFE_INTEGER });
    expect(target.pool()).toBe('master');
    const releases = target.releases();
    expect(releases.from.kernelVersion).toBe(kernel!.kver);
    expect(releases.realtime, 'the lab serves MachineConfigPools: the kernel switch is offered').toBeDefined();

    // A scenario starts with reset(): it records where each node stands and starts recording events.
    await target.reset({ release: releases.from });
    const t0 = Date.now();
    await target.changeRelease(releases.realtime!, 'kernel-switch');
    process.stderr.write(`cluster target on lab: kernel switch to realtime ${((Date.now() - t0) / 1000).toFixed(1)} s (apply → pool updated)\n`);
    await target.observe();
    expect(target.releases().from.kernelVersion).toBe(realtime!.kver);
    const t1 = Date.now();
    await target.changeRelease(releases.from, 'kernel-switch');
    await target.observe();
    expect(target.releases().from.kernelVersion).toBe(kernel!.kver);

    const ups = events.filter((e) => e.kind === 'node-up' && e.node === 'lab-node-0' && !e.data['existing']);
    expect(ups.map((e) => e.data['kver'])).toEqual([realtime!.kver, kernel!.kver]);
    expect(new Set(ups.map((e) => e.data['bootId'])).size).toBe(2);
    expect(events.filter((e) => e.kind === 'fault')).toEqual([]);

    // The canary, probed every second through the lab API's pod proxy: each reboot is failed probes
    // until the kubelet runs it again on the new boot.
    const canaryProbes = () => events.filter((e) => e.kind === 'canary' && e.data['via'] === 'probe');
    await pollUntil(async () => canaryProbes().at(-1)?.data['up'], (u) => u === true, 180_000, 1_000);
    const probes = events.filter((e) => e.kind === 'canary' && e.data['via'] === 'probe' && e.t >= t0);
    const spells: { failed: number; ms: number }[] = [];
    let from: number | undefined;
    let failed = 0;
    for (const p of probes) {
      if (p.data['up'] !== true) {
        from ??= Number(p.data['at']);
        failed++;
      } else if (from !== undefined) {
        spells.push({ failed, ms: Number(p.data['at']) - from });
        from = undefined;
        failed = 0;
      }
    }
    // Each switch's reboot is failed probes (the two may make one spell: the second switch can
    // begin before the canary is back from the first reboot).
    const failedIn = (a: number, b: number) => probes.filter((p) => p.data['up'] !== true && Number(p.data['at']) >= a && Number(p.data['at']) < b);
    expect(failedIn(t0, t1).length, 'failed probes during the switch to realtime').toBeGreaterThan(0);
    expect(failedIn(t1, Date.now()).length, 'failed probes during the switch back').toBeGreaterThan(0);
    expect(spells.length).toBeGreaterThan(0);
    process.stderr.write(
      `cluster target on lab: canary during the two kernel-switch reboots: ${failedIn(t0, t1).length} + ${failedIn(t1, Date.now()).length} failed probe(s); spells: ${spells.map((s) => `${s.failed} failed over ${(s.ms / 1000).toFixed(1)} s`).join('; ')}\n`,
    );
  }, 1_800_000);
});
