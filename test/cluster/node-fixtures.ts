/** Node objects as the API returns them (fixtures for watch and target tests). */
export function node(name: string, bootID: string, ready = true, extra: { unschedulable?: boolean; kernel?: string } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } as Record<string, string> },
    spec: extra.unschedulable ? { unschedulable: true } : {},
    status: {
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'KubeletReady' : 'NodeStatusUnknown' }],
      nodeInfo: { bootID, kernelVersion: extra.kernel ?? '5.14.0-284.52.1.el9_2.x86_64', osImage: 'Red Hat Enterprise Linux CoreOS 414.92.202402051952-0' },
    },
  };
}

