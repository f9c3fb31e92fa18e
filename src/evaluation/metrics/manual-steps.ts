/** Steps a person would have had to do (recorded by the scenario when the method needs them). */
import { needsEnd, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { eventsOf } from './segments.js';

export function manualStepList(ctx: ScenarioContext): { description: string; line: number }[] {
  return eventsOf(ctx.seg, 'manual-step').map((e) => ({ description: String(e.data['description']), line: e.line }));
}

export function manualSteps(ctx: ScenarioContext): Measured<number> {
  const steps = manualStepList(ctx);
  const reason = needsEnd(ctx);
  if (reason) return notMeasured(steps.length > 0 ? `${reason} (${steps.length} so far)` : reason);
  return measured(steps.length, steps.map((s) => s.line), steps.length === 0 ? 'no manual step recorded' : undefined);
}
