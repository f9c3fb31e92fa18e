/**
 * Resource samples from Prometheus → run events, over one window:
 *   - per pod of each followed namespace: working-set memory (`sample-memory`, one per
 *     point) and CPU (`sample-cpu`: Σ rate × step over the points present, with the
 *     window those points cover — a gap shortens the window, it is not filled in);
 *   - per namespace: `namespace:container_memory_usage_bytes:sum` (`sample-memory`
 *     without a node: recorded for the report, not charged to a node);
 *   - per node: MemTotal/MemAvailable (`sample-node-memory`).
 * Points carry their own time in `at` (the event's `t` is when kmodlab recorded it).
 * Missing steps inside a series become `progress` events with a `gap`; before a series'
 * first or after its last point the pod may simply not have existed, so those are not gaps.
 */
import type { TargetEmit } from '../target.js';
import { chooseStep, findGaps, QUERIES, type PrometheusClient, type Series } from './prometheus.js';

export interface PodInfo {
  component: string;
  node?: string;
}

export interface SampleInput {
  prom: PrometheusClient;
  emit: TargetEmit;
  namespaces: string[];
  nodes: string[];
  /** `namespace/pod` → component and node, from the pod watches. */
  pods: Map<string, PodInfo>;
  fromMs: number;
  toMs: number;
}

export async function sampleResources(i: SampleInput): Promise<void> {
  const { prom, emit } = i;
  const step = chooseStep(i.fromMs, i.toMs);
  // Whole seconds; a window shorter than one step is widened to one step.
  const end = Math.floor(i.toMs / 1000) * 1000;
  let start = Math.floor(i.fromMs / 1000) * 1000;
  if (end - start < step * 1000) start = end - step * 1000;
  const run = async (query: string, use: (s: Series[]) => void) => {
    try {
      const series = await prom.queryRange(query, start, end, step);
      use(series);
      for (const s of series) reportGaps(emit, query, s, step);
    } catch (e) {
      emit('fault', { fault: 'prometheus-query', message: (e as Error).message });
    }
  };
  for (const ns of i.namespaces) {
    await run(QUERIES.namespaceMemory(ns), (series) => {
      for (const s of series) for (const [t, v] of s.points) emit('sample-memory', { component: `namespace ${ns}`, namespace: ns, rssBytes: v, at: t });
    });
    await run(QUERIES.podMemory(ns), (series) => {
      for (const s of series) {
        const key = `${s.metric['namespace'] ?? ns}/${s.metric['pod'] ?? ''}`;
        const info = i.pods.get(key);
        const node = s.metric['node'] ?? info?.node;
        for (const [t, v] of s.points) emit('sample-memory', { component: info?.component ?? s.metric['pod'] ?? '?', pod: key, rssBytes: v, at: t }, node);
      }
    });
    await run(QUERIES.podCpu(ns), (series) => {
      for (const s of series) {
        if (s.points.length === 0) continue;
        const key = `${s.metric['namespace'] ?? ns}/${s.metric['pod'] ?? ''}`;
        const info = i.pods.get(key);
        // rate() is in cores; each point stands for one step.
        const cpuMs = s.points.reduce((a, [, v]) => a + v * step * 1000, 0);
        emit('sample-cpu', { component: info?.component ?? s.metric['pod'] ?? '?', pod: key, cpuMs, windowMs: s.points.length * step * 1000, fromMs: start, toMs: end }, s.metric['node'] ?? info?.node);
      }
    });
  }
  // node-exporter labels the node as `instance` on OpenShift.
  const total = new Map<string, number>();
  await run(QUERIES.nodeMemTotal(), (series) => {
    for (const s of series) {
      const last = s.points.at(-1);
      if (last) total.set(s.metric['instance'] ?? s.metric['node'] ?? '', last[1]);
    }
  });
  await run(QUERIES.nodeMemAvailable(), (series) => {
    for (const s of series) {
      const node = s.metric['instance'] ?? s.metric['node'] ?? '';
      const t = total.get(node);
      if (!i.nodes.includes(node) || t === undefined) continue;
      for (const [at, v] of s.points) emit('sample-node-memory', { totalBytes: t, availableBytes: v, at }, node);
    }
  });
}

function reportGaps(emit: TargetEmit, query: string, s: Series, step: number): void {
  const first = s.points[0]?.[0];
  const last = s.points.at(-1)?.[0];
  if (first === undefined || last === undefined) return;
  for (const g of findGaps(s.points, first, last, step)) {
    emit('progress', {
      step: `Prometheus: ${g.missingSteps} missing sample(s) for ${s.metric['pod'] ?? s.metric['namespace'] ?? s.metric['instance'] ?? 'a series'}`,
      gap: { query, series: s.metric, fromMs: g.fromMs, toMs: g.toMs, missingSteps: g.missingSteps, stepS: step },
    });
  }
}
