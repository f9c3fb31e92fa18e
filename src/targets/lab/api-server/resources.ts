/**
 * Which resource types the lab API serves: the built-in kinds the methods and the
 * cluster client use, plus one type per CustomResourceDefinition created at run time
 * (as kube-apiserver's apiextensions server does). Discovery, routing and validation
 * all read this one registry.
 */
import type { Obj } from './status.js';

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, as in the URL. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** `status` subresource: the main resource ignores status, /status ignores the rest. */
  status: boolean;
  /** Pods only: `pods/log`. */
  log?: boolean;
  /** Pods only: `pods/binding` (what kube-scheduler posts to bind a pod to a node). */
  binding?: boolean;
  /** Deployments and ReplicaSets: `<resource>/scale` (autoscaling/v1 Scale). */
  scale?: boolean;
  /**
   * Top-level fields a built-in kind has (for fieldValidation). CRDs carry their
   * openAPIV3Schema instead. Neither → every field is accepted.
   */
  topLevelFields?: string[];
  schema?: Obj;
  /** The CRD that defines it, if any (strategic merge patch is refused for these). */
  crd?: string;
  /** Strategic-merge and SSA list keys known for this kind (by field name). */
}

const STANDARD_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
export const verbsOf = (_t: ResourceType): string[] => STANDARD_VERBS;

function builtin(group: string, version: string, kind: string, resource: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType {
  return { group, version, kind, resource, singular: kind.toLowerCase(), listKind: `${kind}List`, namespaced, status: false, ...extra };
}

const specStatus = ['spec', 'status'];

/** Built-in kinds (k8s.io/api) the methods render and the cluster client reads. */
export const BUILTIN_TYPES: ResourceType[] = [
  builtin('', 'v1', 'Namespace', 'namespaces', false, { shortNames: ['ns'], status: true, topLevelFields: specStatus }),
  builtin('', 'v1', 'Node', 'nodes', false, { shortNames: ['no'], status: true, topLevelFields: specStatus }),
  builtin('', 'v1', 'Pod', 'pods', true, { shortNames: ['po'], status: true, log: true, binding: true, categories: ['all'], topLevelFields: specStatus }),
  builtin('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'], topLevelFields: ['data', 'binaryData', 'immutable'] }),
  builtin('', 'v1', 'Secret', 'secrets', true, { topLevelFields: ['data', 'stringData', 'type', 'immutable'] }),
  builtin('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'], topLevelFields: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'] }),
  builtin('', 'v1', 'Service', 'services', true, { shortNames: ['svc'], status: true, categories: ['all'], topLevelFields: specStatus }),
  builtin('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  builtin('apps', 'v1', 'DaemonSet', 'daemonsets', true, { shortNames: ['ds'], status: true, categories: ['all'], topLevelFields: specStatus }),
  builtin('apps', 'v1', 'Deployment', 'deployments', true, { shortNames: ['deploy'], status: true, scale: true, categories: ['all'], topLevelFields: specStatus }),
  builtin('apps', 'v1', 'ReplicaSet', 'replicasets', true, { shortNames: ['rs'], status: true, scale: true, categories: ['all'], topLevelFields: specStatus }),
  builtin('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true, { topLevelFields: ['rules'] }),
  builtin('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true, { topLevelFields: ['subjects', 'roleRef'] }),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false, { topLevelFields: ['rules', 'aggregationRule'] }),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false, { topLevelFields: ['subjects', 'roleRef'] }),
  builtin('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, { shortNames: ['crd', 'crds'], status: true, topLevelFields: specStatus }),
];

export const CRD_TYPE = BUILTIN_TYPES.find((t) => t.kind === 'CustomResourceDefinition')!;
export const NAMESPACE_TYPE = BUILTIN_TYPES.find((t) => t.kind === 'Namespace')!;

export const typeKey = (t: { group: string; resource: string }) => `${t.resource}.${t.group}`;

export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>(); // group/version/resource
  private readonly byCrd = new Map<string, ResourceType[]>();

  constructor() {
    for (const t of BUILTIN_TYPES) this.add(t);
  }

  private add(t: ResourceType): void {
    this.types.set(`${t.group}/${t.version}/${t.resource}`, t);
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.get(`${group}/${version}/${resource}`);
  }

  findKind(group: string, version: string, kind: string): ResourceType | undefined {
    for (const t of this.types.values()) if (t.group === group && t.version === version && t.kind === kind) return t;
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  /** Group → versions in preference order (the CRD's storage version first). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.types.values()) {
      const vs = out.get(t.group) ?? [];
      if (!vs.includes(t.version)) vs.push(t.version);
      out.set(t.group, vs);
    }
    return out;
  }

  /**
   * Serves every `served` version of an established CRD (apiextensions-apiserver
   * pkg/apiserver/customresource_handler.go). Returns the types it added.
   */
  addCrd(crd: Obj): ResourceType[] {
    this.removeCrd(crd.metadata.name);
    const spec = crd.spec;
    const added: ResourceType[] = [];
    const versions = [...(spec.versions ?? [])].sort((a: Obj, b: Obj) => Number(!!b.storage) - Number(!!a.storage));
    for (const v of versions) {
      if (v.served === false) continue;
      const t: ResourceType = {
        group: spec.group,
        version: v.name,
        resource: spec.names.plural,
        singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
        kind: spec.names.kind,
        listKind: spec.names.listKind ?? `${spec.names.kind}List`,
        namespaced: spec.scope === 'Namespaced',
        shortNames: spec.names.shortNames,
        categories: spec.names.categories,
        status: v.subresources?.status !== undefined,
        schema: v.schema?.openAPIV3Schema,
        crd: crd.metadata.name,
      };
      this.add(t);
      added.push(t);
    }
    this.byCrd.set(crd.metadata.name, added);
    return added;
  }

  removeCrd(name: string): ResourceType[] {
    const old = this.byCrd.get(name) ?? [];
    for (const t of old) this.types.delete(`${t.group}/${t.version}/${t.resource}`);
    this.byCrd.delete(name);
    return old;
  }
}
