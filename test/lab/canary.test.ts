/**
 * The canary is a real workload, and the kernel a node boots is checked.
 *
 * On `kmodlab lab up` (bin/kmodlab.js and kubectl; needs `npm run build`) the canary is the
 * cluster target's Deployment (src/targets/cluster/canary.ts): a process in the guest, pinned
 * to the node. Killing that process in the guest (from another pod on the node: pods share
 * the guest's processes) is seen, sampled at a fixed interval, as the Deployment losing its
 * available replica — what the cluster target's canary watch reports as `canary` down — until
 * the kubelet has started the container again; the node runs the same boot throughout (the
 * node was never the path, the workload was).
 *
 * A real QEMU node asked to boot one kernel that boots another (a stale boot entry: the lab
 * means `other`, the node gets `from`'s kernel and image) registers through the real lab API
 * with the guest's `uname -r` as nodeInfo.kernelVersion, and its node agent records a Warning
 * `KernelMismatch` Event on the Node naming both kernels; a boot of the intended kernel
 * records none.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryDeployment, CANARY_NODE_LABEL } from '../../src/targets/cluster/canary.js';
import { canaryEvents } from '../../src/targets/cluster/observers.js';
import { listKernels } from '../../src/targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../../src/targets/lab/kernels/lab-releases.js';
import { KERNEL_MISMATCH, NodeAgent } from '../../src/targets/lab/kubelet/node-agent.js';
import { nodeApiFromKubeconfig } from '../../src/targets/lab/kubelet/node-api.js';
import { LabNode } from '../../src/targets/lab/node/node.js';
import { buildInitramfs } from '../../src/targets/lab/os-image/initramfs.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { kubectlBinary, startTestApi, type TestApi } from './api-server-helpers.js';
import { labAvailability, pollUntil, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;
const kernels = listKernels().filter((k) => !k.flavour.includes('rt'));
const from = kernels.length ? chooseLabKernels(listKernels()).from : undefined;
const other = kernels.find((k) => k.kver !== from?.kver);

interface Sample {
  t: number;
  /** The canary Deployment as the API had it (what the cluster target's watch sees). */
  deployment: { metadata: { name: string; annotations?: Record<string, string> }; status?: { availableReplicas?: number } };
  restartCount: number;
  lastTerminated?: { exitCode?: number; reason?: string };
  nodeBootID: string;
}

