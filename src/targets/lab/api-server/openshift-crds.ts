/**
 * The OpenShift kinds the rendered artifacts and the cluster client use, installed as
 * CustomResourceDefinitions when the lab API starts — as on OpenShift, where most of them
 * are CRDs (MachineConfig, ClusterVersion, SCC, OLM's kinds) and the rest
 * (BuildConfig, Build, ImageStream) are aggregated APIs with the same shape on the wire.
 * Schemas are `x-kubernetes-preserve-unknown-fields`: the lab does not carry OpenShift's
 * schemas, so only metadata is validated for these kinds. KMM's Module is NOT here: the
 * lab's OLM creates it when the operator's CSV installs, as on a cluster.
 */
import type { Obj } from './status.js';

interface KindDef {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  status?: boolean;
}

export const OPENSHIFT_KINDS: KindDef[] = [
  { group: 'machineconfiguration.openshift.io', version: 'v1', kind: 'MachineConfig', plural: 'machineconfigs', namespaced: false, shortNames: ['mc'] },
  { group: 'machineconfiguration.openshift.io', version: 'v1', kind: 'MachineConfigPool', plural: 'machineconfigpools', namespaced: false, shortNames: ['mcp'], status: true },
  { group: 'machineconfiguration.openshift.io', version: 'v1', kind: 'MachineOSConfig', plural: 'machineosconfigs', namespaced: false, status: true },
  { group: 'machineconfiguration.openshift.io', version: 'v1', kind: 'MachineOSBuild', plural: 'machineosbuilds', namespaced: false, shortNames: ['mosb'], status: true },
  { group: 'build.openshift.io', version: 'v1', kind: 'BuildConfig', plural: 'buildconfigs', namespaced: true, shortNames: ['bc'], status: true },
  { group: 'build.openshift.io', version: 'v1', kind: 'Build', plural: 'builds', namespaced: true, status: true },
  { group: 'image.openshift.io', version: 'v1', kind: 'ImageStream', plural: 'imagestreams', namespaced: true, shortNames: ['is'], status: true },
  { group: 'security.openshift.io', version: 'v1', kind: 'SecurityContextConstraints', plural: 'securitycontextconstraints', namespaced: false, shortNames: ['scc'] },
  { group: 'operators.coreos.com', version: 'v1alpha1', kind: 'Subscription', plural: 'subscriptions', namespaced: true, shortNames: ['sub', 'subs'], status: true },
  { group: 'operators.coreos.com', version: 'v1alpha1', kind: 'ClusterServiceVersion', plural: 'clusterserviceversions', namespaced: true, shortNames: ['csv', 'csvs'], status: true },
  { group: 'operators.coreos.com', version: 'v1alpha1', kind: 'InstallPlan', plural: 'installplans', namespaced: true, shortNames: ['ip'], status: true },
  { group: 'operators.coreos.com', version: 'v1', kind: 'OperatorGroup', plural: 'operatorgroups', namespaced: true, shortNames: ['og'], status: true },
  { group: 'config.openshift.io', version: 'v1', kind: 'ClusterVersion', plural: 'clusterversions', namespaced: false, status: true },
  { group: 'route.openshift.io', version: 'v1', kind: 'Route', plural: 'routes', namespaced: true, status: true },
];

/** A CRD with a preserve-unknown-fields schema for one kind. */
export function crdFor(k: KindDef): Obj {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${k.group}`, labels: { 'app.kubernetes.io/managed-by': 'kmodlab-lab' } },
    spec: {
      group: k.group,
      scope: k.namespaced ? 'Namespaced' : 'Cluster',
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.kind.toLowerCase(), ...(k.shortNames ? { shortNames: k.shortNames } : {}) },
      versions: [
        {
          name: k.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          ...(k.status ? { subresources: { status: {} } } : {}),
        },
      ],
    },
  };
}

export const openshiftCrds = (): Obj[] => OPENSHIFT_KINDS.map(crdFor);
