/**
 * Reboots and downtime: a reboot is a node-up with a boot id different from the
 * node's previous one (the kernel's random boot_id, not a status flag); downtime is
 * node-down → the node's next node-up. Both count only after the trigger, so the
 * scenario's own clean-state boot is not charged to the method.
 */
import { needsEnd, needsTrigger, type ScenarioContext } from './context.js';
import { isMeasured, measured, notMeasured, type Measured } from './measured.js';
import { firstBoot } from './loading.js';

/**
 * Reboots of one node after the trigger. On day 1 the node's first boot is its
 * installation, not a reboot: only the boots after it count (the "extra reboots").
 */
export function nodeReboots(ctx: ScenarioContext, node: string): Measured<number> {
  const reason = needsTrigger(ctx) ?? needsEnd(ctx);
  if (reason) {
    const soFar = ctx.trigger ? ctx.tracks.get(node)!.boots.filter((b) => b.index > ctx.triggerIndex && b.isReboot).length : 0;
    return notMeasured(ctx.seg.status === 'interrupted' && soFar > 0 ? `${reason} (${soFar} so far)` : reason);
  }
  const t = ctx.tracks.get(node)!;
  if (!t.lastBoot) return notMeasured(`${node} never reported up`);
  let after = t.boots.filter((b) => b.index > ctx.triggerIndex);
  if (ctx.seg.scenario === 'day1') {
    const first = firstBoot(ctx, t);
    if (!first) return notMeasured(`no boot of ${node} recorded with the day-1 artifacts`);
    after = t.boots.filter((b) => b.index > first.index);
  }
  const reboots = after.filter((b) => b.isReboot);
  return measured(reboots.length, reboots.map((b) => b.line), reboots.length === 0 ? 'no boot id change observed' : undefined);
}

export function reboots(ctx: ScenarioContext): Measured<number> {
  return sumNodes(ctx, (n) => nodeReboots(ctx, n));
}

export interface Downtime {
  totalMs: number;
  longestMs: number;
}

/** node-down → next node-up of the same node, for downs after the trigger. */
export function nodeDowntime(ctx: ScenarioContext, node: string): Measured<Downtime> {
  const reason = needsTrigger(ctx) ?? needsEnd(ctx);
  if (reason) return notMeasured(reason);
  const t = ctx.tracks.get(node)!;
  if (!t.lastBoot) return notMeasured(`${node} never reported up`);
  let totalMs = 0;
  let longestMs = 0;
  const from: number[] = [];
  for (const down of t.downs) {
    const i = ctx.seg.events.indexOf(down);
    if (i <= ctx.triggerIndex) continue;
    const up = t.boots.find((b) => b.index > i);
    // A node still down at the end was down until the end: that is what was observed.
    const endT = up ? up.t : ctx.seg.endT;
    // A node-down noticed late carries when it began (`at`): on single-node OpenShift the
    // watch sees the reboot only after the API returns, the outage start is its beginning.
    const downT = typeof down.data['at'] === 'number' ? down.data['at'] : down.t;
    const ms = Math.max(0, endT - downT);
    totalMs += ms;
    longestMs = Math.max(longestMs, ms);
    from.push(down.line, ...(up ? [up.line] : ctx.seg.end ? [ctx.seg.end.line] : []));
  }
  return measured({ totalMs, longestMs }, from, from.length === 0 ? 'no node-down observed' : undefined);
}

export function downtimeTotal(ctx: ScenarioContext): Measured<number> {
  return sumNodes(ctx, (n) => {
    const d = nodeDowntime(ctx, n);
    return isMeasured(d) ? { ...d, value: d.value.totalMs } : d;
  });
}

export function downtimeLongest(ctx: ScenarioContext): Measured<number> {
  const per = ctx.nodes.map((n) => nodeDowntime(ctx, n));
  const missing = per.find((m) => !isMeasured(m));
  if (missing && !isMeasured(missing)) return missing;
  const ms = per.filter(isMeasured);
  return measured(Math.max(0, ...ms.map((m) => m.value.longestMs)), ms.flatMap((m) => m.from));
}

/** Sum of a per-node count; unknown on any node → unknown. */
export function sumNodes(ctx: ScenarioContext, per: (node: string) => Measured<number>): Measured<number> {
  const all = ctx.nodes.map(per);
  const missing = all.find((m) => !isMeasured(m));
  if (missing) return missing;
  const ms = all.filter(isMeasured);
  const total = ms.reduce((a, m) => a + m.value, 0);
  const notes = [...new Set(ms.map((m) => m.note).filter((x): x is string => !!x))];
  return measured(total, ms.flatMap((m) => m.from), total === 0 && notes.length === 1 ? notes[0] : undefined);
}
