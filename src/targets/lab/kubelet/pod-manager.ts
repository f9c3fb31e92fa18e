/**
 * The kubelet stand-in's pod half for one node: it runs the Pods bound to its node
 * (spec.nodeName) and reports them, as the kubelet's syncPod/PLEG loop does
 * (k8s.io/kubernetes pkg/kubelet/kubelet.go SyncPod, pleg/generic.go relist):
 *   - pull the image (kubelet/images/image_manager.go: a failed pull is the waiting reason
 *     ErrImagePull, then ImagePullBackOff until the back-off expires; a pull, or the image
 *     used as already present, is a `Pulled` Event worded as upstream's, image-pulled-event.ts);
 *   - start the container, run the postStart hook; a failing hook kills the container
 *     (FailedPostStartHook) and the restart policy restarts it with back-off
 *     (CrashLoopBackOff, 10 s doubling up to 5 min upstream; scaled down here);
 *   - relist every `relistMs`: a container that exited is restarted as the pod's
 *     restartPolicy says (container/helpers.go ShouldContainerBeRestarted: Always; OnFailure
 *     on a non-zero exit; Never not at all), restartCount counts it; a container that is not
 *     restarted stays terminated and the pod's phase is Succeeded/Failed by its exit code
 *     (kubelet_pods.go getPhase) — what one-shot pods such as module probes wait for;
 *   - on delete: preStop hook, then SIGTERM and SIGKILL after the grace period;
 *   - post status (phase, conditions, containerStatuses) with a merge patch on pods/status
 *     whenever it changes, and feed each container's output to the node's log source.
 * Lab only: a container running agnhost `netexec` (the canary) runs the guest's busybox
 * httpd instead (netexec-substitute.ts): the lab has no agnhost image.
 * Only the first container of a pod runs (the lab's DaemonSets have one); initContainers,
 * probes and non-hostPath volumes are not run — a pod that needs them is reported with
 * the waiting reason CreateContainerConfigError naming what is missing.
 */
import type { LabPodRef } from '../metrics/lab-usage.js';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { MemoryLogSource } from '../api-server/log-source.js';
import { ImagePullError, pullPolicyOf, type NodeImageStore, type PulledImage } from './image-pull.js';
import type { NodeShell } from './node-agent.js';
import { execInContainer, probeContainers, startContainer, stopContainer, type ContainerProbe, type HostPathMount } from './pod-sandbox.js';
import { rfc3339 } from '../control-plane/kube-time.js';
import { EventRecorder, type EventSink } from './event-recorder.js';
import { labNetexecArgv } from './netexec-substitute.js';
import { alreadyPresentMessage, pulledMessage, PULLED_BYTES_ANNOTATION, PULLED_REASON } from '../../image-pulled-event.js';

export interface PodStatusApi extends EventSink {
  patchPodStatus(namespace: string, name: string, status: object): Promise<void>;
}

/** Back-offs of the lab [upstream in brackets]. */
export const LAB_POD_TIMING = {
  /** PLEG relist [1 s]. */
  relistMs: 1_000,
  /**
   * Container restart back-off, first and maximum [10 s, 300 s]: a tenth of upstream's, as a
   * crash loop on a lab node is the same loop in less time; evaluate's settle grace is
   * derived from it (lab-api-target.ts), so a pinned driver that cannot load is seen settled
   * after 1+2+4 s of back-off and an 8 s grace instead of 2+4+8 s and 16 s.
   */
  backoffMs: 1_000,
  backoffMaxMs: 30_000,
} as const;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

type Waiting = { reason: string; message?: string };

interface PodRun {
  pod: V1Pod;
  key: string;
  uid: string;
  image?: PulledImage;
  /** Instance number of the container (0 = never started). */
  instance: number;
  restartCount: number;
  running: boolean;
  /** Instance `instance` is being created in the node. */
  creating: boolean;
  startedAt?: string;
  waiting?: Waiting;
  lastTerminated?: { exitCode: number; reason: string; finishedAt: string };
  /** The container exited and the restart policy does not restart it: the pod is terminal. */
  finished?: boolean;
  logOffset: number;
  notBefore: number;
  backoffMs: number;
  deleted: boolean;
  lastPosted?: string;
  podStart?: string;
  condTimes?: Record<string, string>;
}

export interface PodManagerOptions {
  node: NodeShell;
  api: PodStatusApi;
  images: NodeImageStore;
  logs: MemoryLogSource;
  log?: (line: string) => void;
  /** Host address posted as status.hostIP. */
  hostIP?: string;
}

