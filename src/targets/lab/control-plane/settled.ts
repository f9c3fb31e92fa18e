/**
 * When a wait for the driver can end before its timeout without guessing: the lab's
 * controllers are plain functions of the stored objects, the nodes and the registry,
 * run only by reconcile() — no timers, no requeue delays (controllers/). So once a
 * whole reconcile pass acts on nothing (no pod started or stopped, no build, no
 * reboot, no fault, no progress step) and nothing on the waited-for nodes runs on its
 * own (no pod in Running: its container could still (un)load a module; every node
 * ready), the next pass sees the same inputs and does the same nothing: the state the
 * wait is for cannot come without an outside action. The wait then ends, saying so,
 * instead of polling the rest of its timeout. A crash-looping pod keeps acting (a
 * restart and a fault each pass), so it never settles and is waited for to the end.
 *
 * This holds for the lab only: a real cluster's controllers run on their own clocks,
 * so the cluster target keeps its timeout.
 */
import type { EventKind } from '../../../evaluation/events.js';
import type { ClusterNode, EmitFn } from './cluster-types.js';

/** What observing emits (samples and state reads): not something a controller did. */
const OBSERVATIONS: ReadonlySet<EventKind> = new Set<EventKind>(['canary', 'module-state', 'sample-memory', 'sample-cpu', 'sample-node-memory']);

/** Quiet reconcile passes in a row before the state counts as settled (one would do; two rule out an emit racing the check). */
export const QUIET_PASSES = 2;

/** Counts what the control plane does (every event but observations) through the emit hook it is given. */
export class ActivityCounter {
  private n = 0;
  wrap(emit: EmitFn): EmitFn {
    return (kind, data, node) => {
      if (!OBSERVATIONS.has(kind)) this.n++;
      emit(kind, data, node);
    };
  }
  get count(): number {
    return this.n;
  }
}

/** Why nothing more can happen on these nodes without an outside action, or undefined while something still can. */
export function nothingLeftToRun(nodes: readonly ClusterNode[], pending: readonly string[]): string | undefined {
  if (nodes.some((n) => n.lab.state !== 'ready')) return undefined;
  for (const name of pending) {
    const node = nodes.find((n) => n.name === name);
    if (!node) return undefined;
    if ([...node.pods.values()].some((p) => p.phase === 'Running')) return undefined;
  }
  return 'the control plane had nothing left to do and no pod is running on the node';
}

/** Follows reconcile passes and says when the last `QUIET_PASSES` of them did nothing. */
export class SettleWatch {
  private quiet = 0;
  private last: number;
  constructor(private readonly activity: ActivityCounter) {
    this.last = activity.count;
  }
  /** Call after each reconcile pass; true once enough passes in a row did nothing. */
  pass(): boolean {
    const now = this.activity.count;
    this.quiet = now === this.last ? this.quiet + 1 : 0;
    this.last = now;
    return this.quiet >= QUIET_PASSES;
  }
}
