/**
 * The lab hypervisor's crash policy, as libvirt's `<on_crash>restart</on_crash>` (and a
 * cloud's instance auto-recovery): a node whose QEMU exited when nobody asked — killed, or
 * the guest panicked and reset (panic=-1, -no-reboot) — is started again with the kernel,
 * initramfs and OS disk it ran. What the cluster sees is what it sees of a real machine
 * that died and came back: no heartbeats (the node lifecycle controller marks it Unknown),
 * then a new boot id (the node agent's `Rebooted` event) and its pods started again. A
 * rollout that was rebooting the node waits for this boot, then reboots it itself
 * (LabNode.reboot is serialised).
 */
import type { LabNode } from './node.js';

export interface CrashRestartOptions {
  /** The nodes to watch (read at every pass: the list may grow). */
  nodes: () => readonly LabNode[];
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
      this.pass();
      this.timer = setTimeout(tick, this.o.pollMs ?? 1_000);
    };
    this.timer = setTimeout(tick, this.o.pollMs ?? 1_000);
  }

  /** Restart every crashed node not already being restarted. */
  pass(): void {
    for (const node of this.o.nodes()) {
      if (node.state !== 'crashed' || this.restarting.has(node.name) || Date.now() < (this.notBefore.get(node.name) ?? 0)) continue;
      const why = node.failure?.message.split('\n')[0] ?? 'QEMU exited';
      this.o.log?.(`node ${node.name}: crashed (${why}); restarting it (on_crash=restart)`);
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
