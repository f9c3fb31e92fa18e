/**
 * API availability, measured by polling `/readyz`. On single-node OpenShift a reboot
 * (layering, kernel switch, upgrade) takes the API down for minutes, so an outage is
 * measured to its end, up to `limitMs` (default 30 min); past the limit measuring
 * stops and the outage is reported as still open at that point (never as ended).
 * Connection refused/reset counts as down, like a 5xx.
 *
 * 401/403 are answers, not downtime: kube-apiserver serves /readyz to anonymous users
 * (the system:public-info-viewer binding), but a request presenting a token it does not
 * accept fails authentication (401), and a cluster without that binding answers 403.
 * Either is reported once as a credentials problem (`api-credentials`), and outages
 * are not measured until /readyz answers again.
 */
import type { KubeClient } from './client.js';
import type { TargetEmit } from '../target.js';

export interface Outage {
  fromMs: number;
  /** End, when seen; absent while open or when measuring stopped at the limit. */
  toMs?: number;
  /** True when measuring gave up at `limitMs`. */
  limitReached?: boolean;
  /** Seen ready again after the limit (the length stays unknown). */
  endedAfterLimit?: boolean;
}

export interface ReadyzOptions {
  client: KubeClient;
  emit: TargetEmit;
  /** Poll period (default 2 s). */
  intervalMs?: number;
  /** Longest outage measured (default 30 min). */
  limitMs?: number;
  /** Per-request timeout (default min(5 s, interval)). */
  timeoutMs?: number;
  now?: () => number;
}

export class ReadyzMonitor {
  readonly outages: Outage[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;
  /** Set while /readyz refuses our credentials (401/403). */
  credentialsProblem: string | undefined;

  constructor(private readonly o: ReadyzOptions) {
    this.now = o.now ?? Date.now;
  }

  get limitMs(): number {
    return this.o.limitMs ?? 30 * 60_000;
  }

  /** The outage in progress, if any. */
  get open(): Outage | undefined {
    const last = this.outages.at(-1);
    return last && last.toMs === undefined && !last.limitReached ? last : undefined;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      if (this.stopped) return;
      this.polling = this.pollOnce().then(() => undefined, () => undefined).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs ?? 2000);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
  }

  /** One probe; records transitions. Exposed for tests and for a final check. */
  async pollOnce(): Promise<boolean> {
    const interval = this.o.intervalMs ?? 2000;
    const r = await this.o.client.readyz(this.o.timeoutMs ?? Math.min(5000, Math.max(500, interval)));
    const t = this.now();
    if (r.status === 401 || r.status === 403) {
      if (this.credentialsProblem === undefined) {
        this.credentialsProblem = r.error ?? `/readyz answered ${r.status}`;
        this.o.emit('fault', {
          fault: 'api-credentials',
          status: r.status,
          message: `/readyz refused the credentials (${r.status}): API outages are not measured while they are refused (${this.credentialsProblem})`,
        });
      }
      return false;
    }
    this.credentialsProblem = undefined;
    const last = this.outages.at(-1);
    // An outage whose measuring stopped at the limit is still going until /readyz is ok.
    const pastLimit = last?.limitReached === true && !last.endedAfterLimit ? last : undefined;
    const open = this.open;
    if (!r.ok) {
      if (pastLimit) return false;
      if (!open) {
        this.outages.push({ fromMs: t });
        this.o.emit('progress', { step: 'API server not ready (/readyz)', apiOutage: 'start', status: r.status });
      } else if (t - open.fromMs >= this.limitMs) {
        open.limitReached = true;
        this.o.emit('fault', {
          fault: 'api-outage-limit',
          message: `the API server has been unavailable for ${Math.round((t - open.fromMs) / 1000)} s; stopped measuring at the ${Math.round(this.limitMs / 60_000)} min limit`,
        });
      }
      return false;
    }
    if (open) {
      open.toMs = t;
      this.o.emit('progress', { step: `API server ready again after ${Math.round((t - open.fromMs) / 1000)} s`, apiOutage: 'end', outageMs: t - open.fromMs });
    } else if (pastLimit) {
      // Back, but its length is unknown beyond the limit: no measured figure.
      pastLimit.endedAfterLimit = true;
      this.o.emit('progress', { step: 'API server ready again (the outage exceeded the measuring limit)', apiOutage: 'end' });
    }
    return true;
  }

  /** Waits until /readyz answers ok, up to the limit; false when it did not. */
  async waitReady(limitMs = this.limitMs): Promise<boolean> {
    const deadline = this.now() + limitMs;
    for (;;) {
      if (await this.pollOnce()) return true;
      if (this.credentialsProblem !== undefined) throw new Error(`cannot tell whether the API server is ready: its credentials were refused (${this.credentialsProblem})`);
      if (this.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, this.o.intervalMs ?? 2000));
    }
  }
}
