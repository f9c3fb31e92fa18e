/**
 * The `scale` subresource of Deployments and ReplicaSets (k8s.io/kubernetes
 * pkg/registry/apps/deployment/storage/storage.go ScaleREST): an autoscaling/v1 Scale
 * whose spec.replicas is the workload's and whose status carries the observed replicas and
 * the selector as a string. GET reads it; PUT or PATCH of the Scale writes spec.replicas
 * back to the workload (what `kubectl scale` sends: a merge patch of the Scale).
 */
import type { ObjectService, PatchType, WriteOptions } from './objects.js';
import type { ResourceType } from './resources.js';
import { badRequest, conflict, type Obj } from './status.js';
import { jsonPatch, mergePatch } from './patch.js';

function selectorString(sel: Obj | undefined): string {
  const parts = Object.entries((sel?.matchLabels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  for (const e of (sel?.matchExpressions ?? []) as Obj[]) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export function scaleOf(o: Obj): Obj {
  const m = o.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: o.spec?.replicas ?? 1 },
    status: { replicas: o.status?.replicas ?? 0, selector: selectorString(o.spec?.selector) },
  };
}

/** Applies a Scale written with PUT (`type` undefined) or PATCH to the workload; returns the new Scale. */
export function writeScale(objects: ObjectService, t: ResourceType, ns: string, name: string, raw: string, type: PatchType | undefined, opts: WriteOptions, agent: string): Obj {
  const cur = objects.get(t, ns, name);
  const scale = scaleOf(cur);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
  const next = (type === undefined ? body : type === 'json' ? jsonPatch(scale, body) : type === 'merge' || type === 'strategic' ? mergePatch(scale, body) : undefined) as Obj | undefined;
  if (!next) throw badRequest('apply patches of the scale subresource are not served by the lab API');
  const rv = next.metadata?.resourceVersion;
  if (rv && rv !== cur.metadata.resourceVersion) throw conflict(t.resource, t.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
  const replicas = next.spec?.replicas;
  if (!Number.isInteger(replicas) || replicas < 0) throw badRequest(`Scale.spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
  const updated = objects.update(t, ns, name, { ...cur, spec: { ...cur.spec, replicas } }, opts, undefined, agent).object;
  return scaleOf(updated);
}
