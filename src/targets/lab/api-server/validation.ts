/**
 * What a write may contain, for `fieldValidation` (Strict → 400, Warn → a Warning
 * header, Ignore → silent; unknown fields are dropped in the last two, as the API's
 * decoder and CRD pruning drop them):
 *   - every kind: `apiVersion`, `kind`, and the ObjectMeta fields;
 *   - built-in kinds: their top-level fields only (the lab carries no k8s.io/api
 *     schemas; deeper fields of built-in kinds are NOT checked);
 *   - custom resources: their CRD's openAPIV3Schema, recursively, honouring
 *     `x-kubernetes-preserve-unknown-fields` (the OpenShift kinds the lab installs are
 *     preserve-unknown-fields, so only their metadata is checked).
 * Names: DNS-1123 subdomain (RFC 1123), as most kinds require.
 */
import { invalid, type Obj, type StatusCause } from './status.js';
import type { ResourceType } from './resources.js';
import { isPlainObject } from './list-keys.js';

const META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

function walkSchema(v: unknown, schema: Obj | undefined, path: string, out: string[], drop: boolean): void {
  if (!schema) return;
  if (isPlainObject(v)) {
    const props = schema.properties as Obj | undefined;
    const additional = schema.additionalProperties;
    for (const k of Object.keys(v)) {
      if (props && k in props) walkSchema(v[k], props[k], `${path}.${k}`, out, drop);
      else if (isPlainObject(additional)) walkSchema(v[k], additional, `${path}.${k}`, out, drop);
      else if (additional === true || schema['x-kubernetes-preserve-unknown-fields'] === true) continue;
      else if (!props && schema.type !== 'object') continue; // no structural information here
      else {
        out.push(`${path}.${k}`);
        if (drop) delete v[k];
      }
    }
  } else if (Array.isArray(v) && isPlainObject(schema.items)) {
    v.forEach((item, i) => walkSchema(item, schema.items, `${path}[${i}]`, out, drop));
  }
}

/** Unknown fields of `obj` (as `.spec.foo` paths); with `drop`, removes them. */
export function unknownFields(t: ResourceType, obj: Obj, drop: boolean): string[] {
  const out: string[] = [];
  if (isPlainObject(obj.metadata)) {
    for (const k of Object.keys(obj.metadata)) {
      if (!META_FIELDS.has(k)) {
        out.push(`.metadata.${k}`);
        if (drop) delete obj.metadata[k];
      }
    }
  }
  if (t.schema) {
    walkSchema(obj, { ...t.schema, properties: { ...(t.schema.properties ?? {}), apiVersion: {}, kind: {}, metadata: {} } }, '', out, drop);
    return out;
  }
  if (t.topLevelFields) {
    const allowed = new Set(['apiVersion', 'kind', 'metadata', ...t.topLevelFields]);
    for (const k of Object.keys(obj)) {
      if (!allowed.has(k)) {
        out.push(`.${k}`);
        if (drop) delete obj[k];
      }
    }
  }
  return out;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks name and basic metadata types; throws 422 Invalid naming the field. */
export function validateMeta(t: ResourceType, obj: Obj): void {
  const causes: StatusCause[] = [];
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') causes.push({ type: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    // Node and RBAC names may contain ':' and upper case is refused everywhere; RBAC kinds accept any path segment name.
    const rbac = t.group === 'rbac.authorization.k8s.io';
    if (!(rbac && !/[/%]/.test(name) && name !== '.' && name !== '..'))
      causes.push({
        type: 'FieldValueInvalid',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        field: 'metadata.name',
      });
  }
  for (const f of ['labels', 'annotations'] as const) {
    const m = obj.metadata?.[f];
    if (m === undefined || m === null) continue;
    if (!isPlainObject(m) || Object.values(m).some((v) => typeof v !== 'string')) causes.push({ type: 'FieldValueInvalid', message: 'Invalid value: must be a map of strings', field: `metadata.${f}` });
  }
  if (causes.length) throw invalid(t.kind, t.group, String(name ?? ''), causes);
}
