/**
 * Shared state of the emulated control plane: nodes as the API server would show
 * them (labels, pods) and the hooks controllers use to report what happens.
 */
import type { EventKind } from '../../../evaluation/events.js';
import type { LabKernel } from '../kernels/catalog.js';
import type { LabNode } from '../node/node.js';
import type { LayeredImage } from '../os-image/layered-image.js';
import type { PodSightings } from '../../pod-restarts.js';

export type EmitFn = (kind: EventKind, data: Record<string, unknown>, node?: string) => void;

export interface PodRecord {
  name: string;
  /** `DaemonSet/<ns>/<name>` or `Module/<ns>/<name>`. */
  owner: string;
  component: string;
  imageRef: string;
  restarts: number;
  phase: 'Running' | 'CrashLoopBackOff' | 'ImagePullBackOff' | 'Completed';
  /** The manifest's preStop command, run when the pod is stopped gracefully. */
  preStop?: string[];
  /** Host clock when its main process was last (re)started. */
  startedAt: number;
  /** CPU ms at the previous CPU sample, for rates. */
  lastCpu?: { t: number; cpuMs: number };
  /** What was observed of it so far: a restart counts only when seen (targets/pod-restarts.ts). */
  sightings?: PodSightings;
}

/** `managedBy`: the MachineOSConfig that builds the node's image (on-cluster layering); none for a pinned osImageURL. */
export type NodeOs = { kind: 'stock' } | { kind: 'layered'; ref: string; image: LayeredImage; managedBy?: string };

export interface ClusterNode {
  name: string;
  lab: LabNode;
  /** MachineConfigPool the node belongs to (`master` on single-node). */
  pool: 'worker' | 'master';
  labels: Record<string, string>;
  os: NodeOs;
  pods: Map<string, PodRecord>;
  /** Cordoned for a drain/reboot: nothing new is scheduled. */
  cordoned: boolean;
}

export interface ClusterRelease {
  kernel: LabKernel;
  /** Kernel the pools run when `kernelType: realtime` is set. */
  realtime?: LabKernel;
}
