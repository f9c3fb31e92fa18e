/**
 * The one operator bundle the lab's catalog holds: kernel-module-management, as the
 * `redhat-operators` catalog serves it (package kernel-module-management, channel stable).
 * What OLM needs of it: the CSV's name and version, its install modes and the CRDs it owns
 * (kubernetes-sigs/kernel-module-management config/crd/bases; bundle/manifests). The CRDs
 * carry a structural but open schema (x-kubernetes-preserve-unknown-fields): the lab does
 * not ship KMM's schemas, so it validates no more than metadata for these kinds.
 */
import type { KubernetesObject, V1CustomResourceDefinition } from '@kubernetes/client-node';

export const KMM_PACKAGE = 'kernel-module-management';
export const KMM_CHANNELS = ['stable', 'release-2.7'];
/** The newest KMM the renderer knows (src/methods/kmm/versions.ts). */
export const KMM_CSV_VERSION = '2.7.0';
export const KMM_CSV_NAME = `${KMM_PACKAGE}.v${KMM_CSV_VERSION}`;

export const KMM_GROUP = 'kmm.sigs.x-k8s.io';

interface OwnedCrd {
  kind: string;
  plural: string;
  versions: string[];
  namespaced: boolean;
  shortNames?: string[];
}

/** The CRDs the KMM CSV owns (spec.customresourcedefinitions.owned of the upstream bundle). */
export const KMM_OWNED: OwnedCrd[] = [
  { kind: 'Module', plural: 'modules', versions: ['v1beta1'], namespaced: true, shortNames: ['mod'] },
  { kind: 'NodeModulesConfig', plural: 'nodemodulesconfigs', versions: ['v1beta1'], namespaced: false, shortNames: ['nmc'] },
  { kind: 'PreflightValidation', plural: 'preflightvalidations', versions: ['v1beta2'], namespaced: false },
  { kind: 'PreflightValidationOCP', plural: 'preflightvalidationsocp', versions: ['v1beta2'], namespaced: false },
  { kind: 'ModuleBuildSignConfig', plural: 'modulebuildsignconfigs', versions: ['v1beta1'], namespaced: true },
  { kind: 'ModuleImagesConfig', plural: 'moduleimagesconfigs', versions: ['v1beta1'], namespaced: true },
];

export const crdName = (c: OwnedCrd) => `${c.plural}.${KMM_GROUP}`;

/** Typed (client-node's serializer maps `x_kubernetes_preserve_unknown_fields` to the wire name; a raw key would be dropped). */
export function kmmCrd(c: OwnedCrd): V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(c), labels: { 'operators.coreos.com/kernel-module-management.openshift-kmm': '' } },
    spec: {
      group: KMM_GROUP,
      scope: c.namespaced ? 'Namespaced' : 'Cluster',
      names: { kind: c.kind, listKind: `${c.kind}List`, plural: c.plural, singular: c.kind.toLowerCase(), ...(c.shortNames ? { shortNames: c.shortNames } : {}) },
      versions: c.versions.map((v, i) => ({
        name: v,
        served: true,
        storage: i === c.versions.length - 1,
        schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
        subresources: { status: {} },
      })),
    },
  };
}

/** The CSV as OLM creates it from the bundle (metadata and the spec fields clients read). */
export function kmmCsv(namespace: string): KubernetesObject & Record<string, unknown> {
  return {
    apiVersion: 'operators.coreos.com/v1alpha1',
    kind: 'ClusterServiceVersion',
    metadata: { name: KMM_CSV_NAME, namespace, labels: { [`operators.coreos.com/${KMM_PACKAGE}.${namespace}`]: '' } },
    spec: {
      displayName: 'Kernel Module Management',
      version: KMM_CSV_VERSION,
      // KMM's bundle supports only AllNamespaces (bundle/manifests/*.clusterserviceversion.yaml).
      installModes: [
        { type: 'OwnNamespace', supported: false },
        { type: 'SingleNamespace', supported: false },
        { type: 'MultiNamespace', supported: false },
        { type: 'AllNamespaces', supported: true },
      ],
      customresourcedefinitions: { owned: KMM_OWNED.flatMap((c) => c.versions.map((v) => ({ name: crdName(c), kind: c.kind, version: v }))) },
      install: { strategy: 'deployment', spec: { deployments: [{ name: 'kmm-operator-controller' }, { name: 'kmm-operator-webhook' }] } },
    },
  };
}
