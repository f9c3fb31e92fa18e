/**
 * The canary is a real workload probed from outside its node, and the kernel a node boots
 * is checked.
 *
 * On `kmodlab lab up` (bin/kmodlab.js and kubectl; needs `npm run build`) the cluster
 * target's reset() deploys its canary (src/targets/cluster/canary.ts: agnhost netexec, which
 * the lab's kubelet runs as the guest's busybox httpd) and returns once a real probe answered:
 * an HTTP GET from the host through the lab API server's pod proxy
 * (pods/<pod>:8080/proxy/), which relays it to the QEMU node's forwarded host port, into
 * the guest, to the process. Killing that process in the guest (from another pod on the
 * node: pods share the guest's processes) makes the probes fail until the kubelet has
 * started the container again; the failures are `canary` probe samples and the figures
 * (failed probes, the time they cover) are derived from them.
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
import type { EventKind } from '../../src/evaluation/events.js';
import { checkEventData } from '../../src/evaluation/events.js';
import { resolveRelease } from '../../src/release/resolve.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { labReleaseInfoFor } from '../../src/targets/lab/images/lab-release.js';
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

describe.skipIf(!ok)(`the canary on kmodlab lab up${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels.filter((k) => !k.flavour.startsWith('rt'))) : undefined;
  const h = new LabUpHarness('canary');
  const { dir, kubectl, kubeconfig } = h;
  let runtimeBase: string;
  let target: ClusterTarget | undefined;
  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel! });
    expect(up.code, up.stderr).toBe(0);
    runtimeBase = runtimeBaseOf(release);
  }, 900_000);
  afterAll(async () => {
    await target?.close();
    await h.stop();
  }, 600_000);

  it('probes reach the canary in the QEMU node through the lab API pod proxy; a killed canary is failed probes until it runs again', async () => {
    const node = 'lab-node-0';
    const infoFile = path.join(dir, 'release.json');
    writeFileSync(infoFile, JSON.stringify(await labReleaseInfoFor(kernel!.kver, { registry: h.registry.host })));
    const release = await resolveRelease({ releaseInfoFile: infoFile });
    const events: { t: number; kind: EventKind; data: Record<string, unknown>; node?: string }[] = [];
    target = await ClusterTarget.connect({
      kubeconfig,
      env: {},
      home: path.join(dir, 'home'),
      emit: (kind, data, n) => events.push({ t: Date.now(), kind, data, node: n }),
      probeImage: runtimeBase,
      canaryImage: runtimeBase,
      pollMs: 1_000,
      prometheusMinWindowMs: Number.MAX_SAFE_INTEGER,
    });
    // reset() returns once every node's canary answered a probe (or records canary-not-ready).
    const t0 = Date.now();
    await target.reset({ release });
    const resetMs = Date.now() - t0;
    expect(events.filter((e) => e.kind === 'fault').map((e) => e.data['message']), h.logTail()).toEqual([]);
    const probes = () => events.filter((e) => e.kind === 'canary' && e.node === node && e.data['via'] === 'probe');
    const good = probes().find((e) => e.data['up'] === true);
    expect(good, JSON.stringify(probes().slice(-5))).toBeDefined();
    for (const e of probes()) expect(checkEventData({ t: e.t, source: 'cluster', kind: 'canary', data: e.data })).toBeUndefined();
    const pod = String(good!.data['pod']);
    // The same path by hand: kubectl through the lab API's pod proxy into the guest's HTTP server.
    const raw = await kubectl('get', '--raw', `/api/v1/namespaces/kmodlab/pods/${pod}:8080/proxy/`);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdout.trim()).toBe('ok');

    // Kill the canary's server in the guest from another pod on the node (the pattern is
    // split so that the killer's own command line does not match it).
    const killer = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kill-canary', namespace: 'default' }, spec: { nodeName: node, restartPolicy: 'Never', containers: [{ name: 'k', image: runtimeBase, command: ['sh', '-c', 'pat="httpd -f -p 8""080"; n=0; for p in /proc/[0-9]*; do if tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q "$pat"; then kill -9 ${p#/proc/} && n=$((n+1)); fi; done; echo killed $n'] }] } };
    writeFileSync(path.join(dir, 'killer.json'), JSON.stringify(killer));
    const killedAt = Date.now();
    expect((await kubectl('apply', '-f', path.join(dir, 'killer.json'))).code).toBe(0);
    const done = await pollUntil(async () => (await kubectl('get', 'pod', 'kill-canary', '-o', 'jsonpath={.status.phase}')).stdout, (p) => p === 'Succeeded' || p === 'Failed', 180_000, 1_000);
    expect(done).toBe('Succeeded');
    expect((await kubectl('logs', 'kill-canary')).stdout).toMatch(/killed [1-9]/);
    const after = () => probes().filter((e) => e.t >= killedAt);
    await pollUntil(async () => after(), (ps) => ps.some((e) => e.data['up'] === false) && ps.some((e, i) => e.data['up'] === true && ps.slice(0, i).some((x) => x.data['up'] === false)), 300_000, 1_000);
    const ps = after();
    const firstFail = ps.findIndex((e) => e.data['up'] === false);
    const recovered = ps.findIndex((e, i) => i > firstFail && e.data['up'] === true);
    const failed = ps.slice(firstFail, recovered);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((e) => e.data['up'] === false && typeof e.data['error'] === 'string')).toBe(true);
    const spanMs = Number(ps[recovered]!.data['at']) - Number(ps[firstFail]!.data['at']);
    expect(spanMs).toBeGreaterThan(0);
    process.stderr.write(
      `lab canary: reset waited ${resetMs} ms for the first good probe; after the kill ${failed.length} failed probe(s) (1 s interval) covering ${spanMs} ms, first error: ${String(failed[0]!.data['error'])}\n`,
    );
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
