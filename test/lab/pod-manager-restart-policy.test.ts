/**
 * The lab kubelet honours a pod's restartPolicy (container/helpers.go
 * ShouldContainerBeRestarted, kubelet_pods.go getPhase): a one-shot pod — the cluster
 * target's module probe, restartPolicy Never — ends Succeeded/Failed with its container
 * terminated, instead of being restarted forever as a DaemonSet pod is. The node's
 * container runtime (pod-sandbox.ts, which runs in the QEMU guest) is replaced by a named
 * fake whose containers exit with a given code; the pod manager's decisions are real.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';

const fakeRuntime = vi.hoisted(() => ({ exitCode: 0, starts: 0, relists: 0, oneShot: [] as (boolean | undefined)[], exitsAtStart: false, crashesAtStart: false }));
vi.mock('../../src/targets/lab/kubelet/pod-sandbox.js', () => ({
  // Each instance is still being created when the start answers, and has run and exited by
  // the first relist — or, with exitsAtStart, a one-shot has already exited when the start answers.
  startContainer: async (_node: unknown, c: { oneShot?: boolean }) => {
    fakeRuntime.starts += 1;
    fakeRuntime.oneShot.push(c.oneShot);
    if (fakeRuntime.exitsAtStart && c.oneShot) return { state: 'exited', exitCode: fakeRuntime.exitCode, log: 'kmodlab-probe simple_kmod 0\n' };
    if (fakeRuntime.crashesAtStart) return { state: 'exited', exitCode: 1, log: 'crash\n' };
    return { state: 'creating', log: '' };
  },
  probeContainers: async (_node: unknown, refs: { uid: string }[]) => {
    fakeRuntime.relists += 1;
    return new Map(refs.map((r) => [r.uid, { state: 'exited', exitCode: fakeRuntime.exitCode, log: 'kmodlab-probe simple_kmod 0\n' }]));
  },
  execInContainer: async () => ({ code: 0, output: '' }),
  stopContainer: async () => undefined,
}));

const { PodManager, LAB_POD_TIMING } = await import('../../src/targets/lab/kubelet/pod-manager.js');
const { MemoryLogSource } = await import('../../src/targets/lab/api-server/log-source.js');

async function runPod(restartPolicy: string | undefined, exitCode: number) {
  fakeRuntime.exitCode = exitCode;
  fakeRuntime.starts = 0;
  const posted: { phase: string; containerStatuses: { state: Record<string, { exitCode?: number }>; restartCount: number }[] }[] = [];
  const images = { pull: async () => ({ imageID: 'lab/runtime-base@sha256:00', sharePath: '/x', config: {}, pulledBytes: 0 }), preparePodRoot: async () => 'pods/x/root' };
  const m = new PodManager({ node: { name: 'lab-node-0' } as never, api: { patchPodStatus: async (_ns, _n, s) => void posted.push(s as never) }, images: images as never, logs: new MemoryLogSource() });
  const pod: V1Pod = { metadata: { name: 'p', namespace: 'kmodlab', uid: 'u1' }, spec: { nodeName: 'lab-node-0', ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: 'probe', image: 'lab/runtime-base' }] } };
  m.upsert(pod);
  m.start();
  // Long enough for several restarts after the first back-off if the policy allowed them.
  await new Promise((r) => setTimeout(r, LAB_POD_TIMING.backoffMs * 2 + 3 * LAB_POD_TIMING.relistMs));
  await m.stop();
  return { last: posted.at(-1)!, starts: fakeRuntime.starts };
}

describe('lab kubelet: restartPolicy', () => {
  it('Never: the container runs once; exit 0 → Succeeded, terminated with its exit code', async () => {
    const { last, starts } = await runPod('Never', 0);
    expect(starts).toBe(1);
    expect(last.phase).toBe('Succeeded');
    expect(last.containerStatuses[0]!.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(last.containerStatuses[0]!.restartCount).toBe(0);
  }, 20_000);

  it('Never: a non-zero exit → Failed', async () => {
    const { last, starts } = await runPod('Never', 3);
    expect(starts).toBe(1);
    expect(last.phase).toBe('Failed');
    expect(last.containerStatuses[0]!.state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  }, 20_000);

  it('OnFailure: restarted after a non-zero exit, not after exit 0', async () => {
    expect((await runPod('OnFailure', 1)).starts).toBeGreaterThan(1);
    const ok = await runPod('OnFailure', 0);
    expect(ok.starts).toBe(1);
    expect(ok.last.phase).toBe('Succeeded');
  }, 30_000);

  it('Always (the default, DaemonSet pods): restarted after exit 0 too, and Running; never started as a one-shot', async () => {
    fakeRuntime.oneShot = [];
    const { last, starts } = await runPod(undefined, 0);
    expect(starts).toBeGreaterThan(1);
    expect(last.phase).toBe('Running');
    expect(fakeRuntime.oneShot.every((x) => x === false)).toBe(true);
  }, 20_000);

  it('a one-shot container (Never/OnFailure) is started as one, and an exit the start already saw ends the pod without a relist', async () => {
    fakeRuntime.exitsAtStart = true;
    fakeRuntime.oneShot = [];
    fakeRuntime.relists = 0;
    try {
      const posted: { phase: string }[] = [];
      const images = { pull: async () => ({ imageID: 'lab/runtime-base@sha256:00', sharePath: '/x', config: {}, pulledBytes: 0 }), preparePodRoot: async () => 'pods/x/root' };
      const m = new PodManager({ node: { name: 'lab-node-0' } as never, api: { patchPodStatus: async (_ns, _n, s) => void posted.push(s as never) }, images: images as never, logs: new MemoryLogSource() });
      const pod: V1Pod = { metadata: { name: 'p', namespace: 'kmodlab', uid: 'u2' }, spec: { nodeName: 'lab-node-0', restartPolicy: 'Never', containers: [{ name: 'probe', image: 'lab/runtime-base' }] } };
      m.upsert(pod); // no start(): no relist timer, only the passes upserts ask for
      await vi.waitFor(() => expect(posted.at(-1)?.phase).toBe('Succeeded'));
      expect(posted.map((p) => p.phase)).toEqual(['Succeeded']);
      expect(fakeRuntime.oneShot).toEqual([true]);
      const passes = fakeRuntime.relists;
      // The echoes of its own status patches (same spec) ask for no further pass…
      for (let i = 0; i < 5; i++) m.upsert({ ...pod, metadata: { ...pod.metadata, resourceVersion: String(10 + i) }, status: { phase: 'Succeeded' } });
      await new Promise((r) => setTimeout(r, 50));
      expect(fakeRuntime.relists).toBe(passes);
      // …a deletion does.
      m.upsert({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date() } });
      await vi.waitFor(() => expect(fakeRuntime.relists).toBe(passes + 1));
      await m.stop();
    } finally {
      fakeRuntime.exitsAtStart = false;
    }
  });

  it('a crash-looping container is started again when its back-off ends, not at a later relist', async () => {
    fakeRuntime.crashesAtStart = true;
    fakeRuntime.starts = 0;
    try {
      const images = { pull: async () => ({ imageID: 'lab/runtime-base@sha256:00', sharePath: '/x', config: {}, pulledBytes: 0 }), preparePodRoot: async () => 'pods/x/root' };
      const m = new PodManager({ node: { name: 'lab-node-0' } as never, api: { patchPodStatus: async () => undefined }, images: images as never, logs: new MemoryLogSource() });
      m.upsert({ metadata: { name: 'd', namespace: 'kmodlab', uid: 'u3' }, spec: { nodeName: 'lab-node-0', containers: [{ name: 'driver', image: 'lab/runtime-base' }] } });
      // No start(): no relist ticks. The first back-off (1 s) alone brings the second start.
      await vi.waitFor(() => expect(fakeRuntime.starts).toBe(2), { timeout: LAB_POD_TIMING.backoffMs + 1_000 });
      await m.stop();
    } finally {
      fakeRuntime.crashesAtStart = false;
    }
  });
});
