/**
 * The cluster target against `kmodlab lab up` (one QEMU node), KMM day 2: the same code a
 * user's OpenShift cluster gets — the operator installed through OLM (the Module applied
 * only once the CSV succeeded and the kind is served, B1), the source image pushed by the
 * user (done here, as the README's manual step), the in-cluster build and the worker
 * pods of the lab's KMM controller, module presence read by privileged probe pods;
 * remove unloads the modules.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { loadDriver } from '../../src/driver/load.js';
import type { EventKind } from '../../src/evaluation/events.js';
import { renderMethods } from '../../src/methods/render.js';
import { resolveRelease } from '../../src/release/resolve.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { sourceImageOf } from '../../src/targets/cluster/kmm-source-image.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { labReleaseInfoFor } from '../../src/targets/lab/images/lab-release.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0;
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: not installed: ${missing.join(', ')}]`;

describe.skipIf(!ok)(`the cluster target on kmodlab lab up, KMM day 2${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
  const h = new LabUpHarness('ctkmm');
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

  it('apply waits for the CSV before the Module; the build and worker load the modules, seen by probe pods; remove unloads them', async () => {
    const infoFile = path.join(dir, 'release.json');
    writeFileSync(infoFile, JSON.stringify(await labReleaseInfoFor(kernel!.kver, { registry: h.registry.host })));
    const release = await resolveRelease({ releaseInfoFile: infoFile });
    // A repository of this run only: an image pushed by an earlier run would skip KMM's build.
    const repo = `${h.registry.host}/${path.basename(dir).toLowerCase()}`;
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
    await target.reset({ release });
    const set = renderMethods(driver.spec, release, 'kmm', { pool: target.pool(), registry: repo })[0]!;

    // The manual step the kmm README gives: build and push the source image.
    const source = set.files.find((f) => f.path.endsWith('Containerfile.source'));
    expect(source, 'the kmm set has Containerfile.source').toBeDefined();
    const cf = path.join(dir, 'Containerfile.source');
    writeFileSync(cf, source!.content ?? '');
    const buildah = new Buildah();
    const log = path.join(dir, 'source.log');
    const sourceRef = sourceImageOf(set)!;
    expect(sourceRef.startsWith(`${repo}/`)).toBe(true);
    await buildah.bud({ containerfile: cf, context: driver.sourceDir!, tag: 'localhost/kmodlab-test/ct-kmm-source', logFile: log, insecure: true });
    await buildah.push('localhost/kmodlab-test/ct-kmm-source', sourceRef, { insecure: true, logFile: log });

    const t0 = Date.now();
    await target.apply(set);
    const steps = events.filter((e) => e.kind === 'progress').map((e) => String(e.data['step']));
    expect(steps.some((s) => /Succeeded/.test(s)), steps.join('\n')).toBe(true);
    const up = await target.waitForModules(modules, { loaded: true, timeoutMs: 600_000 });
    // Read with client-node, not with the target's client (whose calls are limited to what it needs).
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const builds = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: 'build.openshift.io', version: 'v1', plural: 'builds', namespace: 'kmodlab-simple-kmod' })) as { items: { status?: { phase?: string } }[] };
    expect(builds.items.map((b) => b.status?.phase)).toEqual(['Complete']);
    expect(up, JSON.stringify(events.filter((e) => e.kind === 'progress' || e.kind === 'fault').slice(-10))).toEqual({ ok: true, pending: [] });
    process.stderr.write(`cluster target on lab (kmm): apply → modules seen loaded ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    await target.remove(set);
    const down = await target.waitForModules(modules, { loaded: false, timeoutMs: 300_000 });
    expect(down, JSON.stringify(events.filter((e) => e.kind === 'progress' || e.kind === 'fault').slice(-10))).toEqual({ ok: true, pending: [] });
    expect(events.filter((e) => e.kind === 'fault')).toEqual([]);
  }, 1_500_000);
});
