/**
 * Renders a usage snapshot in the Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/), with the series and
 * labels an OpenShift Prometheus holds for them:
 *
 *  - cAdvisor through the kubelet (`/metrics/cadvisor`): container_memory_working_set_bytes,
 *    container_memory_usage_bytes, container_cpu_usage_seconds_total{cpu="total"} with
 *    container, id, image, name, namespace, pod — one series per container, one per pod
 *    (container="", the pod cgroup: the sum of its containers), one for the node's root
 *    cgroup (id="/", every pod label empty). Queries keep the containers with
 *    `container!=""` (cAdvisor's metric set: google/cadvisor metrics/prometheus.go).
 *  - node-exporter: node_memory_MemTotal_bytes, node_memory_MemAvailable_bytes.
 *  - the lab's own: the QEMU process of each node seen from the host.
 *
 * One endpoint stands for every node's kubelet and node-exporter, so the labels
 * Prometheus adds on OpenShift from the ServiceMonitors' relabelings (job, node,
 * metrics_path, instance: the kubelet's and node-exporter's in
 * openshift/cluster-monitoring-operator) are written into the exposition and the lab's
 * scrape config honours them (honor_labels). The lab's node names stand for the node
 * IPs in the kubelet's `instance`; node-exporter's `instance` is the node name there too.
 */
import type { ContainerUsage, NodeUsage, UsageSnapshot } from './usage.js';

type Labels = Record<string, string>;
interface Sample {
  labels: Labels;
  value: number;
  at?: number;
}
interface Family {
  help: string;
  type: 'gauge' | 'counter';
  samples: Sample[];
}

const FAMILIES: Record<string, Omit<Family, 'samples'>> = {
  container_memory_working_set_bytes: { help: 'Current working set of the container in bytes', type: 'gauge' },
  container_memory_usage_bytes: { help: 'Current memory usage in bytes, including all memory regardless of when it was accessed', type: 'gauge' },
  container_cpu_usage_seconds_total: { help: 'Cumulative cpu time consumed in seconds.', type: 'counter' },
  node_memory_MemTotal_bytes: { help: 'Memory information field MemTotal_bytes.', type: 'gauge' },
  node_memory_MemAvailable_bytes: { help: 'Memory information field MemAvailable_bytes.', type: 'gauge' },
  kmodlab_lab_node_host_rss_bytes: { help: 'Resident memory of the QEMU process that runs the lab node, on the host.', type: 'gauge' },
  kmodlab_lab_node_host_cpu_seconds_total: { help: 'CPU time (user+system) of the QEMU process that runs the lab node, on the host.', type: 'counter' },
};

/** Target labels of the kubelet's cAdvisor endpoint on OpenShift. */
function kubeletLabels(node: string): Labels {
  return { endpoint: 'https-metrics', instance: node, job: 'kubelet', metrics_path: '/metrics/cadvisor', node, service: 'kubelet' };
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The lab's stand-in for a cgroup path (the lab's pods run without cgroups of their own). */
export function podCgroup(namespace: string, pod: string): string {
  return `/kubepods.slice/${namespace}/${pod}`;
}

export function renderExposition(snap: UsageSnapshot): string {
  const families = new Map<string, Family>();
  const add = (name: string, labels: Labels, value: number | undefined, at?: number) => {
    if (value === undefined || !Number.isFinite(value)) return;
    let f = families.get(name);
    if (!f) families.set(name, (f = { ...FAMILIES[name]!, samples: [] }));
    f.samples.push({ labels, value, at });
  };

  // Containers, then their pods (container=""): a pod's figure is the sum of its containers',
  // present only when every container has it.
  const pods = new Map<string, Array<ContainerUsage & { node: string }>>();
  for (const c of snap.containers) {
    const id = `${podCgroup(c.namespace, c.pod)}/${c.container}`;
    const l: Labels = { container: c.container, id, image: c.image ?? '', name: c.container, namespace: c.namespace, pod: c.pod, ...kubeletLabels(c.node) };
    add('container_memory_working_set_bytes', l, c.workingSetBytes, c.at);
    add('container_memory_usage_bytes', l, c.usageBytes, c.at);
    add('container_cpu_usage_seconds_total', { ...l, cpu: 'total' }, c.cpuSeconds, c.at);
    const key = `${c.node}\0${c.namespace}\0${c.pod}`;
    pods.set(key, [...(pods.get(key) ?? []), c]);
  }
  for (const cs of pods.values()) {
    const c0 = cs[0]!;
    const l: Labels = { container: '', id: podCgroup(c0.namespace, c0.pod), image: '', name: '', namespace: c0.namespace, pod: c0.pod, ...kubeletLabels(c0.node) };
    const sum = (f: (c: ContainerUsage) => number | undefined) => (cs.every((c) => f(c) !== undefined) ? cs.reduce((a, c) => a + f(c)!, 0) : undefined);
    const at = Math.max(...cs.map((c) => c.at ?? 0)) || undefined;
    add('container_memory_working_set_bytes', l, sum((c) => c.workingSetBytes), at);
    add('container_memory_usage_bytes', l, sum((c) => c.usageBytes), at);
    add('container_cpu_usage_seconds_total', { ...l, cpu: 'total' }, sum((c) => c.cpuSeconds), at);
  }
  for (const n of snap.nodes) addNode(add, n);

  const out: string[] = [];
  for (const [name, f] of families) {
    out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.keys(s.labels)
        .sort()
        .map((k) => `${k}="${escapeLabel(s.labels[k]!)}"`)
        .join(',');
      out.push(`${name}{${labels}} ${formatValue(s.value)}${s.at !== undefined ? ` ${Math.round(s.at)}` : ''}`);
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

function addNode(add: (name: string, labels: Labels, value: number | undefined, at?: number) => void, n: NodeUsage): void {
  const root: Labels = { container: '', id: '/', image: '', name: '', namespace: '', pod: '', ...kubeletLabels(n.node) };
  add('container_memory_working_set_bytes', root, n.workingSetBytes, n.at);
  add('container_cpu_usage_seconds_total', { ...root, cpu: 'total' }, n.cpuSeconds, n.at);
  const exporter: Labels = { instance: n.node, job: 'node-exporter' };
  add('node_memory_MemTotal_bytes', exporter, n.memTotalBytes, n.at);
  add('node_memory_MemAvailable_bytes', exporter, n.memAvailableBytes, n.at);
  const lab: Labels = { instance: n.node, job: 'kmodlab-lab', node: n.node };
  add('kmodlab_lab_node_host_rss_bytes', lab, n.hostRssBytes, n.at);
  add('kmodlab_lab_node_host_cpu_seconds_total', lab, n.hostCpuSeconds, n.at);
}
