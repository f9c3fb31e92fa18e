/**
 * What removing the artifacts left behind on the nodes (pods, a custom OS image,
 * node labels, module files), as the target listed it after the removal settled.
 */
import { needsEnd, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { eventsOf } from './segments.js';

export function leftovers(ctx: ScenarioContext): Measured<number> {
  const reason = needsEnd(ctx);
  if (reason) return notMeasured(reason);
  const report = eventsOf(ctx.seg, 'progress').filter((e) => Array.isArray(e.data['leftovers'])).at(-1);
  if (!report) return notMeasured('the target did not list what was left after the removal');
  const items = report.data['leftovers'] as string[];
  return measured(items.length, [report.line], items.length ? items.join('; ') : 'nothing left on the nodes');
}
