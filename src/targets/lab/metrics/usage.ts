/**
 * What the lab's metrics exporter publishes, as plain data: the pods of each node with
 * their sampled usage, and each node's own figures. The exporter only renders this; a
 * `UsageSource` produces it (the lab's QEMU nodes, or a named fake in tests).
 */

export interface ContainerUsage {
  namespace: string;
  pod: string;
  container: string;
  /** Image reference the container runs (cAdvisor's `image` label). */
  image?: string;
  /** Working set: what the kubelet evicts on and `kubectl top` shows (bytes). */
  workingSetBytes?: number;
  /** Usage including cache (cAdvisor's container_memory_usage_bytes). */
  usageBytes?: number;
  /** CPU time used since the container started (seconds, a counter). */
  cpuSeconds?: number;
  /** When these figures were read (ms since epoch); the exporter stamps samples with it. */
  at?: number;
}

export interface NodeUsage {
  node: string;
  /** /proc/meminfo MemTotal and MemAvailable of the node (bytes). */
  memTotalBytes?: number;
  memAvailableBytes?: number;
  /** Whole-node figures, as cAdvisor's root cgroup (`id="/"`). */
  workingSetBytes?: number;
  cpuSeconds?: number;
  /** The node's machine seen from the host: the QEMU process (lab only). */
  hostRssBytes?: number;
  hostCpuSeconds?: number;
  at?: number;
}

export interface UsageSnapshot {
  /** Containers by node name. */
  containers: Array<ContainerUsage & { node: string }>;
  nodes: NodeUsage[];
}

/** "List pods with their sampled usage": one call per scrape. */
export interface UsageSource {
  sample(): Promise<UsageSnapshot>;
}
