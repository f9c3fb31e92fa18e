/** The pure mapping from watched objects to run events (captured-object fixtures, no server). */
import { describe, expect, it } from 'vitest';
import { MODULE_DEPENDENCIES } from '../../src/targets/lab/driver-builds/module-dependencies.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { blockers, buildEvents, canaryEvents, clusterEventEvents, componentOf, failedMachineOSBuilds, kmmModuleEvents, machineOSBuildEvents, machineOSBuildOutcome, PodLineage, podEvents, poolEvents } from '../../src/targets/cluster/observers.js';
import type { WatchObject } from '../../src/targets/cluster/watch.js';
import { assertValidK8sObject } from '../support/upstream-schemas.js';

const o = (x: object) => x as unknown as WatchObject & never;
const pod = (phase: string, restarts: number, extra: object = {}) =>
  o({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'simple-kmod-driver-container-x7k2p', namespace: 'kmodlab-simple-kmod', ownerReferences: [{ kind: 'DaemonSet', name: 'simple-kmod-driver-container' }] },
    spec: { nodeName: 'worker-0' },
    status: { phase, containerStatuses: [{ name: 'c', restartCount: restarts, lastState: restarts ? { terminated: { reason: 'OOMKilled' } } : {} }] },
    ...extra,
  });

describe('pods', () => {
  it.each([
    ['Pending → Running', pod('Running', 0), pod('Pending', 0), [['pod-start', { pod: 'kmodlab-simple-kmod/simple-kmod-driver-container-x7k2p', component: 'simple-kmod-driver-container' }, 'worker-0']]],
    ['a restart', pod('Running', 2), pod('Running', 1), [['pod-restart', { pod: 'kmodlab-simple-kmod/simple-kmod-driver-container-x7k2p', component: 'simple-kmod-driver-container', restartCount: 2, reason: 'OOMKilled' }, 'worker-0']]],
    ['no change', pod('Running', 1), pod('Running', 1), []],
    ['first sight while Running counts as a start', pod('Running', 0), undefined, [['pod-start', expect.anything(), 'worker-0']]],
  ])('%s', (_w, now, old, want) => {
    expect(podEvents('MODIFIED', now, old)).toEqual(want);
  });
  describe('a pod replaced by a new one of its lineage (new uid) is a restart; a first appearance is not', () => {
    const named = (name: string, uid: string, phase: string, extra: Record<string, unknown> = {}) =>
      o({ apiVersion: 'v1', kind: 'Pod', metadata: { name, uid, namespace: 'kmodlab-simple-kmod', ownerReferences: [{ kind: 'DaemonSet', name: 'simple-kmod-driver-container' }], ...extra }, spec: { nodeName: 'worker-0' }, status: { phase, containerStatuses: [{ name: 'c', restartCount: 0 }] } });
    const restarts = (evs: ReturnType<typeof podEvents>) => evs.filter((e) => e[0] === 'pod-restart');

    it('first appearance (the watch starts, a node boots with its pods): no restart', () => {
      const l = new PodLineage();
      expect(restarts(podEvents('ADDED', named('ds-a', 'u1', 'Running'), undefined, l))).toEqual([]);
      expect(restarts(podEvents('ADDED', named('ds-b', 'u2', 'Pending'), undefined, l))).toEqual([]);
    });

    it('the DaemonSet pod on the node deleted and re-created (another name, new uid): one restart when the new one runs', () => {
      const l = new PodLineage();
      podEvents('ADDED', named('ds-a', 'u1', 'Running'), undefined, l);
      podEvents('MODIFIED', named('ds-a', 'u1', 'Running', { deletionTimestamp: '2026-12-01T00:00:00Z' }), undefined, l);
      podEvents('DELETED', named('ds-a', 'u1', 'Running'), undefined, l);
      expect(restarts(podEvents('ADDED', named('ds-b', 'u2', 'Pending'), undefined, l))).toEqual([]);
      const r = restarts(podEvents('MODIFIED', named('ds-b', 'u2', 'Running'), named('ds-b', 'u2', 'Pending'), l));
      expect(r).toEqual([['pod-restart', { pod: 'kmodlab-simple-kmod/ds-b', component: 'simple-kmod-driver-container', restartCount: 0, reason: 'replaced kmodlab-simple-kmod/ds-a (new pod uid)', replaced: 'kmodlab-simple-kmod/ds-a' }, 'worker-0']]);
      // Counted once: further updates of the new pod are not more restarts.
      expect(restarts(podEvents('MODIFIED', named('ds-b', 'u2', 'Running'), named('ds-b', 'u2', 'Running'), l))).toEqual([]);
    });

    it('the same pod name back with a new uid (relisted after a gap) is a restart', () => {
      const l = new PodLineage();
      podEvents('ADDED', named('static-x', 'u1', 'Running'), undefined, l);
      podEvents('DELETED', named('static-x', 'u1', 'Running'), undefined, l);
      expect(restarts(podEvents('ADDED', named('static-x', 'u9', 'Running'), undefined, l))).toHaveLength(1);
    });

    it('a pod that never ran, or two live pods of one owner on the node, are no restart', () => {
      const l = new PodLineage();
      podEvents('ADDED', named('ds-a', 'u1', 'Pending'), undefined, l);
      podEvents('DELETED', named('ds-a', 'u1', 'Pending'), undefined, l);
      expect(restarts(podEvents('ADDED', named('ds-b', 'u2', 'Running'), undefined, l))).toEqual([]);
      expect(restarts(podEvents('ADDED', named('ds-c', 'u3', 'Running'), undefined, l))).toEqual([]);
    });
  });
  it('deleted = pod-stop', () => {
    expect(podEvents('DELETED', pod('Running', 0), pod('Running', 0))[0]![0]).toBe('pod-stop');
  });
  it('a failed image pull is one image-pull fault with the waiting message, for the whole ErrImagePull ⇄ ImagePullBackOff spell; its end is progress', () => {
    const image = '127.0.0.1:5000/kmodlab/runtime-base@sha256:' + 'a'.repeat(64);
    const waiting = (reason: string, message: string) =>
      o({
        metadata: { name: 'lsmod-x7k2p', namespace: 'default', ownerReferences: [{ kind: 'DaemonSet', name: 'lsmod' }] },
        spec: { nodeName: 'lab-node-0' },
        status: { phase: 'Pending', containerStatuses: [{ name: 'lsmod', image, restartCount: 0, state: { waiting: { reason, message } } }] },
      });
    const creating = waiting('ContainerCreating', '');
    const err = `failed to pull image "${image}": pinging container registry 127.0.0.1:5000: connect: connection refused`;
    const errPull = waiting('ErrImagePull', err);
    const backOff = waiting('ImagePullBackOff', `Back-off pulling image "${image}": ErrImagePull: ${err}`);
    expect(podEvents('MODIFIED', errPull, creating)).toEqual([
      ['fault', { fault: 'image-pull', pod: 'default/lsmod-x7k2p', component: 'lsmod', container: 'lsmod', image, reason: 'ErrImagePull', message: `default/lsmod-x7k2p: ErrImagePull: ${err}` }, 'lab-node-0'],
    ]);
    // First sight already failing (the watch started late): recorded too.
    expect(podEvents('ADDED', backOff, undefined).map((e) => [e[0], e[1]['fault']])).toEqual([['fault', 'image-pull']]);
    // Retries of the same spell are not new faults.
    expect(podEvents('MODIFIED', backOff, errPull)).toEqual([]);
    expect(podEvents('MODIFIED', errPull, backOff)).toEqual([]);
    const running = o({ ...(errPull as object), status: { phase: 'Running', containerStatuses: [{ name: 'lsmod', image, restartCount: 0, state: { running: {} } }] } });
    expect(podEvents('MODIFIED', running, backOff).map((e) => e[0])).toEqual(['progress', 'pod-start']);
    expect(podEvents('MODIFIED', running, backOff)[0]![1]['step']).toMatch(/no longer failing to pull \(was ImagePullBackOff\)/);

    // An image the registry does not hold yet (a DTK DaemonSet before its build pushed it): a note, not a fault…
    const notYet = waiting('ErrImagePull', `failed to pull image "${image}": manifest unknown: the registry does not hold it`);
    expect(podEvents('MODIFIED', notYet, creating).map((e) => [e[0], e[1]['step']])).toEqual([['progress', `default/lsmod-x7k2p: ErrImagePull: failed to pull image "${image}": manifest unknown: the registry does not hold it (not in the registry yet)`]]);
    // …but the registry going away in the middle of that spell is.
    expect(podEvents('MODIFIED', errPull, notYet).map((e) => [e[0], e[1]['fault']])).toEqual([['fault', 'image-pull']]);
  });
  it('component: label, else owner (ReplicaSet hash stripped), else name', () => {
    expect(componentOf(o({ metadata: { name: 'p', labels: { 'app.kubernetes.io/component': 'kmm-worker' } } }))).toBe('kmm-worker');
    expect(componentOf(o({ metadata: { name: 'p', ownerReferences: [{ kind: 'ReplicaSet', name: 'kmm-operator-controller-6d4f9b7c8d' }] } }))).toBe('kmm-operator-controller');
    expect(componentOf(o({ metadata: { name: 'lonely' } }))).toBe('lonely');
  });
});

