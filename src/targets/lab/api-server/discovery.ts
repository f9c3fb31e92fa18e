/**
 * Discovery documents, as kube-apiserver serves them (k8s.io/apiserver
 * pkg/endpoints/discovery): /api, /apis, /apis/<group>, the per-version resource lists,
 * /version, and OpenAPI v3 (/openapi/v3 and one document per group-version).
 *
 * Only the unaggregated discovery format is served; client-go (kubectl 1.32) asks for
 * the aggregated one first and falls back when the response's content type says plain
 * JSON (k8s.io/client-go discovery/discovery_client.go).
 *
 * The OpenAPI v3 documents carry paths, not schemas: kubectl 1.32 reads them to learn
 * that PATCH accepts `fieldValidation` (k8s.io/cli-runtime resource/query_param_verifier_v3.go)
 * and then leaves validation to the server instead of validating client side; with no
 * component schemas, `kubectl apply` computes strategic merge patches from its compiled-in
 * types (kubectl pkg/cmd/apply/patcher.go). /openapi/v2 is not served (kubectl only logs that).
 */
import { createHash } from 'node:crypto';
import { verbsOf, type ResourceRegistry, type ResourceType } from './resources.js';
import type { Obj } from './status.js';

/** The Kubernetes version the lab reports: that of the OpenShift release it stands in for (4.14). */
export const LAB_KUBE_VERSION = { major: '1', minor: '27', gitVersion: 'v1.27.16+kmodlab-lab' };

export function versionInfo(): Obj {
  return {
    ...LAB_KUBE_VERSION,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.20',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export const gvOf = (group: string, version: string) => (group ? `${group}/${version}` : version);

export function apiVersions(serverAddress: string): Obj {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(name: string, versions: string[]): Obj {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(reg: ResourceRegistry): Obj {
  const groups = [...reg.groups()].filter(([g]) => g !== '').sort(([a], [b]) => a.localeCompare(b));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(([g, vs]) => apiGroup(g, vs)) };
}

export function apiGroupDoc(reg: ResourceRegistry, group: string): Obj | undefined {
  const vs = reg.groups().get(group);
  return vs && group !== '' ? apiGroup(group, vs) : undefined;
}

export function resourceList(reg: ResourceRegistry, group: string, version: string): Obj | undefined {
  const types = reg.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: Obj[] = [];
  for (const t of types) {
    resources.push({
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: verbsOf(t),
      ...(t.shortNames?.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories?.length ? { categories: t.categories } : {}),
    });
    if (t.status) resources.push({ name: `${t.resource}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
    if (t.log) resources.push({ name: `${t.resource}/log`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get'] });
    if (t.scale) resources.push({ name: `${t.resource}/scale`, singularName: '', namespaced: t.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    if (t.binding) resources.push({ name: `${t.resource}/binding`, singularName: '', namespaced: t.namespaced, kind: 'Binding', verbs: ['create'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gvOf(group, version), resources };
}

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

function gvDocument(types: ResourceType[]): Obj {
  const paths: Obj = {};
  for (const t of types) {
    const base = `/${gvPath(t.group, t.version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}/{name}`;
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } }));
    const op = (action: string) => ({
      tags: [t.group || 'core'],
      operationId: `${action}${t.kind}`,
      parameters: params,
      responses: { '200': { description: 'OK' } },
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
    });
    paths[base] = { get: op('get'), put: op('put'), patch: op('patch'), delete: op('delete') };
    if (t.status) paths[`${base}/status`] = { get: op('get'), put: op('put'), patch: op('patch') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes (kmodlab lab)', version: LAB_KUBE_VERSION.gitVersion }, paths, components: { schemas: {} } };
}

/** `/openapi/v3`: one entry per group-version, with a hash that changes when its kinds do. */
export function openapiV3Root(reg: ResourceRegistry): Obj {
  const byGv = new Map<string, ResourceType[]>();
  for (const t of reg.all()) byGv.set(gvPath(t.group, t.version), [...(byGv.get(gvPath(t.group, t.version)) ?? []), t]);
  const paths: Obj = {};
  for (const [p, types] of byGv) {
    const hash = createHash('sha256').update(JSON.stringify(types)).digest('hex').slice(0, 32).toUpperCase();
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}

export function openapiV3Document(reg: ResourceRegistry, p: string): Obj | undefined {
  const types = reg.all().filter((t) => gvPath(t.group, t.version) === p);
  return types.length ? gvDocument(types) : undefined;
}

/**
 * `/openapi/v2` as a protobuf `openapi.v2.Document` (github.com/google/gnostic-models)
 * holding only `swagger` and `info`: kubectl 1.32 asks for it when a kind is missing
 * from OpenAPI v3 (e.g. a custom resource whose CRD does not exist yet) and, finding no
 * schema there either, reports the missing kind ("no matches for kind …") like a real
 * server instead of failing validation with a 404.
 */
export function openapiV2Protobuf(): Buffer {
  const str = (field: number, s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
  };
  const info = Buffer.concat([str(1, 'Kubernetes (kmodlab lab)'), str(2, LAB_KUBE_VERSION.gitVersion)]);
  return Buffer.concat([str(1, '2.0'), Buffer.from([(2 << 3) | 2, info.length]), info]);
}
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
