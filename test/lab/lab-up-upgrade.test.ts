/**
 * Cluster upgrades on `kmodlab lab up`, driven with kubectl as on a cluster (bin/kmodlab.js;
 * needs `npm run build`): the upgrade is `oc adm upgrade --to` — a patch of the
 * ClusterVersion's desiredUpdate (version and image) to the other lab release of the node's
 * kernel series; the lab's CVO moves machine-config-osimageurl and openshift/driver-toolkit,
 * the MCO rolls the pool and the node reboots into the new kernel. Each method then does
 * what its OpenShift counterpart does:
 * - dtk pinned: loaded by the DaemonSet's postStart without a reboot; after the upgrade
 *   nothing is rebuilt, the pod's postStart modprobe finds no module for the new kernel
 *   (CrashLoopBackOff; the lab has no Node Feature Discovery to keep the pod off the node)
 *   and the driver is lost;
 * - dtk tracking: the driver-toolkit tag moves → the BuildConfig's ImageChange trigger
 *   rebuilds → the DaemonSet's image trigger replaces the pod → loaded on the new kernel;
 * KMM, which builds the kmod image for the new kernel and loads it by itself after the
 * reboot, is run through the same upgrade by `kmodlab evaluate` in test/e2e/evaluate.test.ts.
 * One lab for both: each case upgrades to the lab release the node does not run
 * (a z-stream pair of one series; the second "upgrade" goes back to the first kernel, which
 * the lab's ClusterVersion offers like any other release — the methods cannot tell).
 * Layering keeps its pinned osImageURL across a base-image change: lab-up-mco.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import type { LabKernel } from '../../src/targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../../src/targets/lab/kernels/lab-releases.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, pollUntil, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'mkfs.erofs'].filter((t) => !findTool(t));
// The evaluation's own roles: a start kernel and a newer z-stream of its series to upgrade to.
const roles = lab.ok && lab.kernels.some((k) => !/-rt-/.test(k.kver)) ? chooseLabKernels(lab.kernels) : undefined;
const from = roles?.from;
const to = roles?.upgradeTo;
const ok = lab.ok && missing.length === 0 && !!kubectlBinary() && !!from && !!to;
const why = !lab.ok
  ? skipReason(lab)
  : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : !kubectlBinary() ? 'no kubectl' : `no newer kernel of the ${from?.series ?? '?'} series than ${from?.kver ?? '?'} installed; kmodlab lab setup installs a z-stream pair`}]`;

interface Node {
  metadata: { name: string; labels?: Record<string, string> };
  status: { nodeInfo: { kernelVersion: string; bootID: string } };
}
interface Pod {
  metadata: { name: string };
  status: { containerStatuses?: { ready: boolean; restartCount: number; imageID?: string; state?: { waiting?: { reason?: string; message?: string } } }[] };
}
interface Build {
  metadata: { name: string; creationTimestamp?: string; labels?: Record<string, string> };
  spec: { strategy: { dockerStrategy?: { buildArgs?: { name: string; value: string }[] } } };
  /** Absent on a Build just created. */
  status?: { phase?: string; output?: { to?: { imageDigest?: string } } };
}

