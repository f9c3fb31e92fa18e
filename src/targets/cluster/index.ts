/** The cluster target: a real OpenShift/Kubernetes cluster (see README.md in this folder). */
export { ClusterTarget, NODES, NAMESPACES } from './cluster-target.js';
export type { ClusterTargetOptions, ScenarioSupport } from './cluster-target.js';
export { resolveKubeconfig, kubeconfigFiles, Credentials } from './kubeconfig.js';
export type { KubeconfigOptions, ResolvedKubeconfig } from './kubeconfig.js';
export { KubeClient, KubeApiError, APPLY_PATCH, verbOf, resourcePath } from './client.js';
export type { ResourceRef, RequestSpec, CallRecord, KubeClientOptions } from './client.js';
export { ResumableWatch } from './watch.js';
export type { WatchOptions, WatchStats, WatchObject, WatchEventType } from './watch.js';
export { ReadyzMonitor } from './readyz.js';
export type { Outage, ReadyzOptions } from './readyz.js';
export { probeModules, probePod, probeScript, parseProbeLog, DEFAULT_PROBE_IMAGE } from './probe-pod.js';
export type { ModuleProbe, ProbeOptions } from './probe-pod.js';
export { PrometheusClient, chooseStep, findGaps, parseRangeResponse, QUERIES, MAX_POINTS } from './prometheus.js';
export type { Series, Gap } from './prometheus.js';
export { API_CALLS, ARTIFACT_RESOURCES, callsFor, rulesAllow, nonResourceAllowed, isReadOnly } from './api-calls.js';
export type { ApiCall, ApiCallId, ResourceRule, Verb } from './api-calls.js';
export { clusterRoles, clusterRolesYaml } from './rbac.js';
