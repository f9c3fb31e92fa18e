/**
 * The lab's monitoring on `kmodlab lab up`: the DTK method's own manifests (rendered for the
 * lab release, applied with kubectl, built by the README's start-build step) run a
 * DaemonSet pod on a QEMU node; the lab's metrics endpoint and Prometheus publish it, the
 * cluster target's pod-memory query finds it in its namespace on its node, and
 * `kmodlab lab down` leaves no Prometheus behind. Needs `npm run build`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { PrometheusClient, QUERIES, type Series } from '../../src/targets/cluster/prometheus.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { chooseLabKernels } from '../../src/targets/lab/kernels/lab-releases.js';
import type { LabState } from '../../src/targets/lab/up/state.js';
import { kubeconfigFor } from '../cluster/helpers.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, pollUntil, skipReason } from './helpers.js';
import { LabUpHarness } from './lab-up-harness.js';

const lab = labAvailability();
const from = lab.kernels.some((k) => !k.flavour.includes('rt')) ? chooseLabKernels(lab.kernels).from : undefined;
const missing = ['buildah', 'skopeo', 'docker-registry', 'prometheus'].filter((t) => !findTool(t));
const ok = lab.ok && !!from && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : !from ? 'no non-rt kernel' : 'no kubectl'}]`;

describe.skipIf(!ok)(`lab metrics on kmodlab lab up${ok ? '' : why}`, () => {
  const h = new LabUpHarness('metrics');
  const { dir, kmodlab, kubectl } = h;
  afterAll(() => h.stop());

  beforeAll(async () => {
    const { up } = await h.start({ kernel: from! });
    expect(up.code, up.stderr).toBe(0);
  }, 900_000);

  it("a DTK DaemonSet pod's working set reaches the cluster target's query; lab down stops Prometheus", async () => {
    const info = await kmodlab('lab', 'release-info', from!.kver);
    expect(info.code, info.stderr).toBe(0);
    writeFileSync(path.join(dir, 'release.json'), info.stdout);
    const out = path.join(dir, 'out');
    const r = await kmodlab('render', '--method', 'dtk', '--release-info', path.join(dir, 'release.json'), '--output-dir', out);
    expect(r.code, r.stderr).toBe(0);
    const a = await kubectl('apply', '-f', path.join(out, 'dtk'));
    expect(a.code, a.stderr).toBe(0);
    const [, bc, ns, fromDir] = /oc start-build (\S+) -n (\S+) --from-dir=(\S+)/.exec(readFileSync(path.join(out, 'dtk', 'README.md'), 'utf8'))!;
    const b = await kmodlab('lab', 'start-build', bc!, '--namespace', ns!, '--from-dir', fromDir!, '--wait');
    expect(b.code, b.stderr).toBe(0);
    const ds = JSON.parse((await kubectl('get', 'ds', '-n', ns!, '-o', 'json')).stdout).items[0].metadata.name as string;
    const rollout = await kubectl('rollout', 'status', `ds/${ds}`, '-n', ns!, '--timeout=300s');
    expect(rollout.code, `${rollout.stderr}\n${h.logTail()}`).toBe(0);
    const pod = JSON.parse((await kubectl('get', 'pods', '-n', ns!, '-o', 'json')).stdout).items.find((p: { status: { phase: string } }) => p.status.phase === 'Running');
    expect(pod).toBeDefined();

    const state = JSON.parse(readFileSync(path.join(dir, 'cache', 'lab-api', 'lab.json'), 'utf8')) as LabState;
    expect(state.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new PrometheusClient({ url: state.prometheusUrl!, credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', 'https://127.0.0.1:1', dir) }) });
    const series = await pollUntil(
      async (): Promise<Series[]> => client.queryRange(QUERIES.podMemory(ns!), Date.now() - 30_000, Date.now(), 1).catch(() => []),
      (s) => (s[0]?.points.length ?? 0) > 0,
      120_000,
      1_000,
    );
    expect(series.map((s) => s.metric)).toEqual([{ namespace: ns, pod: pod.metadata.name, node: pod.spec.nodeName }]);
    expect(series[0]!.points.at(-1)![1]).toBeGreaterThan(0);
    const host = await client.queryRange('kmodlab_lab_node_host_rss_bytes', Date.now() - 30_000, Date.now(), 1);
    expect(host.map((s) => s.metric['node'])).toEqual([pod.spec.nodeName]);

    expect(state.prometheusPid).toBeGreaterThan(0);
    expect(() => process.kill(state.prometheusPid!, 0)).not.toThrow();
    const down = await kmodlab('lab', 'down');
    expect(down.code, down.stderr).toBe(0);
    expect(() => process.kill(state.prometheusPid!, 0)).toThrow();
    await expect(fetch(`${state.prometheusUrl}/-/ready`)).rejects.toThrow();
  }, 900_000);
});
