/**
 * Operator install: from the apply (which carries the operator's Subscription, e.g. KMM's
 * `0x-` files) to the last operator pod running. Time to driver is measured from the
 * same apply, so where this is measured it is part of time to driver; where it cannot
 * be measured, the reason says so (the lab emulates the operator; a cluster where the
 * operator was installed before the run has no install to time).
 */
import { needsTrigger, unavailable, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { eventsOf } from './segments.js';

export const NO_OPERATOR = 'no operator pod started: the method installs no operator';

const isOperator = (component: unknown) => typeof component === 'string' && /operator/.test(component);

export function operatorInstall(ctx: ScenarioContext): Measured<number> {
  const reason = unavailable(ctx) ?? needsTrigger(ctx);
  if (reason) return notMeasured(reason);
  const starts = eventsOf(ctx.seg, 'pod-start').filter((e) => isOperator(e.data['component']));
  if (starts.length === 0) return notMeasured(NO_OPERATOR);
  if (starts.some((e) => e.data['emulated'] === true)) {
    return notMeasured('the lab emulates the operator: it is ready the moment its Subscription is applied, so there is no install to time (time to driver excludes a real install)');
  }
  const before = starts.filter((e) => ctx.seg.events.indexOf(e) < ctx.triggerIndex);
  const after = starts.filter((e) => ctx.seg.events.indexOf(e) > ctx.triggerIndex);
  if (after.length === 0) return notMeasured(`the operator was running before the apply (${before.length} pod start(s) before it): it was installed before this run, so its install is not part of time to driver`);
  const last = after.reduce((a, b) => (b.t > a.t ? b : a));
  return measured(last.t - ctx.trigger!.t, [ctx.trigger!.line, ...after.map((e) => e.line)], 'part of time to driver (measured from the same apply)');
}
