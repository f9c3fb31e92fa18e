/**
 * The baseline of each scenario: the same steps with no driver method — nothing is
 * rendered or applied, but the nodes are installed, the release change or kernel switch
 * still rolls out, and the same steady-state sampling happens. What it records (reboots,
 * node downtime, canary disruption, pod restarts) is what the cluster does anyway; the
 * report subtracts it from each method's figures ("attributable").
 *
 * A baseline has no apply or delete to measure from, so it marks its trigger with a
 * `progress` event carrying `trigger: true` at the moment a method's scenario would
 * apply (or delete) its artifacts; segments.ts's findTrigger picks it up.
 */
import type { ScenarioId } from '../events.js';
import { sampleSteadyState, type ScenarioContext, type ScenarioFn, releaseChangeTargets } from './context.js';

function markTrigger(ctx: ScenarioContext, step: string, extra: Record<string, unknown> = {}): void {
  ctx.record('progress', { step, trigger: true, ...extra });
}

/** Day 1: nodes installed with no Day-1 artifacts; extra reboots after the first boot are the cluster's own. */
const day1: ScenarioFn = async (ctx) => {
  const { from } = ctx.target.releases();
  ctx.progress('baseline: installing with no driver artifacts');
  await ctx.target.reset({ release: from, row: ctx.method });
  // Where a method's Day-1 apply is recorded: once the installed nodes are up.
  markTrigger(ctx, 'day1 start (baseline: nothing in the install manifests)');
  await ctx.target.observe();
  await sampleSteadyState(ctx);
};

/** Day 2 and uninstall: the running cluster, sampled as long as a method's steady state lasts. */
function idle(what: string): ScenarioFn {
  return async (ctx) => {
    const { from } = ctx.target.releases();
    await ctx.target.reset({ release: from, row: ctx.method });
    await ctx.target.observe();
    ctx.progress(`baseline: nothing to ${what}; sampling the running cluster`);
    markTrigger(ctx, `${ctx.scenario} start (baseline: nothing to ${what})`);
    await ctx.target.observe();
    await sampleSteadyState(ctx);
  };
}

/** Upgrade / kernel switch: the release change with no driver on the nodes. */
function releaseChange(why: 'upgrade' | 'kernel-switch'): ScenarioFn {
  return async (ctx) => {
    const { from, to } = releaseChangeTargets(ctx, why);
    await ctx.target.reset({ release: from, row: ctx.method });
    await ctx.target.observe();
    ctx.progress(`baseline ${why}: ${from.kernelVersion} → ${to.kernelVersion}`);
    // The same step name as a method's scenario: the trigger is found the same way.
    ctx.record('progress', { step: `${why} start`, from: from.kernelVersion, to: to.kernelVersion, trigger: true });
    await ctx.target.changeRelease(to, why);
    ctx.record('progress', { step: `${why} rollout done` });
    await sampleSteadyState(ctx);
  };
}

export const BASELINE_SCENARIOS: Record<ScenarioId, ScenarioFn> = {
  day1,
  day2: idle('apply'),
  upgrade: releaseChange('upgrade'),
  'kernel-switch': releaseChange('kernel-switch'),
  uninstall: idle('remove'),
};
