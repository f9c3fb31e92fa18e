/**
 * Remediation of a dead machine, as OpenShift's machine-api MachineHealthCheck does it
 * (openshift/machine-api-operator pkg/controller/machinehealthcheck: a node whose Ready
 * condition has been Unknown longer than the check's timeout is remediated — power-cycled
 * by the reboot remediation, or replaced): a node whose QEMU exited when nobody asked
 * (killed, or the guest panicked and reset: panic=-1, -no-reboot) is started again with the
 * kernel, initramfs and OS disk it ran, once the cluster has seen it dead — its Node
 * Ready=Unknown, set by the node lifecycle controller after the grace period. The lab's
 * check has no further timeout (upstream's is typically minutes). The cluster then sees
 * a new boot id (the node agent's `Rebooted` event) and its pods started again; a rollout
 * waiting on the node goes on (mco/daemon.ts). LabNode.reboot is serialised, so a rollout
 * that reboots the node meanwhile waits for this boot.
 */
import type { LabNode } from './node.js';

export interface CrashRestartOptions {
  /** The nodes to watch (read at every pass: the list may grow). */
  nodes: () => readonly LabNode[];
  /** The Node's Ready condition status as the API has it ('True', 'False', 'Unknown'). */
  ready: (name: string) => Promise<string | undefined>;
  log?: (line: string) => void;
  /** How often node states are looked at. */
  pollMs?: number;
  /** Wait between two restart attempts of one node (a boot that fails again). */
  retryMs?: number;
}

export class CrashRestarter {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly restarting = new Map<string, Promise<void>>();
  private readonly notBefore = new Map<string, number>();
  /** Restarts done, by node (what a test or `lab status` may ask). */
  readonly restarts = new Map<string, number>();

  constructor(private readonly o: CrashRestartOptions) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      void this.pass().catch((e: Error) => this.o.log?.(`machine health check: ${e.message.split('\n')[0]}`));
      this.timer = setTimeout(tick, this.o.pollMs ?? 1_000);
    };
    this.timer = setTimeout(tick, this.o.pollMs ?? 1_000);
  }

  /** Restart every crashed node the cluster sees as Unknown, unless already being restarted. */
  async pass(): Promise<void> {
    for (const node of this.o.nodes()) {
      if (node.state !== 'crashed' || this.restarting.has(node.name) || Date.now() < (this.notBefore.get(node.name) ?? 0)) continue;
      if ((await this.o.ready(node.name)) !== 'Unknown') continue;
      if (node.state !== 'crashed' || this.restarting.has(node.name)) continue;
      const why = node.failure?.message.split('\n')[0] ?? 'QEMU exited';
      this.o.log?.(`node ${node.name}: crashed (${why}); Ready=Unknown; restarting it (machine health check)`);
      const work = node
        .reboot()
        .then((boot) => {
          this.restarts.set(node.name, (this.restarts.get(node.name) ?? 0) + 1);
          this.o.log?.(`node ${node.name}: restarted after a crash (kernel ${boot.kver}, boot ${boot.bootId})`);
        })
        .catch((e: Error) => {
          this.notBefore.set(node.name, Date.now() + (this.o.retryMs ?? 5_000));
          this.o.log?.(`node ${node.name}: restart after a crash failed: ${e.message.split('\n')[0]}`);
        })
        .finally(() => this.restarting.delete(node.name));
      this.restarting.set(node.name, work);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all(this.restarting.values());
  }
}
