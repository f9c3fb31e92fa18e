/**
 * A driver that needs a module shipped with the kernel (the fixture needs-crc7 uses the
 * in-tree crc7) loads on `kmodlab lab up` as on a cluster (bin/kmodlab.js and kubectl; needs
 * `npm run build`): the node carries its OS image's full module tree, and
 *   - DTK: the builder indexes the driver against the driver-toolkit's in-tree modules (the
 *     lab driver-toolkit carries them, as the real one installs kernel-modules), the driver
 *     image links /lib/modules/<kernel>/kernel to the node's tree that the DaemonSet mounts
 *     at /host/usr/lib/modules, and the postStart's modprobe loads crc7 from there;
 *   - KMM: the in-cluster build has the kernel's module tree mounted (as KMM mounts the
 *     node's /usr/lib/modules into build pods), so `depmod -b /opt` records crc7 through the
 *     image's `host` link; the worker pod (the node's /lib/modules mounted) loads it with
 *     `modprobe -d /opt`;
 *   - layering: the OS image build's `depmod` sees the kernel's full tree, and the node
 *     booted into the layered image loads the driver at boot (modules-load.d), crc7 with it.
 * Each time crc7 and the driver are seen loaded on the node (/proc/modules from a pod).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { kubectlBinary } from './api-server-helpers.js';
import { buildAsBuildSh } from './layering-build-sh.js';
import { labAvailability, pollUntil, primaryKernel, REPO, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'mkfs.erofs'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;
const kernel = lab.ok ? primaryKernel(lab.kernels.filter((k) => !k.flavour.startsWith('rt'))) : undefined;
const NEEDS_CRC7 = path.join(REPO, 'test', 'fixtures', 'drivers', 'needs-crc7', 'driver.yaml');

describe.skipIf(!ok)(`a driver with an in-tree dependency on kmodlab lab up${ok ? '' : why}`, () => {
  const h = new LabUpHarness('intree', { timeoutMs: 1_200_000 });
  const { dir, kmodlab, kubectl } = h;
  let runtimeBase: string;
  const loaded = () => h.loadedModules(runtimeBase);
  const json = async (...args: string[]) => JSON.parse((await kubectl(...args, '-o', 'json')).stdout);
  // A repository of this run only: an image pushed by an earlier run would skip KMM's build.
  const repo = () => `${h.registry.host}/${path.basename(dir).toLowerCase()}`;

  async function render(method: 'dtk' | 'kmm' | 'layering'): Promise<string> {
    const info = await kmodlab('lab', 'release-info', kernel!.kver);
    expect(info.code, info.stderr).toBe(0);
    const rel = path.join(dir, 'release.json');
    writeFileSync(rel, info.stdout);
    const r = await kmodlab('render', '--method', method, '--driver', NEEDS_CRC7, '--release-info', rel, '--output-dir', path.join(dir, `out-${method}`), ...(method === 'kmm' ? ['--registry', repo(), '--pool', 'master'] : method === 'layering' ? ['--registry', h.registry.prefix, '--pool', 'master'] : []));
    expect(r.code, r.stderr).toBe(0);
    return path.join(dir, `out-${method}`, method);
  }

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel! });
    expect(up.code, up.stderr).toBe(0);
    runtimeBase = runtimeBaseOf(release);
  }, 1_200_000);
  afterAll(() => h.stop(), 600_000);

  it('DTK: the DaemonSet loads crc7 from the node tree it mounts, then the driver; delete unloads both', async () => {
    expect(await loaded()).not.toContain('crc7');
    const out = await render('dtk');
    const a = await kubectl('apply', '-f', out);
    expect(a.code, a.stderr).toBe(0);
    const step = /oc start-build (\S+) -n (\S+) --from-dir=(\S+)/.exec(readFileSync(path.join(out, 'README.md'), 'utf8'));
    expect(step, 'the README names its start-build step').not.toBeNull();
    const [, bc, ns, fromDir] = step!;
    const b = await kmodlab('lab', 'start-build', bc!, '--namespace', ns!, '--from-dir', fromDir!, '--wait');
    expect(b.code, `${b.stderr}\n${h.logTail()}`).toBe(0);
    const ds = (await json('get', 'ds', '-n', ns!)).items[0].metadata.name as string;
    const rollout = await kubectl('rollout', 'status', `ds/${ds}`, '-n', ns!, '--timeout=600s');
    expect(rollout.code, `${rollout.stderr}\n${h.logTail(40, /hook|modprobe|kubelet|pod/)}`).toBe(0);
    const pod = (await json('get', 'pods', '-n', ns!)).items[0];
    expect(pod.status.containerStatuses[0].restartCount, JSON.stringify(pod.status.containerStatuses[0])).toBe(0);
    const mods = await loaded();
    expect(mods).toContain('crc7');
    expect(mods).toContain('needs_crc7');
    // The kernel links the two: the driver holds crc7.
    expect(await h.nodeOutput(runtimeBase, 'ls /sys/module/crc7/holders')).toEqual(['needs_crc7']);

    expect((await kubectl('delete', 'ds', ds, '-n', ns!, '--wait=true')).code).toBe(0);
    const after = await pollUntil(loaded, (m) => !m.includes('needs_crc7'), 120_000, 2_000);
    expect(after).not.toContain('needs_crc7');
    // modprobe -r takes the dependency it loaded with the driver out too (nothing else uses it).
    expect(after).not.toContain('crc7');
    expect((await kubectl('delete', 'namespace', ns!, '--wait=true', '--timeout=300s')).code).toBe(0);
  }, 1_200_000);

  it('KMM: the build indexes crc7 through the mounted module tree, the worker loads it with the driver', async () => {
    const out = await render('kmm');
    const files = readdirSync(out).filter((f) => /\.ya?ml$/.test(f));
    const docs = files.flatMap((f) => parseAllDocuments(readFileSync(path.join(out, f), 'utf8')).map((d) => ({ file: f, obj: d.toJS() as { kind?: string; metadata?: { name: string; namespace?: string } } })));
    const module = docs.find((d) => d.obj?.kind === 'Module')!;
    const operatorFiles = docs.filter((d) => ['Namespace', 'OperatorGroup', 'Subscription'].includes(d.obj?.kind ?? '')).map((d) => d.file);
    // The README's step 1: the operator through OLM; the Module kind is served once its CSV installs.
    for (const f of new Set(operatorFiles)) expect((await kubectl('apply', '-f', path.join(out, f))).code).toBe(0);
    const served = await pollUntil(async () => (await kubectl('get', 'crd', 'modules.kmm.sigs.x-k8s.io')).code === 0, (x) => x, 300_000, 2_000);
    expect(served, h.logTail()).toBe(true);
    expect((await kubectl('wait', 'crd/modules.kmm.sigs.x-k8s.io', '--for=condition=Established', '--timeout=120s')).code).toBe(0);
    // The README's step 3: the source image the in-cluster build copies from.
    const step = /podman build -f Containerfile\.source -t (\S+) (\S+)/.exec(readFileSync(path.join(out, 'README.md'), 'utf8'));
    expect(step, 'the README names its source-image build').not.toBeNull();
    const buildah = new Buildah();
    const log = path.join(dir, 'source-build.log');
    await buildah.bud({ containerfile: path.join(out, 'Containerfile.source'), context: step![2]!, tag: 'localhost/kmodlab-test/needs-crc7-source', logFile: log, insecure: true });
    await buildah.push('localhost/kmodlab-test/needs-crc7-source', step![1]!, { insecure: true, logFile: log });

    const a = await kubectl('apply', '-f', out);
    expect(a.code, a.stderr).toBe(0);
    const ns = module.obj.metadata!.namespace!;
    const ready = `kmm.node.kubernetes.io/${ns}.${module.obj.metadata!.name}.ready`;
    const node = (await kubectl('get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}')).stdout;
    const labelled = await pollUntil(async () => (await kubectl('get', 'nodes', '-l', ready, '-o', 'name')).stdout.includes(node), (x) => x, 900_000, 2_000);
    const builds = (await json('get', 'builds', '-n', ns)).items as { metadata: { name: string }; status: { phase: string; message?: string } }[];
    expect(labelled, `${JSON.stringify(builds.map((b) => b.status))}\n${h.logTail(40)}`).toBe(true);
    expect(builds.map((b) => b.status.phase)).toEqual(['Complete']);
    const mods = await loaded();
    expect(mods).toContain('crc7');
    expect(mods).toContain('needs_crc7');
    expect(await h.nodeOutput(runtimeBase, 'ls /sys/module/crc7/holders')).toEqual(['needs_crc7']);

    const d = await kubectl('delete', 'module', module.obj.metadata!.name, '-n', ns, '--timeout=300s');
    expect(d.code, `${d.stderr}\n${h.logTail()}`).toBe(0);
    const after = await loaded();
    expect(after).not.toContain('needs_crc7');
  }, 1_500_000);

  it('layering: depmod in the OS image build indexes crc7, and the booted layered image loads both at boot', async () => {
    const out = await render('layering');
    // build.sh's podman build + push, then the digest pinned into the MachineConfig.
    const { machineConfig: mcFile } = await buildAsBuildSh(out, 'master', path.join(dir, 'layering-build.log'));
    const pool = async () => (await json('get', 'mcp', 'master')) as { spec: { configuration?: { name?: string } } };
    const start = (await pool()).spec.configuration!.name!;
    const a = await kubectl('apply', '-f', mcFile);
    expect(a.code, a.stderr).toBe(0);
    const rendered = await pollUntil(pool, (p) => (p.spec.configuration?.name ?? start) !== start, 120_000, 1_000);
    const target = rendered.spec.configuration!.name!;
    expect(target).not.toBe(start);
    const w = await kubectl('wait', 'mcp/master', `--for=jsonpath={.status.configuration.name}=${target}`, '--timeout=1200s');
    expect(w.code, `${w.stderr}\n${h.logTail(20, /machine-config/)}`).toBe(0);
    expect((await kubectl('wait', 'mcp/master', '--for=condition=Updated', '--timeout=120s')).code).toBe(0);
    const mods = await loaded();
    expect(mods).toContain('crc7');
    expect(mods).toContain('needs_crc7');
    expect(await h.nodeOutput(runtimeBase, 'ls /sys/module/crc7/holders')).toEqual(['needs_crc7']);
  }, 1_800_000);
});
