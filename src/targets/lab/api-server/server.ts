/**
 * The lab's Kubernetes API server: HTTPS on 127.0.0.1, bearer-token authentication,
 * and the URL layout of kube-apiserver (k8s.io/apiserver pkg/endpoints/installer.go):
 *   /api/v1/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]
 *   /apis/<group>/<version>/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]
 * plus discovery, /openapi/v3, /version, `pods/<pod>:<port>/proxy/` (pod-proxy.ts) and the health endpoints (/healthz, /livez,
 * /readyz and /version answer without credentials, as the system:public-info-viewer
 * role allows on a cluster). Everything authenticated is allowed: the lab has one admin.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, badRequest, methodNotAllowed, notFound, unsupportedMediaType, type Obj } from './status.js';
import { ResourceRegistry, typeKey, type ResourceType } from './resources.js';
import { Store, type StoredEvent } from './store.js';
import { ObjectService, PATCH_CONTENT_TYPES, type DeleteOptions, type FieldValidation, type WriteOptions } from './objects.js';
import { OPENAPI_V2_PROTOBUF, openapiV2Protobuf, apiGroupDoc, apiGroupList, apiVersions, gvOf, openapiV3Document, openapiV3Root, resourceList, versionInfo } from './discovery.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { MemoryLogSource, type LogQuery, type LogSource } from './log-source.js';
import { bearerMatches, kubeconfigText, newToken, type ServingPki } from './tls.js';
import { openshiftCrds } from './openshift-crds.js';
import { instantiate } from './builds.js';
import { bindPod } from './binding.js';
import { decodeDeleteOptions } from './protobuf-delete-options.js';
import { scaleOf, writeScale } from './scale.js';
import { CRD_TYPE, NAMESPACE_TYPE } from './resources.js';
import { toTable, wantsTable } from './tables.js';
import { proxyTarget, relay } from './pod-proxy.js';

export interface ApiServerOptions {
  pki: ServingPki;
  /** 0 (default) picks a free port. */
  port?: number;
  token?: string;
  logs?: LogSource;
  /** How often an idle watch gets a BOOKMARK when it asked for them (kube-apiserver: about a minute). */
  bookmarkIntervalMs?: number;
  historyLimit?: number;
  /** Install the OpenShift kinds as CRDs at start (default true). */
  openshiftKinds?: boolean;
}

const MAX_BODY = 3 * 1024 * 1024; // kube-apiserver's request size limit

interface Route {
  t: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function send(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string | string[]> = { 'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json', 'Content-Length': String(Buffer.byteLength(text)) };
  if (warnings.length) headers['Warning'] = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

async function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString('utf8');
}

export class LabApiServer {
  readonly registry = new ResourceRegistry();
  readonly store: Store;
  readonly objects: ObjectService;
  readonly logs: LogSource;
  readonly token: string;
  private server: https.Server | undefined;
  private url_ = '';
  private readonly openWatches = new Set<() => void>();
  /** The resource type (storage key) each open watch follows. */
  private readonly watchTypes = new Map<() => void, string>();

  constructor(private readonly opts: ApiServerOptions) {
    this.store = new Store({ historyLimit: opts.historyLimit });
    this.objects = new ObjectService(this.registry, this.store);
    this.logs = opts.logs ?? new MemoryLogSource();
    this.token = opts.token ?? newToken();
    // A kind that stops being served (its CRD deleted) ends its watches, as kube-apiserver does.
    this.objects.onTypesChanged = () => {
      const served = new Set(this.registry.all().map((t) => typeKey(t)));
      for (const [end, key] of [...this.watchTypes]) if (!served.has(key)) end();
    };
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) this.objects.bootstrap(NAMESPACE_TYPE, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    if (opts.openshiftKinds !== false) for (const crd of openshiftCrds()) this.objects.bootstrap(CRD_TYPE, crd);
  }

  get url(): string {
    return this.url_;
  }

  kubeconfig(namespace = 'default'): string {
    return kubeconfigText(this.url_, this.opts.pki.caCert, this.token, namespace);
  }