describe('MachineConfigPools', () => {
  const pool = (updated: number, degraded = 0) => o({ metadata: { name: 'worker' }, status: { machineCount: 3, updatedMachineCount: updated, readyMachineCount: updated, degradedMachineCount: degraded, unavailableMachineCount: 3 - updated } });
  it('count changes are progress; more degraded machines are a fault; no change, no event', () => {
    expect(poolEvents('MODIFIED', pool(1), pool(0))).toEqual([['progress', expect.objectContaining({ step: 'MachineConfigPool worker: 1/3 updated, 2 unavailable, 0 degraded', updatedMachineCount: 1 })]]);
    expect(poolEvents('MODIFIED', pool(1, 1), pool(1)).map((e) => e[0])).toEqual(['progress', 'fault']);
    expect(poolEvents('MODIFIED', pool(1), pool(1))).toEqual([]);
  });
  it("a degraded pool's fault quotes why (NodeDegraded's message, the node's reason); recovery is progress", () => {
    const reason = 'failed to update OS to rendered-master-1f2e: failed to pull 127.0.0.1:5000/kmodlab/node-os:6.1: connection refused';
    const degraded = o({
      metadata: { name: 'master' },
      status: {
        machineCount: 1,
        updatedMachineCount: 0,
        readyMachineCount: 0,
        degradedMachineCount: 1,
        unavailableMachineCount: 1,
        conditions: [{ type: 'NodeDegraded', status: 'True', reason: '1 nodes are reporting degraded status on sync', message: `Node lab-node-0 is reporting: ${JSON.stringify(reason)}` }],
      },
    });
    const before = o({ metadata: { name: 'master' }, status: { machineCount: 1, updatedMachineCount: 0, readyMachineCount: 0, degradedMachineCount: 0, unavailableMachineCount: 1 } });
    const fault = poolEvents('MODIFIED', degraded, before).find((e) => e[0] === 'fault')!;
    expect(fault[1]).toEqual({ fault: 'machineconfigpool-degraded', pool: 'master', message: `MachineConfigPool master: 1 machine(s) degraded: Node lab-node-0 is reporting: ${JSON.stringify(reason)}` });
    const fixed = o({ metadata: { name: 'master' }, status: { machineCount: 1, updatedMachineCount: 1, readyMachineCount: 1, degradedMachineCount: 0, unavailableMachineCount: 0 } });
    expect(poolEvents('MODIFIED', fixed, degraded).map((e) => [e[0], e[1]['step']])).toEqual([
      ['progress', 'MachineConfigPool master: 1/1 updated, 0 unavailable, 0 degraded'],
      ['progress', 'MachineConfigPool master: no machine degraded any more'],
    ]);
  });
});

