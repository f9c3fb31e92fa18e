/**
 * The variants the evaluation runs as rows of their own, realized by the lab through an
 * upgrade, each next to its control:
 * - dtk tracking: the cluster's driver-toolkit tag moves with the release → the
 *   BuildConfig's ImageChange trigger rebuilds for the new kernel → the DaemonSet's pod
 *   runs the new image → the module is loaded on the new kernel. Pinned: not restored.
 * - layering on-cluster: applying the MachineOSConfig builds the image in the cluster (no
 *   build.sh; a path driver's source image is still pushed by you) and rolls it out with a reboot; the upgrade makes a new
 *   MachineOSBuild on the new base image, rolled out again, so the module is loaded on
 *   the new kernel. Off-cluster: the pool keeps its pinned image and the old kernel.
 * Slow (QEMU TCG, reboots, builds): run it alone, with nice.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { LabTarget } from '../../src/targets/lab/lab-target.js';
import { listKernels } from '../../src/targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../../src/targets/lab/kernels/lab-releases.js';
import { labRelease } from '../../src/targets/lab/release.js';
import { labAvailability, skipReason } from './helpers.js';

const availability = labAvailability();
const roles = listKernels().some((k) => !k.flavour.includes('rt')) ? chooseLabKernels(listKernels()) : undefined;
const from = roles?.from;
const to = roles?.upgradeTo;
const noUpgrade = to ? '' : ` (skipped: no newer kernel of the ${from?.series ?? '?'} series than ${from?.kver ?? '?'} installed; kmodlab lab setup installs a z-stream pair)`;
/** Two scenarios with an upgrade each: reboots and builds under TCG on a loaded host. */
const TIMEOUT_MS = 900_000;
/** The wait for the driver after the upgrade. */
const AFTER_TIMEOUT_MS = 60_000;
const store = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-variants-store-'));

interface Ev {
  kind: string;
  node?: string;
  data: Record<string, unknown>;
}

let target: LabTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

/** One method variant through the evaluation's upgrade steps on a fresh lab; what happened, as events. */
async function upgrade(method: 'dtk' | 'layering', variant: string) {
  const driver = await loadDriver(REFERENCE_DRIVER_FILE);
  const events: Ev[] = [];
  const mark = (step: string) => events.push({ kind: 'mark', data: { step } });
  target = new LabTarget({
    runDir: mkdtempSync(path.join(os.tmpdir(), `kmodlab-variant-${method}-${variant}-`)),
    driver,
    kernels: { from: from!, upgradeTo: to },
    buildStore: store,
    emit: (kind, data, node) => events.push({ kind, node, data }),
  });
  const release = labRelease(from!);
  // On-cluster layering's API depends on the OpenShift version: the one the lab follows.
  const [set] = renderMethods(driver.spec, variant === 'on-cluster' ? { ...release, version: target.openshiftVersion } : release, method, { pool: target.pool(), variant });
  await target.reset({ release });
  mark('apply');
  await target.apply(set!);
  const before = await target.waitForModules(['simple_kmod', 'simple_procfs_kmod'], { loaded: true, timeoutMs: 120_000 });
  mark('upgrade');
  await target.changeRelease(labRelease(to!), 'upgrade');
  const waited = Date.now();
  const after = await target.waitForModules(['simple_kmod', 'simple_procfs_kmod'], { loaded: true, timeoutMs: AFTER_TIMEOUT_MS });
  const waitedMs = Date.now() - waited;
  const at = (step: string) => events.findIndex((e) => e.kind === 'mark' && e.data.step === step);
  return { events, before, after, waitedMs, applied: events.slice(at('apply'), at('upgrade')), upgraded: events.slice(at('upgrade')) };
}

const kernelsBooted = (evs: Ev[]) => evs.filter((e) => e.kind === 'node-up').map((e) => e.data.kver);
const builtFor = (evs: Ev[]) => evs.filter((e) => e.kind === 'build' && e.data.ok).map((e) => e.data.kver);
const lastLoaded = (evs: Ev[]) => evs.filter((e) => e.kind === 'module-state' && e.data.module === 'simple_kmod').at(-1)?.data.loaded;

