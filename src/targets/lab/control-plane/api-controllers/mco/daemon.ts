/**
 * The machine-config-daemon of one lab node, following openshift/machine-config-operator
 * release-4.14 pkg/daemon:
 *   - daemon.go syncNode / triggerUpdateWithMachineConfig: desiredConfig differs from
 *     currentConfig → state Working; ask the drain controller to drain (desiredDrain
 *     `drain-<config>`; pkg/controller/drain/drain_controller.go cordons — spec.unschedulable
 *     — and deletes the pods not owned by a DaemonSet, then sets lastAppliedDrain);
 *   - update.go updateOS + reboot: pull the new OS image and boot it. Here: the QEMU node
 *     reboots into the image's kernel and root (boot-os-image.ts), with the rendered
 *     config's kernelArguments on its command line (updateKernelArguments);
 *   - after the boot (daemon.go checkStateOnFirstRun → completeUpdate): currentConfig =
 *     desiredConfig, state Done, uncordon (desiredDrain `uncordon-<config>`).
 *   - a failure (update.go: "failed to update OS to …"): state Degraded with the error as
 *     `reason`; nothing is rebooted and the node stays cordoned (the drain happened first).
 *     The controller tries the update again after a back-off (machineconfig.ts MCO_RETRY).
 * The lab has no pods/eviction subresource: the drain deletes pods, as
 * `oc adm drain --disable-eviction` does. The daemon runs in the lab process, not on the node.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { LabNode } from '../../../node/node.js';
import type { SharedInformers } from '../../informers.js';
import { PATHS } from '../../informers.js';
import { ANN, type DaemonState } from './pool-status.js';
import { bootable, type ResolvedOs } from './os-target.js';
import { inspectManifest } from '../../../images/registry-client.js';
import { osImagePulledMessage, PULLED_REASON } from '../../../../image-pulled-event.js';
import { NodeOsBlobs } from './os-pulls.js';
import { rfc3339 } from '../../kube-time.js';

export interface DaemonDeps {
  kc: KubeConfig;
  informers: SharedInformers;
  insecure: (ref: string) => boolean;
  log?: (line: string) => void;
  /** How long a drain waits for the pods to be gone. */
  drainTimeoutMs?: number;
  /**
   * The boot image the node boots for `config` on `kver`: `initramfs` with the node's own
   * files on it (what lives on its disk across reboots, e.g. a Day-1 loader's pulled
   * image, day1-loader.ts); `initramfs` when there are none.
   */
  localLayer?: (node: string, config: string, kver: string, initramfs: string) => Promise<string>;
  /** The OS image the node was installed with (what it holds before any pull). */
  installedImage?: string;
}

const ownedByDaemonSet = (p: V1Pod) => (p.metadata?.ownerReferences ?? []).some((r) => r.kind === 'DaemonSet' && r.controller);

export class NodeDaemon {
  private readonly core: CoreV1Api;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  private readonly blobs = new NodeOsBlobs();
  private installedHeld = false;

  constructor(
    private readonly d: DaemonDeps,
    readonly node: LabNode,
  ) {
    this.core = d.kc.makeApiClient(CoreV1Api);
  }

  private get name(): string {
    return this.node.name;
  }

  async annotate(a: Record<string, string>, unschedulable?: boolean): Promise<void> {
    await this.core.patchNode({ name: this.name, body: { metadata: { annotations: a }, ...(unschedulable === undefined ? {} : { spec: { unschedulable: unschedulable || null } }) } }, this.merge);
  }

  async setState(state: DaemonState, reason = ''): Promise<void> {
    await this.annotate({ [ANN.state]: state, [ANN.reason]: reason });
  }

