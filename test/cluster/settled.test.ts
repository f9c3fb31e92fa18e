/**
 * When a wait for the driver may end before its timeout (settled.ts): tables of watched
 * objects as the API serves them (pods as the kubelet reports them, pools and nodes with
 * the MCO's status and annotations, Builds, MachineOSBuilds), no server.
 */
import { describe, expect, it } from 'vitest';
import { CRASH_LOOP_RESTARTS, SettleClock, settleDecision, type SettleInput } from '../../src/targets/cluster/settled.js';
import type { WatchObject } from '../../src/targets/cluster/watch.js';

const o = (x: object) => x as unknown as WatchObject;
const NS = 'kmodlab-simple-kmod';
const MCO = 'machineconfiguration.openshift.io';

const node = (over: { ready?: boolean; current?: string; desired?: string; state?: string; boot?: string } = {}) =>
  o({
    metadata: {
      name: 'lab-node-0',
      labels: { 'node-role.kubernetes.io/master': '', 'node-role.kubernetes.io/worker': '' },
      annotations: { [`${MCO}/currentConfig`]: over.current ?? 'rendered-master-b', [`${MCO}/desiredConfig`]: over.desired ?? 'rendered-master-b', [`${MCO}/state`]: over.state ?? 'Done' },
    },
    status: { conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }], nodeInfo: { bootID: over.boot ?? 'boot-2', kernelVersion: '6.1.0-31-amd64' } },
  });

const pool = (name: string, over: { updated?: number; machines?: number; degraded?: number; paused?: boolean; updating?: boolean; generation?: number; observed?: number; message?: string } = {}) =>
  o({
    metadata: { name, generation: over.generation ?? 3 },
    spec: { nodeSelector: { matchLabels: { [`node-role.kubernetes.io/${name}`]: '' } }, ...(over.paused ? { paused: true } : {}) },
    status: {
      observedGeneration: over.observed ?? over.generation ?? 3,
      machineCount: over.machines ?? (name === 'master' ? 1 : 0),
      updatedMachineCount: over.updated ?? over.machines ?? (name === 'master' ? 1 : 0),
      degradedMachineCount: over.degraded ?? 0,
      conditions: [
        { type: 'Updating', status: over.updating ? 'True' : 'False' },
        { type: 'NodeDegraded', status: over.degraded ? 'True' : 'False', ...(over.message ? { message: over.message } : {}) },
      ],
    },
  });
const POOLS = [pool('master'), pool('worker')];

/** A DTK DaemonSet pod as the kubelet reports it. */
const dsPod = (over: { uid?: string; restarts?: number; waiting?: string; running?: boolean; ready?: boolean; lastExit?: number; phase?: string; deleting?: boolean; image?: string; message?: string } = {}) =>
  o({
    metadata: {
      name: 'simple-kmod-driver-container-x7k2p',
      namespace: NS,
      uid: over.uid ?? 'uid-1',
      ownerReferences: [{ kind: 'DaemonSet', name: 'simple-kmod-driver-container' }],
      ...(over.deleting ? { deletionTimestamp: '2026-12-01T09:00:00Z' } : {}),
    },
    spec: { nodeName: 'lab-node-0' },
    status: {
      phase: over.phase ?? (over.waiting === 'ContainerCreating' ? 'Pending' : 'Running'),
      containerStatuses: [
        {
          name: 'simple-kmod',
          image: over.image ?? 'image-registry.openshift-image-registry.svc:5000/kmodlab-simple-kmod/simple-kmod@sha256:1111',
          ready: over.ready ?? over.running ?? false,
          restartCount: over.restarts ?? 0,
          state: over.running ? { running: { startedAt: '2026-12-01T09:00:00Z' } } : { waiting: { reason: over.waiting ?? 'CrashLoopBackOff', ...(over.message ? { message: over.message } : {}) } },
          ...(over.lastExit !== undefined ? { lastState: { terminated: { exitCode: over.lastExit, reason: over.lastExit ? 'Error' : 'Completed' } } } : {}),
        },
      ],
    },
  });
const crashLooping = (restarts = CRASH_LOOP_RESTARTS, uid = 'uid-1') => dsPod({ uid, restarts, waiting: 'CrashLoopBackOff', lastExit: 137, message: 'back-off restarting failed container' });

/** The KMM operator's own pod (a Deployment's): never the method's driver pod. */
const operatorPod = o({
  metadata: { name: 'kmm-operator-controller-6d9f8b7c5d-abcde', namespace: 'openshift-kmm', ownerReferences: [{ kind: 'ReplicaSet', name: 'kmm-operator-controller-6d9f8b7c5d' }] },
  spec: { nodeName: 'lab-node-0' },
  status: { phase: 'Running', containerStatuses: [{ name: 'manager', ready: true, restartCount: 0, state: { running: {} } }] },
});
const kmmWorker = (phase: string) =>
  o({
    metadata: { name: 'kmm-worker-lab-node-0-simple-kmod', namespace: NS, labels: { 'app.kubernetes.io/component': 'worker' }, ownerReferences: [{ kind: 'Module', name: 'simple-kmod' }] },
    spec: { nodeName: 'lab-node-0' },
    status: { phase, containerStatuses: [{ name: 'worker', restartCount: 0, state: phase === 'Succeeded' ? { terminated: { exitCode: 0 } } : { running: {} } }] },
  });

