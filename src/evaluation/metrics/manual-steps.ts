/**
 * Steps a person would have to do: the README's steps besides `oc apply` (recorded by
 * every target, whether it did them for the user or not) and the scenario's own (e.g.
 * re-render after an upgrade). For an upgrade, kernel switch or uninstall only the steps
 * from the change on count: the install before it is day 2's.
 */
import { changesKernel, needsEnd, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { eventsOf } from './segments.js';

export function manualStepList(ctx: ScenarioContext): { description: string; line: number }[] {
  const fromChange = changesKernel(ctx.seg.scenario) || ctx.seg.scenario === 'uninstall';
  return eventsOf(ctx.seg, 'manual-step')
    .filter((e) => !fromChange || ctx.triggerIndex < 0 || ctx.seg.events.indexOf(e) > ctx.triggerIndex)
    .map((e) => ({ description: String(e.data['description']), line: e.line }));
}

export function manualSteps(ctx: ScenarioContext): Measured<number> {
  const steps = manualStepList(ctx);
  const reason = needsEnd(ctx);
  if (reason) return notMeasured(steps.length > 0 ? `${reason} (${steps.length} so far)` : reason);
  return measured(steps.length, steps.map((s) => s.line), steps.length === 0 ? 'no manual step recorded' : undefined);
}
