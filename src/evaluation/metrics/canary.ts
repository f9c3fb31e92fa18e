/**
 * Disruption of user workloads, seen by a canary workload on each node and measured by
 * probes from outside the node: only raw probe samples count (`canary` events that are
 * not the Deployment's availability changes nor observation snapshots, events.ts).
 *   - failed probes: how many probes after the trigger failed (a missing or unscheduled
 *     canary pod is a failed probe too);
 *   - disruption time: the span those failures cover — from the first failed probe of a
 *     run of failures to the next good probe (to the scenario's end when none came); when
 *     the last probe before the trigger had failed, the span starts at the trigger.
 * Producers record every failed probe and every change, and a success only now and then,
 * so the state between two records is the earlier one's.
 */
import type { RecordedEvent } from '../read-run.js';
import { needsEnd, needsTrigger, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { sumNodes } from './boots.js';

/** A probe sample of `node`'s canary: not an availability change (context only), not a snapshot. */
export function isProbe(e: { kind: string; node?: string; data: Record<string, unknown> }, node: string): boolean {
  return e.kind === 'canary' && e.node === node && e.data['via'] !== 'availability' && e.data['snapshot'] !== true;
}

/** When the probe was made (`at`), else when it was recorded. */
function probeT(e: RecordedEvent): number {
  return typeof e.data['at'] === 'number' ? e.data['at'] : e.t;
}

export function nodeCanaryDisruption(ctx: ScenarioContext, node: string): Measured<number> {
  const reason = needsTrigger(ctx) ?? needsEnd(ctx);
  if (reason) return notMeasured(reason);
  const earlier = [...ctx.seg.before.filter((e) => isProbe(e, node)), ...ctx.seg.events.filter((e, i) => isProbe(e, node) && i <= ctx.triggerIndex)];
  const probes = ctx.seg.events.filter((e, i) => isProbe(e, node) && i > ctx.triggerIndex);
  const atTrigger = earlier.at(-1);
  if (!atTrigger && probes.length === 0) return notMeasured(`no canary probe recorded on ${node}`);
  let downSince: { t: number; line: number } | undefined =
    atTrigger && atTrigger.data['up'] !== true ? { t: ctx.trigger!.t, line: atTrigger.line } : undefined;
  let total = 0;
  const from: number[] = atTrigger ? [atTrigger.line] : [];
  for (const p of probes) {
    const up = p.data['up'] === true;
    if (!up && !downSince) downSince = { t: probeT(p), line: p.line };
    if (up && downSince) {
      total += Math.max(0, probeT(p) - downSince.t);
      from.push(downSince.line, p.line);
      downSince = undefined;
    }
  }
  if (downSince) {
    // Still failing when the scenario ended: count up to the end, as observed.
    total += Math.max(0, ctx.seg.endT - downSince.t);
    from.push(downSince.line);
  }
  return measured(total, from, total === 0 ? 'no failed probe' : undefined);
}

export function canaryDisruption(ctx: ScenarioContext): Measured<number> {
  return sumNodes(ctx, (n) => nodeCanaryDisruption(ctx, n));
}

/** Failed canary probes after the trigger, summed over nodes (every failed probe is a recorded sample). */
export function canaryFailedProbes(ctx: ScenarioContext): Measured<number> {
  return sumNodes(ctx, (node) => {
    const reason = needsTrigger(ctx) ?? needsEnd(ctx);
    if (reason) return notMeasured(reason);
    const all = [...ctx.seg.before, ...ctx.seg.events].filter((e) => isProbe(e, node));
    if (all.length === 0) return notMeasured(`no canary probe recorded on ${node}`);
    const failed = ctx.seg.events.filter((e, i) => i > ctx.triggerIndex && isProbe(e, node) && e.data['up'] !== true);
    return measured(failed.length, failed.map((e) => e.line), failed.length === 0 ? 'no failed probe' : undefined);
  });
}
