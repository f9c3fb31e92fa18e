/**
 * Rollouts held up, on `kmodlab lab up` (one QEMU node) followed by the cluster target.
 * A DaemonSet that no node takes (a taint it does not tolerate): the wait for the driver ends
 * at once, settled, naming the DaemonSet (its controller's desiredNumberScheduled 0), instead
 * of running out the settle timeout. And the registry stopping during a rollout, as on a
 * cluster whose registry goes away:
 *   - a DaemonSet whose image is in the registry: the kubelet's pull fails — ErrImagePull,
 *     then ImagePullBackOff with the failed pull's error, retried with back-off — and the
 *     cluster target records one `image-pull` fault with that message; the registry back,
 *     the pod runs by itself;
 *   - a MachineConfig osImageURL (layering): the daemon's OS pull fails — node Degraded with
 *     the pull error, pool NodeDegraded — and the cluster target records the pool fault with
 *     the node's reason; the registry back, the daemon's retry boots the image and the pool
 *     is Updated by itself.
 * The registry the lab pulls from here is a second docker-registry serving the lab cache's
 * registry storage on its own port, so stopping it stops nobody else's.
 * Needs `npm run build` (bin/kmodlab.js).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventKind } from '../../src/evaluation/events.js';
import type { ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { freePort } from '../../src/targets/lab/host/lab-service.js';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { setupLabImages } from '../../src/targets/lab/images/lab-release.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, primaryKernel, REPO, skipReason } from './helpers.js';

const BIN = path.join(REPO, 'bin', 'kmodlab.js');
const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'mkfs.erofs'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;

interface Pod {
  metadata: { name: string };
  status?: { phase?: string; containerStatuses?: { ready: boolean; restartCount: number; imageID: string; state: { waiting?: { reason: string; message?: string } } }[] };
}
interface Pool {
  spec: { configuration?: { name?: string } };
  status?: { configuration?: { name?: string }; machineCount?: number; updatedMachineCount?: number; degradedMachineCount?: number; conditions?: { type: string; status: string; message?: string }[] };
}

/** A Namespace and a DaemonSet in it whose one container sleeps, in `image` (app=<name>). */
const sleepDaemonSet = (namespace: string, name: string, image: string) => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
  {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image, command: ['sh', '-c', 'exec sleep infinity'] }] } },
    },
  },
];

const set = (objects: ArtifactSet['files'][number]['objects']): ArtifactSet => ({ method: 'dtk', day1: false, placeholders: [], files: [{ path: 'objects.yaml', phase: 'day2', description: 'test objects', objects }] });

