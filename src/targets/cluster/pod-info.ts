/**
 * What the resource sampler needs to know of a watched pod: its component and node,
 * whether it still runs, and whether it is a build pod — an OpenShift Build's pod
 * (label `openshift.io/build.name`, set by the build controller) or a KMM build/sign
 * pod (label `kmm.node.kubernetes.io/pod-type`: build, builder or sign, depending on
 * the KMM release). Build pods are the build's cost, not the driver's steady state.
 */
import { componentOf } from './observers.js';
import type { PodInfo } from './resource-samples.js';
import type { WatchObject } from './watch.js';

const KMM_POD_TYPE = 'kmm.node.kubernetes.io/pod-type';

export function podInfo(pod: WatchObject): PodInfo {
  const p = pod as WatchObject & { spec?: { nodeName?: string }; status?: { phase?: string } };
  const labels = p.metadata.labels ?? {};
  const phase = p.status?.phase;
  return {
    component: componentOf(p as never),
    node: p.spec?.nodeName,
    alive: phase !== 'Succeeded' && phase !== 'Failed',
    build: labels['openshift.io/build.name'] !== undefined || ['build', 'builder', 'sign'].includes(labels[KMM_POD_TYPE] ?? ''),
  };
}
