/**
 * The canary: one small Deployment per node, pinned with a nodeSelector on
 * `kubernetes.io/hostname` (not nodeName: a drained node's canary must wait for the
 * node like a user workload would, and the scheduler must see it). Its availability
 * is what a user's workload would have experienced: evicted by a drain, down during
 * a reboot, back when the node is schedulable and the pod Ready again.
 *
 * The pod serves HTTP (agnhost `netexec`, the e2e tests' echo server: `GET /` answers 200)
 * on CANARY_PORT, and is probed from outside the node through the API server's pod proxy
 * (canary-probe.ts): disruption is what those probes see, not the Deployment's
 * availability. `canaryImage` overrides the image; it must run agnhost's `netexec` as
 * its entrypoint's first argument (any agnhost build does).
 */
import { dnsLabel, labelValue } from '../../names.js';
import { LABEL_COMPONENT, LABEL_MANAGED_BY } from '../../labels.js';
import type { K8sObject } from '../../artifacts/artifact-set.js';
import type { ResourceRef } from './client.js';

export const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true };
/** Label (selector-safe form of the node name) and annotation (the exact node name). */
export const CANARY_NODE_LABEL = 'kmodlab.io/canary-node';
export const CANARY_SELECTOR = `${LABEL_COMPONENT}=canary`;
/** agnhost (kubernetes/test/images/agnhost), entrypoint /agnhost; `netexec` serves HTTP. */
export const DEFAULT_CANARY_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.53';
/** The port the canary pod serves HTTP on (probed through pods/<pod>:<port>/proxy/). */
export const CANARY_PORT = 8080;
/** agnhost's HTTP server on CANARY_PORT (`GET /` → 200 with the time). */
export const CANARY_ARGS = ['netexec', `--http-port=${CANARY_PORT}`];

export function canaryDeployment(namespace: string, node: string, image = DEFAULT_CANARY_IMAGE): K8sObject & Record<string, unknown> {
  const name = dnsLabel('kmodlab-canary', node);
  const labels = { [LABEL_MANAGED_BY]: 'kmodlab', [LABEL_COMPONENT]: 'canary', [CANARY_NODE_LABEL]: labelValue(node) };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels, annotations: { [CANARY_NODE_LABEL]: node } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { [LABEL_COMPONENT]: 'canary', [CANARY_NODE_LABEL]: labels[CANARY_NODE_LABEL] } },
      // Recreate: never two canaries on one node, so "available" means this node's pod.
      strategy: { type: 'Recreate' },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': node },
          // Masters on compact/single-node clusters carry NoSchedule taints.
          tolerations: [{ key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' }, { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'canary',
              image,
              args: CANARY_ARGS,
              ports: [{ name: 'http', containerPort: CANARY_PORT, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/', port: CANARY_PORT }, periodSeconds: 2, timeoutSeconds: 1 },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
              resources: { requests: { cpu: '1m', memory: '8Mi' }, limits: { memory: '32Mi' } },
            },
          ],
        },
      },
    },
  };
}