export class PodManager {
  private readonly pods = new Map<string, PodRun>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;

  /** The kubelet's event recorder: a repeated identical Event counts up (event-recorder.ts). */
  private readonly events: EventRecorder;

  constructor(private readonly o: PodManagerOptions) {
    this.events = new EventRecorder(o.api);
  }

  /** A pod bound to this node was added or changed (from the shared pod informer). */
  upsert(pod: V1Pod): void {
    const uid = pod.metadata!.uid!;
    const run = this.pods.get(uid);
    const r = run ?? { pod, key: `${pod.metadata!.namespace}/${pod.metadata!.name}`, uid, instance: 0, restartCount: 0, running: false, creating: false, logOffset: 0, notBefore: 0, backoffMs: LAB_POD_TIMING.backoffMs, deleted: false };
    // The echo of this kubelet's own status patch (same spec, no deletion) changes nothing to
    // run: no sync for it. Each sync relists through the node's one agent channel, and the
    // echoes doubled the relists while a pod was starting.
    const unchanged = run && !run.deleted && !pod.metadata!.deletionTimestamp && JSON.stringify(run.pod.spec) === JSON.stringify(pod.spec);
    r.pod = pod;
    if (pod.metadata!.deletionTimestamp) r.deleted = true;
    this.pods.set(uid, r);
    if (!unchanged) this.kick();
  }

