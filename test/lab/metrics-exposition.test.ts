import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { renderExposition } from '../../src/targets/lab/metrics/exposition.js';
import { startExporter, EXPOSITION_CONTENT_TYPE } from '../../src/targets/lab/metrics/exporter.js';
import type { UsageSnapshot } from '../../src/targets/lab/metrics/usage.js';

const snap: UsageSnapshot = {
  containers: [
    { node: 'sno', namespace: 'ns-a', pod: 'driver-1', container: 'load', image: 'reg/x:1', workingSetBytes: 1000, usageBytes: 1500, cpuSeconds: 2.5, at: 1_700_000_000_123 },
    { node: 'sno', namespace: 'ns-a', pod: 'driver-1', container: 'side"car', workingSetBytes: 24, usageBytes: 26, cpuSeconds: 0.5, at: 1_700_000_000_456 },
    { node: 'sno', namespace: 'ns-a', pod: 'no-cpu', container: 'c', workingSetBytes: 7 },
  ],
  nodes: [{ node: 'sno', memTotalBytes: 2048, memAvailableBytes: 1024, workingSetBytes: 900, cpuSeconds: 10, hostRssBytes: 4096, hostCpuSeconds: 3 }],
};

function lines(text: string, metric: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${metric}{`));
}

describe('lab metrics exposition', () => {
  it('one family per metric with HELP/TYPE; container, pod (container="") and root (id="/") series with the kubelet target labels', () => {
    const text = renderExposition(snap);
    expect(text.match(/^# TYPE container_cpu_usage_seconds_total counter$/gm)).toHaveLength(1);
    expect(text.match(/^# TYPE container_memory_working_set_bytes gauge$/gm)).toHaveLength(1);
    const ws = lines(text, 'container_memory_working_set_bytes');
    // 3 containers + 2 pods + the root cgroup
    expect(ws).toHaveLength(6);
    expect(ws[0]).toBe(
      'container_memory_working_set_bytes{container="load",endpoint="https-metrics",id="/kubepods.slice/ns-a/driver-1/load",image="reg/x:1",instance="sno",job="kubelet",metrics_path="/metrics/cadvisor",name="load",namespace="ns-a",node="sno",pod="driver-1",service="kubelet"} 1000 1700000000123',
    );
    // label values are escaped
    expect(ws[1]).toContain('container="side\\"car"');
    // the pod series sums its containers, stamped with the latest reading
    expect(ws.find((l) => l.includes('container=""') && l.includes('pod="driver-1"'))).toMatch(/ 1024 1700000000456$/);
    expect(ws.find((l) => l.includes('id="/"'))).toMatch(/pod="".* 900$/);
    const cpu = lines(text, 'container_cpu_usage_seconds_total');
    expect(cpu.every((l) => l.includes('cpu="total"'))).toBe(true);
    // a pod with a container lacking a CPU figure has no pod-level CPU series
    expect(cpu.some((l) => l.includes('pod="no-cpu"'))).toBe(false);
    expect(lines(text, 'node_memory_MemAvailable_bytes')).toEqual(['node_memory_MemAvailable_bytes{instance="sno",job="node-exporter"} 1024']);
    expect(lines(text, 'kmodlab_lab_node_host_rss_bytes')[0]).toMatch(/ 4096$/);
    // families are contiguous: no metric name reappears after another family started
    const names = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('{')[0]);
    expect(names).toEqual([...names].sort((a, b) => names.indexOf(a!) - names.indexOf(b!)));
  });

  it('serves GET /metrics on 127.0.0.1; a failing source answers 500', async () => {
    let fail = false;
    const exp = await startExporter({ sample: async () => (fail ? Promise.reject(new Error('node gone')) : snap) });
    try {
      expect(exp.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const ok = await fetch(`${exp.url}/metrics`);
      expect(ok.headers.get('content-type')).toBe(EXPOSITION_CONTENT_TYPE);
      expect(await ok.text()).toBe(renderExposition(snap));
      expect((await fetch(`${exp.url}/other`)).status).toBe(404);
      fail = true;
      const bad = await fetch(`${exp.url}/metrics`);
      expect(bad.status).toBe(500);
      expect(await bad.text()).toContain('node gone');
    } finally {
      await exp.stop();
    }
  });
});

describe.skipIf(!findTool('promtool'))("Prometheus' own linter", () => {
  it('promtool check metrics parses the exposition', () => {
    const r = spawnSync(findTool('promtool')!, ['check', 'metrics'], { input: renderExposition(snap), encoding: 'utf8' });
    // It parses; the only findings are node-exporter's own names (upstream's, kept as they are).
    const findings = (r.stdout + r.stderr).trim().split('\n').filter(Boolean);
    expect(findings.sort()).toEqual([
      "node_memory_MemAvailable_bytes metric names should be written in 'snake_case' not 'camelCase'",
      "node_memory_MemTotal_bytes metric names should be written in 'snake_case' not 'camelCase'",
    ]);
  });
});
