/**
 * Registry storage a method's images use beyond the release images: the lab reads it from
 * its registry after each scenario (`registry-storage`); the figure is the last reading of
 * the scenario, which covers every image the row's builds pushed until then.
 */
import { unavailable, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { eventsOf } from './segments.js';

/** Why a cluster run has no figure: said where the figure would be. */
export const CLUSTER_REGISTRY_NOT_READ =
  'kmodlab does not read a cluster registry’s storage (the integrated registry’s storage backend belongs to the cluster; its pruning and other tenants’ images would be counted)';

export function registryStorage(ctx: ScenarioContext): Measured<number> {
  const reason = unavailable(ctx);
  if (reason) return notMeasured(reason);
  const last = eventsOf(ctx.seg, 'registry-storage').at(-1);
  if (!last) {
    if (ctx.run.start.data.target === 'cluster') return notMeasured(CLUSTER_REGISTRY_NOT_READ);
    return notMeasured(ctx.seg.status === 'interrupted' ? `${ctx.seg.reason ?? 'interrupted'} (before the registry was read)` : 'no registry storage recorded in this scenario (the lab reads it after each scenario; runs recorded before it did have none)');
  }
  if (typeof last.data['error'] === 'string') return notMeasured(`the registry could not be read: ${last.data['error']}`);
  const images = Array.isArray(last.data['images']) ? (last.data['images'] as unknown[]).length : 0;
  const blobs = Number(last.data['blobs'] ?? 0);
  return measured(Number(last.data['bytes']), [last.line], images === 0 ? 'no image built by the method so far' : `${blobs} blob${blobs === 1 ? '' : 's'} of ${images} image${images === 1 ? '' : 's'}`);
}
