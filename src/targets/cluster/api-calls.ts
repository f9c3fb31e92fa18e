/**
 * Every Kubernetes API call the cluster target makes, in ONE table. The client refuses
 * a request whose verb/resource is not in the entry it names (so the table cannot
 * drift from the code), `--observe-only` refuses entries that write, and
 * `kmodlab rbac` prints the ClusterRole(s) from the same table — so the role printed
 * is exactly what the code can call, no more.
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'patch' | 'update' | 'delete' | 'use';
export const READ_VERBS: readonly Verb[] = ['get', 'list', 'watch'];

export interface ResourceRule {
  /** API group, '' for core. */
  group: string;
  /** Plural resource, with `/subresource` where one is used (e.g. `pods/log`). */
  resources: string[];
  verbs: Verb[];
  /** Restrict to these object names (RBAC resourceNames). */
  resourceNames?: string[];
}

export interface ApiCall {
  /** Why kmodlab makes this call (printed as a comment in the role). */
  why: string;
  /** Needed with `--observe-only` too (read verbs only). */
  observe: boolean;
  rules?: ResourceRule[];
  /** Non-resource URLs (discovery, /readyz), always `get`. */
  nonResourceURLs?: string[];
}

/**
 * Kinds the delivery methods render, and where they live in the API. The apply path
 * maps kinds with discovery; this list is what the role grants (a test renders every
 * method and variant and checks each kind is here).
 */
export const ARTIFACT_RESOURCES: ResourceRule[] = [
  { group: '', resources: ['namespaces', 'serviceaccounts', 'configmaps', 'secrets'], verbs: ['get', 'create', 'patch', 'delete'] },
  { group: 'apps', resources: ['daemonsets'], verbs: ['get', 'create', 'patch', 'delete'] },
  { group: 'rbac.authorization.k8s.io', resources: ['roles', 'rolebindings'], verbs: ['get', 'create', 'patch', 'delete'] },
  { group: 'image.openshift.io', resources: ['imagestreams'], verbs: ['get', 'create', 'patch', 'delete'] },
  { group: 'build.openshift.io', resources: ['buildconfigs'], verbs: ['get', 'create', 'patch', 'delete'] },
  { group: 'machineconfiguration.openshift.io', resources: ['machineconfigs', 'machineosconfigs'], verbs: ['get', 'create', 'patch', 'delete'] },
  { group: 'kmm.sigs.x-k8s.io', resources: ['modules'], verbs: ['get', 'create', 'patch', 'delete'] },
  { group: 'operators.coreos.com', resources: ['operatorgroups', 'subscriptions'], verbs: ['get', 'create', 'patch', 'delete'] },
];