describe.skipIf(!ok)(`cluster upgrades on kmodlab lab up, with kubectl${ok ? '' : why}`, () => {
  const h = new LabUpHarness('labupg', { timeoutMs: 1_200_000 });
  const { dir, kmodlab, kubectl } = h;
  let runtimeBase: string;
  const loaded = () => h.loadedModules(runtimeBase);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await kubectl('get', ...args, '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const node = async () => (await json<{ items: Node[] }>('nodes')).items[0]!;
  const pods = async (ns: string) => (await json<{ items: Pod[] }>('pods', '-n', ns)).items;
  const builds = async (ns: string) => (await json<{ items: Build[] }>('builds', '-n', ns)).items;
  const logTail = () => h.logTail(20, /machine-config|clusterversion|build|kmm|postStart/);

  /** The artifacts of `method` rendered for the lab release of `kernel` (the one the node runs). */
  const render = async (kernel: LabKernel, method: string, extra: string[] = [], registry = true): Promise<string> => {
    const info = await kmodlab('lab', 'release-info', kernel.kver);
    expect(info.code, info.stderr).toBe(0);
    const tag = `${method}${extra.join('')}-${kernel.kver}`.replace(/[^a-z0-9.-]/gi, '');
    writeFileSync(path.join(dir, `release-${tag}.json`), info.stdout);
    const out = path.join(dir, `out-${tag}`);
    const r = await kmodlab('render', '--method', method, ...extra, '--pool', 'master', ...(registry ? ['--registry', `${h.registry.host}/${path.basename(dir).toLowerCase()}`] : []), '--release-info', path.join(dir, `release-${tag}.json`), '--output-dir', out);
    expect(r.code, r.stderr).toBe(0);
    return path.join(out, method);
  };

  /** The README's `oc start-build … --from-dir` step, made with kmodlab for want of oc. */
  const startBuild = async (out: string): Promise<{ bc: string; ns: string }> => {
    const step = /oc start-build (\S+) -n (\S+) --from-dir=(\S+)/.exec(readFileSync(path.join(out, 'README.md'), 'utf8'));
    expect(step, 'the README names its start-build step').not.toBeNull();
    const [, bc, ns, fromDir] = step!;
    const b = await kmodlab('lab', 'start-build', bc!, '--namespace', ns!, '--from-dir', fromDir!, '--wait');
    expect(b.code, `${b.stderr}\n${logTail()}`).toBe(0);
    return { bc: bc!, ns: ns! };
  };

  /** The DaemonSet of `ns`, rolled out with a Ready pod. */
  const rolledOut = async (ns: string): Promise<void> => {
    const ds = (await json<{ items: { metadata: { name: string } }[] }>('ds', '-n', ns)).items[0]!.metadata.name;
    const r = await kubectl('rollout', 'status', `ds/${ds}`, '-n', ns, '--timeout=600s');
    expect(r.code, `${r.stderr}\n${logTail()}`).toBe(0);
    const ready = await pollUntil(() => pods(ns), (ps) => ps.some((p) => p.status.containerStatuses?.[0]?.ready), 300_000, 2_000);
    expect(ready.some((p) => p.status.containerStatuses?.[0]?.ready), logTail()).toBe(true);
  };

  /**
   * `oc adm upgrade --to <version>`: the ClusterVersion's desiredUpdate (version and image of
   * the offered update); returns once the node runs `kernel` and the pool is Updated.
   */
  const upgrade = async (kernel: LabKernel): Promise<void> => {
    const cv = await json<{ status: { availableUpdates?: { version: string; image: string }[] } }>('clusterversion', 'version');
    const next = (cv.status.availableUpdates ?? []).find((u) => u.version === kernel.kver);
    expect(next, `the ClusterVersion offers ${kernel.kver}: ${JSON.stringify(cv.status.availableUpdates)}`).toBeDefined();
    const p = await kubectl('patch', 'clusterversion', 'version', '--type=merge', '-p', JSON.stringify({ spec: { desiredUpdate: { version: next!.version, image: next!.image, force: false } } }));
    expect(p.code, p.stderr).toBe(0);
    const t0 = Date.now();
    const n = await pollUntil(node, (x) => x.status.nodeInfo.kernelVersion === kernel.kver, 900_000, 3_000);
    expect(n.status.nodeInfo.kernelVersion, logTail()).toBe(kernel.kver);
    const u = await kubectl('wait', 'mcp/master', '--for=condition=Updated', '--timeout=300s');
    expect(u.code, `${u.stderr}\n${logTail()}`).toBe(0);
    process.stderr.write(`lab upgrade to ${kernel.kver}: desiredUpdate → node on the new kernel, pool Updated ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  };

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: from!, images: [from!, to!] });
    runtimeBase = runtimeBaseOf(release);
    expect(up.code, up.stderr).toBe(0);
  }, 1_200_000);
  // Three kernels' builds in this file's cache: removing it takes a while on a loaded host.
  afterAll(() => h.stop(), 600_000);

  it('dtk pinned: the postStart loads the driver without a reboot; after an upgrade nothing is rebuilt, the pod crash-loops on the new kernel and the driver is lost', async () => {
    const out = await render(from!, 'dtk');
    const boot = (await node()).status.nodeInfo.bootID;
    const a = await kubectl('apply', '-f', out);
    expect(a.code, a.stderr).toBe(0);
    const { ns } = await startBuild(out);
    await rolledOut(ns);
    expect(await loaded()).toContain('simple_kmod');
    expect((await node()).status.nodeInfo.bootID).toBe(boot); // no reboot to install

    await upgrade(to!);
    expect((await node()).status.nodeInfo.bootID).not.toBe(boot);
    // The image has modules for the old kernel only: postStart's modprobe fails, the kubelet kills the container.
    const crashing = await pollUntil(
      () => pods(ns),
      (ps) => ps.some((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' && p.status.containerStatuses[0].restartCount > 0),
      300_000,
      2_000,
    );
    const cs = crashing.map((p) => p.status.containerStatuses?.[0]).find((c) => c?.state?.waiting?.reason === 'CrashLoopBackOff' && c.restartCount > 0);
    expect(cs, `${JSON.stringify(crashing.map((p) => p.status))}\n${logTail()}`).toBeDefined();
    expect(cs!.ready).toBe(false);
    expect(cs!.restartCount).toBeGreaterThan(0);
    expect(h.logTail(1, /postStart modprobe /)).toMatch(new RegExp(`postStart modprobe .* exited 1: .*simple_kmod not found in directory /lib/modules/${to!.kver.replace(/[.+]/g, '\\$&')}`));
    // Nothing follows the upgrade: the one Build is the README's, for the old kernel.
    expect((await builds(ns)).map((b) => b.metadata.name)).toHaveLength(1);
    expect(await loaded()).not.toContain('simple_kmod');
    expect((await kubectl('delete', 'ds,bc,is,builds', '--all', '-n', ns)).code).toBe(0);
  }, 1_800_000);

  it('dtk tracking: the upgrade moves the driver-toolkit tag → the ImageChange trigger rebuilds → the pod is replaced → loaded on the new kernel', async () => {
    const start = (await node()).status.nodeInfo.kernelVersion;
    const next = start === from!.kver ? to! : from!;
    const out = await render(start === from!.kver ? from! : to!, 'dtk', ['--variant', 'tracking'], false); // its builds push to the internal registry
    const a = await kubectl('apply', '-f', out);
    expect(a.code, a.stderr).toBe(0);
    const { ns } = await startBuild(out);
    await rolledOut(ns);
    expect(await loaded()).toContain('simple_kmod');
    const before = (await builds(ns)).map((b) => b.metadata.name);
    const imageBefore = (await pods(ns)).find((p) => p.status.containerStatuses?.[0]?.ready)!.status.containerStatuses![0]!.imageID;

    await upgrade(next);
    // A Build started by the moved tag, completed, whose image the DaemonSet's pod now runs.
    const rebuilt = await pollUntil(
      () => builds(ns),
      (bs) => bs.some((b) => !before.includes(b.metadata.name) && b.status?.phase === 'Complete'),
      900_000,
      3_000,
    );
    // A Build just created has no status yet (a second trigger may start one).
    const build = rebuilt.find((b) => !before.includes(b.metadata.name) && b.status?.phase === 'Complete');
    expect(build, `${JSON.stringify(rebuilt.map((b) => [b.metadata.name, b.status?.phase]))}\n${logTail()}`).toBeDefined();
    const digest = build!.status!.output!.to!.imageDigest!;
    const running = await pollUntil(
      () => pods(ns),
      (ps) => ps.some((p) => p.status.containerStatuses?.[0]?.ready && p.status.containerStatuses[0].imageID?.endsWith(`@${digest}`)),
      600_000,
      2_000,
    );
    const cs = running.map((p) => p.status.containerStatuses?.[0]).find((c) => c?.ready);
    expect(cs?.imageID, logTail()).toMatch(new RegExp(`@${digest}$`));
    expect(cs?.imageID).not.toBe(imageBefore);
    expect((await node()).status.nodeInfo.kernelVersion).toBe(next.kver);
    expect(await loaded()).toContain('simple_kmod');
    expect((await kubectl('delete', 'ds,bc,is,builds', '--all', '-n', ns)).code).toBe(0);
  }, 2_400_000);
});
