/**
 * The metrics kmodlab derives, with their unit and the scenarios they apply to. The
 * report's tables, JSON and HTML all iterate this list, so a metric is added in one place.
 */
import type { ScenarioId } from '../events.js';

export type MetricUnit = 'ms' | 'bytes' | 'count' | 'bool' | 'string' | 'share';

export interface MetricInfo {
  id: string;
  title: string;
  unit: MetricUnit;
  /** Scenarios it applies to (default: all). */
  scenarios?: readonly ScenarioId[];
  /** What it means, for the "How measured" section. */
  how: string;
}

const CHANGE: ScenarioId[] = ['upgrade', 'kernel-switch'];

export const SCENARIO_METRICS: readonly MetricInfo[] = [
  { id: 'success', title: 'Success', unit: 'bool', how: 'every module of the driver loaded (uninstall: unloaded) in /sys/module on every node at scenario end; upgrade/kernel switch: on the new kernel' },
  { id: 'nodesWithDriver', title: 'Nodes with the driver loaded at end', unit: 'count', how: 'nodes whose last module-state for every module is loaded, in their last boot' },
  { id: 'timeToDriverMs', title: 'Time to driver', unit: 'ms', how: 'from the apply (upgrade: the change; uninstall: the delete) to every module loaded (uninstall: unloaded) on a node, the slowest node' },
  { id: 'operatorInstallMs', title: 'Operator install (part of time to driver)', unit: 'ms', scenarios: ['day1', 'day2'], how: 'from the apply carrying the operator’s Subscription to the last operator pod running; time to driver is measured from the same apply, so it includes this; "not measured" says why (emulated operator, or installed before the run)' },
  { id: 'loadedAtFirstBoot', title: 'Loaded at first boot', unit: 'bool', scenarios: ['day1'], how: 'the driver was loaded during the node’s first boot with the install-time artifacts in place (no extra reboot)' },
  { id: 'timeFromFirstBootMs', title: 'Time from first boot to loaded', unit: 'ms', scenarios: ['day1'], how: 'from that first boot (node agent answering) to the driver loaded' },
  { id: 'reboots', title: 'Reboots', unit: 'count', how: 'node-up events with a boot id different from the node’s previous one, after the trigger (day 1: after the first boot, i.e. extra reboots)' },
  { id: 'downtimeTotalMs', title: 'Node downtime, total', unit: 'ms', how: 'node-down → next node-up, summed over nodes' },
  { id: 'downtimeLongestMs', title: 'Node downtime, longest', unit: 'ms', how: 'the longest single node-down → node-up interval' },
  { id: 'canaryDisruptionMs', title: 'Canary disruption', unit: 'ms', how: 'time covered by failed canary probes: an HTTP GET of each node’s canary pod every 1 s from outside the node, through the API server’s pod proxy (a missing canary pod is a failed probe), from the first failed probe to the next good one, summed over nodes; the Deployment’s availability is not used' },
  { id: 'canaryFailedProbes', title: 'Canary failed probes', unit: 'count', how: 'canary probes (1 s interval, through the API server’s pod proxy) that failed after the trigger, summed over nodes' },
  { id: 'podRestarts', title: 'Pod restarts', unit: 'count', how: 'pod-restart events of the method’s resident pods: only observed restarts (restart count rose; the container was seen running, gone, and running again; or a pod replaced by a new one of its lineage — same name, or same owner on the same node, new uid — after it was seen running and gone), never a node boot or a first sighting by itself' },
  { id: 'buildCount', title: 'Builds', unit: 'count', how: 'driver builds recorded (cache hits included)' },
  { id: 'buildCachedCount', title: 'Builds served from cache', unit: 'count', how: 'builds that did no work (registry/cache hit)' },
  { id: 'buildWallMs', title: 'Build wall time', unit: 'ms', how: 'sum of wall time of builds that did work' },
  { id: 'buildCpuMs', title: 'Build CPU (user+sys)', unit: 'ms', how: 'sum of user+system CPU of the build process tree' },
  { id: 'buildPeakRssBytes', title: 'Build peak RSS', unit: 'bytes', how: 'largest resident set of one build process' },
  { id: 'buildOutputBytes', title: 'Build output', unit: 'bytes', how: 'bytes of build output (modules / image layer)' },
  { id: 'buildImageBytes', title: 'Image size', unit: 'bytes', how: 'the largest image the scenario’s builds pushed, as the registry stores it (config + compressed layers; lab: read from the registry after the push)' },
  { id: 'buildImageLayers', title: 'Image layers', unit: 'count', how: 'layer count of that image' },
  { id: 'buildBytesPushed', title: 'Bytes pushed', unit: 'bytes', how: 'blobs the builds’ pushes added to the registry (lab: its storage before and after each push), summed over builds that did work' },
  { id: 'imagePulledBytesPerNode', title: 'Image bytes pulled per node', unit: 'bytes', how: 'the bytes the node fetched in the kubelet’s Pulled Events after actual pulls (not “already present”; a cluster’s kubelet gives the image size only, an upper bound), and the blobs the node fetched in the lab machine-config daemon’s Pulled Events for a MachineConfig’s OS image (not the release’s own), each image once per node, summed per node; the most any node pulled' },
  { id: 'registryStorageBytes', title: 'Registry storage used', unit: 'bytes', scenarios: ['day1', 'day2', 'upgrade', 'kernel-switch'], how: 'lab: after the scenario, the unique blobs (config + compressed layers) of the images the row’s builds pushed so far that no release image holds, as the registry stores them; a cluster’s registry storage is not read' },
  { id: 'memoryBytes', title: 'Resident memory (median)', unit: 'bytes', how: 'median RSS per resident component once the driver was in place on the node (steady state), summed per node and over nodes' },
  { id: 'cpuShare', title: 'Resident CPU (share of a core)', unit: 'share', how: 'Σ cpuMs / Σ windowMs per resident component in steady state, summed' },
  { id: 'moduleCoreSizeBytes', title: 'Module core size', unit: 'bytes', how: '/sys/module/<m>/coresize of each module, summed' },
  { id: 'moduleTaint', title: 'Kernel taint', unit: 'string', how: '/sys/module/<m>/taint (O: out-of-tree, E: unsigned)' },
  { id: 'moduleSigned', title: 'Module signed', unit: 'bool', how: 'every module carries a signature' },
  { id: 'manualSteps', title: 'Manual steps', unit: 'count', how: 'steps a person would have to do, recorded by the scenario' },
  { id: 'leftovers', title: 'Left on the nodes after removal', unit: 'count', scenarios: ['uninstall'], how: 'what the target found on the nodes once the removal settled: pods left in the method\'s namespaces, a custom OS image still booted, KMM node labels (src/targets/cluster/leftovers.ts)' },
  { id: 'nodesLeftOnOldRelease', title: 'Nodes left on the old release', unit: 'count', scenarios: CHANGE, how: 'nodes whose last boot is not on the new kernel' },
];