const build = (name: string, phase: string | undefined, created = '2026-12-01T09:00:00Z') => o({ metadata: { name, namespace: NS, creationTimestamp: created }, ...(phase ? { status: { phase } } : {}) });
const mosb = (name: string, state: 'Building' | 'Succeeded' | 'Failed' | undefined, created = '2026-12-01T09:00:00Z') =>
  o({ metadata: { name, creationTimestamp: created }, status: state ? { conditions: ['Prepared', 'Building', 'Succeeded', 'Failed'].map((type) => ({ type, status: type === state ? 'True' : 'False' })) } : {} });

const input = (over: Partial<SettleInput> = {}): SettleInput => ({ pending: ['lab-node-0'], wantLoaded: true, podDelivered: true, nodes: [node()], pools: POOLS, pods: [], builds: [], ...over });

describe('settleDecision: terminal', () => {
  it.each<[string, Partial<SettleInput>, RegExp]>([
    ['dtk pinned after an upgrade: the pod crash-loops on the new kernel, nothing builds', { pods: [crashLooping()], builds: [build('simple-kmod-1', 'Complete')] }, /pod kmodlab-simple-kmod\/simple-kmod-driver-container-x7k2p CrashLoopBackOff, 3 restarts, with no build or rollout in progress/],
    ['between two back-offs the container runs again (its last run failed, not ready): the same crash loop', { pods: [dsPod({ restarts: 4, running: true, ready: false, lastExit: 1 })] }, /CrashLoopBackOff, 4 restarts/],
    ['an image that cannot be pulled and no build that would push it: the failed build is named', { pods: [dsPod({ waiting: 'ImagePullBackOff', message: 'manifest unknown' })], builds: [build('simple-kmod-1', 'Failed')] }, /ImagePullBackOff .*, with no build or rollout in progress \(the newest Build, kmodlab-simple-kmod\/simple-kmod-1, Failed\)$/],
    ['InvalidImageName', { pods: [dsPod({ waiting: 'InvalidImageName' })] }, /InvalidImageName/],
    ['KMM: its build for the new kernel failed and no worker pod is starting (the operator pod runs, it is not the driver)', { pods: [operatorPod, kmmWorker('Succeeded')], builds: [build('simple-kmod-build-a', 'Complete', '2026-12-01T08:00:00Z'), build('simple-kmod-build-b', 'Failed', '2026-12-01T09:00:00Z')] }, /Build kmodlab-simple-kmod\/simple-kmod-build-b Failed and nothing starts another/],
    ['the pool is degraded (the MCO stops), even while a node is not on its config', { nodes: [node({ current: 'rendered-master-a', desired: 'rendered-master-b', state: 'Degraded' })], pools: [pool('master', { degraded: 1, updated: 0, message: 'Node lab-node-0 is reporting: "failed to pull OS image"' }), pool('worker')] }, /MachineConfigPool master is degraded \(Node lab-node-0 is reporting: "failed to pull OS image"\)/],
    ['the pool is paused with a rollout pending', { nodes: [node({ desired: 'rendered-master-b', current: 'rendered-master-b' })], pools: [pool('master', { paused: true, updated: 0 }), pool('worker')] }, /MachineConfigPool master is paused with a rollout pending/],
    ['layering after an upgrade: the node kept its layered image, the pool is updated, nothing builds', { podDelivered: false }, /Ready on its pool's current config, no OS image build or rollout pending/],
    ['on-cluster layering: the newest MachineOSBuild failed', { podDelivered: false, machineOSBuilds: [mosb('layered-a', 'Succeeded', '2026-12-01T08:00:00Z'), mosb('layered-b', 'Failed')] }, /MachineOSBuild layered-b failed/],
    ['unload wanted: no pod of the method is left on the node', { wantLoaded: false, pods: [operatorPod] }, /no pod of the method is left there to unload it/],
  ])('%s', (_what, over, reason) => {
    const d = settleDecision(input(over));
    expect(d).toMatchObject({ terminal: true });
    expect(d.terminal && d.reason).toMatch(reason);
  });
});

describe('settleDecision: not terminal (the driver may still come back by itself)', () => {
  it.each<[string, Partial<SettleInput>, RegExp]>([
    ['dtk tracking / KMM: a Build is running (the new image brings a new pod), even with the old pod crash-looping', { pods: [crashLooping(6)], builds: [build('simple-kmod-1', 'Complete', '2026-12-01T08:00:00Z'), build('simple-kmod-2', 'Running')] }, /Build kmodlab-simple-kmod\/simple-kmod-2 is Running/],
    ['a Build just created (no status yet)', { pods: [crashLooping()], builds: [build('simple-kmod-2', undefined)] }, /is New/],
    ['a pod crash-loops only twice so far', { pods: [crashLooping(CRASH_LOOP_RESTARTS - 1)] }, /is Running/],
    ['the rollout replaces the crash-looping pod: the old one is being deleted', { pods: [dsPod({ restarts: 5, waiting: 'CrashLoopBackOff', lastExit: 1, deleting: true })] }, /being deleted/],
    ['the new pod is being created next to the crash-looping one', { pods: [crashLooping(), dsPod({ uid: 'uid-2', waiting: 'ContainerCreating' })] }, /is Pending/],
    ['KMM: the node is on the new kernel, KMM has not created its build or worker yet', { pods: [operatorPod, kmmWorker('Succeeded')], builds: [build('simple-kmod-build-a', 'Complete')] }, /pods not yet created/],
    ['dtk: no pod on the node yet', { pods: [] }, /pods not yet created/],
    ['the node is not Ready', { nodes: [node({ ready: false })], pods: [crashLooping()] }, /not Ready/],
    ['the node is not yet on its desired config', { nodes: [node({ current: 'rendered-master-a' })], pods: [crashLooping()] }, /not yet on rendered-master-b/],
    ['the MCO is working on the node', { nodes: [node({ state: 'Working' })], pods: [crashLooping()] }, /MCO state Working/],
    ['the pool is updating', { pools: [pool('master', { updating: true }), pool('worker')], pods: [crashLooping()] }, /MachineConfigPool master is updating/],
    ['the pool has not observed its new generation yet', { pools: [pool('master', { generation: 4, observed: 3 }), pool('worker')], podDelivered: false }, /MachineConfigPool master is updating/],
    ['on-cluster layering: a MachineOSBuild is building (the pool rolls out once it succeeds)', { podDelivered: false, machineOSBuilds: [mosb('layered-b', 'Building')] }, /MachineOSBuild layered-b is building/],
    ['a MachineOSBuild just created (no conditions yet)', { podDelivered: false, machineOSBuilds: [mosb('layered-b', undefined)] }, /is building/],
    ['unload wanted: the method pod is still there (its preStop runs)', { wantLoaded: false, pods: [dsPod({ running: true, ready: true, deleting: true })] }, /being deleted/],
    ['unload wanted: a crash-looping pod of the method is still on the node', { wantLoaded: false, pods: [crashLooping()] }, /still on lab-node-0/],
    ['a pending node the watch has not seen', { nodes: [] }, /not seen/],
  ])('%s', (_what, over, why) => {
    const d = settleDecision(input(over));
    expect(d).toMatchObject({ terminal: false });
    expect(!d.terminal && d.why).toMatch(why);
  });

  it('every pending node must be terminal', () => {
    const other = o({ ...(node() as object), metadata: { ...(node().metadata as object), name: 'lab-node-1' } });
    const creating = o({ ...(dsPod({ uid: 'uid-9', waiting: 'ContainerCreating' }) as object), spec: { nodeName: 'lab-node-1' } });
    expect(settleDecision(input({ pending: ['lab-node-0', 'lab-node-1'], nodes: [node(), other], pods: [crashLooping(), creating] }))).toMatchObject({ terminal: false });
  });
});

describe('SettleClock: the terminal state must hold, with the same evidence, for the grace window', () => {
  const terminal = (restarts: number, uid = 'uid-1', boot = 'boot-2') => settleDecision(input({ nodes: [node({ boot })], pods: [crashLooping(restarts, uid)] }));

  it('ends the wait once it held for the grace window; a rising restart count is the same evidence', () => {
    const clock = new SettleClock(60_000);
    expect(clock.update(terminal(3), 0)).toBeUndefined();
    expect(clock.update(terminal(4), 59_999)).toBeUndefined();
    expect(clock.update(terminal(5), 60_000)).toMatch(/CrashLoopBackOff, 5 restarts/);
  });

  it('starts over when the state is not terminal for a moment, or the evidence changes (a new pod, a reboot)', () => {
    const clock = new SettleClock(60_000);
    clock.update(terminal(3), 0);
    expect(clock.update(settleDecision(input({ pods: [crashLooping(3)], builds: [build('simple-kmod-2', 'Running')] })), 30_000)).toBeUndefined();
    expect(clock.update(terminal(3), 40_000)).toBeUndefined();
    expect(clock.update(terminal(3), 99_999)).toBeUndefined();
    expect(clock.update(terminal(3, 'uid-2'), 100_000)).toBeUndefined();
    expect(clock.update(terminal(3, 'uid-2', 'boot-3'), 150_000)).toBeUndefined();
    expect(clock.update(terminal(3, 'uid-2', 'boot-3'), 209_999)).toBeUndefined();
    expect(clock.update(terminal(3, 'uid-2', 'boot-3'), 210_000)).toBeDefined();
  });
});
