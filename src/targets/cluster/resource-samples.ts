/**
 * Resource samples from Prometheus → run events, over one window [fromMs, toMs]:
 *   - per pod of each followed namespace: working-set memory (`sample-memory` with
 *     `workingSetBytes`, one per point) and CPU (`sample-cpu`: the increase of the
 *     cAdvisor counter over the points present, see `counterIncrease`);
 *   - per namespace: `namespace:container_memory_usage_bytes:sum` (`sample-memory` with
 *     `usageBytes` and no node: recorded for the report, not charged to a node). Usage
 *     includes page cache, the working set does not: two metrics, never one "RSS";
 *   - per node: MemTotal/MemAvailable (`sample-node-memory`).
 * Steady state means the window's own samples of the pods that run: a window shorter
 * than one step is queried one step wide, and its earlier points are dropped; pods no
 * longer alive (deleted, Succeeded/Failed) and build pods (their cost is the build's)
 * are not sampled.
 * Points carry their own time in `at` (the event's `t` is when kmodlab recorded it).
 * Missing steps inside a series become `progress` events with a `gap`; before a series'
 * first or after its last point the pod may simply not have existed, so those are not gaps.
 */
import type { TargetEmit } from '../target.js';
import { chooseStep, findGaps, QUERIES, type PrometheusClient, type Series } from './prometheus.js';

export interface PodInfo {
  component: string;
  node?: string;
  /** Running or Pending (not Succeeded/Failed); pods absent from the map are gone. */
  alive?: boolean;
  /** A build pod (OpenShift Build / KMM build): not part of the steady state. */
  build?: boolean;
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
  /** Smallest query step in seconds (default 15, a usual scrape interval). */
  stepS?: number;
}

/**
 * CPU seconds used over a counter's points: the sum of its increases, where a decrease
 * is a counter reset (the container restarted and counts from 0 again), so the value
 * after it is all new usage — the reset handling of Prometheus' increase()/rate()
 * (prometheus.io/docs/prometheus/latest/querying/functions/#increase). Unlike increase()
 * nothing is extrapolated: the result covers exactly [first point, last point].
 * Not Σ rate[5m] × step: for a series younger than the 5 min range rate() divides the
 * little increase it sees by nearly the whole range, reading far too low.
 */
export function counterIncrease(points: [number, number][]): { increase: number; fromMs: number; toMs: number } | undefined {
  if (points.length < 2) return undefined;
  let inc = 0;
  for (let k = 1; k < points.length; k++) {
    const d = points[k]![1] - points[k - 1]![1];
    inc += d >= 0 ? d : points[k]![1];
  }
  return { increase: inc, fromMs: points[0]![0], toMs: points.at(-1)![0] };
}

export async function sampleResources(i: SampleInput): Promise<void> {
  const { prom, emit } = i;
  const step = chooseStep(i.fromMs, i.toMs, i.stepS);
  // Whole seconds; a window shorter than one step is widened to one step.
  const end = Math.floor(i.toMs / 1000) * 1000;
  let start = Math.floor(i.fromMs / 1000) * 1000;
  if (end - start < step * 1000) start = end - step * 1000;
  const inWindow = (points: [number, number][]) => points.filter(([t]) => t >= i.fromMs && t <= i.toMs);
  /** The pod's info, or undefined when it is not a steady-state pod of this window. */
  const steady = (s: Series, ns: string) => {
    const key = `${s.metric['namespace'] ?? ns}/${s.metric['pod'] ?? ''}`;
    const info = i.pods.get(key);
    if (!info || info.alive === false || info.build === true) return undefined;
    return { key, info, node: s.metric['node'] ?? info.node };
  };
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
      for (const s of series) for (const [t, v] of inWindow(s.points)) emit('sample-memory', { component: `namespace ${ns}`, namespace: ns, usageBytes: v, at: t });
    });
    await run(QUERIES.podMemory(ns), (series) => {
      for (const s of series) {
        const p = steady(s, ns);
        if (!p) continue;
        for (const [t, v] of inWindow(s.points)) emit('sample-memory', { component: p.info.component, pod: p.key, workingSetBytes: v, at: t }, p.node);
      }
    });
    await run(QUERIES.containerCpuCounter(ns), (series) => {
      // Containers → pods: CPU adds up, the window is the longest one observed.
      const byPod = new Map<string, { component: string; node?: string; cpuMs: number; fromMs: number; toMs: number }>();
      for (const s of series) {
        const p = steady(s, ns);
        const inc = p ? counterIncrease(inWindow(s.points)) : undefined;
        if (!p || !inc) continue;
        const cur = byPod.get(p.key) ?? { component: p.info.component, node: p.node, cpuMs: 0, fromMs: inc.fromMs, toMs: inc.toMs };
        cur.cpuMs += inc.increase * 1000;
        cur.fromMs = Math.min(cur.fromMs, inc.fromMs);
        cur.toMs = Math.max(cur.toMs, inc.toMs);
        byPod.set(p.key, cur);
      }
      for (const [pod, c] of byPod) {
        emit('sample-cpu', { component: c.component, pod, cpuMs: c.cpuMs, windowMs: c.toMs - c.fromMs, fromMs: c.fromMs, toMs: c.toMs }, c.node);
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
      for (const [at, v] of inWindow(s.points)) emit('sample-node-memory', { totalBytes: t, availableBytes: v, at }, node);
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