export const NODE_METRICS: readonly MetricInfo[] = [
  { id: 'success', title: 'Success', unit: 'bool', how: '' },
  { id: 'kver', title: 'Kernel at end', unit: 'string', how: '' },
  { id: 'timeToDriverMs', title: 'Time to driver', unit: 'ms', how: '' },
  { id: 'loadedAtFirstBoot', title: 'Loaded at first boot', unit: 'bool', scenarios: ['day1'], how: '' },
  { id: 'timeFromFirstBootMs', title: 'First boot → loaded', unit: 'ms', scenarios: ['day1'], how: '' },
  { id: 'reboots', title: 'Reboots', unit: 'count', how: '' },
  { id: 'downtimeTotalMs', title: 'Downtime', unit: 'ms', how: '' },
  { id: 'downtimeLongestMs', title: 'Longest down', unit: 'ms', how: '' },
  { id: 'canaryDisruptionMs', title: 'Canary down', unit: 'ms', how: '' },
  { id: 'imagePulledBytes', title: 'Image bytes pulled', unit: 'bytes', how: '' },
  { id: 'memoryBytes', title: 'Resident memory', unit: 'bytes', how: '' },
  { id: 'cpuShare', title: 'Resident CPU', unit: 'share', how: '' },
];

export function appliesTo(m: MetricInfo, s: ScenarioId): boolean {
  return m.scenarios === undefined || m.scenarios.includes(s);
}

/** Scenario-specific title, e.g. "Time to restored" for an upgrade. */
export function metricTitle(m: MetricInfo, s: ScenarioId): string {
  if (m.id === 'timeToDriverMs') {
    if (s === 'upgrade' || s === 'kernel-switch') return 'Time to driver restored';
    if (s === 'uninstall') return 'Time to driver unloaded';
    return 'Time from apply to loaded';
  }
  if (m.id === 'reboots' && s === 'day1') return 'Extra reboots (after first boot)';
  if (m.id === 'success') {
    if (s === 'uninstall') return 'Success (driver unloaded everywhere)';
    if (s === 'upgrade' || s === 'kernel-switch') return 'Success (restored on new kernel everywhere)';
    return 'Success (driver loaded everywhere)';
  }
  return m.title;
}
