/**
 * A Node as the kubelet registers it (k8s.io/kubernetes pkg/kubelet/kubelet_node_status.go):
 * labels, status.nodeInfo (bootID, kernelVersion, osImage…) and the Ready condition.
 * The node agent creates and refreshes it through the API; tests use it to stand in for one.
 */
import type { Obj } from './status.js';

export interface NodeFacts {
  name: string;
  bootID: string;
  kernelVersion: string;
  osImage?: string;
  ready: boolean;
  /** Extra labels, e.g. node-role.kubernetes.io/master. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * Lab only: the node's guest ports reachable from the host, as JSON `{"<guest port>": <host
 * port>}` — QEMU user networking forwards 127.0.0.1:<host port> to the guest (node/qemu.ts).
 * The lab API server's pod proxy goes through it (api-server/pod-proxy.ts), where a real
 * API server would dial the pod's IP.
 */
export const LAB_HOST_PORTS = 'lab.kmodlab.io/host-ports';

export function nodeObject(f: NodeFacts, now = new Date()): Obj {
  const at = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: f.name,
      labels: { 'kubernetes.io/hostname': f.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...(f.labels ?? {}) },
      ...(f.annotations ? { annotations: f.annotations } : {}),
    },
    spec: {},
    status: {
      conditions: [
        {
          type: 'Ready',
          status: f.ready ? 'True' : 'False',
          reason: f.ready ? 'KubeletReady' : 'KubeletNotReady',
          message: f.ready ? 'kubelet is posting ready status' : 'node agent is not ready',
          lastHeartbeatTime: at,
          lastTransitionTime: at,
        },
      ],
      nodeInfo: {
        bootID: f.bootID,
        kernelVersion: f.kernelVersion,
        osImage: f.osImage ?? 'kmodlab lab node',
        operatingSystem: 'linux',
        architecture: 'amd64',
        containerRuntimeVersion: 'kmodlab-lab://0',
        kubeletVersion: 'v1.27.16+kmodlab-lab',
        kubeProxyVersion: '',
        machineID: '',
        systemUUID: '',
      },
      addresses: [{ type: 'Hostname', address: f.name }],
    },
  };
}
