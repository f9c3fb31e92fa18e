/** The registry of delivery methods. Adding a method = a folder + one line here. */
import { UserError } from '../errors.js';
import { METHOD_IDS, type MethodId } from '../artifacts/artifact-set.js';
import type { Method } from './method.js';

const registry = new Map<MethodId, Method>();

export function registerMethod(m: Method): void {
  registry.set(m.id, m);
}

export function getMethod(id: string): Method {
  const m = registry.get(id as MethodId);
  if (!m) throw new UserError(`unknown method "${id}": expected one of ${[...METHOD_IDS, 'all'].join(', ')}`);
  return m;
}

export function allMethods(): Method[] {
  return METHOD_IDS.flatMap((id) => registry.get(id) ?? []);
}