  /** drain_controller.go: cordon, then delete every pod on the node not owned by a DaemonSet; wait until they are gone. */
  async drain(config: string): Promise<void> {
    await this.annotate({ [ANN.desiredDrain]: `drain-${config}` }, true);
    const onNode = () => this.d.informers.list<V1Pod>(PATHS.pods).filter((p) => p.spec?.nodeName === this.name && !ownedByDaemonSet(p) && !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''));
    for (const p of onNode()) {
      this.d.log?.(`machine-config: ${this.name}: draining pod ${p.metadata!.namespace}/${p.metadata!.name}`);
      await this.core.deleteNamespacedPod({ namespace: p.metadata!.namespace!, name: p.metadata!.name! }).catch(() => undefined);
    }
    const deadline = Date.now() + (this.d.drainTimeoutMs ?? 120_000);
    while (onNode().length > 0) {
      if (Date.now() > deadline) throw new Error(`failed to drain node ${this.name}: pods not gone after ${Math.round((this.d.drainTimeoutMs ?? 120_000) / 1000)} s: ${onNode().map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await this.annotate({ [ANN.lastAppliedDrain]: `drain-${config}` });
  }

  async uncordon(config: string): Promise<void> {
    await this.annotate({ [ANN.desiredDrain]: `uncordon-${config}`, [ANN.lastAppliedDrain]: `uncordon-${config}` }, false);
  }

  /**
   * Update to `desired`: `resolve` says which OS image it boots (throws the pull error).
   * Returns the boot that followed, or the error the node is Degraded with.
   */
  async update(desired: string, resolve: () => Promise<ResolvedOs>, o: { retry?: boolean; kernelArguments?: string[] } = {}): Promise<{ bootId: string; kver: string } | { error: string }> {
    // A retry of a failed update keeps the node Degraded with its last error until an attempt
    // succeeds: the pool reports the failure steadily instead of flapping at every attempt.
    if (!o.retry) await this.setState('Working');
    try {
      await this.drain(desired);
      const t0 = performance.now();
      const os = await resolve();
      const image = await bootable(os, this.d.insecure);
      await this.recordPull(os, performance.now() - t0);
      await this.alive();
      this.d.log?.(`machine-config: ${this.name}: rebooting into ${os.digestRef} (${os.why}, kernel ${os.kver})`);
      const initramfs = (await this.d.localLayer?.(this.name, desired, os.kver, image.initramfs)) ?? image.initramfs;
      // update.go updateKernelArguments: the config's kernelArguments are the next boot's (rpm-ostree kargs).
      const boot = await this.node.reboot({ kernel: image.kernel, initramfs, disk: image.disk, kernelArguments: o.kernelArguments ?? [] });
      if (boot.kver !== os.kver) throw new Error(`booted kernel ${boot.kver}, expected ${os.kver} from ${os.digestRef}`);
      // The daemon runs after the kubelet on the booted node: the Node shows the new boot first.
      await this.nodeReports(boot.bootId);
      // completeUpdate: the new config is current; uncordon.
      await this.annotate({ [ANN.current]: desired, [ANN.state]: 'Done', [ANN.reason]: '' });
      await this.uncordon(desired);
      return { bootId: boot.bootId, kver: boot.kver };
    } catch (e) {
      const error = `failed to update OS to ${desired}: ${(e as Error).message.split('\n')[0]}`;
      this.d.log?.(`machine-config: ${this.name}: Degraded: ${error}`);
      await this.setState('Degraded', error).catch(() => undefined);
      return { error };
    }
  }

  /**
   * The pull of the OS image the node boots next, as a `Pulled` Event on the Node with the
   * bytes it fetched — once per digest on this node (os-pulls.ts). Best effort: a figure
   * that cannot be read is a log line, never a failed update.
   */
  async recordPull(os: ResolvedOs, ms: number): Promise<void> {
    try {
      if (!this.installedHeld) {
        this.installedHeld = true;
        const installed = this.d.installedImage ? await inspectManifest(this.d.installedImage, this.d.insecure(this.d.installedImage)) : undefined;
        if (installed) this.blobs.hold(installed);
      }
      const manifest = await inspectManifest(os.digestRef, this.d.insecure(os.digestRef));
      const pull = manifest && this.blobs.pull(manifest);
      if (!pull) return;
      const message = osImagePulledMessage(os.digestRef, ms, pull.pulledBytes, pull.sizeBytes, os.why === 'osImageURL' ? 'osImageURL' : 'release');
      this.d.log?.(`machine-config: ${this.name}: ${message}`);
      const now = rfc3339();
      await this.core.createNamespacedEvent({
        namespace: 'default',
        // As the kubelet's node Events (kubelet/node-agent.ts): RFC 3339 times, the Node as involved object.
        body: {
          metadata: { generateName: `${this.name}.`, namespace: 'default' },
          involvedObject: { kind: 'Node', name: this.name, uid: this.name },
          type: 'Normal',
          reason: PULLED_REASON,
          message,
          source: { component: 'machine-config-daemon', host: this.name },
          reportingComponent: 'machine-config-daemon',
          reportingInstance: this.name,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        } as never,
      });
    } catch (e) {
      this.d.log?.(`machine-config: ${this.name}: OS image pull not recorded: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  /**
   * The real daemon runs on its node: a machine that died in the middle of an update takes
   * its daemon with it, and the update resumes when the machine is back (remediated,
   * node/crash-restart.ts) and the daemon starts again (daemon.go checkStateOnFirstRun:
   * still not on desiredConfig → update). The lab's daemon runs on the host, so it waits
   * for the machine instead of rebooting a dead one itself.
   */
  private async alive(timeoutMs = 600_000): Promise<void> {
    if (this.node.state !== 'crashed') return;
    this.d.log?.(`machine-config: ${this.name}: the node died during the update; waiting for it to come back`);
    const deadline = Date.now() + timeoutMs;
    while ((this.node.state as string) !== 'ready') {
      if (Date.now() > deadline) throw new Error(`node ${this.name} did not come back within ${timeoutMs / 1000} s after it died`);
      await new Promise((r) => setTimeout(r, 500));
    }
    this.d.log?.(`machine-config: ${this.name}: the node is back; resuming the update`);
  }

  /**
   * A reboot the node asks for itself (a unit's `systemctl reboot`, as KMM's Day-1 pull
   * step does): no drain, no config change; same kernel and disk, `initramfs` if given.
   * Returns once the Node shows the new boot.
   */
  async selfReboot(initramfs?: string): Promise<{ bootId: string; kver: string }> {
    const boot = await this.node.reboot(initramfs ? { initramfs } : {});
    await this.nodeReports(boot.bootId);
    return { bootId: boot.bootId, kver: boot.kver };
  }

  /** Waits until the Node's status carries the boot (the node agent posts it at its next heartbeat). */
  private async nodeReports(bootId: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const seen = () => this.d.informers.list<V1Node>(PATHS.nodes).find((n) => n.metadata?.name === this.name)?.status?.nodeInfo?.bootID === bootId;
    while (!seen()) {
      if (Date.now() > deadline) throw new Error(`node ${this.name} did not report boot ${bootId} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** desired == current while the node is not Done (e.g. retargeted back after a failure): nothing to boot. */
  async settle(current: string): Promise<void> {
    await this.annotate({ [ANN.state]: 'Done', [ANN.reason]: '' });
    await this.uncordon(current);
  }
}

export function annotation(n: V1Node | undefined, k: string): string {
  return n?.metadata?.annotations?.[k] ?? '';
}