describe('Builds', () => {
  const build = (phase: string) =>
    o({
      metadata: { name: 'simple-kmod-driver-build-1', namespace: 'kmodlab-simple-kmod' },
      spec: { strategy: { dockerStrategy: { buildArgs: [{ name: 'KVER', value: '5.14.0-284.52.1.el9_2.x86_64' }] } } },
      status: { phase, startTimestamp: '2026-11-25T10:00:00Z', completionTimestamp: '2026-11-25T10:04:30Z' },
    });
  it('one build event when it completes, with kver and wall time; none before or twice', () => {
    expect(buildEvents('MODIFIED', build('Running'), build('Pending'))).toEqual([]);
    expect(buildEvents('MODIFIED', build('Complete'), build('Running'))).toEqual([
      ['build', { kver: '5.14.0-284.52.1.el9_2.x86_64', ok: true, cached: false, build: 'kmodlab-simple-kmod/simple-kmod-driver-build-1', wallMs: 270_000 }],
    ]);
    expect(buildEvents('MODIFIED', build('Complete'), build('Complete'))).toEqual([]);
    expect(buildEvents('MODIFIED', build('Failed'), build('Running'))[0]![1]).toMatchObject({ ok: false, error: 'Failed' });
  });

  it("carries the lab's record of the built modules' dependencies; a malformed one is no record", () => {
    const deps = [{ module: 'needs_crc7', name: 'crc7', kind: 'in-tree', file: 'kernel/lib/crc7.ko' }];
    const annotated = (text: string) =>
      o({
        metadata: { name: 'simple-kmod-driver-build-1', namespace: 'kmodlab-simple-kmod', annotations: { [MODULE_DEPENDENCIES]: text } },
        status: { phase: 'Complete' },
      });
    expect(buildEvents('MODIFIED', annotated(JSON.stringify(deps)), build('Running'))[0]![1]).toMatchObject({ ok: true, dependencies: deps });
    expect(buildEvents('MODIFIED', annotated(JSON.stringify([])), build('Running'))[0]![1]).toMatchObject({ dependencies: [] });
    expect(buildEvents('MODIFIED', annotated('{not json'), build('Running'))[0]![1]).not.toHaveProperty('dependencies');
    expect(buildEvents('MODIFIED', annotated('[{"name":"crc7"}]'), build('Running'))[0]![1]).not.toHaveProperty('dependencies');
  });
});

