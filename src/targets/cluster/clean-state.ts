/**
 * A clean starting point for each scenario on a cluster. A real cluster is not reset
 * like the lab, but what kmodlab itself left from the previous scenario is undone and
 * checked, so one method's leftovers are never measured as the next one's effects:
 *   1. the realtime-kernel MachineConfig of the kernel-switch scenario: deleted, and the
 *      pool's rollout back to the standard kernel waited for (switchKernel);
 *   2. driver modules the previous scenario looked for and that are still loaded (its
 *      removal left them, e.g. a DaemonSet deleted without its preStop unload): removed
 *      on the node with the host's `modprobe -r` (an unload pod), then the probe must
 *      show them gone.
 * Anything still not clean is a fault (`unclean-state`) and the scenario is refused
 * with an error naming the node and module or kernel.
 */
import { KubeApiError, type KubeClient } from './client.js';
import type { TargetEmit } from '../target.js';
import type { ModuleProbe } from './probe-pod.js';
import { realtimeMachineConfig, switchKernel } from './release-change.js';

export interface CleanStateInput {
  client: KubeClient;
  emit: TargetEmit;
  label: string;
  /** MachineConfigPool of the kernel switch; undefined when the cluster has no MCO. */
  pool?: string;
  /** Modules of the previous scenario (none before the first). */
  modules: string[];
  /** Nodes to check, Ready ones. */
  nodes: string[];
  /** Runs the probe (or, with unload, the unload pod) on one node. */
  probe: (node: string, modules: string[], unload: boolean) => Promise<ModuleProbe[]>;
  /** Kernel each node reports now (status.nodeInfo.kernelVersion). */
  kernels: () => Map<string, string>;
  pollMs?: number;
  rolloutTimeoutMs?: number;
}

/**
 * A realtime (PREEMPT_RT) kernel by its release string: RHCOS's carry `.rt` in the release
 * (5.14.0-284.52.1.rt14.337.el9_2.x86_64); Debian's linux-image-rt packages put the `rt`
 * flavour before the architecture (6.1.0-56-rt-amd64: the lab's realtime kernels).
 */
export function isRealtimeKernel(kver: string): boolean {
  return /\.rt\d/.test(kver) || /\+rt\b/.test(kver) || /-rt-[a-z0-9_]+$/.test(kver);
}

export async function ensureCleanState(i: CleanStateInput): Promise<void> {
  const problems: string[] = [];
  if (i.pool) {
    const mc = realtimeMachineConfig(i.pool);
    const ref = await i.client.mapping(mc.apiVersion, mc.kind).catch(() => undefined);
    const left = ref ? await i.client.get('kernel-switch', ref, mc.metadata.name).catch((e: unknown) => (e instanceof KubeApiError && e.status === 403 ? undefined : Promise.reject(e))) : undefined;
    if (left) {
      i.emit('progress', { step: `reverting the realtime kernel left by a previous scenario (MachineConfig/${mc.metadata.name}, pool ${i.pool})` });
      await switchKernel({ client: i.client, emit: i.emit, label: i.label, pool: i.pool, realtime: false, cleanup: true, pollMs: i.pollMs, timeoutMs: i.rolloutTimeoutMs });
    }
    for (const [node, kver] of i.kernels()) if (isRealtimeKernel(kver)) problems.push(`${node} still runs the realtime kernel ${kver}`);
  }
  if (i.modules.length > 0) {
    await Promise.all(
      i.nodes.map(async (node) => {
        let seen = await i.probe(node, i.modules, false);
        const loaded = seen.filter((s) => s.loaded).map((s) => s.module);
        if (loaded.length === 0) return;
        i.emit('progress', { step: `unloading ${loaded.join(', ')} left loaded on ${node} by the previous scenario` }, node);
        seen = await i.probe(node, loaded, true);
        for (const s of seen) if (s.loaded) problems.push(`${s.module} is still loaded on ${node} (modprobe -r failed: in use?)`);
      }),
    );
  }
  if (problems.length > 0) {
    const message = `not a clean state before the scenario: ${problems.join('; ')}`;
    i.emit('fault', { fault: 'unclean-state', message });
    throw new Error(message);
  }
}
