/**
 * The DTK method end to end on `kmodlab lab up`, as a user with kubectl does it on a cluster
 * (bin/kmodlab.js; needs `npm run build`): render for the lab release
 * (`render --release-info <(kmodlab lab release-info <kver>)`), `kubectl apply -f out/dtk/`,
 * the README's build step (`oc start-build … --from-dir` → `kmodlab lab start-build`), and
 * the driver is loaded on the lab node by the DaemonSet's postStart (seen in /proc/modules
 * through a pod's log), without a reboot, and unloaded by its preStop on delete. A typo in
 * the postStart modprobe leaves the pod in CrashLoopBackOff, as the kubelet does. A failing
 * Dockerfile step fails the Build with its log. The lab's monitoring publishes the DaemonSet
 * pod's working set to the cluster target's query, and `kmodlab lab down` leaves no
 * Prometheus behind.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { PrometheusClient, QUERIES, type Series } from '../../src/targets/cluster/prometheus.js';
import { PATHS } from '../../src/targets/lab/control-plane/informers.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import type { LabState } from '../../src/targets/lab/up/state.js';
import { kubeconfigFor } from '../cluster/helpers.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, pollUntil, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'prometheus'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;

describe.skipIf(!ok)(`the DTK method on kmodlab lab up, with kubectl${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
  const h = new LabUpHarness('labdtk');
  const { dir, labLog, kmodlab, kubectl } = h;
  let runtimeBase: string;
  const loaded = () => h.loadedModules(runtimeBase);

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel! });
    runtimeBase = runtimeBaseOf(release);
    expect(up.code, up.stderr).toBe(0);
  }, 900_000);
  afterAll(() => h.stop());

  it('render for the lab release, kubectl apply, the README build step: the driver is loaded on the node; delete unloads it', async () => {
    const info = await kmodlab('lab', 'release-info', kernel!.kver);
    expect(info.code, info.stderr).toBe(0);
    writeFileSync(path.join(dir, 'release.json'), info.stdout);
    const out = path.join(dir, 'out');
    const bootID = async () => (await kubectl('get', 'nodes', '-o', 'jsonpath={.items[0].status.nodeInfo.bootID}')).stdout;
    const boot = await bootID();
    const r = await kmodlab('render', '--method', 'dtk', '--release-info', path.join(dir, 'release.json'), '--output-dir', out);
    expect(r.code, r.stderr).toBe(0);
    const a = await kubectl('apply', '-f', path.join(out, 'dtk'));
    expect(a.code, a.stderr).toBe(0);

    // The README's own build step, made with kmodlab for want of oc.
    const readme = readFileSync(path.join(out, 'dtk', 'README.md'), 'utf8');
    const step = /oc start-build (\S+) -n (\S+) --from-dir=(\S+)/.exec(readme);
    expect(step, 'the README names its start-build step').not.toBeNull();
    const [, bc, ns, fromDir] = step!;
    const t0 = Date.now();
    const b = await kmodlab('lab', 'start-build', bc!, '--namespace', ns!, '--from-dir', fromDir!, '--wait');
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toBe(`build.build.openshift.io/${bc}-1 started\n`);
    const build = JSON.parse((await kubectl('get', 'build', `${bc}-1`, '-n', ns!, '-o', 'json')).stdout);
    expect(build.status.phase).toBe('Complete');
    const digest: string = build.status.output.to.imageDigest;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const is = JSON.parse((await kubectl('get', 'imagestream', '-n', ns!, '-o', 'json')).stdout).items[0];
    expect(is.status.tags[0].tag).toBe(kernel!.kver);
    expect(is.status.tags[0].items[0].image).toBe(digest);

    const ds = JSON.parse((await kubectl('get', 'ds', '-n', ns!, '-o', 'json')).stdout).items[0].metadata.name as string;
    const rollout = await kubectl('rollout', 'status', `ds/${ds}`, '-n', ns!, '--timeout=300s');
    expect(rollout.code, rollout.stderr).toBe(0);
    const pod = JSON.parse((await kubectl('get', 'pods', '-n', ns!, '-o', 'json')).stdout).items.find((p: { status: { containerStatuses?: { ready: boolean }[] } }) => p.status.containerStatuses?.[0]?.ready);
    expect(pod.status.containerStatuses[0].imageID).toMatch(new RegExp(`@${digest}$`));
    expect(pod.status.containerStatuses[0].restartCount, JSON.stringify(pod.status.containerStatuses[0])).toBe(0);
    process.stderr.write(`lab dtk: build ${(build.status.duration / 1e9).toFixed(1)} s; start-build to rolled out ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const mods = await loaded();
    expect(mods).toContain('simple_kmod');
    expect(mods).toContain('simple_procfs_kmod');
    expect(await bootID()).toBe(boot); // loaded by the pod's postStart: no reboot
    // The image's own modprobe reads its modprobe.d: the driver's parameter is set.
    expect(await h.nodeOutput(runtimeBase, 'cat /sys/module/simple_kmod/parameters/greeting')).toEqual(['kmodlab']);

    // The state while controllers and kubelets run: the API server's own memory, the watches.
    const state = JSON.parse(readFileSync(path.join(dir, 'cache', 'lab-api', 'lab.json'), 'utf8')) as LabState;
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${state.apiPid}/status`, 'utf8'))![1]);
    const watches = /controllers running \((\d+) watches/.exec(readFileSync(labLog, 'utf8'))![1];
    const pulls = [...readFileSync(labLog, 'utf8').matchAll(/node (\S+): pulled (\S+) \((\d+) bytes\)/g)].map((m) => `${m[2]}: ${m[3]} bytes`);
    process.stderr.write(`lab API RSS ${(rss / 1024).toFixed(1)} MiB with ${watches} controller watches; pulls on lab-node-0: ${pulls.join('; ')}\n`);
    // One per resource type the controllers follow, not per node: PATHS, builds, buildconfigs,
    // imagestreams, clusterversions, OLM's subscriptions, installplans, clusterserviceversions,
    // operatorgroups, and machineosconfigs, machineosbuilds.
    expect(Number(watches)).toBeLessThanOrEqual(Object.keys(PATHS).length + 4 + 4 + 2);

    // The lab's monitoring: its metrics endpoint and Prometheus publish the DaemonSet pod's
    // working set, and the cluster target's pod-memory query finds it in its namespace on its node.
    expect(state.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new PrometheusClient({ url: state.prometheusUrl!, credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', 'https://127.0.0.1:1', dir) }) });
    const series = await pollUntil(
      async (): Promise<Series[]> => client.queryRange(QUERIES.podMemory(ns!), Date.now() - 30_000, Date.now(), 1).catch(() => []),
      (x) => (x[0]?.points.length ?? 0) > 0,
      120_000,
      1_000,
    );
    expect(series.map((x) => x.metric)).toEqual([{ namespace: ns, pod: pod.metadata.name, node: pod.spec.nodeName }]);
    expect(series[0]!.points.at(-1)![1]).toBeGreaterThan(0);
    const host = await client.queryRange('kmodlab_lab_node_host_rss_bytes', Date.now() - 30_000, Date.now(), 1);
    expect(host.map((x) => x.metric['node'])).toEqual([pod.spec.nodeName]);

    expect((await kubectl('delete', 'ds', ds, '-n', ns!)).code).toBe(0);
    for (let i = 0; i < 120 && !/preStop modprobe -v -r/.test(readFileSync(labLog, 'utf8')); i++) await new Promise((r) => setTimeout(r, 250));
    // The DaemonSet's preStop unloads in reverse load order.
    expect(readFileSync(labLog, 'utf8')).toMatch(/preStop modprobe -v -r -a simple_procfs_kmod simple_kmod exited 0: rmmod simple_procfs_kmod \| rmmod simple_kmod/);
    const after = await loaded();
    expect(after).not.toContain('simple_kmod');
    expect(after).not.toContain('simple_procfs_kmod');
  }, 900_000);

  it('wrong manifest: a typo in the postStart modprobe leaves the pod in CrashLoopBackOff, as the kubelet does; nothing is loaded', async () => {
    // The rendered DaemonSet (its image built by the first case), with `modprobe` misspelt.
    const file = readdirSync(path.join(dir, 'out', 'dtk')).find((f) => /daemonset\.ya?ml$/.test(f));
    expect(file, 'the rendered DaemonSet file').toBeDefined();
    const ds = parseAllDocuments(readFileSync(path.join(dir, 'out', 'dtk', file!), 'utf8')).map((d) => d.toJS()).find((o) => o?.kind === 'DaemonSet');
    const cmd = ds.spec.template.spec.containers[0].lifecycle.postStart.exec.command as string[];
    expect(cmd[0]).toBe('modprobe');
    cmd[0] = 'modprobee';
    const ns = ds.metadata.namespace as string;
    writeFileSync(path.join(dir, 'typo.json'), JSON.stringify(ds));
    const a = await kubectl('apply', '-f', path.join(dir, 'typo.json'));
    expect(a.code, a.stderr).toBe(0);
    type Status = { restartCount: number; ready: boolean; state?: { waiting?: { reason?: string; message?: string } } };
    const status = async () => (JSON.parse((await kubectl('get', 'pods', '-n', ns, '-o', 'json')).stdout).items as { status: { containerStatuses?: Status[] } }[]).map((p) => p.status.containerStatuses?.[0]).find(Boolean);
    // Killed after the failed hook and restarted with back-off: restartCount grows.
    const cs = await pollUntil(status, (s) => !!s && s.restartCount > 0 && s.state?.waiting?.reason === 'CrashLoopBackOff', 240_000, 1_000);
    expect(cs?.state?.waiting?.reason, `${JSON.stringify(cs)}\n${h.logTail()}`).toBe('CrashLoopBackOff');
    expect(cs!.restartCount).toBeGreaterThan(0);
    expect(cs!.ready).toBe(false);
    // The kubelet's FailedPostStartHook, in the lab's log: exit 127, the runtime's "not found".
    expect(h.logTail(1, /postStart modprobee /)).toMatch(/postStart modprobee .* exited 127/);
    const mods = await loaded();
    expect(mods).not.toContain('simple_kmod');
    expect((await kubectl('delete', 'ds', ds.metadata.name, '-n', ns)).code).toBe(0);
  }, 600_000);

  it('a failing Dockerfile step fails the Build, with the end of its log', async () => {
    const src = path.join(dir, 'src-fails');
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'hello.txt'), 'hello\n');
    const bc = {
      apiVersion: 'build.openshift.io/v1',
      kind: 'BuildConfig',
      metadata: { name: 'fails', namespace: 'default' },
      spec: {
        runPolicy: 'Serial',
        source: { type: 'Binary', binary: {}, dockerfile: `FROM ${runtimeBase}\nCOPY hello.txt /\nRUN echo "about to fail" && exit 3\n` },
        strategy: { type: 'Docker', dockerStrategy: {} },
        output: { to: { kind: 'ImageStreamTag', name: 'fails:latest' } },
      },
    };
    const f = path.join(dir, 'fails.json');
    writeFileSync(f, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'image.openshift.io/v1', kind: 'ImageStream', metadata: { name: 'fails', namespace: 'default' } }, bc] }));
    expect((await kubectl('apply', '-f', f)).code).toBe(0);
    const b = await kmodlab('lab', 'start-build', 'fails', '--from-dir', src, '--wait');
    expect(b.code).toBe(1);
    expect(b.stderr).toContain('about to fail');
    const build = JSON.parse((await kubectl('get', 'build', 'fails-1', '-o', 'json')).stdout);
    expect(build.status).toMatchObject({ phase: 'Failed', reason: 'DockerBuildFailed' });
    expect(build.status.logSnippet).toContain('about to fail');
    // Deleted and applied again (as between two evaluate scenarios), the BuildConfig starts
    // over at fails-1: a Build under a name the lab has seen before still runs.
    expect((await kubectl('delete', 'build', 'fails-1')).code).toBe(0);
    expect((await kubectl('delete', '-f', f)).code).toBe(0);
    expect((await kubectl('apply', '-f', f)).code).toBe(0);
    const again = await kmodlab('lab', 'start-build', 'fails', '--from-dir', src, '--wait');
    expect(again.stdout).toBe('build.build.openshift.io/fails-1 started\n');
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toContain('about to fail');
    // A Binary config is only started with its source.
    const wrong = await kmodlab('lab', 'start-build', 'no-such-bc', '--from-dir', src);
    expect(wrong.code).toBe(2);
  }, 600_000);

  it('a build FROM an ImageStream tag with no image fails as a build pod would, though an earlier build left that name in the build store', async () => {
    // A tracking BuildConfig's first build (fired by the driver-toolkit trigger) must not
    // find a source image an earlier build of this lab, or of an earlier lab sharing the
    // build store, pulled under the internal-registry name.
    const src = path.join(dir, 'src-stale');
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'hello.txt'), 'hello\n');
    const internal = 'image-registry.openshift-image-registry.svc:5000/default/stale-src:latest';
    const binaryBc = (name: string, dockerfile: string, to: string) => ({
      apiVersion: 'build.openshift.io/v1',
      kind: 'BuildConfig',
      metadata: { name, namespace: 'default' },
      spec: { runPolicy: 'Serial', source: { type: 'Binary', binary: {}, dockerfile }, strategy: { type: 'Docker', dockerStrategy: {} }, output: { to: { kind: 'ImageStreamTag', name: to } } },
    });
    const stream = (name: string) => ({ apiVersion: 'image.openshift.io/v1', kind: 'ImageStream', metadata: { name, namespace: 'default' } });
    const f = path.join(dir, 'stale.json');
    writeFileSync(
      f,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [stream('stale-src'), stream('uses-src'), binaryBc('make-src', `FROM ${runtimeBase}\nCOPY hello.txt /\n`, 'stale-src:latest'), binaryBc('uses-src', `FROM ${internal}\nRUN cat /hello.txt\n`, 'uses-src:latest')],
      }),
    );
    expect((await kubectl('apply', '-f', f)).code).toBe(0);
    const made = await kmodlab('lab', 'start-build', 'make-src', '--from-dir', src, '--wait');
    expect(made.code, made.stderr).toBe(0);
    // Pulled through the tag: the build store now holds the internal name.
    const first = await kmodlab('lab', 'start-build', 'uses-src', '--from-dir', src, '--wait');
    expect(first.code, first.stderr).toBe(0);
    // The tag loses its image (its ImageStream deleted and created again, as a fresh cluster has it).
    const streamFile = path.join(dir, 'stale-stream.json');
    writeFileSync(streamFile, JSON.stringify(stream('stale-src')));
    expect((await kubectl('delete', '-f', streamFile)).code).toBe(0);
    expect((await kubectl('apply', '-f', streamFile)).code).toBe(0);
    const second = await kmodlab('lab', 'start-build', 'uses-src', '--from-dir', src, '--wait');
    expect(second.code, second.stderr).toBe(1);
    const build = JSON.parse((await kubectl('get', 'build', 'uses-src-2', '-o', 'json')).stdout);
    expect(build.status.phase).toBe('Failed');
    const log = readFileSync(path.join(dir, 'state', 'build-logs', 'default', 'uses-src-2.log'), 'utf8');
    expect(log).toMatch(/pullthrough: \S+stale-src:latest: ImageStream tag default\/stale-src:latest has no image \(a local copy from an earlier build was dropped\)/);
    expect((await kubectl('delete', '-f', f)).code).toBe(0);
  }, 600_000);

  it('kmodlab lab down leaves no Prometheus behind (the last case: it stops the lab)', async () => {
    const state = JSON.parse(readFileSync(path.join(dir, 'cache', 'lab-api', 'lab.json'), 'utf8')) as LabState;
    expect(state.prometheusPid).toBeGreaterThan(0);
    expect(() => process.kill(state.prometheusPid!, 0)).not.toThrow();
    const down = await kmodlab('lab', 'down');
    expect(down.code, down.stderr).toBe(0);
    expect(() => process.kill(state.prometheusPid!, 0)).toThrow();
    await expect(fetch(`${state.prometheusUrl}/-/ready`)).rejects.toThrow();
  }, 300_000);
});
