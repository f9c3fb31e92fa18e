/**
 * A small Kubernetes API client for the cluster target. client-node's KubeConfig
 * supplies credentials (kubeconfig.ts); requests are plain node:http(s) so that
 *   - every request names its entry in the API_CALLS table (api-calls.ts) and is
 *     refused if the verb/resource is not there — the printed RBAC stays exact;
 *   - server-side apply sends `application/apply-patch+yaml` (client-node's typed
 *     clients send merge-patch unless told otherwise, and the server answers 415);
 *   - watch streams are under our control (watch.ts resumes them);
 *   - `--dry-run=server` adds `dryRun=All` to EVERY mutating request, so nothing is
 *     persisted whatever the caller does;
 *   - `--observe-only` refuses every non-read verb with a UserError.
 * Error messages carry the API's Status message (scrubbed), never request headers.
 */
import http from 'node:http';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { FIELD_MANAGER } from '../../labels.js';
import { UserError } from '../../errors.js';
import { redactString } from '../../evaluation/redact.js';
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { API_CALLS, nonResourceAllowed, READ_VERBS, rulesAllow, type ApiCall, type ApiCallId, type Verb } from './api-calls.js';
import type { Credentials } from './kubeconfig.js';
import { parseProxyUrl, routeThroughProxy } from './proxy.js';

/** Where a kind lives in the API (from discovery). */
export interface ResourceRef {
  group: string;
  version: string;
  /** Plural resource name, e.g. `daemonsets`. */
  resource: string;
  kind: string;
  namespaced: boolean;
}

/** What a request addresses: a resource collection/object, or a non-resource path. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  ref?: ResourceRef;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** Path after the subresource, sent as is (a pod proxy's `/` or `/healthz`); not part of the RBAC resource. */
  subpath?: string;
  /** Answer once: no retry after Retry-After (a probe whose result is the answer it got in time). */
  noRetry?: boolean;
  /** Non-resource path (discovery, /readyz) when `ref` is absent. */
  path?: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** A body sent as is (a binary build's archive), instead of JSON. */
  rawBody?: Buffer;
  contentType?: string;
  timeoutMs?: number;
}

/** One request as the client made it: what the RBAC test checks against the role. */
export interface CallRecord {
  call: ApiCallId;
  verb: Verb;
  group?: string;
  resource?: string;
  name?: string;
  path: string;
}

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | undefined,
    readonly call: ApiCallId,
  ) {
    super(message);
  }
}

export interface KubeClientOptions {
  credentials: Credentials;
  /** `--dry-run=server`: every mutating request carries `dryRun=All`. */
  dryRun?: boolean;
  /** `--observe-only`: read verbs only. */
  observeOnly?: boolean;
  /** Per-request timeout (not for streams). */
  requestTimeoutMs?: number;
}