describe.skipIf(!ok)(`the registry stopped during a rollout on kmodlab lab up${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-regfault-'));
  const regDir = path.join(dir, 'registry');
  let port: number;
  /** The registry the lab pulls from (stopped and started by the test). */
  let registry: LabRegistry | undefined;
  let shared: LabRegistry;
  /** The lab release's images, as references through `registry`. */
  let runtimeBase: string;
  let osByTag: string;
  const startRegistry = async () => {
    registry = await openRegistry({ dir: regDir, port });
    expect(registry.pid, 'the test runs its own registry process').toBeDefined();
  };
  const stopRegistry = async () => {
    await registry?.stop();
    registry = undefined;
  };
  const env = () => ({ ...process.env, KMODLAB_LAB_DIR: path.join(dir, 'state'), KMODLAB_CACHE: path.join(dir, 'cache'), HOME: path.join(dir, 'home'), KMODLAB_REGISTRY: `127.0.0.1:${port}` });
  const kubeconfig = path.join(dir, 'state', 'kubeconfig');
  const labLog = path.join(dir, 'cache', 'lab-api', 'api.log');
  const logTail = (grep = '') => readFileSync(labLog, 'utf8').split('\n').filter((l) => l.includes(grep)).slice(-15).join('\n');
  const run = (file: string, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(file, args, { env: { ...env(), KUBECONFIG: kubeconfig }, cwd: REPO, timeout: 900_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 124) : 0, stdout, stderr }),
      ),
    );
  const kmodlab = (...args: string[]) => run(process.execPath, [BIN, ...args]);
  const kubectl = (...args: string[]) => run(kubectlBinary()!, args);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await kubectl('get', ...args, '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const until = async <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s\n${logTail()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  let target: ClusterTarget | undefined;
  const events: { kind: EventKind; data: Record<string, unknown>; node?: string; t: number }[] = [];
  const faults = (fault: string) => events.filter((e) => e.kind === 'fault' && e.data['fault'] === fault);

  beforeAll(async () => {
    shared = await openRegistry();
    const release = await setupLabImages([kernel!]);
    // A second registry process on the same storage: what the lab pulls from, and what the test stops.
    port = await freePort();
    mkdirSync(regDir, { recursive: true });
    symlinkSync(shared.storageDir!, path.join(regDir, 'storage'));
    await startRegistry();
    const through = (ref: string) => ref.replace(shared.host, registry!.host);
    runtimeBase = through(release.images.find((i) => i.role === 'runtime-base')!.digestRef!);
    osByTag = through(release.images.find((i) => i.role === 'node-os' && i.kver === kernel!.kver)!.ref);
    mkdirSync(path.join(dir, 'home'), { recursive: true });
    const up = await kmodlab('lab', 'up', '--nodes', '1', '--kernel', kernel!.kver);
    expect(up.code, up.stderr).toBe(0);
    target = await ClusterTarget.connect({
      kubeconfig,
      env: {},
      home: path.join(dir, 'home'),
      emit: (kind, data, node) => events.push({ kind, data, node, t: Date.now() }),
      probeImage: runtimeBase,
      canaryImage: runtimeBase,
      pollMs: 1_000,
      probeIntervalMs: 1_000,
      readyzIntervalMs: 1_000,
      prometheusMinWindowMs: Number.MAX_SAFE_INTEGER,
    });
    await target.reset({ release: target.releases().from });
  }, 1_200_000);
  afterAll(async () => {
    await target?.close();
    await kmodlab('lab', 'down');
    await stopRegistry();
    await shared?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it('a DaemonSet kept off the only node by a taint it does not tolerate: the wait for the driver ends at once, settled, naming the DaemonSet; untainted, its pod runs', async () => {
    const taint = 'kmodlab.test/no-driver=true:NoSchedule';
    expect((await kubectl('taint', 'node', 'lab-node-0', taint)).code).toBe(0);
    const objects = set(sleepDaemonSet('no-pod', 'kept-off', runtimeBase));
    try {
      await target!.apply(objects);
      const t0 = Date.now();
      // The lab's settle grace is 8 s: an end well before the timeout can only come from the DaemonSet rule.
      const r = await target!.waitForModules(['simple_kmod'], { loaded: true, timeoutMs: 120_000 });
      const tookMs = Date.now() - t0;
      expect(r.ok).toBe(false);
      expect(r.settled?.reason).toMatch(/^DaemonSet no-pod\/kept-off schedules no pod: desiredNumberScheduled 0 at generation \d+, no node matches its selector, affinity and tolerations$/);
      expect(tookMs).toBeLessThan(30_000);
      expect(events.some((e) => e.kind === 'progress' && e.data['daemonSet'] === 'no-pod/kept-off' && e.data['desiredNumberScheduled'] === 0)).toBe(true);
      // The node taken again: the controller places the pod, and the target notes it.
      expect((await kubectl('taint', 'node', 'lab-node-0', `${taint.replace(/:NoSchedule$/, ':NoSchedule-')}`)).code).toBe(0);
      await until('the pod running once the taint is gone', async () => (await json<{ items: Pod[] }>('pods', '-n', 'no-pod')).items.find((p) => p.status?.containerStatuses?.[0]?.ready), 120_000);
      await until('the "schedules 1 pod(s) again" note', async () => events.find((e) => e.kind === 'progress' && e.data['daemonSet'] === 'no-pod/kept-off' && e.data['desiredNumberScheduled'] === 1), 30_000);
    } finally {
      await kubectl('taint', 'node', 'lab-node-0', 'kmodlab.test/no-driver-');
      await target!.remove(objects);
    }
  }, 600_000);

  it('a DaemonSet pulling while the registry is stopped: ErrImagePull then ImagePullBackOff, one image-pull fault with the message; the registry back, the pod runs', async () => {
    // An image the node does not hold yet (its own digest), in the registry.
    const ctx = path.join(dir, 'image');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(path.join(ctx, 'Containerfile'), `FROM ${runtimeBase}\nLABEL io.kmodlab.test.registry-fault="${Date.now()}"\n`);
    const image = `${registry!.prefix}/registry-fault:1`;
    const buildah = new Buildah();
    await buildah.bud({ containerfile: path.join(ctx, 'Containerfile'), context: ctx, tag: image, logFile: path.join(dir, 'build.log'), insecure: true });
    const { digest } = await buildah.push(image, image, { insecure: true, logFile: path.join(dir, 'push.log') });
    const seenBefore = events.length;

    await stopRegistry();
    const objects = set(sleepDaemonSet('registry-fault', 'pulls', image));
    await target!.apply(objects);

    // Through the API, as kubectl shows it: ErrImagePull, then the back-off with the pull's error.
    const pods = () => json<{ items: Pod[] }>('pods', '-n', 'registry-fault', '-l', 'app=pulls');
    const waiting = async (reason: string) => (await pods()).items.map((p) => p.status?.containerStatuses?.[0]?.state.waiting).find((w) => w?.reason === reason);
    const backOff = await until('ImagePullBackOff', () => waiting('ImagePullBackOff'), 180_000);
    expect(backOff.message).toMatch(new RegExp(`^Back-off pulling image "${image.replace(/[.]/g, '\\.')}": ErrImagePull: failed to pull image`));
    expect(backOff.message).toContain(`127.0.0.1:${port}`);

    // The cluster target's watcher recorded it once, with the kubelet's message as evidence.
    const pull = await until('the image-pull fault', async () => faults('image-pull')[0], 30_000);
    expect(pull.data['message']).toMatch(/^registry-fault\/pulls-\S+: (ErrImagePull|ImagePullBackOff): .*failed to pull image/);
    expect(pull.data['image']).toBe(image);
    expect(pull.node).toBe('lab-node-0');

    // Nothing more is done than starting the registry again: the kubelet's retries pull the image.
    await startRegistry();
    const t0 = Date.now();
    const running = await until('the pod running after the registry is back', async () => (await pods()).items.find((p) => p.status?.containerStatuses?.[0]?.ready), 180_000);
    process.stderr.write(`registry back → pod ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(running.status!.containerStatuses![0]!.imageID).toMatch(new RegExp(`@${digest}$`));
    expect(running.status!.containerStatuses![0]!.restartCount).toBe(0);
    // One fault for the whole spell; its end and the pod's start are recorded after it; nothing recorded before is lost.
    await until('the pod-start event', async () => events.find((e) => e.kind === 'pod-start' && String(e.data['pod']).startsWith('registry-fault/')), 30_000);
    expect(faults('image-pull')).toHaveLength(1);
    expect(events.some((e) => e.kind === 'progress' && /no longer failing to pull/.test(String(e.data['step'])))).toBe(true);
    expect(events.slice(0, seenBefore).some((e) => e.kind === 'node-up')).toBe(true);
    await target!.remove(objects);
  }, 900_000);

  it('a layering rollout while the registry is stopped: node and pool Degraded with the pull error, recorded; the registry back, the pool is Updated by itself', async () => {
    const before = await json<Pool>('mcp', 'master');
    const bootBefore = (await json<{ items: { status: { nodeInfo: { bootID: string } } }[] }>('nodes')).items[0]!.status.nodeInfo.bootID;
    await stopRegistry();
    const mc = {
      apiVersion: 'machineconfiguration.openshift.io/v1',
      kind: 'MachineConfig',
      metadata: { name: '99-master-registry-fault', labels: { 'machineconfiguration.openshift.io/role': 'master' } },
      spec: { osImageURL: osByTag },
    };
    await target!.apply(set([mc]));
    const w = await kubectl('wait', 'mcp/master', '--for=condition=NodeDegraded', '--timeout=300s');
    expect(w.code, `${w.stderr}\n${logTail('machine-config')}`).toBe(0);
    const degraded = await json<Pool>('mcp', 'master');
    expect(degraded.spec.configuration?.name).not.toBe(before.spec.configuration?.name);
    expect(degraded.status?.degradedMachineCount).toBe(1);
    const nd = degraded.status!.conditions!.find((c) => c.type === 'NodeDegraded')!;
    expect(nd.message).toContain(osByTag);
    const node = (await json<{ items: { metadata: { annotations: Record<string, string> } }[] }>('nodes')).items[0]!;
    expect(node.metadata.annotations['machineconfiguration.openshift.io/state']).toBe('Degraded');
    expect(node.metadata.annotations['machineconfiguration.openshift.io/reason']).toMatch(/^failed to update OS to rendered-master-\S+: failed to pull /);

    const fault = await until('the pool fault', async () => faults('machineconfigpool-degraded')[0], 30_000);
    expect(fault.data['message']).toContain(`MachineConfigPool master: 1 machine(s) degraded: Node lab-node-0 is reporting:`);
    expect(fault.data['message']).toContain(osByTag);

    // The daemon retries while the registry is away: the node stays Degraded and is not rebooted.
    await until('a retry', async () => (/machine-config: lab-node-0: retrying/.test(readFileSync(labLog, 'utf8')) ? true : undefined), 120_000);

    await startRegistry();
    const t0 = Date.now();
    const u = await kubectl('wait', 'mcp/master', `--for=jsonpath={.status.configuration.name}=${degraded.spec.configuration!.name}`, '--timeout=600s');
    expect(u.code, `${u.stderr}\n${logTail('machine-config')}`).toBe(0);
    process.stderr.write(`registry back → pool updated in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const done = await json<Pool>('mcp', 'master');
    expect(done.status).toMatchObject({ degradedMachineCount: 0, updatedMachineCount: 1 });
    const after = (await json<{ items: { metadata: { annotations: Record<string, string> }; spec?: { unschedulable?: boolean }; status: { nodeInfo: { bootID: string } } }[] }>('nodes')).items[0]!;
    expect(after.metadata.annotations['machineconfiguration.openshift.io/state']).toBe('Done');
    expect(after.spec?.unschedulable ?? false).toBe(false);
    expect(after.status.nodeInfo.bootID).not.toBe(bootBefore);
    await until('the recovery note', async () => events.find((e) => e.kind === 'progress' && /MachineConfigPool master: no machine degraded any more/.test(String(e.data['step']))), 30_000);
    expect(faults('machineconfigpool-degraded')).toHaveLength(1);
  }, 1_200_000);
});
