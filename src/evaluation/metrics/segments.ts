/**
 * Cuts a run into (method, scenario) segments. Scenarios run one after another, so a
 * segment is everything between a `scenario-start` and its `scenario-end` (or the next
 * `scenario-start`, or the end of the file when the run was killed). Background
 * samplers need not stamp method/scenario on their events; position decides. An event
 * stamped with a different method/scenario is left out of the segment.
 */
import { BASELINE, type RowId, type ScenarioId } from '../events.js';
import type { RecordedEvent, RunRecord } from '../read-run.js';
import { moduleKey } from './measured.js';

export type SegmentStatus = 'completed' | 'failed' | 'interrupted' | 'not-run';

export interface Segment {
  method: RowId;
  scenario: ScenarioId;
  status: SegmentStatus;
  /** Why the segment is not `completed` (scenario error, interruption…). */
  reason?: string;
  start?: RecordedEvent;
  end?: RecordedEvent;
  /** Events inside the segment (start and end included), in recording order. */
  events: RecordedEvent[];
  /** Every run event recorded before the segment began (node history: boot ids, kernels). */
  before: RecordedEvent[];
  /** Time the segment ends: its scenario-end, else its last event. */
  endT: number;
}

export function findSegment(run: RunRecord, method: RowId, scenario: ScenarioId): Segment {
  const all = run.events;
  const startIdx = all.findIndex((e) => e.kind === 'scenario-start' && e.method === method && e.scenario === scenario);
  if (startIdx < 0) {
    const reason = run.interrupted
      ? 'run interrupted before this scenario'
      : run.end?.data.status === 'failed'
        ? `run failed before this scenario${run.end.data.error ? `: ${run.end.data.error}` : ''}`
        : 'scenario not run';
    return { method, scenario, status: 'not-run', reason, events: [], before: all, endT: run.start.t };
  }
  let endIdx = all.length - 1;
  let end: RecordedEvent | undefined;
  for (let i = startIdx + 1; i < all.length; i++) {
    const e = all[i]!;
    if (e.kind === 'scenario-end' && e.method === method && e.scenario === scenario) {
      end = e;
      endIdx = i;
      break;
    }
    if (e.kind === 'scenario-start' || e.kind === 'run-end') {
      endIdx = i - 1;
      break;
    }
  }
  const events = all
    .slice(startIdx, endIdx + 1)
    .filter((e) => (e.method === undefined || e.method === method) && (e.scenario === undefined || e.scenario === scenario));
  const seg: Segment = {
    method,
    scenario,
    status: 'completed',
    start: all[startIdx]!,
    events,
    before: all.slice(0, startIdx),
    endT: end?.t ?? events.at(-1)!.t,
  };
  if (end) {
    seg.end = end;
    const data = end.data as { ok: boolean; error?: string; skipped?: boolean };
    if (data.skipped) {
      // The target cannot run this scenario (e.g. day1 on a running cluster): not a failure.
      seg.status = 'not-run';
      seg.reason = data.error ?? 'scenario not run';
    } else if (!data.ok) {
      seg.status = 'failed';
      seg.reason = `scenario failed: ${data.error ?? 'no error message recorded'}`;
    }
  } else {
    seg.status = 'interrupted';
    seg.reason = run.interrupted ? 'run interrupted during this scenario' : 'scenario ended without a scenario-end event';
  }
  return seg;
}

/** Events of one kind inside a segment. */
export function eventsOf(seg: Segment, kind: string, node?: string): RecordedEvent[] {
  return seg.events.filter((e) => e.kind === kind && (node === undefined || e.node === node));
}

/**
 * The event a scenario's figures are measured from:
 * - day1/day2: the first `apply`;
 * - upgrade/kernel-switch: the `apply` marked `data.trigger: true`, else the
 *   `progress` event whose step is "<scenario> start" (how the scenarios announce the
 *   release change, which is not an apply of the method's artifacts), else the first
 *   `apply` recorded after the driver was loaded on every node, else the only `apply`;
 * - uninstall: the first `delete`;
 * - the baseline (nothing applied or deleted): its `progress` event marked `trigger: true`.
 */
export function findTrigger(seg: Segment, nodes: readonly string[], modules: readonly string[]): RecordedEvent | undefined {
  if (seg.method === BASELINE) return eventsOf(seg, 'progress').find((e) => e.data['trigger'] === true);
  // A `cleanup` delete removes what an earlier scenario left applied before this one
  // starts (the cluster target's reset); the method's removal is the first other delete.
  if (seg.scenario === 'uninstall') return eventsOf(seg, 'delete').find((e) => e.data['cleanup'] !== true);
  const applies = eventsOf(seg, 'apply');
  if (seg.scenario === 'day1' || seg.scenario === 'day2') return applies[0];
  const marked = applies.find((e) => e.data['trigger'] === true);
  if (marked) return marked;
  const announced = eventsOf(seg, 'progress').find((e) => e.data['step'] === `${seg.scenario} start`);
  if (announced) return announced;
  if (applies.length === 1) return applies[0];
  const loadedAt = firstAllLoadedIndex(seg, nodes, modules);
  if (loadedAt === undefined) return undefined;
  return applies.find((e) => seg.events.indexOf(e) > loadedAt);
}

/** Index (in seg.events) where every module was loaded on every node in its current boot. */
function firstAllLoadedIndex(seg: Segment, nodes: readonly string[], modules: readonly string[]): number | undefined {
  const state = new Map<string, boolean>();
  for (let i = 0; i < seg.events.length; i++) {
    const e = seg.events[i]!;
    if (!e.node) continue;
    if (e.kind === 'node-up') for (const m of modules) state.delete(`${e.node}/${moduleKey(m)}`);
    if (e.kind === 'module-state') state.set(`${e.node}/${moduleKey(e.data['module'])}`, e.data['loaded'] === true);
    if (nodes.every((n) => modules.every((m) => state.get(`${n}/${moduleKey(m)}`) === true))) return i;
  }
  return undefined;
}
