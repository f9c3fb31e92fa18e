/**
 * Deployments, the scheduler and ClusterVersion on `kmodlab lab up` (one QEMU node;
 * bin/kmodlab.js, needs `npm run build`), driven by the real kubectl 1.32: a Deployment's
 * ReplicaSet gets pods that the scheduler binds to the node and its kubelet runs in the
 * lab release's runtime-base image; a deleted pod is replaced; a cordoned node gets no
 * new pod and a pod that fits nowhere is Unschedulable; ClusterVersion `version` is
 * served with the lab's releases, an unknown version is refused, and an update to another
 * lab release moves the machine-config-osimageurl ConfigMap and openshift/driver-toolkit. Then the cluster
 * target's own canary (ClusterTarget.reset deploys one per node) is probed up.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventKind } from '../../src/evaluation/events.js';
import { resolveRelease } from '../../src/release/resolve.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { labReleaseInfoFor } from '../../src/targets/lab/images/lab-release.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, pollUntil, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;

function deployment(name: string, image: string, podSpec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'] }], ...podSpec } },
    },
  });
}

describe.skipIf(!ok)(`Deployments, scheduler and ClusterVersion on kmodlab lab up${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
  const h = new LabUpHarness('labdeploy');
  const { dir, kubeconfig, kubectl } = h;
  let runtimeBase: string;
  let target: ClusterTarget | undefined;
  const apply = (name: string, text: string) => {
    const f = path.join(dir, `${name}.json`);
    writeFileSync(f, text);
    return kubectl('apply', '-f', f);
  };
  const getJson = async (...args: string[]) => JSON.parse((await kubectl('get', ...args, '-o', 'json')).stdout);
  const until = <T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 120_000) => pollUntil(f, ok, ms, 1_000);

  beforeAll(async () => {
    const { release, up: r } = await h.start({ kernel: kernel! });
    runtimeBase = runtimeBaseOf(release);
    expect(r.code, r.stderr).toBe(0);
  }, 900_000);
  afterAll(async () => {
    await target?.close();
    await h.stop();
  }, 300_000);

  it('a Deployment rolls out on the node (kubectl rollout status, wait Available); a deleted pod is replaced', async () => {
    const t0 = Date.now();
    const a = await apply('web', deployment('web', runtimeBase));
    expect(a.code, a.stderr).toBe(0);
    const r = await kubectl('rollout', 'status', 'deployment/web', '--timeout=240s');
    expect(r.code, r.stderr).toBe(0);
    process.stderr.write(`lab: deployment applied → rolled out ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect((await kubectl('wait', '--for=condition=Available', 'deployment/web', '--timeout=30s')).code).toBe(0);
    // One watch per resource type the lab process follows, whatever the number of nodes.
    const types = ['pods', 'nodes', 'daemonsets', 'deployments', 'replicasets', 'configmaps', 'machineconfigs', 'machineconfigpools', 'builds', 'buildconfigs', 'imagestreams', 'clusterversions', 'subscriptions', 'installplans', 'clusterserviceversions', 'operatorgroups', 'machineosconfigs', 'machineosbuilds'];
    const watches = /controllers running \((\d+) watches/.exec(readFileSync(path.join(dir, 'cache', 'lab-api', 'api.log'), 'utf8'))?.[1];
    expect(Number(watches)).toBe(types.length);
    const [pod] = (await getJson('pods', '-l', 'app=web')).items;
    expect(pod.spec.nodeName).toBe('lab-node-0');
    expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', controller: true });
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.containerStatuses[0]).toMatchObject({ ready: true, imageID: runtimeBase });
    const ev = (await getJson('events', '--field-selector', `involvedObject.name=${pod.metadata.name}`)).items;
    expect(ev.find((e: { reason: string }) => e.reason === 'Scheduled')?.message).toBe(`Successfully assigned default/${pod.metadata.name} to lab-node-0`);

    expect((await kubectl('delete', 'pod', pod.metadata.name, '--wait=false')).code).toBe(0);
    const items = await until(
      async () => (await getJson('pods', '-l', 'app=web')).items as { metadata: { name: string }; status: { phase: string } }[],
      (ps) => ps.some((p) => p.metadata.name !== pod.metadata.name && p.status.phase === 'Running'),
    );
    expect(items.some((p) => p.metadata.name !== pod.metadata.name && p.status.phase === 'Running')).toBe(true);
    expect((await kubectl('rollout', 'status', 'deployment/web', '--timeout=120s')).code).toBe(0);
  }, 600_000);

  it('a cordoned node gets no new pod (PodScheduled=False Unschedulable), and gets it once uncordoned', async () => {
    expect((await kubectl('cordon', 'lab-node-0')).code).toBe(0);
    expect((await apply('late', deployment('late', runtimeBase))).code).toBe(0);
    const [p] = (await until(async () => (await getJson('pods', '-l', 'app=late')).items, (ps: { status?: { conditions?: { type: string }[] } }[]) => ps.length === 1 && (ps[0]!.status?.conditions ?? []).some((c) => c.type === 'PodScheduled'), 60_000)) as {
      spec: { nodeName?: string };
      status: { phase: string; conditions: { type: string; status: string; reason?: string; message?: string }[] };
    }[];
    expect(p!.spec.nodeName).toBeUndefined();
    expect(p!.status.phase).toBe('Pending');
    expect(p!.status.conditions.find((c) => c.type === 'PodScheduled')).toMatchObject({ status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..' });
    expect((await kubectl('uncordon', 'lab-node-0')).code).toBe(0);
    expect((await kubectl('rollout', 'status', 'deployment/late', '--timeout=240s')).code).toBe(0);
    expect((await getJson('pods', '-l', 'app=late')).items[0].spec.nodeName).toBe('lab-node-0');
    expect((await kubectl('delete', 'deployment', 'web', 'late')).code).toBe(0);
  }, 600_000);

  it('a pod whose nodeSelector matches no node stays Pending, Unschedulable', async () => {
    expect((await apply('nowhere', deployment('nowhere', runtimeBase, { nodeSelector: { 'kmodlab.io/none': 'x' } }))).code).toBe(0);
    const [p] = await until(async () => (await getJson('pods', '-l', 'app=nowhere')).items, (ps: { status?: { conditions?: { type: string }[] } }[]) => ps.length === 1 && (ps[0]!.status?.conditions ?? []).some((c) => c.type === 'PodScheduled'), 60_000);
    expect(p!.status!.conditions!.find((c: { type: string }) => c.type === 'PodScheduled')).toMatchObject({ status: 'False', reason: 'Unschedulable', message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.." });
    const d = await getJson('deployment', 'nowhere');
    expect(d.status.conditions.find((c: { type: string }) => c.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    expect((await kubectl('delete', 'deployment', 'nowhere')).code).toBe(0);
  }, 120_000);

  it('ClusterVersion version: the running lab release, the others as availableUpdates; the ConfigMap and driver-toolkit tag; an unknown version is refused', async () => {
    const cv = await until(() => getJson('clusterversion', 'version'), (x) => !!x.status?.history?.length, 30_000);
    const y = await kubectl('get', 'clusterversion', 'version', '-o', 'yaml');
    expect(y.code, y.stderr).toBe(0);
    const info = await labReleaseInfoFor(kernel!.kver, { registry: h.registry.host });
    expect(cv.status.desired).toEqual({ version: kernel!.kver, image: info['image'] });
    expect(cv.status.history[0]).toMatchObject({ state: 'Completed', version: kernel!.kver });
    for (const t of ['Available', 'Progressing', 'Failing', 'ReleaseAccepted']) expect(cv.status.conditions.map((c: { type: string }) => c.type)).toContain(t);
    for (const u of cv.status.availableUpdates) {
      expect(u.version).not.toBe(kernel!.kver);
      // A realtime kernel is the same release's kernelType switch, not an update.
      expect(u.version).not.toMatch(/-rt-/);
    }
    process.stderr.write(`lab: availableUpdates ${JSON.stringify(cv.status.availableUpdates.map((u: { version: string }) => u.version))}\n`);
    const cm = await getJson('configmap', '-n', 'openshift-machine-config-operator', 'machine-config-osimageurl');
    expect(cm.data).toEqual({ baseOSContainerImage: info['image'], releaseVersion: kernel!.kver });
    const dtk = (info['references'] as { spec: { tags: { name: string; from: { name: string } }[] } }).spec.tags.find((t) => t.name === 'driver-toolkit')!.from.name;
    const is = await getJson('imagestream', '-n', 'openshift', 'driver-toolkit');
    expect(is.status.tags.find((t: { tag: string }) => t.tag === 'latest').items[0].dockerImageReference).toBe(dtk);

    expect((await kubectl('patch', 'clusterversion', 'version', '--type=merge', '-p', '{"spec":{"desiredUpdate":{"version":"0.0.0-none","image":null}}}')).code).toBe(0);
    const refused = await until(() => getJson('clusterversion', 'version'), (x) => (x.status.conditions as { type: string; status: string }[]).some((c) => c.type === 'Invalid' && c.status === 'True'), 30_000);
    expect(refused.status.conditions.find((c: { type: string }) => c.type === 'Invalid')).toMatchObject({ reason: 'InvalidClusterVersion' });
    expect(refused.status.desired.version).toBe(kernel!.kver);

    // To another lab release, as `oc adm upgrade --to` patches it (version and image).
    const next = cv.status.availableUpdates[0] as { version: string; image: string } | undefined;
    if (!next) {
      process.stderr.write('lab: no other lab release in the registry: the upgrade path is not exercised here (kmodlab lab setup builds them)\n');
      return;
    }
    expect((await kubectl('patch', 'clusterversion', 'version', '--type=merge', '-p', JSON.stringify({ spec: { desiredUpdate: { version: next.version, image: next.image, force: false } } }))).code).toBe(0);
    const moved = await until(() => getJson('clusterversion', 'version'), (x) => x.status.history[0].version === next.version && x.status.history[0].state === 'Completed', 30_000);
    expect(moved.status.desired).toEqual({ version: next.version, image: next.image });
    expect(moved.status.availableUpdates.map((u: { version: string }) => u.version)).toContain(kernel!.kver);
    const cm2 = await getJson('configmap', '-n', 'openshift-machine-config-operator', 'machine-config-osimageurl');
    expect(cm2.data).toEqual({ baseOSContainerImage: next.image, releaseVersion: next.version });
    const nextInfo = await labReleaseInfoFor(next.version, { registry: h.registry.host });
    const nextDtk = (nextInfo['references'] as { spec: { tags: { name: string; from: { name: string } }[] } }).spec.tags.find((t) => t.name === 'driver-toolkit')!.from.name;
    const is2 = await getJson('imagestream', '-n', 'openshift', 'driver-toolkit');
    expect(is2.status.tags.find((t: { tag: string }) => t.tag === 'latest').items.map((i: { dockerImageReference: string }) => i.dockerImageReference)).toEqual([nextDtk, dtk]);
    // Back to the release the nodes run (no MCO here rolls them; the pools are absent).
    expect((await kubectl('patch', 'clusterversion', 'version', '--type=merge', '-p', JSON.stringify({ spec: { desiredUpdate: { version: kernel!.kver, image: info['image'], force: false } } }))).code).toBe(0);
    await until(() => getJson('clusterversion', 'version'), (x) => x.status.history[0].version === kernel!.kver && x.status.history[0].state === 'Completed', 30_000);
  }, 120_000);

  it("the cluster target's canary (one Deployment per node, deployed by reset) is probed up", async () => {
    const infoFile = path.join(dir, 'release.json');
    writeFileSync(infoFile, JSON.stringify(await labReleaseInfoFor(kernel!.kver, { registry: h.registry.host })));
    const release = await resolveRelease({ releaseInfoFile: infoFile });
    const events: { kind: EventKind; data: Record<string, unknown>; node?: string }[] = [];
    target = await ClusterTarget.connect({
      kubeconfig,
      env: {},
      home: path.join(dir, 'home'),
      emit: (kind, data, node) => events.push({ kind, data, node }),
      probeImage: release.runtimeBaseImage,
      canaryImage: release.runtimeBaseImage,
      probeIntervalMs: 2_000,
      pollMs: 1_000,
      prometheusMinWindowMs: Number.MAX_SAFE_INTEGER,
    });
    await target.reset({ release });
    const t0 = Date.now();
    let up: unknown;
    while (up !== true && Date.now() - t0 < 240_000) {
      await target.observe();
      up = [...events].reverse().find((e) => e.kind === 'canary' && e.node === 'lab-node-0')?.data['up'];
      if (up !== true) await new Promise((r) => setTimeout(r, 2_000));
    }
    expect(up).toBe(true);
    process.stderr.write(`lab: canary up ${((Date.now() - t0) / 1000).toFixed(1)} s after reset\n`);
    const d = (await getJson('deployments', '-n', 'kmodlab', '-l', 'app.kubernetes.io/component=canary')).items;
    expect(d).toHaveLength(1);
    expect(d[0].status.availableReplicas).toBe(1);
  }, 600_000);
});
