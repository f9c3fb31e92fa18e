/** Restarts of the method's resident pods (a crash-looping driver container shows here). */
import { needsEnd, unavailable, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { eventsOf } from './segments.js';
import { isMethodComponent } from './resources.js';

export function podRestarts(ctx: ScenarioContext): Measured<number> {
  const reason = unavailable(ctx) ?? needsEnd(ctx);
  const restarts = eventsOf(ctx.seg, 'pod-restart').filter((e) => isMethodComponent(e.data['component']));
  if (reason) return notMeasured(restarts.length > 0 ? `${reason} (${restarts.length} so far)` : reason);
  const pods = eventsOf(ctx.seg, 'pod-start').filter((e) => isMethodComponent(e.data['component'])).length;
  return measured(
    restarts.length,
    restarts.map((e) => e.line),
    restarts.length === 0 ? (pods === 0 ? 'no pods observed' : `no restart of ${pods} pod start(s) observed`) : undefined,
  );
}
