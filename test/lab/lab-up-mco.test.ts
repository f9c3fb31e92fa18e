/**
 * The Machine Config Operator of `kmodlab lab up`, driven with the real kubectl 1.32 as on
 * single-node OpenShift (bin/kmodlab.js; needs `npm run build`): the node is in the master
 * pool and worker has 0 machines; a MachineConfig with kernelType realtime rolls the pool
 * — the node reboots (new bootID) into the realtime kernel — and deleting it goes back; an
 * osImageURL that does not exist degrades the node and the pool without a reboot; an
 * osImageURL naming the lab release's node-os image of another kernel boots that kernel; the
 * rendered layering Containerfile, built and pushed as its build.sh does, is booted by the
 * node and the module baked into it is loaded at boot (modules-load.d); a new base image
 * (an upgrade) leaves a pinned osImageURL alone, and without the layered MachineConfig the
 * pool rolls to the new base, the driver gone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { chooseLabKernels } from '../../src/targets/lab/kernels/lab-releases.js';
import { parseOsImagePulledMessage } from '../../src/targets/image-pulled-event.js';
import { kubectlBinary, waitPodsReady } from './api-server-helpers.js';
import { buildAsBuildSh } from './layering-build-sh.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'mkfs.erofs'].filter((t) => !findTool(t));
const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
const roles = kernel ? chooseLabKernels(lab.kernels, { from: kernel.kver }) : undefined;
/** Another non-realtime kernel of the lab (its node-os image is another release's). */
const other = kernel ? lab.kernels.find((k) => k.kver !== kernel.kver && k.kver !== roles?.realtime?.kver && !/-rt-/.test(k.kver)) : undefined;
const ok = lab.ok && missing.length === 0 && !!kubectlBinary() && !!roles?.realtime && !!other;
const why = !lab.ok
  ? skipReason(lab)
  : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : !kubectlBinary() ? 'no kubectl' : 'needs a realtime kernel and a second lab kernel (scripts/lab-packages.sh)'}]`;

interface Node {
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean };
  status: { nodeInfo: { kernelVersion: string; bootID: string } };
}
interface Pool {
  metadata: { generation?: number };
  spec: { configuration?: { name?: string; source?: { name: string }[] } };
  status?: { configuration?: { name?: string }; machineCount?: number; updatedMachineCount?: number; readyMachineCount?: number; degradedMachineCount?: number; unavailableMachineCount?: number; conditions?: { type: string; status: string; message?: string; reason?: string }[] };
}

const mc = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfig', metadata: { name, labels: { 'machineconfiguration.openshift.io/role': 'master' } }, spec });

describe.skipIf(!ok)(`the Machine Config Operator of kmodlab lab up, with kubectl${ok ? '' : why}`, () => {
  const h = new LabUpHarness('labmco', { timeoutMs: 1_200_000 });
  const { dir, labLog, kmodlab, kubectl } = h;
  let otherOs: string;
  let runtimeBase: string;
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await kubectl('get', ...args, '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const node = async () => (await json<{ items: Node[] }>('nodes')).items[0]!;
  const pool = (name = 'master') => json<Pool>('mcp', name);
  const logTail = () => readFileSync(labLog, 'utf8').split('\n').filter((l) => l.includes('machine-config')).slice(-15).join('\n');
  const apply = async (name: string, spec: Record<string, unknown>) => {
    const f = path.join(dir, `${name}.json`);
    writeFileSync(f, mc(name, spec));
    const a = await kubectl('apply', '-f', f);
    expect(a.code, a.stderr).toBe(0);
  };
  /** Waits for the pool to target a config other than `before`, then for every node to run it. */
  const rolledOut = async (before: string): Promise<string> => {
    let target = before;
    for (let i = 0; i < 120 && target === before; i++, await new Promise((r) => setTimeout(r, 500))) target = (await pool()).spec.configuration?.name ?? before;
    expect(target, 'the pool was not rendered again').not.toBe(before);
    const w = await kubectl('wait', 'mcp/master', `--for=jsonpath={.status.configuration.name}=${target}`, '--timeout=900s');
    expect(w.code, `${w.stderr}\n${logTail()}`).toBe(0);
    const u = await kubectl('wait', 'mcp/master', '--for=condition=Updated', '--timeout=60s');
    expect(u.code, u.stderr).toBe(0);
    return target;
  };

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel!, images: [kernel!, roles!.realtime!, other!] });
    otherOs = release!.images.find((i) => i.role === 'node-os' && i.kver === other!.kver)!.digestRef!;
    runtimeBase = runtimeBaseOf(release);
    expect(up.code, up.stderr).toBe(0);
  }, 1_200_000);
  // Three kernels' images in this file's cache: lab down and removing it take a while on a loaded host.
  afterAll(() => h.stop(), 600_000);

  it('single-node: the node is in the master pool, worker has 0 machines; both are Updated on their rendered config', async () => {
    // As on an installed cluster, lab up returns with every pool rendered and updated.
    for (const name of ['master', 'worker']) {
      const p = await pool(name);
      expect(p.spec.configuration?.name, `${name} has a configuration when lab up returns`).toMatch(new RegExp(`^rendered-${name}-`));
      expect(p.status?.configuration?.name).toBe(p.spec.configuration!.name);
    }
    const w = await kubectl('wait', 'mcp/master', 'mcp/worker', '--for=condition=Updated', '--timeout=120s');
    expect(w.code, `${w.stderr}\n${logTail()}`).toBe(0);
    const master = await pool('master');
    const worker = await pool('worker');
    expect(master.status).toMatchObject({ machineCount: 1, updatedMachineCount: 1, readyMachineCount: 1, degradedMachineCount: 0, unavailableMachineCount: 0, observedGeneration: master.metadata.generation });
    expect(worker.status).toMatchObject({ machineCount: 0, updatedMachineCount: 0 });
    const rendered = master.spec.configuration!.name!;
    expect(rendered).toMatch(/^rendered-master-[0-9a-f]{32}$/);
    expect(master.status!.configuration!.name).toBe(rendered);
    expect(master.spec.configuration!.source!.map((s) => s.name)).toEqual(['00-master']);
    const n = await node();
    expect(n.metadata.annotations).toMatchObject({ 'machineconfiguration.openshift.io/currentConfig': rendered, 'machineconfiguration.openshift.io/desiredConfig': rendered, 'machineconfiguration.openshift.io/state': 'Done' });
    // The rendered config is a real MachineConfig whose osImageURL is the release's base image.
    const cm = await json<{ data: Record<string, string> }>('configmap', '-n', 'openshift-machine-config-operator', 'machine-config-osimageurl');
    expect(cm.data.baseOSContainerImage).toMatch(/@sha256:[0-9a-f]{64}$/);
    const r = await json<{ spec: { osImageURL: string; kernelType: string } }>('mc', rendered);
    expect(r.spec).toMatchObject({ osImageURL: cm.data.baseOSContainerImage, kernelType: 'default' });
  });

  it('kernelType realtime with kernelArguments: the pool rolls, the node reboots into the realtime kernel with the arguments; deleting the MachineConfig goes back', async () => {
    const before = await node();
    const start = (await pool()).spec.configuration!.name!;
    // A pod no DaemonSet owns is drained off the node before the reboot.
    const podFile = path.join(dir, 'bare-pod.json');
    writeFileSync(podFile, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare', namespace: 'default' }, spec: { nodeName: before.metadata.name, containers: [{ name: 'c', image: runtimeBase, command: ['sleep', 'infinity'] }] } }));
    const pa = await kubectl('apply', '-f', podFile);
    expect(pa.code, pa.stderr).toBe(0);
    await apply('99-master-kernel-rt', { kernelType: 'realtime', kernelArguments: ['kmodlab.karg=on'] });
    const t0 = Date.now();
    const rtConfig = await rolledOut(start);
    process.stderr.write(`lab MCO: kernelType realtime rolled out on 1 node in ${((Date.now() - t0) / 1000).toFixed(1)} s (apply → pool Updated)\n`);
    const rt = await node();
    expect(rt.status.nodeInfo.kernelVersion).toBe(roles!.realtime!.kver);
    expect(rt.status.nodeInfo.bootID).not.toBe(before.status.nodeInfo.bootID);
    expect(rt.spec?.unschedulable ?? false).toBe(false);
    expect(rt.metadata.annotations?.['machineconfiguration.openshift.io/state']).toBe('Done');
    // The rendered config's kernelArguments are on the booted kernel's command line (rpm-ostree kargs).
    expect((await json<{ spec: { kernelArguments: string[] } }>('mc', rtConfig)).spec.kernelArguments).toEqual(['kmodlab.karg=on']);
    expect((await h.nodeOutput(runtimeBase, 'cat /proc/cmdline')).join(' ')).toMatch(/(^| )kmodlab\.karg=on( |$)/);
    const gone = await kubectl('get', 'pod', 'bare', '-n', 'default');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/NotFound/);

    const d = await kubectl('delete', 'mc', '99-master-kernel-rt');
    expect(d.code, d.stderr).toBe(0);
    const back = await rolledOut(rtConfig);
    expect(back).toBe(start); // the same sources render the same config
    const after = await node();
    expect(after.status.nodeInfo.kernelVersion).toBe(kernel!.kver);
    expect(after.status.nodeInfo.bootID).not.toBe(rt.status.nodeInfo.bootID);
    expect((await h.nodeOutput(runtimeBase, 'cat /proc/cmdline')).join(' ')).not.toContain('kmodlab.karg=on');
  }, 1_800_000);

  it('an osImageURL that does not exist: node Degraded with the pull error, cordoned, not rebooted; pool Degraded', async () => {
    const before = await node();
    const missingRef = `${h.registry.prefix}/node-os@sha256:${'0'.repeat(64)}`;
    await apply('99-master-layered-missing', { osImageURL: missingRef });
    const w = await kubectl('wait', 'mcp/master', '--for=condition=Degraded', '--timeout=300s');
    expect(w.code, `${w.stderr}\n${logTail()}`).toBe(0);
    const p = await pool();
    expect(p.status).toMatchObject({ degradedMachineCount: 1, updatedMachineCount: 0 });
    expect(p.status!.conditions!.find((c) => c.type === 'NodeDegraded')).toMatchObject({ status: 'True' });
    expect(p.status!.conditions!.find((c) => c.type === 'Updated')).toMatchObject({ status: 'False' });
    const n = await node();
    expect(n.metadata.annotations?.['machineconfiguration.openshift.io/state']).toBe('Degraded');
    expect(n.metadata.annotations?.['machineconfiguration.openshift.io/reason']).toContain(missingRef);
    expect(n.metadata.annotations?.['machineconfiguration.openshift.io/reason']).toMatch(/manifest unknown/);
    expect(n.spec?.unschedulable).toBe(true);
    expect(n.status.nodeInfo.bootID).toBe(before.status.nodeInfo.bootID);

    // Fixing the config (deleting it) retargets the node to what it runs: no reboot, Done, uncordoned.
    expect((await kubectl('delete', 'mc', '99-master-layered-missing')).code).toBe(0);
    const u = await kubectl('wait', 'mcp/master', '--for=condition=Updated', '--timeout=300s');
    expect(u.code, `${u.stderr}\n${logTail()}`).toBe(0);
    const fixed = await node();
    expect(fixed.metadata.annotations?.['machineconfiguration.openshift.io/state']).toBe('Done');
    expect(fixed.spec?.unschedulable ?? false).toBe(false);
    expect(fixed.status.nodeInfo.bootID).toBe(before.status.nodeInfo.bootID);
  }, 900_000);

  it("an osImageURL naming another kernel's node-os image: the node boots that image's kernel", async () => {
    const before = await node();
    const start = (await pool()).spec.configuration!.name!;
    await apply('99-master-os-image', { osImageURL: otherOs });
    await rolledOut(start);
    const n = await node();
    expect(n.status.nodeInfo.kernelVersion).toBe(other!.kver);
    expect(n.status.nodeInfo.bootID).not.toBe(before.status.nodeInfo.bootID);
    // Without the override the pool goes back to the release's base image.
    const layered = (await pool()).spec.configuration!.name!;
    expect((await kubectl('delete', 'mc', '99-master-os-image')).code).toBe(0);
    expect(await rolledOut(layered)).toBe(start);
    expect((await node()).status.nodeInfo.kernelVersion).toBe(kernel!.kver);
  }, 1_800_000);

  it('layering: the rendered Containerfile built as build.sh does, rolled out; the node boots the layered image and its module is loaded', async () => {
    // Render for the lab release, as for a cluster: render --release-info <(kmodlab lab release-info <kver>).
    const info = await kmodlab('lab', 'release-info', kernel!.kver);
    expect(info.code, info.stderr).toBe(0);
    writeFileSync(path.join(dir, 'release.json'), info.stdout);
    const out = path.join(dir, 'out');
    const r = await kmodlab('render', '--method', 'layering', '--pool', 'master', '--registry', h.registry.prefix, '--release-info', path.join(dir, 'release.json'), '--output-dir', out);
    expect(r.code, r.stderr).toBe(0);
    // build.sh's podman build + push, then the digest pinned into the MachineConfig; then `kubectl apply` it.
    const { repo, digest, machineConfig: mcFile } = await buildAsBuildSh(path.join(out, 'layering'), 'master', path.join(dir, 'layering-build.log'));
    const start = (await pool()).spec.configuration!.name!;
    const boot = (await node()).status.nodeInfo.bootID;
    const a = await kubectl('apply', '-f', mcFile);
    expect(a.code, a.stderr).toBe(0);
    await rolledOut(start);
    const n = await node();
    expect(n.status.nodeInfo.kernelVersion).toBe(kernel!.kver);
    expect(n.status.nodeInfo.bootID).not.toBe(boot); // rolled out with a reboot
    // The daemon's pull of the layered image is a Pulled Event on the Node, once, with the
    // blobs the node did not hold: the layered image's own layers, not its base image's.
    const events = await json<{ items: Array<{ reason?: string; message?: string; involvedObject?: { kind?: string; name?: string } }> }>('events', '-n', 'default');
    const pulls = events.items.filter((e) => e.reason === 'Pulled' && e.involvedObject?.kind === 'Node' && e.involvedObject.name === n.metadata.name).flatMap((e) => {
      const p = parseOsImagePulledMessage(e.message ?? '');
      return p && p.image === `${repo}@${digest}` ? [p] : [];
    });
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ source: 'osImageURL' });
    expect(pulls[0]!.pulledBytes).toBeGreaterThan(0);
    expect(pulls[0]!.pulledBytes).toBeLessThan(pulls[0]!.sizeBytes);
    // Loaded at boot by the image's modules-load.d entry, as the guest's console shows.
    expect(readFileSync(path.join(dir, 'cache', 'lab-api', 'nodes', `${n.metadata.name}.console.log`), 'utf8')).toContain('modules-load.d: loaded simple_kmod');

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
    const w = await waitPodsReady(kubectl, 'app=lsmod');
    expect(w.code, w.stderr).toBe(0);
    let logs = '';
    for (let i = 0; i < 30 && !logs.includes('end-of-list'); i++, await new Promise((res) => setTimeout(res, 500))) logs = (await kubectl('logs', 'ds/lsmod')).stdout;
    const mods = logs.split('\n');
    expect(mods).toContain('simple_kmod');
    expect(mods).toContain('simple_procfs_kmod');
    await kubectl('delete', 'ds', 'lsmod');
  }, 1_800_000);

  it('a new base image in machine-config-osimageurl (an upgrade): a pinned osImageURL stays; without it the pool rolls to the new base', async () => {
    const before = await node();
    const layeredConfig = (await pool()).spec.configuration!.name!;
    const cm = await json<{ data: Record<string, string> }>('configmap', '-n', 'openshift-machine-config-operator', 'machine-config-osimageurl');
    const p = await kubectl('patch', 'configmap', 'machine-config-osimageurl', '-n', 'openshift-machine-config-operator', '--type', 'merge', '-p', JSON.stringify({ data: { baseOSContainerImage: otherOs, releaseVersion: `lab-${other!.kver}` } }));
    expect(p.code, p.stderr).toBe(0);
    // The layered image overrides the base: the rendered config does not change, nothing reboots.
    await new Promise((r) => setTimeout(r, 8_000));
    expect((await pool()).spec.configuration!.name).toBe(layeredConfig);
    expect((await node()).status.nodeInfo.bootID).toBe(before.status.nodeInfo.bootID);
    // Without the layered MachineConfig the pool renders on the new base and rolls.
    expect((await kubectl('delete', 'mc', '99-master-kmodlab-simple-kmod-layered')).code).toBe(0);
    const upgraded = await rolledOut(layeredConfig);
    expect((await json<{ spec: { osImageURL: string } }>('mc', upgraded)).spec.osImageURL).toBe(otherOs);
    const n = await node();
    expect(n.status.nodeInfo.kernelVersion).toBe(other!.kver);
    expect(n.status.nodeInfo.bootID).not.toBe(before.status.nodeInfo.bootID);
    expect(cm.data.baseOSContainerImage).not.toBe(otherOs);
    // Off the layered image, the driver is gone with it.
    expect(await h.loadedModules(runtimeBase)).not.toContain('simple_kmod');
  }, 1_800_000);
});
