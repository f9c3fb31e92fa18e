/**
 * Everything the per-concern metric functions share about one (method, scenario):
 * its segment, the event it is measured from (the trigger), each node's replayed
 * track, and — for upgrade/kernel-switch — the kernel nodes should end up on.
 */
import type { MethodRowId } from '../../methods/rows.js';
import type { ScenarioId } from '../events.js';
import type { RecordedEvent, RunRecord } from '../read-run.js';
import { findSegment, findTrigger, type Segment } from './segments.js';
import { trackNode, type NodeTrack } from './node-track.js';

export interface ScenarioContext {
  run: RunRecord;
  seg: Segment;
  nodes: string[];
  modules: string[];
  trigger?: RecordedEvent;
  /** Index of the trigger in seg.events (−1: none). */
  triggerIndex: number;
  tracks: Map<string, NodeTrack>;
  /** upgrade/kernel-switch: the kernel the change should bring, when the run says it. */
  targetKver?: string;
  /** The kernel the run started on, when known. */
  fromKver?: string;
}

/** True when the scenario moves nodes to another kernel. */
export function changesKernel(s: ScenarioId): boolean {
  return s === 'upgrade' || s === 'kernel-switch';
}

export function scenarioContext(run: RunRecord, method: MethodRowId, scenario: ScenarioId): ScenarioContext {
  const seg = findSegment(run, method, scenario);
  const nodes = run.start.data.nodes;
  const modules = run.start.data.driver.modules;
  const trigger = seg.status === 'not-run' ? undefined : findTrigger(seg, nodes, modules);
  const tracks = new Map(nodes.map((n) => [n, trackNode(seg, n, modules)] as const));
  const releases = run.start.data.releases;
  const target = scenario === 'upgrade' ? releases.upgradeTo : scenario === 'kernel-switch' ? releases.switchTo : undefined;
  const ctx: ScenarioContext = { run, seg, nodes, modules, triggerIndex: trigger ? seg.events.indexOf(trigger) : -1, tracks };
  if (trigger) ctx.trigger = trigger;
  const targetKver = target === undefined ? undefined : kernelOfRelease(run, target);
  if (targetKver) ctx.targetKver = targetKver;
  const fromKver = kernelOfRelease(run, releases.from);
  if (fromKver) ctx.fromKver = fromKver;
  return ctx;
}

/**
 * The kernel (`uname -r`) of a release named in run-start. Lab releases are kernel
 * versions; a cluster release (4.14.12) is mapped through the optional
 * `releases.kernels` extra. Unknown → undefined (callers then compare with the
 * node's kernel before the change instead).
 */
export function kernelOfRelease(run: RunRecord, release: string): string | undefined {
  const map = (run.start.data.releases as Record<string, unknown>)['kernels'];
  if (map && typeof map === 'object' && typeof (map as Record<string, unknown>)[release] === 'string') {
    return (map as Record<string, string>)[release];
  }
  return /^\d+\.\d+(\.\d+)?[-+]/.test(release) ? release : undefined;
}

/** Why nothing about this scenario can be said at all, or undefined. */
export function unavailable(ctx: ScenarioContext): string | undefined {
  return ctx.seg.status === 'not-run' ? ctx.seg.reason : undefined;
}

/** Why a figure that needs the scenario's end (a final state, a total) is not available. */
export function needsEnd(ctx: ScenarioContext): string | undefined {
  if (ctx.seg.status === 'not-run' || ctx.seg.status === 'interrupted') return ctx.seg.reason;
  return undefined;
}

/** Why a figure measured from the trigger is not available. */
export function needsTrigger(ctx: ScenarioContext): string | undefined {
  const u = unavailable(ctx);
  if (u) return u;
  if (!ctx.trigger) {
    const what = ctx.seg.scenario === 'uninstall' ? 'delete' : 'apply';
    return ctx.seg.status === 'interrupted' ? `${ctx.seg.reason} (before its ${what})` : `no ${what} event recorded in this scenario`;
  }
  return undefined;
}

/** The node's kernel at the trigger (its boot before it). */
export function kverAtTrigger(ctx: ScenarioContext, node: string): string | undefined {
  const t = ctx.tracks.get(node)!;
  const bootsBefore = t.boots.filter((b) => b.index < ctx.triggerIndex);
  return bootsBefore.at(-1)?.kver ?? t.bootBefore?.kver;
}