describe.skipIf(!availability.ok || !from)(`variants through an upgrade${skipReason(availability)}`, () => {
  it.skipIf(!to)(`dtk tracking: the ImageStream follows the new driver-toolkit → rebuild → new pod → loaded on the new kernel; pinned is not restored${noUpgrade}`, { timeout: TIMEOUT_MS }, async () => {
    const tracking = await upgrade('dtk', 'tracking');
    expect(tracking.before.ok).toBe(true);
    // No reboot to install.
    expect(tracking.applied.some((e) => e.kind === 'node-down')).toBe(false);
    // The ImageChange trigger rebuilt the driver image for the new kernel, before the node moved to it.
    const rebuild = tracking.upgraded.findIndex((e) => e.kind === 'build' && e.data.ok && e.data.kver === to!.kver && String(e.data.by).startsWith('BuildConfig/'));
    const reboot = tracking.upgraded.findIndex((e) => e.kind === 'node-up' && e.data.kver === to!.kver);
    expect(rebuild).toBeGreaterThanOrEqual(0);
    expect(reboot).toBeGreaterThan(rebuild);
    // The pod started again after the reboot, with the rebuilt image: the new kernel accepted its modules.
    expect(tracking.upgraded.slice(reboot).some((e) => e.kind === 'pod-start' && e.data.component === 'driver-container')).toBe(true);
    expect(tracking.after).toEqual({ ok: true, pending: [] });
    expect(lastLoaded(tracking.upgraded)).toBe(true);
    expect(kernelsBooted(tracking.upgraded)).toEqual([to!.kver]);
    await target!.close();

    // Control: pinned builds once, for the old kernel; after the upgrade the driver is gone.
    const pinned = await upgrade('dtk', 'pinned');
    expect(pinned.before.ok).toBe(true);
    // Its own build, not a cache hit of tracking's image (same repository name, another Containerfile).
    expect(pinned.applied.find((e) => e.kind === 'build')?.data).toMatchObject({ ok: true, cached: false, kver: from!.kver });
    expect(builtFor(pinned.upgraded)).not.toContain(to!.kver);
    expect(kernelsBooted(pinned.upgraded)).toEqual([to!.kver]);
    expect(pinned.after.ok).toBe(false);
    // Nothing could bring it back (the pod left with its node's kernel, no build, no pod running):
    // the wait ended on that, well before its timeout, and says so.
    expect(pinned.after.settled?.reason).toMatch(/nothing left to do/);
    expect(pinned.waitedMs).toBeLessThan(AFTER_TIMEOUT_MS / 2);
    expect(lastLoaded(pinned.upgraded)).toBe(false);
  });

  it.skipIf(!to)(`layering on-cluster: the MachineOSConfig builds in the cluster, rolls out, and is rebuilt and rolled out again on the upgrade; off-cluster keeps the old kernel${noUpgrade}`, { timeout: TIMEOUT_MS }, async () => {
    const onCluster = await upgrade('layering', 'on-cluster');
    expect(onCluster.before.ok).toBe(true);
    // The OS image is built in the cluster: no build.sh; the one step left is pushing the driver source image it copies from.
    expect(onCluster.applied.filter((e) => e.kind === 'manual-step').map((e) => e.data.description)).toEqual([expect.stringMatching(/build and push the source image .*: the in-cluster build copies the driver source from it/)]);
    const firstBuild = onCluster.applied.find((e) => e.kind === 'build');
    expect(firstBuild?.data).toMatchObject({ ok: true, kver: from!.kver });
    expect(String(firstBuild?.data.by)).toMatch(/^MachineOSBuild\//);
    // Rolled out with the pool's reboot semantics: drained, rebooted into the built image.
    expect(onCluster.applied.map((e) => e.kind).filter((k) => ['node-drain', 'node-down', 'node-up'].includes(k))).toEqual(['node-drain', 'node-down', 'node-up', 'node-drain']);
    expect(onCluster.applied.find((e) => e.kind === 'node-up')?.data.osImage).toMatch(/@sha256:/);
    // The upgrade: a new MachineOSBuild on the new base image, rolled out; loaded on the new kernel.
    const rebuilt = onCluster.upgraded.find((e) => e.kind === 'build' && e.data.kver === to!.kver);
    expect(rebuilt?.data).toMatchObject({ ok: true });
    expect(String(rebuilt?.data.by)).toMatch(/^MachineOSBuild\//);
    expect(String(rebuilt?.data.by)).not.toBe(String(firstBuild?.data.by));
    expect(kernelsBooted(onCluster.upgraded)).toEqual([to!.kver]);
    expect(onCluster.after).toEqual({ ok: true, pending: [] });
    expect(lastLoaded(onCluster.upgraded)).toBe(true);
    // The README's upgrade step (the Containerfile pins the driver-toolkit) is recorded as the manual step it is.
    expect(onCluster.upgraded.filter((e) => e.kind === 'manual-step').map((e) => e.data.description)).toEqual([expect.stringMatching(/builder stage at the new release's driver-toolkit/)]);
    await target!.close();

    // Control: off-cluster layering keeps its pinned image: no rebuild, no new kernel.
    const offCluster = await upgrade('layering', 'off-cluster');
    expect(offCluster.before.ok).toBe(true);
    // build.sh's own build, not a cache hit of the MachineOSBuild's (same repository name).
    expect(offCluster.applied.find((e) => e.kind === 'build')?.data).toMatchObject({ ok: true, cached: false, kver: from!.kver });
    expect(offCluster.applied.some((e) => e.kind === 'manual-step' && /build\.sh/.test(String(e.data.description)))).toBe(true);
    expect(builtFor(offCluster.upgraded)).toEqual([]);
    expect(kernelsBooted(offCluster.upgraded)).toEqual([]);
    expect(offCluster.upgraded.some((e) => e.kind === 'manual-step' && /rebuild the layered image/.test(String(e.data.description)))).toBe(true);
  });
});
