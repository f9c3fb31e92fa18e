/**
 * One real QEMU node and one pod process: the lab's usage source reads the pod's session
 * in the guest and the node's QEMU on the host; Prometheus scrapes the exporter; the
 * cluster target's pod-memory query returns the pod's working set on its node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ImageRegistry } from '../../src/targets/lab/control-plane/image-registry.js';
import { podCpuMs, podRssBytes, startPod } from '../../src/targets/lab/control-plane/pod-runtime.js';
import { LabNode } from '../../src/targets/lab/node/node.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { LabUsageSource, type LabNodeHandle } from '../../src/targets/lab/metrics/lab-usage.js';
import { startExporter, type MetricsExporter } from '../../src/targets/lab/metrics/exporter.js';
import { startPrometheus, type LabPrometheus } from '../../src/targets/lab/metrics/prometheus-server.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { PrometheusClient, QUERIES } from '../../src/targets/cluster/prometheus.js';
import { kubeconfigFor } from '../cluster/helpers.js';
import { labAvailability, primaryKernel, removeTempDirs, skipReason, tempDir } from './helpers.js';

const lab = labAvailability();
const haveProm = !!findTool('prometheus');

describe.skipIf(!lab.ok || !haveProm)(`lab metrics from a QEMU node${skipReason(lab)}${haveProm ? '' : ' [SKIPPED: prometheus not installed]'}`, () => {
  let node: LabNode;
  let source: LabUsageSource;
  let exporter: MetricsExporter | undefined;
  let prom: LabPrometheus | undefined;
  const POD = { namespace: 'simple-kmod-dtk', pod: 'simple-kmod-driver-container-x1', container: 'driver-container', runtimeName: 'busy' };

  beforeAll(async () => {
    const share = tempDir('share');
    node = await LabNode.start(primaryKernel(lab.kernels), undefined, { name: 'lab-m1', runDir: tempDir('run'), shareDir: share });
    const registry = new ImageRegistry(share);
    const d = registry.newImageDir('busy');
    const image = registry.push('lab/busy:1', d.dir, d.sharePath);
    // A main process with a child (the session is the pod) that burns a little CPU, then waits.
    await startPod(node, { name: 'busy', image, command: ['sh', '-c', 'sleep 600 & i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; wait'] });
    const handle: LabNodeHandle = { name: node.name, ready: () => node.state === 'ready', exec: (s) => node.exec(s), qemuPid: () => node.pid, pods: () => [POD] };
    source = new LabUsageSource(() => [handle]);
  }, 300_000);

  afterAll(async () => {
    await prom?.stop();
    await exporter?.stop();
    await node?.stop();
    removeTempDirs();
  });

  it("samples the pod's process session and the node, in the guest and on the host", async () => {
    const first = await source.sample();
    const mainRss = await podRssBytes(node, 'busy');
    const mainCpuMs = await podCpuMs(node, 'busy');
    const meminfo = await node.readFile('/proc/meminfo');
    const second = await source.sample();
    const c = second.containers.find((x) => x.pod === POD.pod)!;
    expect(c).toMatchObject({ node: 'lab-m1', namespace: POD.namespace, container: POD.container });
    // the session holds the main shell and its sleep: more than the main process alone
    expect(c.workingSetBytes!).toBeGreaterThan(mainRss!);
    expect(c.cpuSeconds! * 1000).toBeGreaterThanOrEqual(mainCpuMs!);
    const n = second.nodes[0]!;
    expect(n.memTotalBytes).toBe(Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)![1]) * 1024);
    expect(n.memAvailableBytes!).toBeLessThanOrEqual(n.memTotalBytes!);
    expect(n.cpuSeconds!).toBeGreaterThan(first.nodes[0]!.cpuSeconds! - 1e-9);
    expect(n.hostRssBytes! / 1024).toBeGreaterThan(10_000);
    expect(n.hostCpuSeconds!).toBeGreaterThan(first.nodes[0]!.hostCpuSeconds!);
    process.stderr.write(`lab-m1: pod working set ${c.workingSetBytes} B, pod CPU ${c.cpuSeconds} s; QEMU RSS ${n.hostRssBytes} B, QEMU CPU ${n.hostCpuSeconds} s\n`);
  }, 120_000);

  it("Prometheus scrapes it and the cluster target's pod-memory query returns the pod on its node", async () => {
    exporter = await startExporter(source);
    prom = await startPrometheus({ targets: [exporter.target], dir: join(tempDir('prom'), 'prometheus') });
    const client = new PrometheusClient({ url: prom.url, credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', 'https://127.0.0.1:1', tempDir('kc')) }) });
    const deadline = Date.now() + 90_000;
    let series: Awaited<ReturnType<PrometheusClient['queryRange']>> = [];
    while (Date.now() < deadline) {
      const now = Date.now();
      series = await client.queryRange(QUERIES.podMemory(POD.namespace), now - 30_000, now, 1);
      if (series[0]?.points.length) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(series.map((s) => s.metric)).toEqual([{ namespace: POD.namespace, pod: POD.pod, node: 'lab-m1' }]);
    const latest = (await source.sample()).containers[0]!.workingSetBytes!;
    // the idle pod's working set barely moves between samples
    expect(Math.abs(series[0]!.points.at(-1)![1] - latest) / latest).toBeLessThan(0.05);
  }, 150_000);
});
