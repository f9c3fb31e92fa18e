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

const fakeRuntime = vi.hoisted(() => ({ exitCode: 0, starts: 0 }));
vi.mock('../../src/targets/lab/kubelet/pod-sandbox.js', () => ({
  // Each instance is still being created when the start answers, and has run and exited by the first relist.
  startContainer: async () => {
    fakeRuntime.starts += 1;
    return { state: 'creating', log: '' };
  },
  probeContainers: async (_node: unknown, refs: { uid: string }[]) => new Map(refs.map((r) => [r.uid, { state: 'exited', exitCode: fakeRuntime.exitCode, log: 'kmodlab-probe simple_kmod 0\n' }])),
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

  it('Always (the default, DaemonSet pods): restarted after exit 0 too, and Running', async () => {
    const { last, starts } = await runPod(undefined, 0);
    expect(starts).toBeGreaterThan(1);
    expect(last.phase).toBe('Running');
  }, 20_000);
});