describe.skipIf(!ok)(`the canary on kmodlab lab up${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels.filter((k) => !k.flavour.startsWith('rt'))) : undefined;
  const h = new LabUpHarness('canary');
  const { dir, kubectl } = h;
  let runtimeBase: string;
  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel! });
    expect(up.code, up.stderr).toBe(0);
    runtimeBase = runtimeBaseOf(release);
  }, 900_000);
  afterAll(() => h.stop(), 600_000);

  it('a killed canary process is seen as failed probes until it runs again', async () => {
    const node = 'lab-node-0';
    const d = canaryDeployment('default', node, runtimeBase);
    writeFileSync(path.join(dir, 'canary.json'), JSON.stringify(d));
    expect((await kubectl('apply', '-f', path.join(dir, 'canary.json'))).code).toBe(0);
    const name = d.metadata.name;
    const sample = async (): Promise<Sample> => {
      const dep = JSON.parse((await kubectl('get', 'deploy', name, '-n', 'default', '-o', 'json')).stdout) as Sample['deployment'];
      const pods = JSON.parse((await kubectl('get', 'pods', '-n', 'default', '-l', `${CANARY_NODE_LABEL}`, '-o', 'json')).stdout).items as { status?: { containerStatuses?: { restartCount: number; lastState?: { terminated?: { exitCode?: number; reason?: string } } }[] } }[];
      const n = JSON.parse((await kubectl('get', 'node', node, '-o', 'json')).stdout) as { status: { nodeInfo: { bootID: string } } };
      const c = pods[0]?.status?.containerStatuses?.[0];
      return { t: Date.now(), deployment: dep, restartCount: c?.restartCount ?? 0, lastTerminated: c?.lastState?.terminated, nodeBootID: n.status.nodeInfo.bootID };
    };
    const up = (s: Sample) => (s.deployment.status?.availableReplicas ?? 0) > 0;
    const first = await pollUntil(sample, up, 300_000, 1_000);
    expect(up(first), `${JSON.stringify(first)}\n${h.logTail()}`).toBe(true);

    // Probe at a fixed interval from outside (the API), in the background.
    const INTERVAL_MS = 1_000;
    const samples: Sample[] = [];
    let sampling = true;
    const loop = (async () => {
      while (sampling) {
        const t0 = Date.now();
        samples.push(await sample());
        await new Promise((r) => setTimeout(r, Math.max(0, INTERVAL_MS - (Date.now() - t0))));
      }
    })();

    // Kill the canary's process in the guest from another pod on the node (the pattern is split
    // so that the killer's own command line does not match it).
    const killer = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kill-canary', namespace: 'default' }, spec: { nodeName: node, restartPolicy: 'Never', containers: [{ name: 'k', image: runtimeBase, command: ['sh', '-c', 'pat="while true; do sl""eep 1; done"; n=0; for p in /proc/[0-9]*; do if tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q "$pat"; then kill -9 ${p#/proc/} && n=$((n+1)); fi; done; echo killed $n'] }] } };
    writeFileSync(path.join(dir, 'killer.json'), JSON.stringify(killer));
    const killedAt = Date.now();
    expect((await kubectl('apply', '-f', path.join(dir, 'killer.json'))).code).toBe(0);
    const done = await pollUntil(async () => (await kubectl('get', 'pod', 'kill-canary', '-o', 'jsonpath={.status.phase}')).stdout, (p) => p === 'Succeeded' || p === 'Failed', 180_000, 1_000);
    expect(done).toBe('Succeeded');
    expect((await kubectl('logs', 'kill-canary')).stdout).toMatch(/killed [1-9]/);

    // Failed probes, then a good one again once the kubelet has restarted the container.
    await pollUntil(async () => samples.slice(), (ss) => ss.some((s) => s.t >= killedAt && !up(s)) && ss.some((s) => s.t >= killedAt && up(s) && s.restartCount > 0), 300_000, 1_000);
    sampling = false;
    await loop;
    const after = samples.filter((s) => s.t >= killedAt);
    const failed = after.filter((s) => !up(s));
    expect(failed.length, JSON.stringify(after.map((s) => [s.t - killedAt, s.deployment.status?.availableReplicas, s.restartCount]))).toBeGreaterThan(0);
    const recovered = after.find((s) => s.t > failed[0]!.t && up(s));
    expect(recovered, 'a good probe after the restart').toBeDefined();
    // The kubelet saw the process die (SIGKILL: exit 137) and started it again.
    expect(recovered!.restartCount).toBe(1);
    expect(recovered!.lastTerminated?.exitCode).toBe(137);
    // The cluster target's canary watch reads the same Deployment: down, then up again.
    const seen = after.flatMap((s, i) => canaryEvents('MODIFIED', s.deployment as never, (i ? after[i - 1] : first)!.deployment as never, CANARY_NODE_LABEL));
    expect(seen.map(([kind, data, n]) => [kind, data.up, n])).toEqual(expect.arrayContaining([['canary', false, node], ['canary', true, node]]));
    const ups = seen.map(([, data]) => data.up);
    expect(ups.indexOf(false)).toBeLessThan(ups.lastIndexOf(true));
    // The node was never the path: it ran the same boot throughout (no reboot, no crash).
    expect(new Set([first, ...samples].map((s) => s.nodeBootID))).toEqual(new Set([first.nodeBootID]));
    process.stderr.write(`lab canary: ${failed.length} failed probe(s) at ${INTERVAL_MS} ms, first ${failed[0]!.t - killedAt} ms after the kill; up again ${recovered!.t - killedAt} ms after it\n`);
  }, 900_000);
});

describe.skipIf(!lab.ok || !from || !other)(`the booted-kernel check of a lab node${skipReason(lab)}`, () => {
  let api: TestApi;
  let node: LabNode | undefined;
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-mismatch-'));
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await node?.stop();
    await api?.stop();
    rmSync(runDir, { recursive: true, force: true });
  });

  it('a node asked to boot one kernel that boots another records a kernel-mismatch fault', async () => {
    const client = nodeApiFromKubeconfig(api.kubeconfig);
    const initramfs = await buildInitramfs({ kernel: from! });
    node = await LabNode.start(from!, initramfs, { name: 'mismatch-node', runDir });
    const n = node;
    const agent = new NodeAgent({ api: client, node: n, heartbeatMs: 2_000, intendedKernel: () => n.kernel.kver });
    const events = async () => (JSON.parse((await api.kubectl(['get', 'events', '-n', 'default', '-o', 'json'])).stdout).items as { reason: string; message: string; type: string; involvedObject: { kind: string; name: string } }[]).filter((e) => e.involvedObject.name === 'mismatch-node');
    await agent.register();
    expect((await client.getNode('mismatch-node'))?.status?.nodeInfo?.kernelVersion).toBe(from!.kver);
    expect((await events()).filter((e) => e.reason === KERNEL_MISMATCH)).toEqual([]);

    // The lab means `other` (its name), the node gets `from`'s kernel and image: a stale boot entry.
    const boot = await n.reboot({ kernel: { ...from!, kver: other!.kver }, initramfs: initramfs.path });
    expect(boot).toMatchObject({ kver: from!.kver, intendedKver: other!.kver });
    await agent.heartbeat();
    expect((await client.getNode('mismatch-node'))?.status?.nodeInfo?.kernelVersion).toBe(from!.kver);
    const evs = await events();
    const mismatch = evs.filter((e) => e.reason === KERNEL_MISMATCH);
    expect(mismatch, JSON.stringify(evs)).toHaveLength(1);
    expect(mismatch[0]).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Node', name: 'mismatch-node' } });
    expect(mismatch[0]!.message).toContain(`booted kernel ${from!.kver}`);
    expect(mismatch[0]!.message).toContain(other!.kver);
    // The kubelet's own record of the new boot.
    expect(evs.find((e) => e.reason === 'Rebooted')?.message).toBe(`Node mismatch-node has been rebooted, boot id: ${boot.bootId}`);
    // Recorded once per boot, not at every heartbeat.
    await agent.heartbeat();
    expect((await events()).filter((e) => e.reason === KERNEL_MISMATCH)).toHaveLength(1);
  }, 600_000);
});
