/**
 * The lab's kubelet stand-in for one QEMU node: it registers the node through the API and
 * posts its status, as the kubelet does (k8s.io/kubernetes pkg/kubelet/kubelet_node_status.go:
 * registerWithAPIServer creates the Node, or reuses an existing one on AlreadyExists;
 * tryUpdateNodeStatus reads the Node, then PATCHes nodes/<n>/status with a strategic merge
 * patch). Every fact it posts comes from the guest through the node's agent channel:
 * bootID (/proc/sys/kernel/random/boot_id), kernelVersion (`uname -r`), osImage.
 *
 * The kubelet runs ON its node, so when the machine dies it posts nothing more: here a
 * heartbeat is posted only when the guest answered. Marking the node Unknown after missed
 * heartbeats is the node lifecycle controller's job (control-plane/controllers/node-lifecycle.ts).
 *
 * At every new boot id it records what the kubelet records (pkg/kubelet/nodestatus/setters.go
 * MachineInfo: a Warning `Rebooted` Event "Node <n> has been rebooted, boot id: <id>" when
 * the Node already had another boot id), and compares the guest's `uname -r` with the
 * kernel the lab meant to boot: a mismatch (a stale boot entry, a wrong image) is a Warning
 * `KernelMismatch` Event on the Node — a lab check, the kubelet has none.
 *
 * Unlike kubelet ≥1.17 the heartbeat is the Node status itself (lastHeartbeatTime), not a
 * Lease in kube-node-lease: the lab serves no coordination.k8s.io yet.
 */
import { nodeObject, type NodeFacts } from '../api-server/node-object.js';
import type { NodeApi } from './node-api.js';
import { rfc3339 } from '../control-plane/kube-time.js';
import { KERNEL_MISMATCH_REASON } from '../../cluster/observers.js';
import { EventRecorder } from './event-recorder.js';

