/**
 * The canary's prober: every `intervalMs` (1 s) each node's canary pod (canary.ts) gets an
 * HTTP GET from outside the node, through the API server's pod proxy
 * (GET /api/v1/namespaces/<ns>/pods/<pod>:8080/proxy/), with a short timeout. The path is
 * what a client of the node's workload depends on: the node, its network, the pod's
 * process — and, being through the API server, the API server too (on single-node
 * OpenShift a reboot takes both down; that is a failed probe as well).
 *
 * Each probe is a raw sample: ok or failed, when it started, how long it took, why it
 * failed. A node with no running canary pod (deleted, not scheduled, its node drained or
 * down) gets a failed sample without a request. Probes of one node never overlap: a slow
 * one delays that node's next, and the others go on.
 */
import { KubeApiError, type KubeClient } from './client.js';
import { CANARY_PORT } from './canary.js';
import { PODS } from './probe-pod.js';

export interface CanarySample {
  node: string;
  ok: boolean;
  /** Host clock when the probe started. */
  at: number;
  /** Start → answer (or error, or timeout). */
  probeMs: number;
  /** The pod probed; absent when the node had none running. */
  pod?: string;
  /** Why it failed: HTTP status and message, connection error, timeout, no pod. */
  error?: string;
}

/** One GET of the pod's HTTP port through the API server's pod proxy: ok on a 2xx in time. */
export async function probeCanaryPod(client: KubeClient, namespace: string, pod: string, timeoutMs: number, now: () => number = Date.now): Promise<{ ok: boolean; probeMs: number; error?: string }> {
  const t0 = now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ ok: false; error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const asked = client
    .request('canary-probe', { method: 'GET', ref: PODS, namespace, name: `${pod}:${CANARY_PORT}`, subresource: 'proxy', subpath: '/', timeoutMs, noRetry: true })
    .then(() => ({ ok: true as const }))
    .catch((e: unknown) => ({ ok: false as const, error: e instanceof KubeApiError ? e.message : String((e as Error)?.message ?? e) }));
  const r = await Promise.race([asked, late]);
  clearTimeout(timer);
  return { ...r, probeMs: now() - t0 };
}

export interface CanaryProberOptions {
  client: KubeClient;
  namespace: string;
  /** The nodes to probe now. */
  nodes: () => string[];
  /** The canary pod running on `node` now (from the watch), or undefined. */
  podOn: (node: string) => string | undefined;
  onSample: (s: CanarySample) => void;
  /** Default 1 s. */
  intervalMs?: number;
  /** Per-probe timeout; default 2 s. */
  timeoutMs?: number;
  now?: () => number;
}

export class CanaryProber {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** The latest sample of each node. */
  readonly latest = new Map<string, CanarySample>();

  constructor(private readonly o: CanaryProberOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  start(): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      if (this.stopped) return;
      for (const node of this.o.nodes()) if (!this.inFlight.has(node)) this.launch(node);
      this.timer = setTimeout(tick, this.o.intervalMs ?? 1_000);
    };
    tick();
  }

  /** One probe of `node` now (also used by tests). */
  async probe(node: string): Promise<CanarySample> {
    const at = this.now();
    const pod = this.o.podOn(node);
    if (!pod) return { node, ok: false, at, probeMs: 0, error: `no running canary pod on ${node}` };
    const r = await probeCanaryPod(this.o.client, this.o.namespace, pod, this.o.timeoutMs ?? 2_000, () => this.now());
    return { node, at, pod, ...r };
  }

  private launch(node: string): void {
    const p = this.probe(node)
      .then((s) => {
        if (this.stopped) return;
        this.latest.set(node, s);
        this.o.onSample(s);
      })
      .finally(() => this.inFlight.delete(node));
    this.inFlight.set(node, p);
  }

  /**
   * Waits until every node in `nodes` answered a probe that started at or after `sinceMs`,
   * up to `timeoutMs`; returns the nodes that did not, with their latest sample.
   */
  async waitAnswering(nodes: string[], sinceMs: number, timeoutMs: number, pollMs = 200): Promise<{ node: string; last?: CanarySample }[]> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const missing = nodes.filter((n) => {
        const s = this.latest.get(n);
        return !(s && s.ok && s.at >= sinceMs);
      });
      if (missing.length === 0 || this.now() >= deadline || this.stopped) return missing.map((node) => ({ node, ...(this.latest.get(node) ? { last: this.latest.get(node) } : {}) }));
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - this.now()))));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([...this.inFlight.values()]);
  }
}

/**
 * Which samples go to the run record: every failed probe and every change of state are
 * raw samples the figures are made of; an unchanged success only every `okEveryMs`
 * (default 5 s), to keep the record readable — the state between two records is the
 * earlier one's, so disruption (first failure → next success) is the same.
 */
export class SampleRecordPolicy {
  private readonly last = new Map<string, { ok: boolean; at: number }>();
  constructor(private readonly okEveryMs = 5_000) {}

  /** The next sample of every node is kept (a new scenario starts with one in its record). */
  forget(): void {
    this.last.clear();
  }

  keep(s: CanarySample): boolean {
    const before = this.last.get(s.node);
    const keep = !s.ok || !before || !before.ok || s.at - before.at >= this.okEveryMs;
    if (keep) this.last.set(s.node, { ok: s.ok, at: s.at });
    return keep;
  }
}

/** The `canary` event payload of a sample (events.ts). */
export function canaryEventData(s: CanarySample): Record<string, unknown> {
  return { up: s.ok, via: 'probe', at: s.at, probeMs: s.probeMs, ...(s.pod ? { pod: s.pod } : {}), ...(s.error ? { error: s.error } : {}) };
}