export const API_CALLS = {
  discovery: {
    why: 'map kinds to resources (GVK → plural, namespaced)',
    observe: true,
    nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*'],
  },
  readyz: { why: 'measure API outages (a reboot on single-node OpenShift)', observe: true, nonResourceURLs: ['/readyz'] },
  'watch-nodes': {
    why: 'Ready transitions and reboots (bootID) of nodes',
    observe: true,
    rules: [{ group: '', resources: ['nodes'], verbs: ['get', 'list', 'watch'] }],
  },
  'watch-pods': {
    why: "restarts of the method's pods",
    observe: true,
    rules: [{ group: '', resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
  },
  'watch-events': { why: 'cluster events for the timeline', observe: true, rules: [{ group: '', resources: ['events'], verbs: ['list', 'watch'] }] },
  'watch-builds': { why: 'in-cluster driver builds', observe: true, rules: [{ group: 'build.openshift.io', resources: ['builds'], verbs: ['list', 'watch'] }] },
  'watch-machineconfigpools': {
    why: 'node update progress (updated/degraded machine counts)',
    observe: true,
    rules: [{ group: 'machineconfiguration.openshift.io', resources: ['machineconfigpools'], verbs: ['list', 'watch'] }],
  },
  'watch-machineosbuilds': {
    why: "on-cluster layering's image builds (MachineOSBuild Succeeded/Failed, wall time, figures): a failed one blocks the pool, a running one keeps a wait for the driver going",
    observe: true,
    rules: [{ group: 'machineconfiguration.openshift.io', resources: ['machineosbuilds'], verbs: ['list', 'watch'] }],
  },
  'watch-daemonsets': {
    why: "the method's DaemonSets' status (desiredNumberScheduled): one that schedules no pod anywhere ends the wait for the driver",
    observe: true,
    rules: [{ group: 'apps', resources: ['daemonsets'], verbs: ['list', 'watch'] }],
  },
  'watch-kmm-modules': { why: 'KMM Module status', observe: true, rules: [{ group: 'kmm.sigs.x-k8s.io', resources: ['modules'], verbs: ['list', 'watch'] }] },
  'read-clusterversion': {
    why: 'the running OpenShift version',
    observe: true,
    rules: [{ group: 'config.openshift.io', resources: ['clusterversions'], verbs: ['get'], resourceNames: ['version'] }],
  },
  'olm-install': {
    why: 'reuse an existing OperatorGroup/Subscription; wait for the operator CSV to succeed before applying its kinds',
    observe: true,
    rules: [
      { group: 'operators.coreos.com', resources: ['operatorgroups', 'subscriptions'], verbs: ['get', 'list'] },
      { group: 'operators.coreos.com', resources: ['clusterserviceversions'], verbs: ['get'] },
    ],
  },
  'binary-build': {
    why: 'start a Binary BuildConfig with the driver source (what `oc start-build --from-dir` does), follow the Build and its log, and tell whether an unchanged BuildConfig already built that source',
    observe: false,
    rules: [
      { group: 'build.openshift.io', resources: ['buildconfigs/instantiatebinary'], verbs: ['create'] },
      { group: 'build.openshift.io', resources: ['buildconfigs', 'builds', 'builds/log'], verbs: ['get'] },
    ],
  },
  'read-source-image': {
    why: "whether a KMM build's source image is in the internal registry (its ImageStreamTag)",
    observe: true,
    rules: [{ group: 'image.openshift.io', resources: ['imagestreamtags'], verbs: ['get'] }],
  },
  'read-driver-toolkit': {
    why: "the cluster's driver-toolkit image (imagestream openshift/driver-toolkit), for the DTK and KMM builds",
    observe: true,
    rules: [{ group: 'image.openshift.io', resources: ['imagestreams'], verbs: ['get'], resourceNames: ['driver-toolkit'] }],
  },
  'find-prometheus': {
    why: 'find the thanos-querier route (openshift-monitoring) and the ingress CA that signs it (openshift-config-managed)',
    observe: true,
    rules: [
      { group: 'route.openshift.io', resources: ['routes'], verbs: ['get'], resourceNames: ['thanos-querier'] },
      { group: '', resources: ['configmaps'], verbs: ['get'], resourceNames: ['default-ingress-cert'] },
    ],
  },
  'query-prometheus': {
    why: 'read memory/CPU from thanos-querier (what cluster-monitoring-view grants)',
    observe: true,
    rules: [
      { group: 'monitoring.coreos.com', resources: ['prometheuses/api'], verbs: ['get'], resourceNames: ['k8s'] },
      { group: '', resources: ['namespaces'], verbs: ['get'] },
    ],
  },
  'prometheus-token': {
    why: 'a token for thanos-querier when the kubeconfig has only a client certificate: ServiceAccount kmodlab-prometheus bound to cluster-monitoring-view, TokenRequest',
    observe: false,
    rules: [
      { group: '', resources: ['serviceaccounts'], verbs: ['get', 'create', 'patch', 'delete'] },
      { group: '', resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: ['kmodlab-prometheus'] },
      { group: 'rbac.authorization.k8s.io', resources: ['clusterrolebindings'], verbs: ['get', 'create', 'patch', 'delete'] },
    ],
  },
  'apply-artifacts': { why: "server-side apply / delete the method's rendered objects", observe: false, rules: ARTIFACT_RESOURCES },
  'kmodlab-namespace': {
    why: "kmodlab's own namespace for probe and canary pods",
    observe: false,
    // Not name-restricted: RBAC cannot restrict `create` by name, and the name is a flag.
    rules: [{ group: '', resources: ['namespaces'], verbs: ['get', 'create', 'patch', 'delete'] }],
  },
  'probe-pods': {
    why: 'short-lived privileged pods that read /sys/module on each node',
    observe: false,
    rules: [
      { group: '', resources: ['pods'], verbs: ['get', 'create', 'delete'] },
      { group: '', resources: ['pods/log'], verbs: ['get'] },
      { group: 'security.openshift.io', resources: ['securitycontextconstraints'], verbs: ['use'], resourceNames: ['privileged'] },
    ],
  },
  canary: {
    why: 'canary Deployments (one per node) whose unavailability measures disruption',
    observe: false,
    rules: [{ group: 'apps', resources: ['deployments'], verbs: ['get', 'create', 'patch', 'delete'] }],
  },
  'canary-probe': {
    why: "probe each node's canary pod over HTTP through the API server's pod proxy (GET pods/<pod>:8080/proxy/) every second: failed probes are the disruption figure",
    observe: false,
    rules: [{ group: '', resources: ['pods/proxy'], verbs: ['get'] }],
  },
  'read-leftovers': {
    why: "what a removal left on the nodes: the rendered MachineConfig a node is on and the release's base OS image",
    observe: true,
    rules: [
      { group: 'machineconfiguration.openshift.io', resources: ['machineconfigs'], verbs: ['get'] },
      { group: '', resources: ['configmaps'], verbs: ['get'], resourceNames: ['machine-config-osimageurl'] },
    ],
  },
  'watch-canary': {
    why: 'canary Deployment availability (context; disruption is measured by the canary probes)',
    observe: true,
    rules: [{ group: 'apps', resources: ['deployments'], verbs: ['list', 'watch'] }],
  },
  'kernel-switch': {
    why: 'MachineConfig kernelType: realtime (kernel-switch scenario)',
    observe: false,
    rules: [{ group: 'machineconfiguration.openshift.io', resources: ['machineconfigs'], verbs: ['get', 'create', 'patch', 'delete'] }],
  },
  upgrade: {
    why: 'ClusterVersion desiredUpdate (upgrade scenario, only with --upgrade-to and confirmation)',
    observe: false,
    rules: [{ group: 'config.openshift.io', resources: ['clusterversions'], verbs: ['patch'], resourceNames: ['version'] }],
  },
} as const satisfies Record<string, ApiCall>;

export type ApiCallId = keyof typeof API_CALLS;

export function apiCall(id: ApiCallId): ApiCall {
  return API_CALLS[id];
}

/** True when `verb` on `group`/`resource` (optionally named) is allowed by `rules` (RBAC semantics). */
export function rulesAllow(rules: readonly ResourceRule[], verb: string, group: string, resource: string, name?: string): boolean {
  return rules.some(
    (r) =>
      r.group === group &&
      r.resources.includes(resource) &&
      (r.verbs as string[]).includes(verb) &&
      // RBAC: resourceNames restrict get/patch/delete…; list/watch/create are never name-scoped
      // requests, so a name-restricted rule does not grant them (except to a named watch).
      (!r.resourceNames || (name !== undefined && r.resourceNames.includes(name))),
  );
}

/** True when `path` matches one of the non-resource URL patterns (`/apis/*` = prefix). */
export function nonResourceAllowed(patterns: readonly string[], path: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : path === p));
}

/** The calls available in a mode. */
export function callsFor(mode: { observeOnly: boolean }): [ApiCallId, ApiCall][] {
  return (Object.entries(API_CALLS) as [ApiCallId, ApiCall][]).filter(([, c]) => !mode.observeOnly || c.observe);
}

export function isReadOnly(call: ApiCall): boolean {
  return (call.rules ?? []).every((r) => r.verbs.every((v) => READ_VERBS.includes(v)));
}