/** What the agent needs from a node: its name and a shell in it. LabNode satisfies it. */
export interface NodeShell {
  readonly name: string;
  exec(command: string, opts?: { timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
}

export interface NodeAgentOptions {
  api: NodeApi;
  node: NodeShell;
  /** node-role.kubernetes.io/* and other labels the node registers with. */
  labels?: Record<string, string>;
  /** Annotations the node registers with (the lab's forwarded host ports, LAB_HOST_PORTS). */
  annotations?: Record<string, string>;
  /**
   * How often the status is posted. kubelet: nodeStatusUpdateFrequency 10 s; the lab
   * scales it down (see LAB_NODE_TIMING).
   */
  heartbeatMs: number;
  /** How long the guest may take to answer a probe before the heartbeat is skipped. */
  probeTimeoutMs?: number;
  log?: (line: string) => void;
  now?: () => Date;
  /** Where this node's kubelet serves container logs (status.daemonEndpoints.kubeletEndpoint.Port). */
  kubeletPort?: number;
  /** The kernel release the lab meant this boot to run (LabNode.kernel.kver). */
  intendedKernel?: () => string | undefined;
}

/** The Event reason of a node whose guest runs another kernel than the lab meant to boot (read by the cluster target). */
export const KERNEL_MISMATCH = KERNEL_MISMATCH_REASON;

/** One guest probe: kernel release, boot id, OS name (os-release PRETTY_NAME when the image has one). */
// Shell builtins only (it runs at every heartbeat): /proc/sys/kernel/osrelease is `uname -r`.
const PROBE = 'read -r k </proc/sys/kernel/osrelease; echo "$k"; read -r b </proc/sys/kernel/random/boot_id; echo "$b"; PRETTY_NAME=; [ -r /etc/os-release ] && . /etc/os-release; echo "$PRETTY_NAME"';

export interface GuestFacts {
  kernelVersion: string;
  bootID: string;
  osImage: string;
}

export function parseProbe(stdout: string): GuestFacts {
  const [kernelVersion = '', bootID = '', osImage = ''] = stdout.split('\n').map((l) => l.trim());
  if (!kernelVersion || !/^[0-9a-f-]{36}$/.test(bootID)) throw new Error(`unexpected node probe output: ${JSON.stringify(stdout.slice(0, 200))}`);
  return { kernelVersion, bootID, osImage: osImage || 'kmodlab lab node (busybox initramfs)' };
}

export class NodeAgent {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private posting: Promise<void> | undefined;
  private failing: string | undefined;
  /** Facts of the latest successful probe. */
  facts: GuestFacts | undefined;
  /** The boot id whose boot was checked (Rebooted and KernelMismatch are recorded once per boot). */
  private checkedBoot: string | undefined;

  /** The kubelet's event recorder: a repeated identical Event counts up (event-recorder.ts). */
  private readonly events: EventRecorder;

  constructor(private readonly opts: NodeAgentOptions) {
    this.events = new EventRecorder(opts.api);
  }

  get name(): string {
    return this.opts.node.name;
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  private nodeFacts(facts: GuestFacts): NodeFacts {
    return { name: this.name, ...facts, ready: true, labels: this.opts.labels, annotations: this.opts.annotations };
  }

  async probe(): Promise<GuestFacts> {
    const r = await this.opts.node.exec(PROBE, { timeoutMs: this.opts.probeTimeoutMs ?? Math.max(2_000, this.opts.heartbeatMs * 2) });
    if (r.code !== 0) throw new Error(`node probe exited ${r.code}: ${r.stderr.trim()}`);
    return parseProbe(r.stdout);
  }

  /** Create the Node (or adopt an existing one, as a restarted kubelet does), then post Ready. */
  async register(): Promise<void> {
    const facts = await this.probe();
    this.facts = facts;
    // Nodes may carry status on create (k8s.io/kubernetes pkg/registry/core/node/strategy.go
    // PrepareForCreate keeps it); the status patch below sets it either way.
    const desired = nodeObject(this.nodeFacts(facts), this.now());
    const created = await this.opts.api.createNode(desired);
    if (created === 'exists') {
      // kubelet reconciles labels it owns on an existing Node (reconcileExtendedResource/updateDefaultLabels).
      const meta = desired.metadata as { labels: Record<string, string>; annotations?: Record<string, string> };
      await this.opts.api.patchNode(this.name, { metadata: { labels: meta.labels, ...(meta.annotations ? { annotations: meta.annotations } : {}) } });
    }
    await this.postStatus(facts);
  }

  /** Post the node status now from fresh guest facts; throws when the guest does not answer. */
  async heartbeat(): Promise<void> {
    const facts = await this.probe();
    this.facts = facts;
    await this.postStatus(facts);
  }

  /** Once per boot: the kubelet's Rebooted event, and the lab's booted-kernel check. */
  private async checkBoot(facts: GuestFacts, previousBootID: string | undefined): Promise<void> {
    if (this.checkedBoot === facts.bootID) return;
    this.checkedBoot = facts.bootID;
    if (previousBootID && previousBootID !== facts.bootID) await this.event('Warning', 'Rebooted', `Node ${this.name} has been rebooted, boot id: ${facts.bootID}`);
    const intended = this.opts.intendedKernel?.();
    if (intended && intended !== facts.kernelVersion) {
      const message = `booted kernel ${facts.kernelVersion} (uname -r in the node), but the lab meant to boot ${intended}`;
      this.opts.log?.(`node ${this.name}: ${KERNEL_MISMATCH}: ${message}`);
      await this.event('Warning', KERNEL_MISMATCH, message);
    }
  }

  /** A node Event as the kubelet records it (involvedObject the Node, uid = its name; namespace default). */
  private async event(type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = rfc3339(this.now());
    await this.events
      .record('default', {
        metadata: { generateName: `${this.name}.`, namespace: 'default' },
        involvedObject: { kind: 'Node', name: this.name, uid: this.name },
        type,
        reason,
        message,
        source: { component: 'kubelet', host: this.name },
        reportingComponent: 'kubelet',
        reportingInstance: this.name,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      })
      .catch((e: Error) => this.opts.log?.(`node ${this.name}: event ${reason} not recorded: ${e.message.split('\n')[0]}`));
  }

  private async postStatus(facts: GuestFacts): Promise<void> {
    const now = rfc3339(this.now());
    const current = await this.opts.api.getNode(this.name);
    await this.checkBoot(facts, current?.status?.nodeInfo?.bootID);
    // lastTransitionTime moves only when the status changes (kubelet: setNodeReadyCondition).
    // (client-node hands dates back as Date objects.)
    const since = (type: string, status: string) => {
      const c = (current?.status?.conditions ?? []).find((x) => x.type === type);
      return c?.status === status && c.lastTransitionTime ? rfc3339(new Date(c.lastTransitionTime)) : now;
    };
    const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since(type, status) });
    await this.opts.api.patchNodeStatus(this.name, {
      status: {
        conditions: [
          cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
          cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
          cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
          cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
        ],
        nodeInfo: (nodeObject(this.nodeFacts(facts)).status as { nodeInfo: object }).nodeInfo,
        addresses: [{ type: 'Hostname', address: this.name }],
        ...(this.opts.kubeletPort ? { daemonEndpoints: { kubeletEndpoint: { Port: this.opts.kubeletPort } } } : {}),
      },
    });
  }

  /** Heartbeat every `heartbeatMs` until stop(); a guest that does not answer gets no heartbeat. */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.posting = this.heartbeat()
        .then(() => {
          if (this.failing) this.opts.log?.(`node ${this.name}: heartbeats resumed`);
          this.failing = undefined;
        })
        .catch((e: Error) => {
          // Said once per outage, not every beat.
          const why = e.message.split('\n')[0]!;
          if (this.failing !== why) this.opts.log?.(`node ${this.name}: no heartbeat: ${why}`);
          this.failing = why;
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.opts.heartbeatMs);
        });
    };
    this.timer = setTimeout(tick, this.opts.heartbeatMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.posting;
  }
}
