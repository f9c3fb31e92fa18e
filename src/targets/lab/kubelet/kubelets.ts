/**
 * The pod side of the lab's kubelets, one PodManager per node, fed by the process's ONE
 * pod informer: a kubelet watches only the pods bound to it (fieldSelector
 * spec.nodeName=<node>), but one watch per node is what the lab must not open, so the
 * shared informer's events are routed by spec.nodeName here.
 */
import type { LabPodRef } from '../metrics/lab-usage.js';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { MemoryLogSource } from '../api-server/log-source.js';
import { PATHS, type SharedInformers } from '../control-plane/informers.js';
import { NodeImageStore } from './image-pull.js';
import { KubeletServer } from './kubelet-server.js';
import type { NodeShell } from './node-agent.js';
import { PodManager, type PodStatusApi } from './pod-manager.js';
import { eventSinkOf } from './event-recorder.js';

export function podStatusApi(kc: KubeConfig): PodStatusApi {
  const core = kc.makeApiClient(CoreV1Api);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    async patchPodStatus(namespace, name, status) {
      // Merge patch: the lists (conditions, containerStatuses) are replaced whole.
      await core.patchNamespacedPodStatus({ namespace, name, body: { status } }, merge);
    },
    ...eventSinkOf(core),
  };
}

export interface KubeletNode {
  node: NodeShell;
  /** The node's 9p share on the host (where pulled images are unpacked). */
  shareDir: string;
}

export class Kubelets {
  readonly logs = new MemoryLogSource();
  readonly server: KubeletServer;
  private readonly managers = new Map<string, PodManager>();
  /** Pod uid → node it runs on. */
  private readonly placed = new Map<string, string>();

  constructor(
    private readonly informers: SharedInformers,
    token: string,
    private readonly insecure: (ref: string) => boolean,
    private readonly log?: (line: string) => void,
  ) {
    this.server = new KubeletServer(this.logs, token);
  }

  /** Starts the log endpoint; returns its port (what each Node publishes). */
  async listen(): Promise<number> {
    return this.server.start();
  }

  /** Adds a node's kubelet and starts following the pods (once). */
  async add(n: KubeletNode): Promise<void> {
    const images = new NodeImageStore(n.shareDir, this.insecure);
    const m = new PodManager({ node: n.node, api: podStatusApi(this.informers.kc), images, logs: this.logs, log: this.log });
    this.managers.set(n.node.name, m);
    m.start();
    if (this.managers.size === 1) await this.informers.subscribe(PATHS.pods, (type, obj) => this.route(type, obj as V1Pod));
    else for (const p of this.informers.list<V1Pod>(PATHS.pods)) this.route('add', p);
  }

  private route(type: 'add' | 'update' | 'delete', pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const nodeName = pod.spec?.nodeName;
    const was = this.placed.get(uid);
    if (type === 'delete' || !nodeName) {
      if (was) this.managers.get(was)?.remove(uid);
      this.placed.delete(uid);
      return;
    }
    const m = this.managers.get(nodeName);
    if (!m) return;
    this.placed.set(uid, nodeName);
    m.upsert(pod);
  }

  /** The pods running on `node` now (the metrics source samples them). */
  running(node: string): LabPodRef[] {
    return this.managers.get(node)?.running() ?? [];
  }

  async stop(): Promise<void> {
    await Promise.all([...this.managers.values()].map((m) => m.stop()));
    await this.server.stop();
  }
}