  /** The pod is gone from the API (or no longer bound here). */
  remove(uid: string): void {
    const run = this.pods.get(uid);
    if (run) run.deleted = true;
    this.kick();
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(tick, LAB_POD_TIMING.relistMs);
    };
    this.timer = setTimeout(tick, LAB_POD_TIMING.relistMs);
  }

  /** Runs one sync pass after the current one (passes never overlap: the node's channel is serial). */
  private kick(): void {
    if (this.pending) return;
    this.pending = true;
    this.syncing = this.syncing.then(async () => {
      this.pending = false;
      if (this.stopped) return;
      const runs = [...this.pods.values()];
      // One relist of every live container (PLEG relist), then each pod's sync.
      const live = runs.filter((r) => !r.deleted && (r.running || r.creating));
      let states = new Map<string, ContainerProbe>();
      try {
        states = await probeContainers(this.o.node, live.map((r) => ({ uid: r.uid, n: r.instance, offset: r.logOffset })));
      } catch (e) {
        this.o.log?.(`node ${this.o.node.name}: relist: ${(e as Error).message.split('\n')[0]}`);
      }
      for (const run of runs) {
        try {
          await this.sync(run, states.get(run.uid));
        } catch (e) {
          this.o.log?.(`node ${this.o.node.name}: pod ${run.key}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
    });
  }
  private pending = false;

  /** Stops every container (preStop first) — what the node does when the lab goes down. */
  /** Pods whose container runs now, as the metrics source names them (their pod dir is their uid: pod-sandbox.ts). */
  running(): LabPodRef[] {
    return [...this.pods.values()]
      .filter((r) => r.running && !r.deleted)
      .map((r) => ({ namespace: r.pod.metadata!.namespace ?? '', pod: r.pod.metadata!.name ?? '', container: this.container(r).name, image: this.container(r).image, runtimeName: r.uid }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.syncing;
  }

  private container(run: PodRun): V1Container {
    return run.pod.spec!.containers[0]!;
  }

  private env(run: PodRun): Record<string, string> {
    const env: Record<string, string> = {};
    for (const kv of run.image?.config.Env ?? []) {
      const i = kv.indexOf('=');
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    for (const e of this.container(run).env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    env.PATH ??= DEFAULT_PATH;
    env.HOSTNAME = run.pod.metadata!.name!;
    return env;
  }

  /** hostPath volume mounts of the container; an unsupported volume kind is a config error. */
  private mounts(run: PodRun): HostPathMount[] {
    const volumes = new Map((run.pod.spec!.volumes ?? []).map((v) => [v.name, v]));
    return (this.container(run).volumeMounts ?? []).map((m) => {
      const v = volumes.get(m.name);
      if (!v) throw Object.assign(new Error(`volumeMount "${m.name}" names no volume of the pod`), { reason: 'CreateContainerConfigError' });
      if (!v.hostPath) throw Object.assign(new Error(`volume "${m.name}": only hostPath volumes are mounted by the lab's kubelet`), { reason: 'CreateContainerConfigError' });
      return { hostPath: v.hostPath.path, type: v.hostPath.type ?? '', mountPath: m.mountPath, readOnly: m.readOnly === true };
    });
  }

  private argv(run: PodRun): string[] {
    // Kubernetes: command replaces the image ENTRYPOINT, args replace CMD (tasks/inject-data-application/define-command-argument-container).
    const c = this.container(run);
    const cfg = run.image?.config ?? {};
    const entry = c.command ?? cfg.Entrypoint ?? [];
    const args = c.args ?? (c.command ? [] : (cfg.Cmd ?? []));
    // Lab only: agnhost `netexec` (the canary) runs as the guest's busybox httpd (netexec-substitute.ts).
    return labNetexecArgv(c.command, c.args) ?? [...entry, ...args];
  }

  /** `state`: the container as this pass's relist saw it (none: not relisted, e.g. the relist failed). */
  private async sync(run: PodRun, state?: ContainerProbe): Promise<void> {
    const name = this.container(run).name;
    const ns = run.pod.metadata!.namespace!;
    const podName = run.pod.metadata!.name!;
    if (run.deleted) {
      if (run.running || run.creating) {
        const preStop = this.container(run).lifecycle?.preStop?.exec?.command;
        if (preStop && run.running) {
          const r = await execInContainer(this.o.node, run.uid, preStop, this.env(run));
          // A failing preStop does not block the stop (kubelet only records FailedPreStopHook).
          this.o.log?.(`node ${this.o.node.name}: pod ${run.key}: preStop ${preStop.join(' ')} exited ${r.code}${r.output ? `: ${r.output.split('\n').slice(-3).join(' | ')}` : ''}`);
        }
      }
      // A container that is neither running nor being created has no process to signal.
      await stopContainer(this.o.node, run.uid, run.pod.spec!.terminationGracePeriodSeconds ?? 30, true, !run.running && !run.creating);
      this.o.logs.end(ns, podName, name);
      this.o.logs.forget(ns, podName);
      this.pods.delete(run.uid);
      this.o.log?.(`node ${this.o.node.name}: pod ${run.key} stopped`);
      return;
    }
    run.podStart ??= rfc3339();
    if (run.running || run.creating) {
      if (state) await this.observed(run, state);
    } else if (run.finished) {
      // Terminal (restartPolicy Never/OnFailure): nothing to start until the pod is deleted.
    } else if (Date.now() >= run.notBefore) {
      await this.startOnce(run);
    } else if (run.waiting?.reason === 'ErrImagePull') {
      // Waiting out the back-off after a failed pull; the message carries the failed pull's
      // error (kubelet images/image_manager.go EnsureImageExists, v1.32: "Back-off pulling
      // image %q" + ": " + prevPullErrMsg). The pull is tried again when the back-off ends.
      run.waiting = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${this.container(run).image}": ErrImagePull: ${run.waiting.message ?? ''}` };
    }
    await this.postStatus(run);
  }

  /** What the runtime says of the current instance: created, running, exited (restart or not). */
  private async observed(run: PodRun, p: ContainerProbe): Promise<void> {
    const name = this.container(run).name;
    const ns = run.pod.metadata!.namespace!;
    const podName = run.pod.metadata!.name!;
    if (p.state === 'create-failed') {
      run.creating = false;
      this.backoff(run, 'CreateContainerError', p.message ?? 'the container could not be created');
    } else if (p.state !== 'creating') {
      if (run.creating) await this.started(run);
      this.feedLog(run, p.log);
      if (p.state === 'exited' && run.running) {
        run.running = false;
        run.lastTerminated = { exitCode: p.exitCode ?? 137, reason: p.exitCode === 0 ? 'Completed' : 'Error', finishedAt: rfc3339() };
        this.o.logs.end(ns, podName, name);
        if (restarts(run.pod, run.lastTerminated.exitCode)) this.backoff(run, 'CrashLoopBackOff', `back-off restarting failed container ${name} in pod ${podName}`);
        else {
          run.finished = true;
          run.waiting = undefined;
        }
      }
    }
  }

  private backoff(run: PodRun, reason: string, message: string): void {
    run.waiting = { reason, message };
    run.notBefore = Date.now() + run.backoffMs;
    // The pod is synced again when its back-off ends (the kubelet's pod worker requeues itself
    // after the back-off period), not at the first relist tick after it: with a pass taking up
    // to a second on a busy guest, each restart of a crash loop came 1-4 s late.
    setTimeout(() => this.kick(), run.backoffMs).unref();
    run.backoffMs = Math.min(run.backoffMs * 2, LAB_POD_TIMING.backoffMaxMs);
  }

  private feedLog(run: PodRun, text: string): void {
    if (!text) return;
    run.logOffset += Buffer.byteLength(text);
    this.o.logs.append(run.pod.metadata!.namespace!, run.pod.metadata!.name!, this.container(run).name, text);
  }

  private async startOnce(run: PodRun): Promise<void> {
    const c = this.container(run);
    if (!run.image || (c.imagePullPolicy === 'Always' && run.instance === 0)) {
      try {
        run.waiting = { reason: 'ContainerCreating' };
        const t0 = performance.now();
        run.image = await this.o.images.pull(c.image!, pullPolicyOf(c.image!, c.imagePullPolicy));
        if (run.image.pulledBytes > 0) this.o.log?.(`node ${this.o.node.name}: pulled ${run.image.imageID} (${run.image.pulledBytes} bytes)`);
        const ms = performance.now() - t0;
        await this.podEvent(
          run,
          c.name,
          'Normal',
          PULLED_REASON,
          run.image.pulled ? pulledMessage(c.image!, ms, ms, run.image.sizeBytes) : alreadyPresentMessage(c.image!),
          run.image.pulled ? { [PULLED_BYTES_ANNOTATION]: String(run.image.pulledBytes) } : undefined,
        );
      } catch (e) {
        // ErrImagePull now; ImagePullBackOff while the back-off runs (see sync).
        this.backoff(run, e instanceof ImagePullError ? e.reason : 'ErrImagePull', (e as Error).message);
        return;
      }
    }
    let mounts: HostPathMount[];
    try {
      mounts = this.mounts(run);
    } catch (e) {
      this.backoff(run, (e as { reason?: string }).reason ?? 'CreateContainerConfigError', (e as Error).message);
      return;
    }
    const n = run.instance + 1;
    let state: ContainerProbe;
    try {
      const preparedRoot = await this.o.images.preparePodRoot(run.image.sharePath, run.uid);
      state = await startContainer(this.o.node, { uid: run.uid, sharePath: run.image.sharePath, preparedRoot, argv: this.argv(run), env: this.env(run), mounts, oneShot: (run.pod.spec!.restartPolicy ?? 'Always') !== 'Always' }, n);
    } catch (e) {
      this.backoff(run, 'CreateContainerError', (e as Error).message);
      return;
    }
    run.instance = n;
    run.logOffset = 0;
    run.creating = true;
    run.waiting = { reason: 'ContainerCreating' };
    // The start answered with the instance's state: no relist needed to see it run (or end).
    await this.observed(run, state);
  }

  /** The main process of a new instance runs: count the restart, run postStart. */
  private async started(run: PodRun): Promise<void> {
    const c = this.container(run);
    run.creating = false;
    if (run.instance > 1) run.restartCount += 1;
    run.logOffset = 0;
    run.running = true;
    run.startedAt = rfc3339();
    run.waiting = undefined;
    // A new instance: `kubectl logs` shows it from its start.
    this.o.logs.forget(run.pod.metadata!.namespace!, run.pod.metadata!.name!);
    this.o.logs.open(run.pod.metadata!.namespace!, run.pod.metadata!.name!, c.name);
    const postStart = c.lifecycle?.postStart?.exec?.command;
    if (postStart) {
      const r = await execInContainer(this.o.node, run.uid, postStart, this.env(run));
      if (r.code !== 0) {
        // FailedPostStartHook: the kubelet kills the container; the restart policy restarts it.
        this.o.log?.(`node ${this.o.node.name}: pod ${run.key}: postStart ${postStart.join(' ')} exited ${r.code}: ${r.output.split('\n').slice(-3).join(' | ')}`);
        await stopContainer(this.o.node, run.uid, 0, false);
        run.running = false;
        run.lastTerminated = { exitCode: 137, reason: 'Error', finishedAt: rfc3339() };
        this.backoff(run, 'CrashLoopBackOff', `FailedPostStartHook: ${postStart.join(' ')} exited ${r.code}: ${r.output.split('\n').slice(-2).join(' | ')}`);
        // The hook's output is not in the container's log: the kubelet records it in a Warning
        // FailedPostStartHook Event on the pod (kuberuntime_container.go startContainer →
        // recordContainerEvent; the message is the handler runner's "Exec lifecycle hook (…)
        // for Container … failed - error: …, message: <output>").
        await this.hookEvent(run, c.name, postStart, r.code, r.output);
        return;
      }
    }
    run.backoffMs = LAB_POD_TIMING.backoffMs;
  }

  private async hookEvent(run: PodRun, container: string, command: string[], code: number, output: string): Promise<void> {
    const ns = run.pod.metadata!.namespace!;
    const name = run.pod.metadata!.name!;
    // The end of the output, bounded: an Event is a note, not a log.
    const out = output.length > 900 ? output.slice(-900) : output;
    await this.podEvent(
      run,
      container,
      'Warning',
      'FailedPostStartHook',
      `Exec lifecycle hook ([${command.join(' ')}]) for Container "${container}" in Pod "${name}_${ns}(${run.uid})" failed - error: command '${command.join(' ')}' exited with ${code}: , message: ${JSON.stringify(out)}`,
    );
  }

  /** A core/v1 Event on one container of the pod, recorded as the kubelet's event recorder does (source: kubelet on this node). */
  private async podEvent(run: PodRun, container: string, type: 'Normal' | 'Warning', reason: string, message: string, annotations?: Record<string, string>): Promise<void> {
    const ns = run.pod.metadata!.namespace!;
    const name = run.pod.metadata!.name!;
    const now = rfc3339();
    await this.events
      .record(ns, {
        metadata: { generateName: `${name}.`, namespace: ns, ...(annotations ? { annotations } : {}) },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name, namespace: ns, uid: run.uid, fieldPath: `spec.containers{${container}}` },
        type,
        reason,
        message,
        source: { component: 'kubelet', host: this.o.node.name },
        reportingComponent: 'kubelet',
        reportingInstance: this.o.node.name,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      })
      .catch((e: Error) => this.o.log?.(`node ${this.o.node.name}: pod ${run.key}: event ${reason} not recorded: ${e.message.split('\n')[0]}`));
  }

  private async postStatus(run: PodRun): Promise<void> {
    const c = this.container(run);
    const ready = run.running;
    const now = rfc3339();
    const state = run.running
      ? { running: { startedAt: run.startedAt } }
      : run.finished && run.lastTerminated
        ? { terminated: { ...run.lastTerminated, startedAt: run.startedAt } }
        : { waiting: { reason: run.waiting?.reason ?? 'ContainerCreating', ...(run.waiting?.message ? { message: run.waiting.message } : {}) } };
    const cs = {
      name: c.name,
      image: c.image,
      imageID: run.image?.imageID ?? '',
      ready,
      started: run.running,
      restartCount: run.restartCount,
      state,
      ...(run.lastTerminated && !run.finished ? { lastState: { terminated: run.lastTerminated } } : {}),
    };
    const cond = (type: string, status: boolean) => ({ type, status: status ? 'True' : 'False' });
    const status = {
      phase: run.finished ? (run.lastTerminated!.exitCode === 0 ? 'Succeeded' : 'Failed') : run.running || run.restartCount > 0 || run.lastTerminated ? 'Running' : 'Pending',
      conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', ready), cond('Ready', ready)],
      containerStatuses: [cs],
      hostIP: this.o.hostIP ?? '127.0.0.1',
      startTime: run.podStart,
      qosClass: 'Burstable',
    };
    const text = JSON.stringify(status);
    if (text === run.lastPosted) return;
    // lastTransitionTime moves only with the status (what kubelet's status manager keeps).
    const old = new Map((run.lastPosted ? (JSON.parse(run.lastPosted) as typeof status).conditions : []).map((x) => [x.type, x.status]));
    const withTimes = { ...status, conditions: status.conditions.map((x) => ({ ...x, lastProbeTime: null, lastTransitionTime: old.get(x.type) === x.status ? run.condTimes?.[x.type] ?? now : now })) };
    run.condTimes = Object.fromEntries(withTimes.conditions.map((x) => [x.type, x.lastTransitionTime]));
    await this.o.api.patchPodStatus(run.pod.metadata!.namespace!, run.pod.metadata!.name!, withTimes);
    run.lastPosted = text;
  }
}

/**
 * Whether an exited container is started again (k8s.io/kubernetes pkg/kubelet/container/
 * helpers.go ShouldContainerBeRestarted): Always (the default) restarts it, OnFailure only
 * after a non-zero exit, Never not at all.
 */
export function restarts(pod: V1Pod, exitCode: number): boolean {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return exitCode !== 0;
  return true;
}
