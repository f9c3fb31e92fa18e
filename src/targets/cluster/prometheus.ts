/**
 * Resource usage from Prometheus. On OpenShift that is the thanos-querier behind the
 * route `thanos-querier` in `openshift-monitoring` (found through the route API), or a
 * URL given with `--prometheus-url`. The bearer token is the kubeconfig's; a 401 means
 * it expired, so the kubeconfig is read again once and the query retried.
 *
 * TLS and auth as cluster-monitoring-operator deploys it: the route is served by the
 * ingress router with the default ingress certificate, whose CA the ingress operator
 * publishes in ConfigMap openshift-config-managed/default-ingress-cert (`ca-bundle.crt`)
 * — usually NOT the API server's CA in the kubeconfig — so that CA is trusted too; a
 * kubeconfig cluster with `insecure-skip-tls-verify` is not verified here either.
 * thanos-querier's proxy authenticates bearer tokens (and checks the user may get
 * namespaces, what cluster-monitoring-view grants); TLS ends at the router, so a client
 * certificate cannot reach it: such kubeconfigs get a clear error.
 *
 * Queries are `query_range` over a scenario's window with a step that keeps every
 * series under Prometheus' 11,000 points limit. Missing steps are reported as gaps,
 * never filled in: a gap is something the user should see (scrape failures during a
 * reboot are common).
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { redactString } from '../../evaluation/redact.js';
import { UserError } from '../../errors.js';
import type { KubeClient, ResourceRef } from './client.js';
import type { Credentials } from './kubeconfig.js';
import { ensurePrometheusAccess, requestToken, tokenSource } from './prometheus-token.js';

export const ROUTES: ResourceRef = { group: 'route.openshift.io', version: 'v1', resource: 'routes', kind: 'Route', namespaced: true };
const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };
/** Prometheus refuses a range query with more points than this per series. */
export const MAX_POINTS = 11_000;

export interface Series {
  metric: Record<string, string>;
  /** [ms since epoch, value] in time order. */
  points: [number, number][];
}

export interface Gap {
  fromMs: number;
  toMs: number;
  missingSteps: number;
}

/** Smallest step (whole seconds, ≥ minStepS) that keeps the window ≤ MAX_POINTS points. */
export function chooseStep(startMs: number, endMs: number, minStepS = 15, maxPoints = MAX_POINTS): number {
  const spanS = Math.max(0, (endMs - startMs) / 1000);
  // points = floor(span/step) + 1 ≤ maxPoints
  const needed = Math.ceil(spanS / (maxPoints - 1));
  return Math.max(minStepS, needed, 1);
}

/** Expected step timestamps with no point, merged into intervals. */
export function findGaps(points: [number, number][], startMs: number, endMs: number, stepS: number): Gap[] {
  const stepMs = stepS * 1000;
  const have = new Set(points.map(([t]) => Math.round(t)));
  const gaps: Gap[] = [];
  let open: Gap | undefined;
  for (let t = startMs; t <= endMs; t += stepMs) {
    if (!have.has(t)) {
      if (open) {
        open.toMs = t;
        open.missingSteps++;
      } else gaps.push((open = { fromMs: t, toMs: t, missingSteps: 1 }));
    } else open = undefined;
  }
  return gaps;
}

/** Parses a `query_range` answer (matrix). Non-numeric values (NaN, ±Inf) are dropped: a gap. */
export function parseRangeResponse(body: unknown): Series[] {
  const b = body as { status?: string; error?: string; data?: { resultType?: string; result?: { metric?: Record<string, string>; values?: [number, string][] }[] } };
  if (b?.status !== 'success') throw new Error(`Prometheus query failed: ${b?.error ?? 'unknown error'}`);
  if (b.data?.resultType !== 'matrix') throw new Error(`Prometheus answered ${b.data?.resultType ?? 'nothing'}, expected a matrix`);
  return (b.data.result ?? []).map((r) => ({
    metric: r.metric ?? {},
    points: (r.values ?? [])
      .map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number])
      .filter(([, v]) => Number.isFinite(v)),
  }));
}

/** PromQL string literal (label values come from namespace names, but quote anyway). */
function q(s: string): string {
  return JSON.stringify(s);
}

export const QUERIES = {
  namespaceMemory: (ns: string) => `namespace:container_memory_usage_bytes:sum{namespace=${q(ns)}}`,
  podMemory: (ns: string) => `sum by (namespace, pod, node) (container_memory_working_set_bytes{namespace=${q(ns)},container!=""})`,
  podCpu: (ns: string) => `sum by (namespace, pod, node) (rate(container_cpu_usage_seconds_total{namespace=${q(ns)},container!=""}[5m]))`,
  /**
   * The raw counter per container (not rate(): see resource-samples.ts). `container=""` is
   * the pod's own cgroup and "POD" the pause container on some versions: both would double count.
   */
  containerCpuCounter: (ns: string) => `container_cpu_usage_seconds_total{namespace=${q(ns)},container!="",container!="POD"}`,
  nodeMemTotal: () => `node_memory_MemTotal_bytes`,
  nodeMemAvailable: () => `node_memory_MemAvailable_bytes`,
};

