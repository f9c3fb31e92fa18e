/**
 * On-cluster image layering on `kmodlab lab up`, driven with the real kubectl 1.32
 * (bin/kmodlab.js; needs `npm run build`): the rendered on-cluster variant (a
 * MachineOSConfig for pool master) is applied as its README says; the lab's MCO makes a
 * MachineOSBuild, builds the Containerfile on the pool's base OS image with buildah and
 * pushes it (Succeeded, digestedImagePushSpec); the pool rolls to the built image, the node
 * boots it and the driver's modules are loaded at boot. A new base OS image (an upgrade)
 * makes a new MachineOSBuild; the rendered Containerfile's driver-toolkit is pinned to the
 * old release, so that build fails its kmodlab check and the pool stays on its image — and at
 * its release (a layered pool reaches a new release only with an image built on it). The
 * README's upgrade step (re-render for the target release, `oc apply`) makes a MachineOSBuild
 * that succeeds: rolled out again, the node boots the new kernel with the module loaded.
 * The cluster target (observe-only, connected to the lab's API) sees every MachineOSBuild
 * finish: a `build` event per build (ok or failed, buildStart → buildEnd), the failed one
 * listed as a blocker until a newer build supersedes it; every MachineOSBuild the lab wrote
 * satisfies the upstream schema (../shared/schemas, or KMODLAB_SHARED_SCHEMAS).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { RELEASE_IMAGE_VERSION } from '../../src/targets/lab/control-plane/api-controllers/mco/render.js';
import { CURRENT_BUILD_ANNOTATION } from '../../src/targets/lab/control-plane/api-controllers/machineosconfig.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { assertValidK8sObject } from '../support/upstream-schemas.js';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { kubectlBinary, waitPodsReady } from './api-server-helpers.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'mkfs.erofs'].filter((t) => !findTool(t));
const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
/** Another non-realtime kernel of the lab: the base OS image of "the next release". */
const other = kernel ? lab.kernels.find((k) => k.kver !== kernel.kver && !/-rt-/.test(k.kver)) : undefined;
const ok = lab.ok && missing.length === 0 && !!kubectlBinary() && !!other;
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : !kubectlBinary() ? 'no kubectl' : 'needs a second lab kernel'}]`;

interface Mosb {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: { renderedImagePushSpec: string; machineOSConfig: { name: string } };
  status?: { digestedImagePushSpec?: string; conditions?: { type: string; status: string; message?: string }[] };
}

describe.skipIf(!ok)(`on-cluster layering (MachineOSConfig) on kmodlab lab up, with kubectl${ok ? '' : why}`, () => {
  const h = new LabUpHarness('labmosc', { timeoutMs: 1_200_000 });
  const { dir, labLog, kmodlab, kubectl } = h;
  let otherOs: string;
  let runtimeBase: string;
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await kubectl('get', ...args, '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const logTail = () =>
    readFileSync(labLog, 'utf8')
      .split('\n')
      .filter((l) => /machine-?os|machine-config/.test(l))
      .slice(-15)
      .join('\n');
  const builds = async () => (await json<{ items: Mosb[] }>('machineosbuilds')).items;
  /** Waits for a MachineOSBuild other than `known` to appear. */
  const newBuild = async (known: string[]): Promise<Mosb> => {
    for (let i = 0; i < 120; i++, await new Promise((r) => setTimeout(r, 500))) {
      const b = (await builds()).find((x) => !known.includes(x.metadata.name));
      if (b) return b;
    }
    throw new Error(`no new MachineOSBuild\n${logTail()}`);
  };

  /** The cluster target on the lab's API, read verbs only: what it records, and what it says holds a rollout up. */
  let observer: ClusterTarget;
  const recorded: { kind: string; data: Record<string, unknown> }[] = [];
  /**
   * The `build` event the target recorded for a MachineOSBuild: waits up to `timeoutMs` for
   * the build to finish either way (a Failed build never becomes Succeeded: a wait for that
   * condition alone would run into its timeout).
   */
  const buildEvent = async (name: string, timeoutMs = 30_000): Promise<Record<string, unknown>> => {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
      const e = recorded.find((x) => x.kind === 'build' && x.data['build'] === `MachineOSBuild/${name}`);
      if (e) return e.data;
    }
    throw new Error(`no build event for MachineOSBuild ${name}; recorded: ${recorded.map((x) => x.kind).join(', ')}`);
  };
  /** The release the pool's current rendered config is for (the MCO's record, which the ClusterVersion waits on). */
  const poolRelease = async () => {
    const name = (await json<{ spec: { configuration: { name: string } } }>('mcp', 'master')).spec.configuration.name;
    return (await json<{ metadata: { annotations?: Record<string, string> } }>('mc', name)).metadata.annotations?.[RELEASE_IMAGE_VERSION];
  };

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel!, images: [kernel!, other!] });
    otherOs = release!.images.find((i) => i.role === 'node-os' && i.kver === other!.kver)!.digestRef!;
    runtimeBase = runtimeBaseOf(release);
    expect(up.code, up.stderr).toBe(0);
    observer = await ClusterTarget.connect({ kubeconfig: h.kubeconfig, observeOnly: true, emit: (kind, data) => void recorded.push({ kind, data: data as Record<string, unknown> }), pollMs: 500 });
    await observer.reset({ release: observer.releases().from });
  }, 1_200_000);
  afterAll(async () => {
    await observer?.close();
    await h.stop();
  });

  it('the rendered MachineOSConfig: MachineOSBuild Succeeded, the pool rolls to its image, the node boots it and loads the module', async () => {
    const info = await kmodlab('lab', 'release-info', kernel!.kver);
    expect(info.code, info.stderr).toBe(0);
    writeFileSync(path.join(dir, 'release.json'), info.stdout);
    const out = path.join(dir, 'out');
    const r = await kmodlab('render', '--method', 'layering', '--variant', 'on-cluster', '--ocp-version', '4.19.0', '--pool', 'master', '--registry', h.registry.prefix, '--release-info', path.join(dir, 'release.json'), '--output-dir', out);
    expect(r.code, r.stderr).toBe(0);
    // The README's step 4: the driver source travels as an image (podman build + push; buildah here).
    const readme = readFileSync(path.join(out, 'layering', 'README.md'), 'utf8');
    const [, sourceImage, sourceDir] = /podman build -f Containerfile\.source -t (\S+) (\S+)/.exec(readme) ?? [];
    expect(sourceImage && sourceDir, 'the README says how to build the source image').toBeTruthy();
    const buildah = new Buildah();
    const logFile = path.join(dir, 'source-build.log');
    await buildah.bud({ containerfile: path.join(out, 'layering', 'Containerfile.source'), context: sourceDir!, tag: sourceImage!, logFile, insecure: true });
    await buildah.push(sourceImage!, sourceImage!, { insecure: true, logFile });

    const before = (await json<{ items: { status: { nodeInfo: { bootID: string } } }[] }>('nodes')).items[0]!;
    const startConfig = (await json<{ spec: { configuration: { name: string } } }>('mcp', 'master')).spec.configuration.name;
    const t0 = Date.now();
    const a = await kubectl('apply', '-f', path.join(out, 'layering', '00-machineosconfig-master.yaml'));
    expect(a.code, a.stderr).toBe(0);
    const mosb = await newBuild([]);
    expect(mosb.metadata.labels).toMatchObject({ 'machineconfiguration.openshift.io/machine-os-config': 'master', 'machineconfiguration.openshift.io/target-machine-config-pool': 'master' });
    // While it is built the pool is Updating, waiting for it (upstream status.go), not Updated.
    type Cond = { type: string; status: string; message?: string };
    let conds: Cond[] = [];
    const waiting = (c: Cond[]) => c.some((x) => x.type === 'Updating' && x.status === 'True' && x.message === `Pool is waiting for OS image build to complete (mosb: ${mosb.metadata.name})`);
    for (let i = 0; i < 40 && !waiting(conds); i++, await new Promise((res) => setTimeout(res, 250))) conds = (await json<{ status: { conditions: Cond[] } }>('mcp', 'master')).status.conditions;
    expect(conds.filter((c) => c.type === 'Updated' || c.type === 'Updating')).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Updated', status: 'False' }), expect.objectContaining({ type: 'Updating', status: 'True', message: `Pool is waiting for OS image build to complete (mosb: ${mosb.metadata.name})` })]),
    );
    expect(await buildEvent(mosb.metadata.name, 1_200_000), logTail()).toMatchObject({ ok: true });
    const w = await kubectl('wait', `machineosbuild/${mosb.metadata.name}`, '--for=condition=Succeeded', '--timeout=60s');
    expect(w.code, `${w.stderr}\n${logTail()}`).toBe(0);
    process.stderr.write(`lab MOSC: apply → MachineOSBuild Succeeded ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const built = (await builds()).find((b) => b.metadata.name === mosb.metadata.name)!;
    expect(built.status?.digestedImagePushSpec).toMatch(new RegExp(`^${h.registry.prefix.replace(/[.]/g, '\\.')}/simple-kmod-rhcos@sha256:[0-9a-f]{64}$`));
    const mosc = await json<{ metadata: { annotations?: Record<string, string> }; status: { currentImagePullSpec?: string; machineOSBuild?: { name: string } } }>('machineosconfig', 'master');
    expect(mosc.status.currentImagePullSpec).toBe(built.status!.digestedImagePushSpec);
    expect(mosc.status.machineOSBuild?.name).toBe(mosb.metadata.name);
    expect(mosc.metadata.annotations?.[CURRENT_BUILD_ANNOTATION]).toBe(mosb.metadata.name);
    assertValidK8sObject(built);
    const ok = await buildEvent(mosb.metadata.name);
    expect(ok).toMatchObject({ ok: true, machineOSConfig: 'master', image: built.status!.digestedImagePushSpec, builder: `Job openshift-machine-config-operator/build-${mosb.metadata.name}` });
    expect(ok['wallMs']).toBeGreaterThan(0);
    expect(observer.blockers()).toEqual([]);

    // The MCO rolls the pool to the built image.
    let target = startConfig;
    for (let i = 0; i < 120 && target === startConfig; i++, await new Promise((res) => setTimeout(res, 500))) target = (await json<{ spec: { configuration: { name: string } } }>('mcp', 'master')).spec.configuration.name;
    expect(target, 'the pool was not rendered on the built image').not.toBe(startConfig);
    const rendered = await json<{ spec: { osImageURL: string } }>('mc', target);
    expect(rendered.spec.osImageURL).toBe(built.status!.digestedImagePushSpec);
    const u = await kubectl('wait', 'mcp/master', `--for=jsonpath={.status.configuration.name}=${target}`, '--timeout=900s');
    expect(u.code, `${u.stderr}\n${logTail()}`).toBe(0);
    expect((await kubectl('wait', 'mcp/master', '--for=condition=Updated', '--timeout=60s')).code).toBe(0);
    process.stderr.write(`lab MOSC: apply → pool Updated ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const after = (await json<{ items: { status: { nodeInfo: { bootID: string; kernelVersion: string } } }[] }>('nodes')).items[0]!;
    expect(after.status.nodeInfo.bootID).not.toBe(before.status.nodeInfo.bootID);
    expect(after.status.nodeInfo.kernelVersion).toBe(kernel!.kver);

    // What the node's kernel has loaded, seen from a pod (/proc/modules is the node's).
    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'lsmod', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'lsmod' } },
        template: { metadata: { labels: { app: 'lsmod' } }, spec: { containers: [{ name: 'lsmod', image: runtimeBase, command: ['sh', '-c', 'cut -d" " -f1 /proc/modules; echo end-of-list; exec sleep infinity'] }] } },
      },
    };
    writeFileSync(path.join(dir, 'lsmod.json'), JSON.stringify(ds));
    expect((await kubectl('apply', '-f', path.join(dir, 'lsmod.json'))).code).toBe(0);
    const p = await waitPodsReady(kubectl, 'app=lsmod');
    expect(p.code, p.stderr).toBe(0);
    let logs = '';
    for (let i = 0; i < 30 && !logs.includes('end-of-list'); i++, await new Promise((res) => setTimeout(res, 500))) logs = (await kubectl('logs', 'ds/lsmod')).stdout;
    expect(logs.split('\n')).toContain('simple_kmod');
    expect(logs.split('\n')).toContain('simple_procfs_kmod');
    await kubectl('delete', 'ds', 'lsmod');
  }, 2_400_000);

  it('a new base OS image (an upgrade) makes a new MachineOSBuild; its pinned driver-toolkit fails the check, the pool stays on its image and release, and the cluster target records the failed build and lists it as a blocker', async () => {
    const known = (await builds()).map((b) => b.metadata.name);
    const current = (await json<{ status: { currentImagePullSpec: string } }>('machineosconfig', 'master')).status.currentImagePullSpec;
    const releaseBefore = await poolRelease();
    expect(releaseBefore).not.toBe(`lab-${other!.kver}`);
    const changedMs = Date.now();
    const p = await kubectl('patch', 'configmap', 'machine-config-osimageurl', '-n', 'openshift-machine-config-operator', '--type', 'merge', '-p', JSON.stringify({ data: { baseOSContainerImage: otherOs, releaseVersion: `lab-${other!.kver}` } }));
    expect(p.code, p.stderr).toBe(0);
    const mosb = await newBuild(known);
    expect(await buildEvent(mosb.metadata.name, 1_200_000), logTail()).toMatchObject({ ok: false });
    const w = await kubectl('wait', `machineosbuild/${mosb.metadata.name}`, '--for=condition=Failed', '--timeout=60s');
    expect(w.code, `${w.stderr}\n${logTail()}`).toBe(0);
    const failed = (await builds()).find((b) => b.metadata.name === mosb.metadata.name)!;
    const failedCondition = failed.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failedCondition).toMatchObject({ status: 'True', reason: 'Failed' });
    expect(failedCondition?.message).toMatch(/^Build Failed\n/);
    expect(failedCondition?.message).toContain('kmodlab: this driver-toolkit image has no build tree for');
    expect(failed.status?.conditions?.filter((c) => c.status === 'True').map((c) => c.type)).toEqual(['Failed']);
    assertValidK8sObject(failed);
    expect((await json<{ status: { currentImagePullSpec: string } }>('machineosconfig', 'master')).status.currentImagePullSpec).toBe(current);
    const rendered = await json<{ spec: { osImageURL: string } }>('mc', (await json<{ spec: { configuration: { name: string } } }>('mcp', 'master')).spec.configuration.name);
    expect(rendered.spec.osImageURL).toBe(current);
    // The pool is not at the new release: its image was not built on it (the upgrade would wait here).
    expect(await poolRelease()).toBe(releaseBefore);

    // Through the API, the cluster target: one failed build event with its time to failure, and the build as a blocker with its evidence.
    const ev = await buildEvent(mosb.metadata.name);
    expect(ev).toMatchObject({ ok: false, machineOSConfig: 'master', builder: `Job openshift-machine-config-operator/build-${mosb.metadata.name}` });
    expect(ev['error']).toMatch(/^Failed: Build Failed\n.*kmodlab: this driver-toolkit image has no build tree for/s);
    expect(ev['wallMs']).toBeGreaterThan(0);
    // The build host's figures up to the failure: CPU and RSS of the buildah tree, nothing pushed, no image.
    expect(ev).toMatchObject({ userCpuMs: expect.any(Number), peakRssBytes: expect.any(Number), bytesPushed: 0 });
    expect(ev['peakRssBytes']).toBeGreaterThan(0);
    expect(ev).not.toHaveProperty('imageBytes');
    const blocking = observer.blockers();
    expect(blocking).toHaveLength(1);
    expect(blocking[0]).toMatch(new RegExp(`^MachineOSBuild ${mosb.metadata.name} \\(MachineOSConfig master\\) Failed after \\d+ s: Build Failed \\| .*kmodlab: this driver-toolkit image has no build tree for`));
    expect(observer.failedMachineOSBuildsOf('master', changedMs)).toEqual(blocking);
    expect(observer.failedMachineOSBuildsOf('worker', changedMs)).toEqual([]);
  }, 1_800_000);

  it("the README's upgrade step (re-render for the target release, apply): a new MachineOSBuild succeeds, rolls out, the node boots the new kernel and loads the module", async () => {
    const known = (await builds()).map((b) => b.metadata.name);
    const current = (await json<{ status: { currentImagePullSpec: string } }>('machineosconfig', 'master')).status.currentImagePullSpec;
    const startConfig = (await json<{ spec: { configuration: { name: string } } }>('mcp', 'master')).spec.configuration.name;
    const info = await kmodlab('lab', 'release-info', other!.kver);
    expect(info.code, info.stderr).toBe(0);
    writeFileSync(path.join(dir, 'release-next.json'), info.stdout);
    const out = path.join(dir, 'out-next');
    const r = await kmodlab('render', '--method', 'layering', '--variant', 'on-cluster', '--ocp-version', '4.19.0', '--pool', 'master', '--registry', h.registry.prefix, '--release-info', path.join(dir, 'release-next.json'), '--output-dir', out);
    expect(r.code, r.stderr).toBe(0);
    const a = await kubectl('apply', '-f', path.join(out, 'layering', '00-machineosconfig-master.yaml'));
    expect(a.code, a.stderr).toBe(0);
    const mosb = await newBuild(known);
    expect(await buildEvent(mosb.metadata.name, 1_200_000), logTail()).toMatchObject({ ok: true });
    const w = await kubectl('wait', `machineosbuild/${mosb.metadata.name}`, '--for=condition=Succeeded', '--timeout=60s');
    expect(w.code, `${w.stderr}\n${logTail()}`).toBe(0);
    const built = (await builds()).find((b) => b.metadata.name === mosb.metadata.name)!;
    expect(built.status?.digestedImagePushSpec).not.toBe(current);
    let target = startConfig;
    for (let i = 0; i < 120 && target === startConfig; i++, await new Promise((res) => setTimeout(res, 500))) target = (await json<{ spec: { configuration: { name: string } } }>('mcp', 'master')).spec.configuration.name;
    expect(target, 'the pool was not rendered on the new image').not.toBe(startConfig);
    expect((await json<{ spec: { osImageURL: string } }>('mc', target)).spec.osImageURL).toBe(built.status!.digestedImagePushSpec);
    const u = await kubectl('wait', 'mcp/master', `--for=jsonpath={.status.configuration.name}=${target}`, '--timeout=900s');
    expect(u.code, `${u.stderr}\n${logTail()}`).toBe(0);
    const n = (await json<{ items: { status: { nodeInfo: { kernelVersion: string } } }[] }>('nodes')).items[0]!;
    expect(n.status.nodeInfo.kernelVersion).toBe(other!.kver);
    // Built on the new release: the pool is at it now, and the failed build, superseded, holds nothing up.
    expect(await poolRelease()).toBe(`lab-${other!.kver}`);
    expect(await buildEvent(mosb.metadata.name)).toMatchObject({ ok: true });
    expect(observer.blockers()).toEqual([]);
    expect(await h.loadedModules(runtimeBase)).toContain('simple_kmod');
  }, 1_800_000);
});
