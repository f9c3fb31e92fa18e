/**
 * The node lifecycle controller's health check, as kube-controller-manager runs it
 * (k8s.io/kubernetes pkg/controller/nodelifecycle/node_lifecycle_controller.go,
 * monitorNodeHealth/tryUpdateNodeHealth): every monitor period it lists the Nodes; a node
 * whose heartbeat (Ready's lastHeartbeatTime) has not changed for longer than the grace
 * period, measured on the controller's own clock from when it last SAW a change, gets
 * every condition set to Unknown, reason NodeStatusUnknown, message "Kubelet stopped
 * posting node status.", lastHeartbeatTime kept and lastTransitionTime now.
 * Taints (node.kubernetes.io/unreachable) and evictions are not reproduced yet.
 *
 * Upstream defaults (node-monitor-period 5 s, node-monitor-grace-period 40 s, kubelet
 * status every 10 s) are scaled down for the lab: see LAB_NODE_TIMING.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { NodeApi } from '../../kubelet/node-api.js';

/** The lab's node timing (upstream in brackets). A dead node is Unknown within grace + monitor period. */
export const LAB_NODE_TIMING = {
  /** kubelet status post interval [nodeStatusUpdateFrequency 10 s]. */
  heartbeatMs: 2_000,
  /** [node-monitor-period 5 s] */
  monitorPeriodMs: 1_000,
  /**
   * [node-monitor-grace-period 40 s; 50 s since 1.32] The guest agent answers one request
   * at a time, so under load a status probe waits behind pod and metrics work: 8 s made
   * busy nodes flap NotReady (false "node down" figures); a reboot under TCG takes longer
   * than this anyway, so it is still seen.
   */
  gracePeriodMs: 15_000,
} as const;

export interface NodeLifecycleOptions {
  api: NodeApi;
  monitorPeriodMs: number;
  gracePeriodMs: number;
  log?: (line: string) => void;
  /** The controller's clock (ms). */
  now?: () => number;
}

interface Health {
  heartbeat: string | undefined;
  /** When this controller last saw the heartbeat change (upstream: probeTimestamp). */
  probeMs: number;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

const KUBELET_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export class NodeLifecycleController {
  private readonly health = new Map<string, Health>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: NodeLifecycleOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** One pass over every Node; returns the names marked Unknown in this pass. */
  async monitorOnce(): Promise<string[]> {
    const nodes = await this.opts.api.listNodes();
    const now = this.now();
    const marked: string[] = [];
    const seen = new Set<string>();
    for (const node of nodes) {
      const name = node.metadata?.name;
      if (!name) continue;
      seen.add(name);
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      const beat = ready?.lastHeartbeatTime ? new Date(ready.lastHeartbeatTime).toISOString() : undefined;
      const h = this.health.get(name);
      if (!h || h.heartbeat !== beat) {
        this.health.set(name, { heartbeat: beat, probeMs: now });
        continue;
      }
      if (now - h.probeMs <= this.opts.gracePeriodMs) continue;
      if (ready?.status === 'Unknown') continue;
      await this.opts.api.patchNodeStatus(name, { status: { conditions: unknownConditions(node, now) } });
      this.opts.log?.(`node ${name}: no status for ${Math.round((now - h.probeMs) / 1000)} s: Ready=Unknown (NodeStatusUnknown)`);
      marked.push(name);
    }
    for (const name of this.health.keys()) if (!seen.has(name)) this.health.delete(name);
    return marked;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.monitorOnce()
        .then(() => undefined)
        .catch((e: Error) => this.opts.log?.(`node lifecycle: ${e.message.split('\n')[0]}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.opts.monitorPeriodMs);
        });
    };
    this.timer = setTimeout(tick, this.opts.monitorPeriodMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/** The conditions tryUpdateNodeHealth writes: each kubelet condition Unknown, a missing one added. */
function unknownConditions(node: V1Node, now: number): Record<string, string>[] {
  const at = rfc3339(now);
  const existing = node.status?.conditions ?? [];
  return KUBELET_CONDITIONS.map((type) => {
    const c = existing.find((x) => x.type === type);
    const heartbeat = c?.lastHeartbeatTime ? rfc3339(new Date(c.lastHeartbeatTime).getTime()) : rfc3339(new Date(node.metadata?.creationTimestamp ?? now).getTime());
    return {
      type,
      status: 'Unknown',
      reason: c ? 'NodeStatusUnknown' : 'NodeStatusNeverUpdated',
      message: c ? 'Kubelet stopped posting node status.' : 'Kubelet never posted node status.',
      lastHeartbeatTime: heartbeat,
      lastTransitionTime: at,
    };
  });
}