export interface PrometheusOptions {
  url: string;
  credentials: Credentials;
  timeoutMs?: number;
  /** More CA certificates to trust (PEM): the cluster's ingress CA. */
  extraCa?: string;
  /** Bearer token when the kubeconfig has none (prometheus-token.ts). */
  token?: () => Promise<string>;
}

export class PrometheusClient {
  constructor(private readonly o: PrometheusOptions) {}

  get url(): string {
    return this.o.url;
  }

  /** True when it queries with kmodlab's ServiceAccount token (to be removed at close). */
  get usesServiceAccount(): boolean {
    return this.o.token !== undefined;
  }

  /**
   * A client for the cluster's Prometheus: `url` (--prometheus-url) or the route, with
   * the ingress CA trusted when the cluster publishes it (read best effort: without it,
   * the system roots and the kubeconfig's CA remain).
   */
  static async forCluster(client: KubeClient, credentials: Credentials, url?: string, o: { serviceAccountNamespace?: string } = {}): Promise<PrometheusClient> {
    const target = url ?? (await PrometheusClient.discover(client));
    const cm = (await client.get('find-prometheus', CONFIGMAPS, 'default-ingress-cert', 'openshift-config-managed').catch(() => undefined)) as { data?: Record<string, string> } | undefined;
    // No bearer token in the kubeconfig (a client certificate): a ServiceAccount token, when kmodlab may write.
    let token: (() => Promise<string>) | undefined;
    const { headers, tls: tlsOpts } = await credentials.requestOptions();
    if (!headers['Authorization'] && tlsOpts['cert'] && o.serviceAccountNamespace) {
      await ensurePrometheusAccess(client, o.serviceAccountNamespace);
      token = tokenSource(client, o.serviceAccountNamespace, await requestToken(client, o.serviceAccountNamespace));
    }
    return new PrometheusClient({ url: target, credentials, extraCa: cm?.data?.['ca-bundle.crt'], token });
  }

  /** Finds thanos-querier through its route; a UserError says to pass --prometheus-url otherwise. */
  static async discover(client: KubeClient): Promise<string> {
    const route = (await client.get('find-prometheus', ROUTES, 'thanos-querier', 'openshift-monitoring').catch(() => undefined)) as
      | { spec?: { host?: string; tls?: unknown } }
      | undefined;
    const host = route?.spec?.host;
    if (!host) {
      throw new UserError('no Prometheus found: the route thanos-querier in openshift-monitoring does not exist or cannot be read', 'pass --prometheus-url <url>');
    }
    return `${route?.spec?.tls ? 'https' : 'http'}://${host}`;
  }

  async queryRange(query: string, startMs: number, endMs: number, stepS: number, retried = false): Promise<Series[]> {
    const url = new URL(`${this.o.url.replace(/\/$/, '')}/api/v1/query_range`);
    url.searchParams.set('query', query);
    url.searchParams.set('start', (startMs / 1000).toFixed(3));
    url.searchParams.set('end', (endMs / 1000).toFixed(3));
    url.searchParams.set('step', `${stepS}s`);
    const { headers, tls: tlsOpts } = await this.o.credentials.requestOptions();
    const auth = headers['Authorization'] ?? (this.o.token ? `Bearer ${await this.o.token()}` : undefined);
    const mod = url.protocol === 'https:' ? https : http;
    // The system roots, the kubeconfig's CA and the ingress CA; or no verification when
    // the kubeconfig cluster says insecure-skip-tls-verify.
    const ca = [...tls.rootCertificates, ...(tlsOpts['ca'] ? [String(tlsOpts['ca'])] : []), ...(this.o.extraCa ? [this.o.extraCa] : [])];
    const insecure = this.o.credentials.config.kc.getCurrentCluster()?.skipTLSVerify === true;
    const tlsReq = url.protocol === 'https:' ? { ca, rejectUnauthorized: !insecure } : {};
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = mod.request(url, { method: 'GET', headers: { Accept: 'application/json', ...(auth ? { Authorization: auth } : {}) }, ...tlsReq }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(this.o.timeoutMs ?? 30_000, () => req.destroy(new Error('no answer')));
      req.on('error', (e) => reject(new Error(`Prometheus ${url.host}: ${redactString(e.message).text}`)));
      req.end();
    });
    if (status === 401 && !retried) {
      this.o.credentials.reload();
      return this.queryRange(query, startMs, endMs, stepS, true);
    }
    if ((status === 401 || status === 403) && !auth && tlsOpts['cert']) {
      throw new Error(
        `Prometheus ${url.host} answered ${status}: the kubeconfig's user (context ${this.o.credentials.config.context}) authenticates with a client certificate, which does not reach thanos-querier (TLS ends at the router); it needs a bearer token — kmodlab asks one for its ServiceAccount unless it may not write (--observe-only, --dry-run=server); otherwise use a token login (oc login), or pass --prometheus-url to a Prometheus that needs none`,
      );
    }
    if (status === 401 || status === 403) {
      throw new Error(`Prometheus ${url.host} refused the kubeconfig's credentials (${status}); the user needs cluster-monitoring-view`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`Prometheus ${url.host} answered ${status} with a body that is not JSON`);
    }
    if (status < 200 || status >= 300) {
      const err = (body as { error?: string }).error ?? '';
      throw new Error(redactString(`Prometheus ${url.host} answered ${status}: ${err}`).text);
    }
    return parseRangeResponse(body);
  }
}
