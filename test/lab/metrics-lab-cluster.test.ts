/**
 * The lab cluster's monitoring: the DTK method's own manifests run a DaemonSet pod on a
 * QEMU node; the cluster's metrics endpoint and Prometheus (startMetrics) publish it, the
 * cluster target's pod-memory query finds it in its namespace on its node, and
 * shutdown() leaves no Prometheus behind.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { LabCluster } from '../../src/targets/lab/control-plane/lab-cluster.js';
import { listKernels } from '../../src/targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../../src/targets/lab/kernels/lab-releases.js';
import { labRelease } from '../../src/targets/lab/release.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { PrometheusClient, QUERIES, type Series } from '../../src/targets/cluster/prometheus.js';
import { kubeconfigFor } from '../cluster/helpers.js';
import { labAvailability, skipReason } from './helpers.js';

const availability = labAvailability();
const from = listKernels().some((k) => !k.flavour.includes('rt')) ? chooseLabKernels(listKernels()).from : undefined;
const haveProm = !!findTool('prometheus');

describe.skipIf(!availability.ok || !from || !haveProm)(`lab cluster metrics${skipReason(availability)}${haveProm ? '' : ' [SKIPPED: prometheus not installed]'}`, () => {
  let cluster: LabCluster | undefined;
  afterAll(async () => cluster?.shutdown());

  it("a DTK DaemonSet pod's working set reaches the cluster target's query; shutdown stops Prometheus", async () => {
    const driver = await loadDriver(REFERENCE_DRIVER_FILE);
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-metrics-cp-'));
    cluster = await LabCluster.create({ runDir: tmp, release: { kernel: from! }, driver, buildStore: path.join(tmp, 'builds') });
    const [set] = renderMethods(driver.spec, labRelease(from!), 'dtk', { pool: 'master' });
    const objects = allObjects(set!, 'day2');
    const ns = objects.find((o) => o.kind === 'DaemonSet')!.metadata.namespace!;
    await cluster.apply(objects);
    const pod = [...cluster.nodes[0]!.pods.values()].find((p) => p.phase === 'Running')!;
    expect(pod).toBeDefined();

    const m = await cluster.startMetrics({ dir: path.join(tmp, 'prometheus') });
    const client = new PrometheusClient({ url: m.prometheusUrl, credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', 'https://127.0.0.1:1', tmp) }) });
    let series: Series[] = [];
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !series[0]?.points.length) {
      const now = Date.now();
      series = await client.queryRange(QUERIES.podMemory(ns), now - 30_000, now, 1);
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(series.map((s) => s.metric)).toEqual([{ namespace: ns, pod: pod.name, node: cluster.nodes[0]!.name }]);
    expect(series[0]!.points.at(-1)![1]).toBeGreaterThan(0);
    const host = await client.queryRange('kmodlab_lab_node_host_rss_bytes', Date.now() - 30_000, Date.now(), 1);
    expect(host[0]?.metric['node']).toBe(cluster.nodes[0]!.name);

    await cluster.shutdown();
    cluster = undefined;
    expect(() => process.kill(m.prometheusPid, 0)).toThrow();
  }, 900_000);
});
