/**
 * DaemonSets on `kmodlab lab up` (bin/kmodlab.js; needs `npm run build`), driven by the real
 * kubectl 1.32: the lab's DaemonSet controller creates one Pod per matching node through
 * the API, the node's kubelet pulls the pod's image from the registry by digest (once per
 * node), runs it in the image's own root filesystem with the manifest's hostPath mounts,
 * reports Ready, serves `kubectl logs`, and runs the preStop hook on delete; a missing
 * image is ErrImagePull/ImagePullBackOff, as on a cluster.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { kubectlBinary, waitPodsReady } from './api-server-helpers.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;

function daemonSet(name: string, image: string, command: string, extra: { nodeSelector?: Record<string, string> } = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: extra.nodeSelector ?? { 'node-role.kubernetes.io/worker': '' },
          containers: [
            {
              name: 'main',
              image,
              command: ['sh', '-c', command],
              securityContext: { privileged: true },
              lifecycle: { preStop: { exec: { command: ['sh', '-c', `echo "preStop of ${name}" > /host-run/prestop`] } } },
              volumeMounts: [
                { name: 'modules', mountPath: '/lib/modules', readOnly: true },
                { name: 'run', mountPath: '/host-run' },
              ],
            },
          ],
          volumes: [
            { name: 'modules', hostPath: { path: '/lib/modules', type: 'Directory' } },
            { name: 'run', hostPath: { path: '/run/kmodlab-test', type: 'DirectoryOrCreate' } },
          ],
        },
      },
    },
  });
}

describe.skipIf(!ok)(`DaemonSets on kmodlab lab up${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
  const h = new LabUpHarness('labwork');
  const { dir, labLog, kubectl } = h;
  let runtimeBase: string;
  const apply = (name: string, text: string) => {
    const f = path.join(dir, `${name}.json`);
    writeFileSync(f, text);
    return kubectl('apply', '-f', f);
  };
  const pulls = () => [...readFileSync(labLog, 'utf8').matchAll(/node (\S+): pulled (\S+) \((\d+) bytes\)/g)].map((m) => ({ node: m[1]!, image: m[2]!, bytes: Number(m[3]) }));

  beforeAll(async () => {
    const { release, up: r } = await h.start({ kernel: kernel! });
    runtimeBase = runtimeBaseOf(release);
    expect(r.code, r.stderr).toBe(0);
  }, 900_000);
  afterAll(() => h.stop());

  it('runs one pod per matching node in its image, with hostPath mounts; Ready, logs, DaemonSet status', async () => {
    const a = await apply('modules', daemonSet('modules', runtimeBase, 'echo "modprobe: $(command -v modprobe)"; modprobe --show-depends 9pnet_virtio; cut -d" " -f1 /proc/modules; echo end-of-list; exec sleep infinity'));
    expect(a.code, a.stderr).toBe(0);
    const w = await waitPodsReady(kubectl, 'app=modules');
    expect(w.code, w.stderr).toBe(0);
    const pod = JSON.parse((await kubectl('get', 'pods', '-l', 'app=modules', '-o', 'json')).stdout).items;
    expect(pod).toHaveLength(1);
    expect(pod[0].spec.nodeName).toBe('lab-node-0');
    expect(pod[0].metadata.ownerReferences[0]).toMatchObject({ kind: 'DaemonSet', name: 'modules', controller: true });
    expect(pod[0].status.phase).toBe('Running');
    expect(pod[0].status.containerStatuses[0]).toMatchObject({ name: 'main', ready: true, restartCount: 0, imageID: runtimeBase });

    // The output arrives with the kubelet's next relist.
    let logs = '';
    for (let i = 0; i < 20 && !logs.includes('end-of-list'); i++, await new Promise((r) => setTimeout(r, 500))) logs = (await kubectl('logs', 'ds/modules')).stdout;
    // The image's own kmod (Debian's /usr/sbin/modprobe, not the node's busybox-routed one) reads the node's tree through the mount.
    expect(logs).toContain('modprobe: /usr/sbin/modprobe');
    expect(logs).toMatch(new RegExp(`insmod /lib/modules/${kernel!.kver.replace(/[.+]/g, '\\$&')}/kernel/net/9p/9pnet_virtio\\.ko`));
    expect(logs.split('\n')).toContain('9pnet_virtio');

    const st = JSON.parse((await kubectl('get', 'ds', 'modules', '-o', 'json')).stdout).status;
    expect(st).toMatchObject({ desiredNumberScheduled: 1, currentNumberScheduled: 1, numberReady: 1, updatedNumberScheduled: 1, numberAvailable: 1 });
    const r = await kubectl('rollout', 'status', 'ds/modules', '--timeout=30s');
    expect(r.code, r.stderr).toBe(0);

    const p = pulls();
    expect(p).toHaveLength(1);
    expect(p[0]!.image).toBe(runtimeBase);
    expect(p[0]!.bytes).toBeGreaterThan(1_000_000);
    process.stderr.write(`lab pull: ${p[0]!.image} → ${p[0]!.node}: ${p[0]!.bytes} bytes\n`);
  }, 300_000);

  it('kubectl delete runs the preStop hook; a later pod of the same image is not pulled again', async () => {
    const d = await kubectl('delete', 'ds', 'modules');
    expect(d.code, d.stderr).toBe(0);
    const a = await apply('check', daemonSet('check', runtimeBase, 'cat /host-run/prestop; exec sleep infinity'));
    expect(a.code, a.stderr).toBe(0);
    expect((await waitPodsReady(kubectl, 'app=check')).code).toBe(0);
    let logs = '';
    for (let i = 0; i < 20 && !logs.includes('preStop'); i++, await new Promise((r) => setTimeout(r, 500))) logs = (await kubectl('logs', 'ds/check')).stdout;
    expect(logs.trim()).toBe('preStop of modules');
    expect(pulls()).toHaveLength(1); // same digest, same node: no second pull
    expect((await kubectl('delete', 'ds', 'check')).code).toBe(0);
  }, 300_000);

  it('a DaemonSet whose nodeSelector matches no node schedules nothing', async () => {
    expect((await apply('nowhere', daemonSet('nowhere', runtimeBase, 'sleep infinity', { nodeSelector: { 'kmodlab.io/none': 'x' } }))).code).toBe(0);
    let st: { desiredNumberScheduled?: number; observedGeneration?: number } = {};
    for (let i = 0; i < 20 && st.observedGeneration === undefined; i++, await new Promise((r) => setTimeout(r, 300))) st = JSON.parse((await kubectl('get', 'ds', 'nowhere', '-o', 'json')).stdout).status ?? {};
    expect(st.desiredNumberScheduled).toBe(0);
    expect(JSON.parse((await kubectl('get', 'pods', '-l', 'app=nowhere', '-o', 'json')).stdout).items).toHaveLength(0);
    await kubectl('delete', 'ds', 'nowhere');
  }, 60_000);

  it('an image the registry does not hold: ErrImagePull, then ImagePullBackOff', async () => {
    const ref = `${h.registry.prefix}/does-not-exist:v1`;
    expect((await apply('nopull', daemonSet('nopull', ref, 'sleep infinity'))).code).toBe(0);
    const reasons = new Set<string>();
    for (let i = 0; i < 40 && !reasons.has('ImagePullBackOff'); i++, await new Promise((r) => setTimeout(r, 250))) {
      const g = await kubectl('get', 'pods', '-l', 'app=nopull', '-o', 'jsonpath={.items[0].status.containerStatuses[0].state.waiting.reason}');
      if (g.stdout.trim()) reasons.add(g.stdout.trim());
    }
    expect(reasons.has('ImagePullBackOff'), [...reasons].join(',')).toBe(true);
    const msg = await kubectl('get', 'pods', '-l', 'app=nopull', '-o', 'jsonpath={.items[0].status.containerStatuses[0].state.waiting.message}');
    expect(msg.stdout).toContain(ref);
    await kubectl('delete', 'ds', 'nopull');
  }, 60_000);
});