describe('KMM Modules, events, canaries', () => {
  it('Module loader counts → progress', () => {
    const m = (a: number) => o({ metadata: { name: 'simple-kmod', namespace: 'openshift-kmm' }, status: { moduleLoader: { desiredNumber: 2, availableNumber: a, nodesMatchingSelectorNumber: 2 } } });
    expect(kmmModuleEvents('MODIFIED', m(1), m(0))[0]![1]).toMatchObject({ step: 'KMM Module simple-kmod: 1/2 loader pods available' });
    expect(kmmModuleEvents('MODIFIED', m(1), m(1))).toEqual([]);
  });
  it('Warning events only', () => {
    const raw = (type: string) => ({ metadata: { name: 'e' }, type, reason: 'BackOff', message: 'Back-off restarting failed container', involvedObject: { kind: 'Pod', name: 'p' }, source: { host: 'worker-0' } });
    const ev = (type: string) => o(raw(type));
    expect(clusterEventEvents('ADDED', ev('Warning'))).toEqual([['progress', { step: 'Warning BackOff Pod/p: Back-off restarting failed container', clusterEvent: 'BackOff' }, 'worker-0']]);
    expect(clusterEventEvents('ADDED', ev('Normal'))).toEqual([]);
    // A kubelet counts a repeat of an identical Event up (MODIFIED): shown once, not per restart.
    expect(clusterEventEvents('MODIFIED', o({ ...raw('Warning'), count: 4 }), o({ ...raw('Warning'), count: 3 }))).toEqual([]);
  });
  it("a Node's KernelMismatch Warning is the run's kernel-mismatch fault on that node", () => {
    const raw = { metadata: { name: 'e' }, type: 'Warning', reason: 'KernelMismatch', message: 'booted kernel 6.1.0-56-amd64 (uname -r in the node), but the lab meant to boot 6.1.0-57-amd64', involvedObject: { kind: 'Node', name: 'lab-node-0' }, source: { component: 'kubelet', host: 'lab-node-0' } };
    const e = o(raw);
    expect(clusterEventEvents('ADDED', e)).toContainEqual(['fault', { fault: 'kernel-mismatch', message: 'booted kernel 6.1.0-56-amd64 (uname -r in the node), but the lab meant to boot 6.1.0-57-amd64' }, 'lab-node-0']);
    expect(clusterEventEvents('ADDED', o({ ...raw, involvedObject: { kind: 'Pod', name: 'p' } })).filter(([k]) => k === 'fault')).toEqual([]);
    // Another boot into the wrong kernel counts the same Event up: one more fault, saying how often.
    expect(clusterEventEvents('MODIFIED', o({ ...raw, count: 2 }), e)).toEqual([['fault', { fault: 'kernel-mismatch', message: `${raw.message} (2 times)` }, 'lab-node-0']]);
    // A MODIFIED that did not count up (e.g. a label change) is no new boot.
    expect(clusterEventEvents('MODIFIED', o({ ...raw, count: 2 }), o({ ...raw, count: 2 }))).toEqual([]);
  });
  it('canary availability transitions on the node named by the annotation', () => {
    const d = (avail: number) => o({ metadata: { name: 'kmodlab-canary-w', annotations: { 'kmodlab.io/canary-node': 'ip-10-0-1-2.ec2.internal' } }, status: { availableReplicas: avail } });
    expect(canaryEvents('MODIFIED', d(0), d(1), 'kmodlab.io/canary-node')).toEqual([['canary', { up: false, via: 'availability' }, 'ip-10-0-1-2.ec2.internal']]);
    expect(canaryEvents('MODIFIED', d(1), d(1), 'kmodlab.io/canary-node')).toEqual([]);
  });
});

