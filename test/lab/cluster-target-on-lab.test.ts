/**
 * The cluster target against `kmodlab lab up` (one QEMU node), DTK day 2: the same code a
 * user's OpenShift cluster gets — server-side apply, the Binary BuildConfig fed through
 * `instantiatebinary`, module presence read from /sys by privileged probe pods — with the
 * lab's API server, controllers and kubelet on the other side instead of a fake.
 * The probe pods and canaries run the lab release's runtime-base image (the lab's nodes
 * pull from the lab registry; ubi-minimal is not there).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import type { EventKind } from '../../src/evaluation/events.js';
import { renderMethods } from '../../src/methods/render.js';
import { resolveRelease } from '../../src/release/resolve.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { labReleaseInfoFor } from '../../src/targets/lab/images/lab-release.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0;
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: not installed: ${missing.join(', ')}]`;

describe.skipIf(!ok)(`the cluster target on kmodlab lab up, DTK day 2${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
  const h = new LabUpHarness('ctlab');
  const { dir, kubeconfig } = h;
  let target: ClusterTarget | undefined;
  const events: { kind: EventKind; data: Record<string, unknown>; node?: string }[] = [];

  beforeAll(async () => {
    const { up } = await h.start({ kernel: kernel! });
    expect(up.code, up.stderr).toBe(0);
  }, 900_000);
  afterAll(async () => {
    await target?.close();
    await h.stop();
  }, 300_000);

  it('connect, reset, apply (the Binary build fed by kmodlab), the modules seen on the node by probe pods; remove unloads them', async () => {
    const infoFile = path.join(dir, 'release.json');
    writeFileSync(infoFile, JSON.stringify(await labReleaseInfoFor(kernel!.kver, { registry: h.registry.host })));
    const release = await resolveRelease({ releaseInfoFile: infoFile });
    expect(release.runtimeBaseImage, 'the lab release names its runtime-base image').toBeDefined();
    const driver = await loadDriver('drivers/simple-kmod/driver.yaml');
    const modules = driver.spec.modules.map((m) => m.name.replace(/-/g, '_'));

    target = await ClusterTarget.connect({
      kubeconfig,
      env: {},
      home: path.join(dir, 'home'),
      emit: (kind, data, node) => events.push({ kind, data, node }),
      driverSourceDir: driver.sourceDir,
      probeImage: release.runtimeBaseImage,
      canaryImage: release.runtimeBaseImage,
      probeIntervalMs: 2_000,
      pollMs: 1_000,
      prometheusMinWindowMs: Number.MAX_SAFE_INTEGER,
    });
    expect(target.nodes()).toEqual(['lab-node-0']);
    expect(target.releases().from.kernelVersion).toBe(kernel!.kver);

    await target.reset({ release });
    expect(events.filter((e) => e.kind === 'node-up').map((e) => e.node)).toEqual(['lab-node-0']);

    const set = renderMethods(driver.spec, release, 'dtk', { pool: target.pool() })[0]!;
    const bc = allObjects(set, 'day2').find((o) => o.kind === 'BuildConfig')!;
    await target.apply(set);
    const build = (await target.client.get('binary-build', { group: 'build.openshift.io', version: 'v1', resource: 'builds', kind: 'Build', namespaced: true }, `${bc.metadata.name}-1`, bc.metadata.namespace)) as { status?: { phase?: string } } | undefined;
    expect(build?.status?.phase).toBe('Complete');
    expect(events.find((e) => e.kind === 'manual-step' && String(e.data['command']).startsWith(`oc start-build ${bc.metadata.name} `))?.data['performedBy']).toBe('kmodlab');

    const t0 = Date.now();
    const up = await target.waitForModules(modules, { loaded: true, timeoutMs: 300_000 });
    expect(up, JSON.stringify(events.filter((e) => e.kind === 'progress' || e.kind === 'fault').slice(-10))).toEqual({ ok: true, pending: [] });
    const seen = events.filter((e) => e.kind === 'module-state' && e.data['loaded'] === true).map((e) => e.data['module']);
    for (const m of modules) expect(seen).toContain(m);
    process.stderr.write(`cluster target on lab: apply returned → modules seen loaded ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    // The canary: one Deployment per node, run by the lab's Deployment controller and
    // scheduler, probed every second through the lab API's pod proxy since reset()
    // (failures and recovery: canary.test.ts); here only that the probes reached it.
    await target.observe();
    const canary = events.filter((e) => e.kind === 'canary' && e.data['via'] === 'probe');
    expect(new Set(canary.map((e) => e.node))).toEqual(new Set(['lab-node-0']));
    expect(canary.some((e) => e.data['up'] === true)).toBe(true);
    process.stderr.write(`cluster target on lab: ${canary.length} canary probe sample(s) recorded on lab-node-0, ${canary.filter((e) => e.data['up'] !== true).length} failed\n`);

    await target.remove(set);
    const down = await target.waitForModules(modules, { loaded: false, timeoutMs: 300_000 });
    expect(down, JSON.stringify(events.filter((e) => e.kind === 'progress' || e.kind === 'fault').slice(-10))).toEqual({ ok: true, pending: [] });
    expect(events.filter((e) => e.kind === 'fault')).toEqual([]);
  }, 1_500_000);
});