/** Core group → /api/v1, others → /apis/<g>/<v>. */
export function groupVersionPath(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function resourcePath(ref: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  let p = groupVersionPath(ref.group, ref.version);
  if (ref.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${ref.resource}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/** The RBAC verb of a request, as the API server's authorizer derives it. */
export function verbOf(spec: RequestSpec): Verb {
  switch (spec.method) {
    case 'GET':
      if (spec.query?.['watch'] === true || spec.query?.['watch'] === 'true') return 'watch';
      return spec.name !== undefined || spec.ref === undefined ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PATCH':
      return 'patch';
    case 'PUT':
      return 'update';
    case 'DELETE':
      return 'delete';
  }
}

function isMutating(method: RequestSpec['method']): boolean {
  return method !== 'GET';
}

export interface StreamResponse {
  status: number;
  /** Lines of the body as they arrive (watch events are newline-delimited JSON). */
  lines: AsyncIterable<string>;
  /** Ends the stream now. */
  abort(): void;
}

export class KubeClient {
  /** Each distinct kind of request made (call, verb, resource), for audits; bounded by the table's size. */
  readonly calls: CallRecord[] = [];
  private readonly callKeys = new Set<string>();
  private readonly discovery = new Map<string, Promise<{ name: string; kind: string; namespaced: boolean }[]>>();

  constructor(private readonly opts: KubeClientOptions) {}

  get dryRun(): boolean {
    return this.opts.dryRun === true;
  }
  get observeOnly(): boolean {
    return this.opts.observeOnly === true;
  }
  get context(): string {
    return this.opts.credentials.config.context;
  }
  get defaultNamespace(): string {
    return this.opts.credentials.config.namespace;
  }

  private record(c: CallRecord): void {
    const key = `${c.call} ${c.verb} ${c.group ?? ''} ${c.resource ?? c.path}`;
    if (this.callKeys.has(key)) return;
    this.callKeys.add(key);
    this.calls.push(c);
  }

  /** Checks a request against its table entry and the mode; returns the final path and query. */
  private authorize(callId: ApiCallId, spec: RequestSpec): { path: string; query: Record<string, string> } {
    const call: ApiCall = API_CALLS[callId];
    const verb = verbOf(spec);
    const path = spec.ref ? resourcePath(spec.ref, spec.namespace, spec.name, spec.subresource) + (spec.subpath ?? '') : spec.path;
    if (path === undefined) throw new Error(`request for ${callId} has neither a resource nor a path`);
    if (spec.ref) {
      const resource = spec.subresource ? `${spec.ref.resource}/${spec.subresource}` : spec.ref.resource;
      // Server-side apply may create the object: the API server then also checks `create`.
      const verbs: Verb[] = spec.contentType === APPLY_PATCH ? ['patch', 'create'] : [verb];
      for (const v of verbs) {
        if (!rulesAllow(call.rules ?? [], v, spec.ref.group, resource, spec.name)) {
          throw new Error(`internal: ${v} ${spec.ref.group || 'core'}/${resource} is not in the API_CALLS entry "${callId}" (api-calls.ts)`);
        }
      }
      this.record({ call: callId, verb, group: spec.ref.group, resource, name: spec.name, path });
    } else {
      if (verb !== 'get' || !nonResourceAllowed(call.nonResourceURLs ?? [], path)) {
        throw new Error(`internal: ${spec.method} ${path} is not in the API_CALLS entry "${callId}" (api-calls.ts)`);
      }
      this.record({ call: callId, verb, path });
    }
    if (this.observeOnly && !READ_VERBS.includes(verb)) {
      throw new UserError(
        `--observe-only: kmodlab would ${verb} ${spec.ref?.kind ?? path}${spec.name ? `/${spec.name}` : ''} (${call.why}), but --observe-only uses read verbs only`,
        'drop --observe-only to let kmodlab apply and remove objects (`kmodlab rbac` prints the role that needs)',
      );
    }
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) query[k] = String(v);
    if (this.dryRun && isMutating(spec.method)) query['dryRun'] = 'All';
    return { path, query };
  }

  private async open(callId: ApiCallId, spec: RequestSpec, retried = false, attempt = 0): Promise<http.IncomingMessage & { abort: () => void }> {
    const { path, query } = this.authorize(callId, spec);
    const base = new URL(this.opts.credentials.config.server);
    const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const { headers, tls } = await this.opts.credentials.requestOptions();
    const body = spec.rawBody ?? (spec.body === undefined ? undefined : Buffer.from(JSON.stringify(spec.body)));
    const reqHeaders: Record<string, string> = { ...headers, Accept: 'application/json' };
    if (body) {
      reqHeaders['Content-Type'] = spec.contentType ?? 'application/json';
      reqHeaders['Content-Length'] = String(body.length);
    }
    const https_ = url.protocol === 'https:';
    const mod = https_ ? https : http;
    // kubeconfig `proxy-url` (client-node 1.4 KubeConfig.createAgent; client-go rest.Config.Proxy).
    const proxyUrl = this.opts.credentials.config.kc.getCurrentCluster()?.proxyUrl;
    let target: URL | string = url;
    let extra: Record<string, unknown> = https_ ? tls : {};
    if (proxyUrl) {
      const route = routeThroughProxy(parseProxyUrl(proxyUrl, this.context), url, tls, spec.timeoutMs);
      if (route.via) {
        target = new URL(route.via.origin);
        extra = { path: url.href, headers: { ...reqHeaders, ...(route.requestOptions['headers'] as Record<string, string>) } };
      } else extra = { ...tls, ...route.requestOptions };
    }
    const res = await new Promise<http.IncomingMessage & { abort: () => void }>((resolve, reject) => {
      const viaPlainProxy = typeof target !== 'string' && target !== url;
      const req = (viaPlainProxy ? http : mod).request(target, { method: spec.method, headers: reqHeaders, ...extra }, (r) => {
        resolve(Object.assign(r, { abort: () => req.destroy() }));
      });
      req.on('error', (e) => reject(new KubeApiError(`${spec.method} ${path}: ${redactString(e.message).text}`, 0, 'ConnectionError', callId)));
      if (spec.timeoutMs !== undefined) {
        req.setTimeout(spec.timeoutMs, () => req.destroy(new Error(`no answer within ${spec.timeoutMs} ms`)));
      }
      req.end(body);
    });
    if (res.statusCode === 401 && !retried) {
      // The token may have expired and been refreshed on disk (oc login): read it again, once.
      // This also drops cached exec-plugin credentials (kubeconfig.ts), as client-go does on a 401.
      res.resume();
      this.opts.credentials.reload();
      return this.open(callId, spec, true, attempt);
    }
    const wait = retryAfterMs(res);
    if (wait !== undefined && attempt < MAX_RETRIES && !spec.noRetry) {
      res.resume();
      await sleep(wait);
      return this.open(callId, spec, retried, attempt + 1);
    }
    return res;
  }

  /** A request whose body is read whole; non-2xx → KubeApiError. */
  async request(callId: ApiCallId, spec: RequestSpec): Promise<{ status: number; body: unknown; text: string }> {
    const res = await this.open(callId, { timeoutMs: this.opts.requestTimeoutMs ?? 30_000, ...spec });
    const text = await readAll(res);
    let body: unknown = undefined;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(callId, spec, status, body, this.context);
    return { status, body, text };
  }

  /** A streaming GET (watch); the caller reads lines and aborts. Non-2xx → KubeApiError. */
  async stream(callId: ApiCallId, spec: RequestSpec): Promise<StreamResponse> {
    const res = await this.open(callId, spec);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const text = await readAll(res);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      throw apiError(callId, spec, status, body, this.context);
    }
    return { status, lines: splitLines(res), abort: () => res.abort() };
  }

  /** Drops the cached discovery of a group/version (a CRD installed since, e.g. by an operator). */
  forgetDiscovery(apiVersion: string): void {
    const { group, version } = splitApiVersion(apiVersion);
    this.discovery.delete(groupVersionPath(group, version));
  }

  /** GVK → resource, through discovery (cached per group/version). */
  async mapping(apiVersion: string, kind: string): Promise<ResourceRef> {
    const { group, version } = splitApiVersion(apiVersion);
    const gvPath = groupVersionPath(group, version);
    let list = this.discovery.get(gvPath);
    if (!list) {
      list = this.request('discovery', { method: 'GET', path: gvPath }).then((r) => {
        const resources = ((r.body as { resources?: unknown[] })?.resources ?? []) as { name: string; kind: string; namespaced: boolean }[];
        return resources.filter((x) => !x.name.includes('/'));
      });
      this.discovery.set(gvPath, list);
      list.catch(() => this.discovery.delete(gvPath));
    }
    let resources;
    try {
      resources = await list;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) {
        throw new UserError(`the cluster does not serve ${apiVersion} (needed for ${kind}): is the operator or CRD that provides it installed?`);
      }
      throw e;
    }
    const hit = resources.find((r) => r.kind === kind);
    if (!hit) throw new UserError(`the cluster serves ${apiVersion} but not the kind ${kind}`);
    return { group, version, resource: hit.name, kind, namespaced: hit.namespaced };
  }

  private namespaceOf(ref: ResourceRef, obj: K8sObject): string | undefined {
    return ref.namespaced ? (obj.metadata.namespace ?? this.defaultNamespace) : undefined;
  }

  /**
   * Server-side apply: PATCH with `application/apply-patch+yaml` (JSON is YAML),
   * field manager `kmodlab`, `force` (kmodlab owns what it renders), strict field
   * validation (a typo in a rendered field is an error, not silently dropped).
   */
  async apply(callId: ApiCallId, obj: K8sObject): Promise<K8sObject> {
    const ref = await this.mapping(obj.apiVersion, obj.kind);
    const r = await this.request(callId, {
      method: 'PATCH',
      ref,
      namespace: this.namespaceOf(ref, obj),
      name: obj.metadata.name,
      query: { fieldManager: FIELD_MANAGER, force: true, fieldValidation: 'Strict' },
      body: obj,
      contentType: APPLY_PATCH,
    });
    return r.body as K8sObject;
  }

  async get(callId: ApiCallId, ref: ResourceRef, name: string, namespace?: string): Promise<K8sObject | undefined> {
    try {
      return (await this.request(callId, { method: 'GET', ref, name, namespace })).body as K8sObject;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async list(callId: ApiCallId, ref: ResourceRef, opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {}): Promise<{ items: K8sObject[]; resourceVersion: string }> {
    const r = await this.request(callId, {
      method: 'GET',
      ref,
      namespace: opts.namespace,
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
    });
    const body = r.body as { items?: K8sObject[]; metadata?: { resourceVersion?: string } };
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' };
  }

  async create(callId: ApiCallId, ref: ResourceRef, obj: K8sObject): Promise<K8sObject> {
    const r = await this.request(callId, { method: 'POST', ref, namespace: this.namespaceOf(ref, obj), body: obj, query: { fieldManager: FIELD_MANAGER } });
    return r.body as K8sObject;
  }

  /**
   * Deletes with foreground propagation (dependents go first, as `oc delete --cascade=foreground`)
   * and waits, bounded, until the object is gone. With dry-run nothing is deleted, so
   * there is nothing to wait for. A missing object counts as gone.
   */
  async delete(callId: ApiCallId, obj: K8sObject, opts: { waitMs?: number; pollMs?: number } = {}): Promise<{ gone: boolean }> {
    const ref = await this.mapping(obj.apiVersion, obj.kind);
    const namespace = this.namespaceOf(ref, obj);
    return this.deleteRef(callId, ref, obj.metadata.name, namespace, opts);
  }

  async deleteRef(callId: ApiCallId, ref: ResourceRef, name: string, namespace: string | undefined, opts: { waitMs?: number; pollMs?: number } = {}): Promise<{ gone: boolean }> {
    try {
      await this.request(callId, {
        method: 'DELETE',
        ref,
        namespace,
        name,
        query: { propagationPolicy: 'Foreground' },
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' },
      });
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return { gone: true };
      throw e;
    }
    if (this.dryRun) return { gone: false };
    const deadline = Date.now() + (opts.waitMs ?? 300_000);
    const poll = opts.pollMs ?? 1000;
    for (;;) {
      // Reading the object back needs `get` on it: apply entries grant it.
      if ((await this.get(callId, ref, name, namespace)) === undefined) return { gone: true };
      if (Date.now() >= deadline) return { gone: false };
      await sleep(Math.min(poll, Math.max(0, deadline - Date.now())));
    }
  }

  /** GET /readyz: true when the API server says it is ready. Connection errors → false. */
  async readyz(timeoutMs = 5000): Promise<{ ok: boolean; status: number; error?: string }> {
    try {
      const r = await this.request('readyz', { method: 'GET', path: '/readyz', timeoutMs });
      return { ok: true, status: r.status };
    } catch (e) {
      if (e instanceof KubeApiError) return { ok: false, status: e.status, error: e.message };
      throw e;
    }
  }
}

export const APPLY_PATCH = 'application/apply-patch+yaml';

/**
 * client-go's rest client (rest/request.go `checkWait`, rest/with_retry.go) retries a
 * response that is 429 or 5xx AND carries `Retry-After: <seconds>`, waiting that long,
 * at most `maxRetries` (10) times; the request body is replayed (ours is a buffer).
 * Without Retry-After the answer is final. The API server sends 429 + Retry-After under
 * API Priority and Fairness, and 503 + Retry-After while it starts or shuts down.
 * Waits are capped so that one request cannot stall a run for long.
 */
const MAX_RETRIES = 10;
const MAX_RETRY_WAIT_MS = 60_000;
function retryAfterMs(res: http.IncomingMessage): number | undefined {
  const code = res.statusCode ?? 0;
  if (code !== 429 && (code < 500 || code > 599)) return undefined;
  const h = res.headers['retry-after'];
  if (h === undefined || !/^\s*\d+\s*$/.test(String(h))) return undefined;
  return Math.min(Number(h) * 1000, MAX_RETRY_WAIT_MS);
}

function apiError(callId: ApiCallId, spec: RequestSpec, status: number, body: unknown, context: string): KubeApiError {
  const st = body as { message?: string; reason?: string } | undefined;
  const what = `${spec.method} ${spec.ref ? `${spec.ref.kind}${spec.name ? `/${spec.name}` : ''}` : spec.path}`;
  let msg = `${what}: ${status}${st?.reason ? ` ${st.reason}` : ''}${st?.message ? `: ${st.message}` : ''}`;
  if (status === 401) msg = `${what}: 401 Unauthorized: the credentials of context ${context} were refused (expired? log in again, e.g. oc login)`;
  if (status === 403) msg += ` (see \`kmodlab rbac\` for the role kmodlab needs)`;
  return new KubeApiError(redactString(msg).text, status, st?.reason, callId);
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Lines of a streaming body. Ends on 'end', on an error and on a closed socket — a
 * stream cut before its first byte may not end the async iterator by itself, and a
 * watch that never ends would never be resumed.
 */
async function* splitLines(res: http.IncomingMessage): AsyncIterable<string> {
  const queue: string[] = [];
  let done = false;
  let wake: (() => void) | undefined;
  let buf = '';
  // A chunk may end inside a multi-byte UTF-8 character: the decoder keeps the partial
  // bytes for the next chunk (Buffer.toString would turn both halves into U+FFFD).
  const decoder = new StringDecoder('utf8');
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const finish = () => {
    done = true;
    notify();
  };
  res.on('data', (c: Buffer) => {
    buf += decoder.write(c);
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) queue.push(line);
    }
    notify();
  });
  res.on('end', finish);
  res.on('error', finish);
  res.on('aborted', finish);
  res.on('close', finish);
  res.socket?.on('close', finish);
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (done) break;
      await new Promise<void>((r) => (wake = r));
    }
    buf += decoder.end();
    if (buf.trim()) yield buf.trim();
  } finally {
    res.destroy();
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