describe('what holds a rollout up', () => {
  it('pods failing to pull (with the waiting message) and degraded pools (with their reason); healthy objects say nothing', () => {
    const pullFailing = o({ metadata: { name: 'p-1', namespace: 'ns' }, spec: { nodeName: 'n0' }, status: { containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "r/i:1": ErrImagePull: connection refused' } } }] } });
    const runningPod = o({ metadata: { name: 'p-2', namespace: 'ns' }, status: { containerStatuses: [{ name: 'c', state: { running: {} } }] } });
    const creating = o({ metadata: { name: 'p-3', namespace: 'ns' }, status: { containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }] } });
    const degraded = o({ metadata: { name: 'master' }, status: { degradedMachineCount: 1, conditions: [{ type: 'NodeDegraded', status: 'True', message: 'Node n0 is reporting: "failed to update OS to rendered-master-1: failed to pull x"' }] } });
    const fine = o({ metadata: { name: 'worker' }, status: { degradedMachineCount: 0, conditions: [{ type: 'NodeDegraded', status: 'False', message: '' }] } });
    const crashing = o({ metadata: { name: 'p-4', namespace: 'ns' }, status: { containerStatuses: [{ name: 'c', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=c pod=p-4' } } }] } });
    expect(blockers([crashing], [])).toEqual(['pod ns/p-4: CrashLoopBackOff: back-off 20s restarting failed container=c pod=p-4']);
    expect(blockers([pullFailing, runningPod, creating], [degraded, fine])).toEqual([
      'pod ns/p-1 on n0: ImagePullBackOff: Back-off pulling image "r/i:1": ErrImagePull: connection refused',
      'MachineConfigPool master degraded: Node n0 is reporting: "failed to update OS to rendered-master-1: failed to pull x"',
    ]);
    expect(blockers([runningPod], [fine])).toEqual([]);
  });
});

/**
 * MachineOSBuilds as machine-config-operator release-4.19 writes them (pkg/apihelpers
 * machineosbuild.go: the five conditions with fixed reasons/messages, exactly one True;
 * builder.job = the build Job; buildStart/buildEnd): testdata/machineosbuild-*.json.
 */
describe('MachineOSBuilds (on-cluster layering)', () => {
  const load = (f: string) => JSON.parse(readFileSync(path.join(import.meta.dirname, 'testdata', f), 'utf8')) as WatchObject & { status: { conditions: { type: string; status: string }[] } };
  const succeeded = load('machineosbuild-succeeded.json');
  const failed = load('machineosbuild-failed.json');
  /** The same build while it ran: Building True, no buildEnd. */
  const running = (b: typeof failed) => ({ ...b, status: { ...b.status, buildEnd: undefined, conditions: b.status.conditions.map((c) => ({ ...c, status: c.type === 'Building' ? 'True' : 'False' })) } });

  it('the fixtures satisfy the upstream MachineOSBuild schema (../shared/schemas)', () => {
    assertValidK8sObject(succeeded);
    assertValidK8sObject(failed);
  });

  it('Building → Succeeded is one ok build event with the wall time buildStart → buildEnd and the pushed digest', () => {
    const ev = machineOSBuildEvents('MODIFIED', o(succeeded), o(running(succeeded)));
    expect(ev).toEqual([
      [
        'build',
        {
          kver: '',
          ok: true,
          cached: false,
          build: 'MachineOSBuild/master-8f2e0c4a1b9d7e6f5a4b3c2d1e0f9a8b',
          machineOSConfig: 'master',
          wallMs: 272_000,
          builder: 'Job openshift-machine-config-operator/build-master-8f2e0c4a1b9d7e6f5a4b3c2d1e0f9a8b',
          image: expect.stringMatching(/os-image@sha256:[0-9a-f]{64}$/),
        },
      ],
    ]);
  });

  it('Building → Failed is one failed build event with its condition and time to failure; the next update of a finished build adds none', () => {
    const [ev] = machineOSBuildEvents('MODIFIED', o(failed), o(running(failed)));
    expect(ev![0]).toBe('build');
    expect(ev![1]).toMatchObject({ ok: false, wallMs: 86_000, error: 'Failed: Build Failed', builder: 'Job openshift-machine-config-operator/build-master-1a2b3c4d5e6f708192a3b4c5d6e7f809' });
    expect(machineOSBuildEvents('MODIFIED', o(failed), o(failed))).toEqual([]);
    expect(machineOSBuildEvents('MODIFIED', o(running(failed)), undefined)).toEqual([]);
    expect(machineOSBuildOutcome(o(running(failed)))).toBeUndefined();
  });

  it('first sight of an already failed build (a watch started late) still records it', () => {
    expect(machineOSBuildEvents('ADDED', o(failed), undefined)[0]![1]).toMatchObject({ ok: false });
  });

  it('the v1alpha1 (4.16–4.17) field names: finalImagePushspec, builderReference.buildPod', () => {
    const alpha = { ...succeeded, apiVersion: 'machineconfiguration.openshift.io/v1alpha1', status: { ...succeeded.status, builder: undefined, digestedImagePushSpec: undefined, finalImagePushspec: 'quay.io/x/os@sha256:' + 'a'.repeat(64), builderReference: { imageBuilderType: 'PodImageBuilder', buildPod: { name: 'build-x', namespace: 'openshift-machine-config-operator' } } } };
    expect(machineOSBuildEvents('MODIFIED', o(alpha), o(running(alpha as never)))[0]![1]).toMatchObject({ ok: true, image: 'quay.io/x/os@sha256:' + 'a'.repeat(64), builder: 'Pod openshift-machine-config-operator/build-x' });
  });

  it('failedMachineOSBuilds: the newest build of a MachineOSConfig when it failed, with its evidence; a failed build superseded by a newer one is not', () => {
    const f = failedMachineOSBuilds([o(succeeded), o(failed)]);
    expect(f).toEqual([
      {
        name: 'master-1a2b3c4d5e6f708192a3b4c5d6e7f809',
        machineOSConfig: 'master',
        state: 'Failed',
        evidence: 'MachineOSBuild master-1a2b3c4d5e6f708192a3b4c5d6e7f809 (MachineOSConfig master) Failed after 86 s: Build Failed; log: Job openshift-machine-config-operator/build-master-1a2b3c4d5e6f708192a3b4c5d6e7f809',
      },
    ]);
    const newer = { ...succeeded, metadata: { ...succeeded.metadata, creationTimestamp: '2025-06-03T12:00:00Z' } };
    expect(failedMachineOSBuilds([o(failed), o(newer)])).toEqual([]);
    expect(failedMachineOSBuilds([o(succeeded)])).toEqual([]);
    expect(failedMachineOSBuilds([o(running(failed))])).toEqual([]);
  });

  it('blockers lists a failed MachineOSBuild with its evidence', () => {
    expect(blockers([], [], [o(succeeded), o(failed)])).toEqual([expect.stringMatching(/^MachineOSBuild master-1a2b3c4d5e6f708192a3b4c5d6e7f809 \(MachineOSConfig master\) Failed after 86 s: Build Failed; log: Job /)]);
    expect(blockers([], [], [o(succeeded)])).toEqual([]);
  });
});
