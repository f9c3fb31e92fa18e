/**
 * Disruption of user workloads, seen by a canary workload on each node: the time the
 * canary was down (from an `up: false` report to the next `up: true`) after the
 * trigger. Producers may report on every probe or only on changes (the lab does the
 * latter), so the state at the trigger is the last report before it.
 */
import { needsEnd, needsTrigger, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { sumNodes } from './boots.js';

export function nodeCanaryDisruption(ctx: ScenarioContext, node: string): Measured<number> {
  const reason = needsTrigger(ctx) ?? needsEnd(ctx);
  if (reason) return notMeasured(reason);
  const isProbe = (e: { kind: string; node?: string }) => e.kind === 'canary' && e.node === node;
  const earlier = [...ctx.seg.before.filter(isProbe), ...ctx.seg.events.filter((e, i) => isProbe(e) && i <= ctx.triggerIndex)];
  const probes = ctx.seg.events.filter((e, i) => isProbe(e) && i > ctx.triggerIndex);
  const atTrigger = earlier.at(-1);
  if (!atTrigger && probes.length === 0) return notMeasured(`no canary report recorded on ${node}`);
  let downSince: { t: number; line: number } | undefined =
    atTrigger && atTrigger.data['up'] !== true ? { t: ctx.trigger!.t, line: atTrigger.line } : undefined;
  let total = 0;
  const from: number[] = atTrigger ? [atTrigger.line] : [];
  for (const p of probes) {
    const up = p.data['up'] === true;
    if (!up && !downSince) downSince = { t: p.t, line: p.line };
    if (up && downSince) {
      total += p.t - downSince.t;
      from.push(downSince.line, p.line);
      downSince = undefined;
    }
  }
  if (downSince) {
    // Still down when the scenario ended: count up to the end, as observed.
    total += ctx.seg.endT - downSince.t;
    from.push(downSince.line);
  }
  return measured(total, from, total === 0 ? 'canary up throughout' : undefined);
}

export function canaryDisruption(ctx: ScenarioContext): Measured<number> {
  return sumNodes(ctx, (n) => nodeCanaryDisruption(ctx, n));
}

/**
 * Failed canary probes after the trigger, summed over nodes. The lab records every
 * failed probe (a raw sample); a cluster reports availability changes, so there it
 * counts the times the canary went unavailable.
 */
export function canaryFailedProbes(ctx: ScenarioContext): Measured<number> {
  return sumNodes(ctx, (node) => {
    const reason = needsTrigger(ctx) ?? needsEnd(ctx);
    if (reason) return notMeasured(reason);
    const all = [...ctx.seg.before, ...ctx.seg.events].filter((e) => e.kind === 'canary' && e.node === node);
    // A cluster's per-observation snapshots repeat a state already reported: only probes and changes count.
    const failed = ctx.seg.events.filter((e, i) => i > ctx.triggerIndex && e.kind === 'canary' && e.node === node && e.data['up'] !== true && e.data['snapshot'] !== true);
    if (all.length === 0) return notMeasured(`no canary report recorded on ${node}`);
    return measured(failed.length, failed.map((e) => e.line), failed.length === 0 ? 'no failed probe' : undefined);
  });
}