  async start(): Promise<string> {
    this.server = https.createServer({ cert: this.opts.pki.cert, key: this.opts.pki.key }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.url_ = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url_;
  }

  async stop(): Promise<void> {
    for (const end of [...this.openWatches]) end();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /**
   * Ends every open watch and log stream, as kube-apiserver does when it restarts or a
   * watch reaches its timeout: clients must reconnect (and resume, or relist on 410).
   */
  endWatches(): void {
    for (const end of [...this.openWatches]) end();
  }

  get watchCount(): number {
    return this.openWatches.size;
  }

  private fail(res: ServerResponse, e: unknown): void {
    if (e instanceof ApiError) return send(res, e.code, e.toStatus());
    const err = new ApiError(500, 'InternalError', `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
    process.stderr.write(`lab api: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    send(res, 500, err.toStatus());
  }

  private route(parts: string[]): Route | undefined {
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') [group, version, rest] = ['', parts[1]!, parts.slice(2)];
    else [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
    if (rest.length === 0) return undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const t = this.registry.find(group, version, rest[2]!);
      if (t?.namespaced) return { t, namespace: rest[1], name: rest[3], subresource: rest[4] };
    }
    const t = this.registry.find(group, version, rest[0]!);
    if (!t) throw new ApiError(404, 'NotFound', `the server could not find the requested resource`);
    return { t, name: rest[1], subresource: rest[2] };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (method === 'GET' && ['/healthz', '/livez', '/readyz'].includes(p)) return send(res, 200, 'ok');
    if (method === 'GET' && p === '/version') return send(res, 200, versionInfo());
    if (!bearerMatches(req.headers.authorization, this.token)) {
      return send(res, 401, new ApiError(401, 'Unauthorized', 'Unauthorized').toStatus());
    }
    const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
    // ---- discovery ----
    if (method === 'GET') {
      if (p === '/api') return send(res, 200, apiVersions(`127.0.0.1:${new URL(this.url_).port}`));
      if (p === '/apis') return send(res, 200, apiGroupList(this.registry));
      if (p === '/openapi/v3') return send(res, 200, openapiV3Root(this.registry));
      if (p === '/openapi/v2') {
        const body = openapiV2Protobuf();
        res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTOBUF, 'Content-Length': String(body.length) });
        return void res.end(body);
      }
      if (parts[0] === 'openapi' && parts[1] === 'v3') {
        const doc = openapiV3Document(this.registry, parts.slice(2).join('/'));
        return doc ? send(res, 200, doc) : send(res, 404, notFound('openapi', '', parts.slice(2).join('/')).toStatus());
      }
      if (parts[0] === 'api' && parts.length === 2) {
        const l = resourceList(this.registry, '', parts[1]!);
        return l ? send(res, 200, l) : send(res, 404, new ApiError(404, 'NotFound', 'the server could not find the requested resource').toStatus());
      }
      if (parts[0] === 'apis' && parts.length === 2) {
        const g = apiGroupDoc(this.registry, parts[1]!);
        return g ? send(res, 200, g) : send(res, 404, new ApiError(404, 'NotFound', 'the server could not find the requested resource').toStatus());
      }
      if (parts[0] === 'apis' && parts.length === 3) {
        const l = resourceList(this.registry, parts[1]!, parts[2]!);
        return l ? send(res, 200, l) : send(res, 404, new ApiError(404, 'NotFound', 'the server could not find the requested resource').toStatus());
      }
    }
    if (!((parts[0] === 'api' && parts.length >= 3) || (parts[0] === 'apis' && parts.length >= 4))) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const r = this.route(parts);
    if (!r) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const { t, namespace, name, subresource } = r;
    if (method === 'POST' && name && t.group === 'build.openshift.io' && t.resource === 'buildconfigs' && (subresource === 'instantiate' || subresource === 'instantiatebinary')) {
      const build = await instantiate(this.objects, this.registry, namespace!, name, subresource, req, q, async () => this.json(await readBody(req), req) as Obj);
      return send(res, 201, build);
    }
    if (method === 'POST' && name && subresource === 'binding' && t.binding) {
      const agent = (req.headers['user-agent'] ?? 'unknown').split('/')[0]!;
      return send(res, 201, bindPod(this.objects, t, namespace!, name, this.json(await readBody(req), req) as Obj, q.get('fieldManager') ?? agent));
    }
    if (name && subresource === 'scale' && t.scale) {
      const sopts: WriteOptions = { dryRun: q.getAll('dryRun').length > 0, fieldManager: q.get('fieldManager') ?? undefined, fieldValidation: 'Ignore' };
      const who = (req.headers['user-agent'] ?? 'unknown').split('/')[0]!;
      if (method === 'GET') return send(res, 200, scaleOf(this.objects.get(t, namespace, name)));
      if (method === 'PUT') return send(res, 200, writeScale(this.objects, t, namespace!, name, await readBody(req), undefined, sopts, who));
      if (method === 'PATCH') {
        const type = PATCH_CONTENT_TYPES[(req.headers['content-type'] ?? '').split(';')[0]!.trim()];
        if (!type) throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_CONTENT_TYPES).join(', ')}`);
        return send(res, 200, writeScale(this.objects, t, namespace!, name, await readBody(req), type, sopts, who));
      }
      throw methodNotAllowed(`${method} is not supported on ${t.resource}/scale`);
    }
    if (t.kind === 'Pod' && t.group === '' && namespace && name && subresource === 'proxy') {
      // pods/<name>[:port]/proxy/<path>: relayed to the pod through its node's forwarded port (pod-proxy.ts).
      const target = proxyTarget({ pod: (ns, n) => this.objects.get(t, ns, n), node: (n) => this.store.get('nodes.', undefined, n) }, namespace, name);
      // /api/v1/namespaces/<ns>/pods/<name>/proxy/<path…>: the pod's path starts at the 9th segment.
      const raw = url.pathname.split('/');
      return relay(req, res, target.hostPort, `/${raw.slice(8).join('/')}${url.search}`, (e) => this.fail(res, e));
    }
    if (subresource && !(subresource === 'status' && t.status) && !(subresource === 'log' && t.log)) {
      if (t.kind === 'Pod' && ['exec', 'attach', 'portforward'].includes(subresource)) throw methodNotAllowed(`pods/${subresource} is not served by the lab API`);
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const dryRunParam = q.getAll('dryRun');
    for (const d of dryRunParam) if (d !== 'All') throw badRequest(`invalid dry run option: "${d}": only "All" is supported`);
    const fv = (q.get('fieldValidation') ?? 'Warn') as FieldValidation;
    if (!['Strict', 'Warn', 'Ignore'].includes(fv)) throw badRequest(`invalid fieldValidation: "${fv}": expected Strict, Warn or Ignore`);
    const wopts: WriteOptions = { dryRun: dryRunParam.length > 0, fieldManager: q.get('fieldManager') ?? undefined, fieldValidation: fv };
    const agent = (req.headers['user-agent'] ?? 'unknown').split('/')[0]!;
    const ns = t.namespaced ? namespace : undefined;
    switch (method) {
      case 'GET': {
        if (subresource === 'log') return this.podLog(req, res, t, ns, name!, q);
        if (name) {
          const o = this.objects.get(t, ns, name);
          return send(res, 200, wantsTable(req.headers.accept) ? toTable(t, [o], o.metadata.resourceVersion, q.get('includeObject') ?? undefined) : o);
        }
        if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(req, res, t, ns, q);
        const list = this.objects.list(t, ns, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined);
        return send(res, 200, wantsTable(req.headers.accept) ? toTable(t, list.items, list.metadata.resourceVersion, q.get('includeObject') ?? undefined) : list);
      }
      case 'POST': {
        if (name) throw methodNotAllowed(`POST is not allowed on a named ${t.kind}`);
        const body = this.json(await readBody(req), req);
        const r2 = this.objects.create(t, ns, body, wopts, agent);
        return send(res, 201, r2.object, r2.warnings);
      }
      case 'PUT': {
        if (!name) throw methodNotAllowed(`PUT needs a ${t.kind} name`);
        const r2 = this.objects.update(t, ns, name, this.json(await readBody(req), req), wopts, subresource, agent);
        return send(res, 200, r2.object, r2.warnings);
      }
      case 'PATCH': {
        if (!name) throw methodNotAllowed(`PATCH needs a ${t.kind} name`);
        const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const type = PATCH_CONTENT_TYPES[ctype];
        if (!type) throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_CONTENT_TYPES).join(', ')}`);
        const force = q.get('force') === 'true';
        if (q.has('force') && type !== 'apply') throw badRequest('force is only valid for apply patches');
        const r2 = this.objects.patch(t, ns, name, type, await readBody(req), { ...wopts, force }, subresource, agent);
        return send(res, r2.created ? 201 : 200, r2.object, r2.warnings);
      }
      case 'DELETE': {
        if (!name) throw methodNotAllowed(`deleting a collection of ${t.resource} is not served by the lab API`);
        const bytes = await readBodyBytes(req);
        const text = bytes.toString('utf8');
        // kubectl's typed clients (kubectl drain) send DeleteOptions as protobuf.
        const proto = (req.headers['content-type'] ?? '').includes('protobuf') ? decodeDeleteOptions(bytes) : undefined;
        const body = (proto ?? (text.trim() ? this.json(text, req) : {})) as Obj;
        const dopts: DeleteOptions = {
          propagationPolicy: (q.get('propagationPolicy') ?? body.propagationPolicy ?? (body.orphanDependents === true ? 'Orphan' : undefined)) as DeleteOptions['propagationPolicy'],
          preconditions: body.preconditions,
          dryRun: wopts.dryRun || (Array.isArray(body.dryRun) && body.dryRun.includes('All')),
        };
        if (dopts.propagationPolicy && !['Background', 'Foreground', 'Orphan'].includes(dopts.propagationPolicy)) throw badRequest(`invalid propagationPolicy: "${dopts.propagationPolicy}"`);
        const o = this.objects.delete(t, ns, name, dopts);
        const stillThere = !dopts.dryRun && this.objectExists(t, ns, name);
        return send(res, stillThere ? 202 : 200, o);
      }
      default:
        throw methodNotAllowed(`${method} is not supported`);
    }
  }

  private objectExists(t: ResourceType, ns: string | undefined, name: string): boolean {
    return this.store.get(typeKey(t), ns, name) !== undefined;
  }

  private json(text: string, req: IncomingMessage): unknown {
    const ct = req.headers['content-type'] ?? 'application/json';
    // client-go's typed clients (e.g. `kubectl create configmap`) send protobuf; the lab decodes JSON only.
    if (ct.includes('protobuf')) throw unsupportedMediaType('the lab API reads JSON request bodies only (application/json); protobuf bodies (kubectl create <generator>, typed client-go clients) are not supported: use kubectl create/apply -f');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
    }
  }

  /**
   * A watch stream: newline-delimited JSON events, as kube-apiserver writes them
   * (k8s.io/apiserver pkg/endpoints/handlers/watch.go). Selector moves are reported as
   * ADDED/DELETED like the watch cache does; an expired resourceVersion is an ERROR
   * event with a 410 Status (how the watch cache answers, not an HTTP 410).
   */
  private watch(req: IncomingMessage, res: ServerResponse, t: ResourceType, ns: string | undefined, q: URLSearchParams): void {
    const lm = parseLabelSelector(q.get('labelSelector') ?? undefined);
    const fm = parseFieldSelector(q.get('fieldSelector') ?? undefined);
    const rvParam = q.get('resourceVersion') ?? '';
    const initial = q.get('sendInitialEvents') === 'true';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resourceVersion: "${rvParam}"`);
    const matches = (o: Obj) => (ns === undefined || o.metadata.namespace === ns) && lm(o) && fm(o);
    const gv = gvOf(t.group, t.version);
    const table = wantsTable(req.headers.accept);
    const write = (type: string, object: Obj) => {
      const o: Obj = { ...object, apiVersion: gv, kind: t.kind };
      const wire = table && type !== 'BOOKMARK' && type !== 'ERROR' ? toTable(t, [o], o.metadata.resourceVersion, q.get('includeObject') ?? undefined) : o;
      res.write(`${JSON.stringify({ type, object: wire })}\n`);
    };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const onEvent = (ev: StoredEvent) => {
      const now = ev.type !== 'DELETED' && matches(ev.object);
      const before = ev.old !== undefined && ev.type !== 'ADDED' && matches(ev.old);
      if (ev.type === 'ADDED' && now) write('ADDED', ev.object);
      else if (ev.type === 'MODIFIED') {
        if (now && before) write('MODIFIED', ev.object);
        else if (now) write('ADDED', ev.object);
        else if (before) write('DELETED', ev.object);
      } else if (ev.type === 'DELETED' && matches(ev.object)) write('DELETED', ev.object);
    };
    let unsubscribe: () => void = () => undefined;
    try {
      if (rvParam === '' || rvParam === '0' || initial) {
        const list = this.objects.list(t, ns, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined);
        for (const o of list.items) write('ADDED', o);
        if (initial && q.get('allowWatchBookmarks') === 'true') {
          write('BOOKMARK', { metadata: { resourceVersion: list.metadata.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } } });
        }
        unsubscribe = this.store.watch(typeKey(t), Number(list.metadata.resourceVersion), onEvent);
      } else {
        unsubscribe = this.store.watch(typeKey(t), Number(rvParam), onEvent);
      }
    } catch (e) {
      if (e instanceof ApiError && e.code === 410) {
        res.end(`${JSON.stringify({ type: 'ERROR', object: e.toStatus() })}\n`);
        return;
      }
      throw e;
    }
    const timers: NodeJS.Timeout[] = [];
    if (q.get('allowWatchBookmarks') === 'true') {
      timers.push(setInterval(() => write('BOOKMARK', { metadata: { resourceVersion: this.store.resourceVersion } }), this.opts.bookmarkIntervalMs ?? 60_000));
    }
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    // Without timeoutSeconds, kube-apiserver ends watches after its min-request-timeout (1800 s) ×[1,2).
    timers.push(setTimeout(() => end(), (timeout > 0 ? timeout : 1800 * (1 + Math.random())) * 1000));
    const end = () => {
      unsubscribe();
      for (const x of timers) clearTimeout(x);
      this.openWatches.delete(end);
      this.watchTypes.delete(end);
      res.end();
    };
    this.openWatches.add(end);
    this.watchTypes.set(end, typeKey(t));
    req.on('close', end);
    res.on('error', end);
  }

  /**
   * `pods/log` of a pod on a node whose kubelet publishes its port: proxied to the kubelet's
   * /containerLogs, as kube-apiserver does (pkg/registry/core/pod/rest/log.go → LogLocation).
   * The lab's kubelets listen on 127.0.0.1 and take the lab's token.
   */
  private kubeletLog(req: IncomingMessage, res: ServerResponse, port: number, q: LogQuery): void {
    const params = new URLSearchParams();
    if (q.follow) params.set('follow', 'true');
    if (q.tailLines !== undefined) params.set('tailLines', String(q.tailLines));
    if (q.previous) params.set('previous', 'true');
    const path = `/containerLogs/${encodeURIComponent(q.namespace)}/${encodeURIComponent(q.pod)}/${encodeURIComponent(q.container)}?${params}`;
    const up = http.get({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${this.token}` } }, (kres) => {
      if (kres.statusCode !== 200) {
        kres.resume();
        return send(res, 400, badRequest(`container "${q.container}" in pod "${q.pod}" is waiting to start: ContainerCreating`).toStatus());
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
      kres.pipe(res);
    });
    up.on('error', (e) => send(res, 500, new ApiError(500, 'InternalError', `Get "https://127.0.0.1:${port}${path}": ${e.message}`).toStatus()));
    const end = () => {
      up.destroy();
      this.openWatches.delete(end);
      res.end();
    };
    this.openWatches.add(end);
    req.on('close', end);
  }

  /** `pods/log`: text/plain from the log source; `follow` streams until the container ends. */
  private podLog(req: IncomingMessage, res: ServerResponse, t: ResourceType, ns: string | undefined, name: string, q: URLSearchParams): void {
    const pod = this.objects.get(t, ns, name);
    const containers = ((pod.spec?.containers ?? []) as Obj[]).map((c) => String(c.name));
    let container = q.get('container') ?? undefined;
    if (!container) {
      if (containers.length !== 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
      container = containers[0]!;
    } else if (!containers.includes(container) && !((pod.spec?.initContainers ?? []) as Obj[]).some((c) => c.name === container)) {
      throw badRequest(`container ${container} is not valid for pod ${name}`);
    }
    const tail = q.get('tailLines');
    const query = { namespace: ns!, pod: name, container, follow: q.get('follow') === 'true', tailLines: tail ? Number(tail) : undefined, previous: q.get('previous') === 'true' };
    const nodeName = pod.spec?.nodeName as string | undefined;
    const node = nodeName ? this.store.get('nodes.', undefined, nodeName) : undefined;
    const kubeletPort = node?.status?.daemonEndpoints?.kubeletEndpoint?.Port as number | undefined;
    if (kubeletPort) return this.kubeletLog(req, res, kubeletPort, query);
    const lines = this.logs.read(query);
    if (lines === undefined && !query.follow) throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    for (const l of lines ?? []) res.write(`${l}\n`);
    if (!query.follow) return void res.end();
    const stop = this.logs.follow(query, (l) => res.write(`${l}\n`), () => {
      res.end();
    });
    const end = () => {
      stop();
      this.openWatches.delete(end);
      res.end();
    };
    this.openWatches.add(end);
    req.on('close', end);
  }
}
