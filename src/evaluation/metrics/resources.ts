/**
 * Steady-state overhead of the components the method leaves running on nodes (the
 * driver-container pod, KMM's pods…): per component the median of its memory samples
 * (robust to start-up spikes), summed per node and over nodes; CPU as the share of one
 * core (Σ cpuMs / Σ windowMs). Steady state = samples taken on a node once the driver
 * was in place there (or, if it never was, after the trigger): start-up is excluded.
 *
 * "No resident component" (0 B) is only claimed when it was observed: the sampler
 * was running on the node (node memory samples in the window) and no pod of the method
 * was still running at the end (transient pods, e.g. a KMM worker that exits after
 * loading, are not resident). No samples at all is "not measured", never 0.
 */
import { needsTrigger, type ScenarioContext } from './context.js';
import { firstGoodMoment } from './loading.js';
import { median, measured, notMeasured, type Measured } from './measured.js';

export interface ComponentUsage {
  node: string;
  component: string;
  samples: number;
  medianRssBytes?: number;
  cpuShare?: number;
  lines: number[];
}

/**
 * The canary is the target's own probe workload, not part of any method: its pod and
 * samples are never charged to the method.
 */
export const PROBE_COMPONENTS: ReadonlySet<string> = new Set(['canary']);
export const isMethodComponent = (component: unknown) => !PROBE_COMPONENTS.has(String(component));

/** Index in seg.events after which a node is in steady state. */
function windowStart(ctx: ScenarioContext, node: string): number {
  return firstGoodMoment(ctx, node)?.index ?? ctx.triggerIndex;
}

function afterTrigger(ctx: ScenarioContext, kind: string) {
  const starts = new Map(ctx.nodes.map((n) => [n, windowStart(ctx, n)]));
  return ctx.seg.events.filter(
    (e, i) =>
      e.kind === kind &&
      e.node !== undefined &&
      i > (starts.get(e.node) ?? ctx.triggerIndex) &&
      (kind === 'sample-node-memory' || isMethodComponent(e.data['component'])),
  );
}

/** Method pods still running on the node when the segment ended (started, not stopped since). */
function residentPods(ctx: ScenarioContext, node: string): string[] {
  const running = new Set<string>();
  for (const e of ctx.seg.events) {
    if (e.node !== node || !isMethodComponent(e.data['component'])) continue;
    if (e.kind === 'pod-start') running.add(String(e.data['pod']));
    if (e.kind === 'pod-stop') running.delete(String(e.data['pod']));
  }
  return [...running];
}

/** Resident components the target only emulates (pod-start `emulated: true`, e.g. the lab's KMM operator). */
function emulatedResidents(ctx: ScenarioContext, node: string): string[] {
  const running = new Set(residentPods(ctx, node));
  const names = ctx.seg.events
    .filter((e) => e.kind === 'pod-start' && e.node === node && e.data['emulated'] === true && running.has(String(e.data['pod'])))
    .map((e) => String(e.data['component']));
  return [...new Set(names)];
}

export function componentUsage(ctx: ScenarioContext): ComponentUsage[] {
  if (needsTrigger(ctx)) return [];
  const byKey = new Map<string, { node: string; component: string; rss: number[]; cpu: number; win: number; lines: number[]; cpuSamples: number }>();
  const get = (node: string, component: string) => {
    const k = `${node}\u0000${component}`;
    let v = byKey.get(k);
    if (!v) byKey.set(k, (v = { node, component, rss: [], cpu: 0, win: 0, lines: [], cpuSamples: 0 }));
    return v;
  };
  for (const e of afterTrigger(ctx, 'sample-memory')) {
    // A component's resident memory: RSS where a process is measured (lab), the working
    // set where a container is (cluster); namespace usage (with page cache) is neither.
    const bytes = e.data['rssBytes'] ?? e.data['workingSetBytes'];
    if (bytes === undefined) continue;
    const v = get(e.node!, String(e.data['component']));
    v.rss.push(Number(bytes));
    v.lines.push(e.line);
  }
  for (const e of afterTrigger(ctx, 'sample-cpu')) {
    const v = get(e.node!, String(e.data['component']));
    v.cpu += Number(e.data['cpuMs']);
    v.win += Number(e.data['windowMs']);
    v.cpuSamples++;
    v.lines.push(e.line);
  }
  return [...byKey.values()].map((v) => {
    const u: ComponentUsage = { node: v.node, component: v.component, samples: v.rss.length, lines: v.lines };
    // Whole bytes: a median of an even count may fall between two samples.
    if (v.rss.length > 0) u.medianRssBytes = Math.round(median(v.rss));
    if (v.win > 0) u.cpuShare = v.cpu / v.win;
    return u;
  });
}

/** Why zero is a measurement here, or undefined when it is not. */
function observedNothingResident(ctx: ScenarioContext, node: string): number[] | undefined {
  const nodeSamples = afterTrigger(ctx, 'sample-node-memory').filter((e) => e.node === node);
  return nodeSamples.length > 0 && residentPods(ctx, node).length === 0 ? nodeSamples.map((e) => e.line) : undefined;
}

function perNode(ctx: ScenarioContext, node: string, pick: (u: ComponentUsage) => number | undefined, what: string): Measured<number> {
  const reason = needsTrigger(ctx);
  if (reason) return notMeasured(reason);
  const mine = componentUsage(ctx).filter((u) => u.node === node && pick(u) !== undefined);
  if (mine.length === 0) {
    const evidence = observedNothingResident(ctx, node);
    if (evidence) return measured(0, evidence, 'no resident component');
    const emulated = emulatedResidents(ctx, node);
    if (emulated.length > 0) return notMeasured(`${emulated.join(', ')} emulated by the target, not run on ${node}: its ${what} cannot be sampled`);
    return notMeasured(ctx.seg.status === 'interrupted' ? `${ctx.seg.reason} (no ${what} sample recorded)` : `no ${what} sample recorded on ${node}`);
  }
  return measured(
    mine.reduce((a, u) => a + pick(u)!, 0),
    mine.flatMap((u) => u.lines),
    mine.map((u) => u.component).join(' + '),
  );
}

export function nodeMemory(ctx: ScenarioContext, node: string): Measured<number> {
  return perNode(ctx, node, (u) => u.medianRssBytes, 'memory');
}

export function nodeCpuShare(ctx: ScenarioContext, node: string): Measured<number> {
  return perNode(ctx, node, (u) => u.cpuShare, 'CPU');
}

/** Over all nodes: total bytes / total share of a core. */
function overNodes(ctx: ScenarioContext, per: (n: string) => Measured<number>): Measured<number> {
  const all = ctx.nodes.map(per);
  const missing = all.find((m) => !('value' in m));
  if (missing) return missing;
  const ms = all as { value: number; from: number[]; note?: string }[];
  const notes = [...new Set(ms.map((m) => m.note).filter((x): x is string => !!x))];
  return measured(ms.reduce((a, m) => a + m.value, 0), ms.flatMap((m) => m.from), notes.join('; ') || undefined);
}

export function memoryBytes(ctx: ScenarioContext): Measured<number> {
  return overNodes(ctx, (n) => nodeMemory(ctx, n));
}

export function cpuShare(ctx: ScenarioContext): Measured<number> {
  return overNodes(ctx, (n) => nodeCpuShare(ctx, n));
}
