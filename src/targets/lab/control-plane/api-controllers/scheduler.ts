/**
 * The lab's scheduler, reconciling from the lab API like kube-scheduler
 * (k8s.io/kubernetes pkg/scheduler): every Pod without spec.nodeName whose schedulerName
 * is the default one is run through the default profile's filter plugins, in their
 * order, each node stopping at the first that rejects it (framework/runtime
 * RunFilterPlugins):
 *   - NodeUnschedulable (plugins/nodeunschedulable): spec.unschedulable (cordon) unless
 *     the pod tolerates `node.kubernetes.io/unschedulable:NoSchedule`;
 *   - TaintToleration (plugins/tainttoleration): every NoSchedule/NoExecute taint tolerated;
 *   - NodeAffinity (plugins/nodeaffinity): nodeSelector and required node affinity.
 * Upstream has no "node is Ready" filter: the node lifecycle controller taints a NotReady
 * node `node.kubernetes.io/not-ready:NoSchedule` (TaintNodesByCondition) and TaintToleration
 * rejects it. The lab's node lifecycle controller sets no such taint, so the same rule is
 * applied here from the Ready condition, with the message that taint would give.
 * Of the feasible nodes the one running the fewest pods wins (a stand-in for the score
 * plugins' spreading), and the pod is bound with `POST pods/<name>/binding`
 * (schedule_one.go bind → DefaultBinder). A pod that fits nowhere stays Pending with
 * PodScheduled=False, reason Unschedulable, and the framework's diagnosis as message
 * ("0/N nodes are available: …", framework/types.go FitError.Error); it is retried when
 * nodes or pods change and at each resync, as the scheduling queue moves unschedulable
 * pods back on cluster events. No preemption, no resource fit (the lab's pods request
 * nearly nothing). Each decision is also an Event on the pod (Scheduled, or a
 * FailedScheduling Warning when the diagnosis changes), as `kubectl describe pod` shows.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { matchesNodeAffinity, matchesSelector, tolerates } from '../objects.js';
import { ReconcileLoop } from './reconcile-loop.js';
import { PATHS, type SharedInformers } from '../informers.js';
import { rfc3339 } from '../kube-time.js';

export const DEFAULT_SCHEDULER = 'default-scheduler';

const isReady = (n: V1Node) => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Why `node` cannot take `pod` (the first filter that rejects it, upstream's wording), or undefined when it fits. */
export function filterNode(pod: V1Pod, node: V1Node): string | undefined {
  const tolerations = pod.spec?.tolerations ?? [];
  if (node.spec?.unschedulable && !tolerates(tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return 'node(s) were unschedulable';
  const taints = [...(node.spec?.taints ?? [])];
  if (!isReady(node)) taints.unshift({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' });
  const untolerated = taints.find((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(tolerations, { key: t.key, value: t.value, effect: t.effect }));
  if (untolerated) return `node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`;
  const labels = node.metadata?.labels ?? {};
  if (!matchesSelector(labels, pod.spec?.nodeSelector) || !matchesNodeAffinity(labels, pod.spec?.affinity)) return "node(s) didn't match Pod's node affinity/selector";
  return undefined;
}

/**
 * The FitError message (framework/types.go FitError.Error): "0/N nodes are available:
 * <count> <reason>, …." with the reasons sorted, then what the DefaultPreemption
 * post-filter found — every reason here is UnschedulableAndUnresolvable, so preemption
 * "is not helpful" on every node. The doubled final dot is kube-scheduler 1.27's (the
 * version the lab API reports, as OpenShift 4.14).
 */
export function fitError(nodes: number, reasons: string[]): string {
  if (nodes === 0) return 'no nodes available to schedule pods';
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${nodes} nodes are available: ${parts.join(', ')}. preemption: 0/${nodes} nodes are available: ${nodes} Preemption is not helpful for scheduling..`;
}

/** The node for `pod` among `nodes` (fewest pods first, then name), or the reasons none fits. */
export function pickNode(pod: V1Pod, nodes: V1Node[], podsOn: (node: string) => number): { node: string } | { unschedulable: string } {
  const reasons: string[] = [];
  const feasible: string[] = [];
  for (const n of nodes) {
    const why = filterNode(pod, n);
    if (why) reasons.push(why);
    else feasible.push(n.metadata!.name!);
  }
  if (feasible.length === 0) return { unschedulable: fitError(nodes.length, reasons) };
  feasible.sort((a, b) => podsOn(a) - podsOn(b) || a.localeCompare(b));
  return { node: feasible[0]! };
}

const terminal = (p: V1Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export interface SchedulerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  log?: (line: string) => void;
}

export class Scheduler {
  private readonly core: CoreV1Api;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  /** pod uid → node it was bound to, until the informer shows the binding (upstream: the assumed-pod cache). */
  private readonly assumed = new Map<string, { node: string; at: number }>();
  private readonly loop: ReconcileLoop;

  constructor(private readonly o: SchedulerOptions) {
    this.loop = new ReconcileLoop({ informers: o.informers, paths: [PATHS.pods, PATHS.nodes], pass: () => this.pass() });
    this.core = o.kc.makeApiClient(CoreV1Api);
  }

  async start(): Promise<void> {
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  kick(): void {
    this.loop.kick();
  }

  private async pass(): Promise<void> {
    await this.scheduleAll().catch((e: Error) => this.o.log?.(`scheduler: ${e.message.split('\n')[0]}`));
  }

  /** The events kube-scheduler records on the pod (schedule_one.go: Scheduled, FailedScheduling), in core/v1 form. */
  private async event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const ns = pod.metadata!.namespace!;
    const now = new Date();
    await this.core
      .createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { generateName: `${pod.metadata!.name}.`, namespace: ns },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, namespace: ns, uid: pod.metadata!.uid },
          type,
          reason,
          message,
          source: { component: DEFAULT_SCHEDULER },
          reportingComponent: DEFAULT_SCHEDULER,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch(() => undefined);
  }

  private async scheduleAll(): Promise<void> {
    const pods = this.o.informers.list<V1Pod>(PATHS.pods);
    const nodes = this.o.informers.list<V1Node>(PATHS.nodes);
    const count = new Map<string, number>();
    for (const p of pods) if (p.spec?.nodeName && !terminal(p)) count.set(p.spec.nodeName, (count.get(p.spec.nodeName) ?? 0) + 1);
    const now = Date.now();
    for (const [uid, a] of this.assumed) if (now - a.at > 30_000) this.assumed.delete(uid);
    const pending = pods
      .filter((p) => !p.spec?.nodeName && !p.metadata?.deletionTimestamp && !terminal(p) && (p.spec?.schedulerName ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER && !this.assumed.has(p.metadata!.uid!))
      // The active queue's default order: priority, then the time the pod entered it.
      .sort((a, b) => (b.spec?.priority ?? 0) - (a.spec?.priority ?? 0) || String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)));
    for (const pod of pending) {
      if (this.loop.stopped) return;
      const choice = pickNode(pod, nodes, (n) => count.get(n) ?? 0);
      const ns = pod.metadata!.namespace!;
      const name = pod.metadata!.name!;
      if ('node' in choice) {
        try {
          await this.core.createNamespacedPodBinding({ namespace: ns, name, body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns, uid: pod.metadata!.uid }, target: { apiVersion: 'v1', kind: 'Node', name: choice.node } } });
          this.assumed.set(pod.metadata!.uid!, { node: choice.node, at: now });
          count.set(choice.node, (count.get(choice.node) ?? 0) + 1);
          this.o.log?.(`scheduler: bound ${ns}/${name} to ${choice.node}`);
          await this.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${choice.node}`);
        } catch (e) {
          // 409: bound meanwhile (or being deleted); 404: gone. The next pass sees it.
          const code = (e as { code?: number }).code;
          if (code !== 409 && code !== 404) throw e;
        }
        continue;
      }
      const cur = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
      if (cur?.status === 'False' && cur.reason === 'Unschedulable' && cur.message === choice.unschedulable) continue;
      const conditions = [
        ...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: choice.unschedulable, lastProbeTime: null, lastTransitionTime: rfc3339(cur?.status === 'False' && cur.lastTransitionTime ? new Date(cur.lastTransitionTime) : new Date()) },
      ];
      await this.core.patchNamespacedPodStatus({ namespace: ns, name, body: { status: { conditions } } }, this.merge).catch((e: { code?: number }) => {
        if (e.code !== 404) throw e;
      });
      this.o.log?.(`scheduler: ${ns}/${name} is unschedulable: ${choice.unschedulable}`);
      await this.event(pod, 'Warning', 'FailedScheduling', choice.unschedulable);
    }
  }
}
