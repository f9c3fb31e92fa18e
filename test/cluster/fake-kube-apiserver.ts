/**
 * A FAKE Kubernetes API server for tests — not a real one, just enough of the protocol
 * to exercise kmodlab's cluster plumbing on 127.0.0.1: discovery, server-side apply
 * (content type checked, a naive deep merge, dryRun=All stores nothing), JSON merge
 * patch, create, get,
 * list (label selector equality), delete (foreground: finalizer first, gone later),
 * watch streams from a resourceVersion with 410 Gone after compaction, forced
 * disconnects, empty 200s, /readyz on/off/down, bearer tokens with expiry, pod logs,
 * the pod proxy (pods/<pod>:<port>/proxy/…: a Running pod answers, see `podProxy`),
 * and a request log the RBAC test reads.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

export interface FakeResource {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
}

export const FAKE_RESOURCES: FakeResource[] = [
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
  { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', kind: 'Role', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
  { group: 'image.openshift.io', version: 'v1', resource: 'imagestreams', kind: 'ImageStream', namespaced: true },
  { group: 'image.openshift.io', version: 'v1', resource: 'imagestreamtags', kind: 'ImageStreamTag', namespaced: true },
  { group: 'build.openshift.io', version: 'v1', resource: 'buildconfigs', kind: 'BuildConfig', namespaced: true },
  { group: 'build.openshift.io', version: 'v1', resource: 'builds', kind: 'Build', namespaced: true },
  { group: 'machineconfiguration.openshift.io', version: 'v1', resource: 'machineconfigs', kind: 'MachineConfig', namespaced: false },
  { group: 'machineconfiguration.openshift.io', version: 'v1', resource: 'machineconfigpools', kind: 'MachineConfigPool', namespaced: false },
  { group: 'machineconfiguration.openshift.io', version: 'v1', resource: 'machineosconfigs', kind: 'MachineOSConfig', namespaced: false },
  { group: 'machineconfiguration.openshift.io', version: 'v1', resource: 'machineosbuilds', kind: 'MachineOSBuild', namespaced: false },
  { group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', resource: 'modules', kind: 'Module', namespaced: true },
  { group: 'operators.coreos.com', version: 'v1', resource: 'operatorgroups', kind: 'OperatorGroup', namespaced: true },
  { group: 'operators.coreos.com', version: 'v1alpha1', resource: 'subscriptions', kind: 'Subscription', namespaced: true },
  { group: 'config.openshift.io', version: 'v1', resource: 'clusterversions', kind: 'ClusterVersion', namespaced: false },
  { group: 'route.openshift.io', version: 'v1', resource: 'routes', kind: 'Route', namespaced: true },
  { group: 'operators.coreos.com', version: 'v1alpha1', resource: 'clusterserviceversions', kind: 'ClusterServiceVersion', namespaced: true },
  { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false },
];

type Obj = { apiVersion: string; kind: string; metadata: Record<string, any>; [k: string]: any };

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  status: number;
}

interface Watcher {
  res: http.ServerResponse;
  key: string;
  namespace?: string;
  labelSelector?: string;
}

function deepMerge(into: any, from: any): any {
  if (Array.isArray(from) || typeof from !== 'object' || from === null) return structuredClone(from);
  const out = typeof into === 'object' && into !== null && !Array.isArray(into) ? { ...into } : {};
  // RFC 7386 (JSON merge patch): null removes the member.
  for (const [k, v] of Object.entries(from)) {
    if (v === null) delete out[k];
    else out[k] = deepMerge(out[k], v);
  }
  return out;
}

function matchesSelector(o: Obj, selector?: string): boolean {
  if (!selector) return true;
  const labels = (o.metadata['labels'] ?? {}) as Record<string, string>;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return v === undefined ? k! in labels : labels[k!] === v;
  });
}

export class FakeKubeApiServer {
  readonly log: LoggedRequest[] = [];
  /** Accepted bearer tokens (empty set: no auth required). */
  readonly tokens = new Set<string>();
  readyz: 'ok' | 'notready' | 'down' = 'ok';
  /** /readyz answers 403 (the cluster removed system:public-info-viewer from anonymous). */
  readyzForbidden = false;
  /** The next N watch requests get a 200 that ends at once with no event. */
  emptyWatchResponses = 0;
  /** Delete finishes this long after the request (foreground finalization). */
  deleteDelayMs = 50;
  /** Called after an object is created or changed for real (not dry-run): the "controllers". */
  reactors: ((type: 'ADDED' | 'MODIFIED' | 'DELETED', o: Obj, server: FakeKubeApiServer) => void)[] = [];
  /**
   * Resources (`<group>/<resource>`) not served yet — a CRD an operator has not installed:
   * missing from discovery and 404 for every request, as on a real server.
   */
  readonly unserved = new Set<string>();
  /** Archives received by `buildconfigs/<name>/instantiatebinary` (build logs go in podLogs, keyed namespace/build). */
  readonly binaryUploads: { namespace: string; buildConfig: string; build: string; contentType?: string; archive: Buffer }[] = [];
  /** Tokens issued through TokenRequest (serviceaccounts/<name>/token). */
  readonly issuedTokens: { namespace: string; serviceAccount: string; token: string }[] = [];
  /** Pod logs by namespace/name. */
  readonly podLogs = new Map<string, string>();
  /**
   * What `GET pods/<pod>:<port>/proxy/<path>` answers, given the stored pod (undefined: no
   * such pod). Default: a Running pod answers 200, anything else 503 — as kube-apiserver's
   * proxy does when it cannot reach the pod. `'hang'` never answers.
   */
  podProxy: (pod: Obj | undefined, port: string, path: string) => { status: number; body: string } | 'hang' = (pod) =>
    pod?.['status']?.phase === 'Running' ? { status: 200, body: `NOW: ${new Date().toISOString()}` } : { status: 503, body: 'error trying to reach service: connection refused' };

  private server: http.Server;
  /** Subject CN of the client certificate of each TLS request ('' when none). */
  readonly clientCerts: string[] = [];

  /** With `tls`, the fake serves HTTPS and asks for (but does not require) a client certificate. */
  constructor(tls?: { key: string; cert: string; clientCa: string }) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (tls) {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
        const authorized = (req.socket as import('node:tls').TLSSocket).authorized;
        this.clientCerts.push(authorized && peer?.subject ? String(peer.subject.CN) : '');
      }
      void this.handle(req, res);
    };
    this.server = tls
      ? https.createServer({ key: tls.key, cert: tls.cert, ca: tls.clientCa, requestCert: true, rejectUnauthorized: false }, handler)
      : http.createServer(handler);
  }
  private sockets = new Set<Socket>();
  private store = new Map<string, Obj>();
  private rv = 100;
  private compactedRv = 0;
  private history: { rv: number; type: string; key: string; obj: Obj }[] = [];
  private watchers = new Set<Watcher>();
  url = '';

  async start(): Promise<string> {
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `${this.server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Forgets history: watches from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  /** Closes every open watch stream (as the API server does on timeout or restart). */
  disconnectWatches(): void {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  private resourceOf(group: string, resource: string): FakeResource | undefined {
    if (this.unserved.has(`${group}/${resource}`)) return undefined;
    return FAKE_RESOURCES.find((r) => r.group === group && r.resource === resource);
  }

  private keyOf(r: FakeResource, ns: string | undefined, name: string): string {
    return `${r.group}/${r.resource}/${r.namespaced ? (ns ?? '') : ''}/${name}`;
  }

  /** Puts an object as a controller or the test would (bumps resourceVersion, notifies watches). */
  put(o: Obj): Obj {
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
    const r = FAKE_RESOURCES.find((x) => x.group === group && x.version === version && x.kind === o.kind);
    if (!r) throw new Error(`fake: unknown kind ${o.apiVersion} ${o.kind}`);
    const key = this.keyOf(r, o.metadata['namespace'], o.metadata['name']);
    const existed = this.store.has(key);
    const stored = structuredClone(o);
    stored.metadata['resourceVersion'] = String(++this.rv);
    stored.metadata['uid'] ??= this.store.get(key)?.metadata['uid'] ?? `uid-${this.rv}`;
    this.store.set(key, stored);
    this.notify(existed ? 'MODIFIED' : 'ADDED', key, stored);
    return stored;
  }

  /** Changes a stored object in place (status updates by "controllers"). */
  update(apiVersion: string, kind: string, name: string, namespace: string | undefined, fn: (o: Obj) => void): Obj {
    const o = this.get(apiVersion, kind, name, namespace);
    if (!o) throw new Error(`fake: ${kind}/${name} not found`);
    fn(o);
    return this.put(o);
  }

  get(apiVersion: string, kind: string, name: string, namespace?: string): Obj | undefined {
    const [group] = apiVersion.includes('/') ? apiVersion.split('/') : [''];
    const r = FAKE_RESOURCES.find((x) => x.group === group && x.kind === kind)!;
    const o = this.store.get(this.keyOf(r, namespace, name));
    return o ? structuredClone(o) : undefined;
  }

  all(kind?: string): Obj[] {
    return [...this.store.values()].filter((o) => !kind || o.kind === kind).map((o) => structuredClone(o));
  }

  /** Deletes an object at once (as a controller would), notifying watches. */
  removeObject(apiVersion: string, kind: string, name: string, namespace?: string): void {
    const [group] = apiVersion.includes('/') ? apiVersion.split('/') : [''];
    const r = FAKE_RESOURCES.find((x) => x.group === group && x.kind === kind)!;
    this.remove(this.keyOf(r, namespace, name));
  }

  private remove(key: string): void {
    const o = this.store.get(key);
    if (!o) return;
    this.store.delete(key);
    o.metadata['resourceVersion'] = String(++this.rv);
    this.notify('DELETED', key, o);
  }

  private notify(type: string, key: string, obj: Obj): void {
    const rv = Number(obj.metadata['resourceVersion']);
    this.history.push({ rv, type, key, obj: structuredClone(obj) });
    for (const w of this.watchers) this.send(w, type, key, obj);
    for (const f of this.reactors) f(type as 'ADDED', structuredClone(obj), this);
  }

  private send(w: Watcher, type: string, key: string, obj: Obj): void {
    if (!key.startsWith(w.key)) return;
    if (w.namespace && obj.metadata['namespace'] !== w.namespace) return;
    if (!matchesSelector(obj, w.labelSelector)) return;
    w.res.write(`${JSON.stringify({ type, object: obj })}\n`);
  }

  private json(res: http.ServerResponse, status: number, body: unknown, log: LoggedRequest): void {
    log.status = status;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private status(res: http.ServerResponse, code: number, reason: string, message: string, log: LoggedRequest): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code }, log);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const log: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname, query, contentType: req.headers['content-type'], status: 0 };
    this.log.push(log);
    if (url.pathname === '/readyz' || url.pathname === '/livez') {
      if (this.readyz === 'down') {
        req.socket.destroy();
        return;
      }
      // As kube-apiserver: /readyz is open to anonymous requests (system:public-info-viewer),
      // but a request that PRESENTS a bearer token the server does not accept fails
      // authentication (401) before authorization is consulted; `readyzForbidden`
      // models a cluster that removed the public-info-viewer binding (403).
      const auth = req.headers['authorization'] ?? '';
      if (this.tokens.size > 0 && auth.startsWith('Bearer ') && !this.tokens.has(auth.slice(7))) return this.status(res, 401, 'Unauthorized', 'Unauthorized', log);
      if (this.readyzForbidden) return this.status(res, 403, 'Forbidden', 'forbidden: User "system:anonymous" cannot get path "/readyz"', log);
      log.status = this.readyz === 'ok' ? 200 : 500;
      res.writeHead(log.status, { 'Content-Type': 'text/plain' });
      res.end(this.readyz === 'ok' ? 'ok' : '[-]etcd failed: reason withheld\nreadyz check failed');
      return;
    }
    if (this.readyz === 'down') {
      req.socket.destroy(); // the API is unreachable during a reboot
      return;
    }
    if (this.tokens.size > 0 && !this.clientCerts.at(-1)) {
      const auth = req.headers['authorization'] ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!this.tokens.has(token)) return this.status(res, 401, 'Unauthorized', 'Unauthorized', log);
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const bodyText = Buffer.concat(chunks).toString('utf8');

    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent); // as a real server: `name:tag` arrives %-encoded
    // Discovery.
    if (segs[0] === 'api' && segs.length === 2) return this.discovery(res, '', segs[1]!, log);
    if (segs[0] === 'apis' && segs.length === 3) return this.discovery(res, segs[1]!, segs[2]!, log);
    let group: string;
    let rest: string[];
    if (segs[0] === 'api') {
      group = '';
      rest = segs.slice(2);
    } else if (segs[0] === 'apis') {
      group = segs[1]!;
      rest = segs.slice(3);
    } else return this.status(res, 404, 'NotFound', 'the server could not find the requested resource', log);
    let ns: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, sub] = rest as [string, string | undefined, string | undefined];
    const r = this.resourceOf(group, resource);
    if (!r) return this.status(res, 404, 'NotFound', 'the server could not find the requested resource', log);
    const dry = query['dryRun'] === 'All';

    if (req.method === 'POST' && resource === 'buildconfigs' && name && sub === 'instantiatebinary') {
      // As OpenShift's build API: the archive is the body; the answer is the Build created.
      const bc = this.store.get(this.keyOf(r, ns, name));
      if (!bc) return this.status(res, 404, 'NotFound', `buildconfigs.build.openshift.io "${name}" not found`, log);
      if (bc['spec']?.source?.type !== 'Binary') return this.status(res, 400, 'BadRequest', `build config ${name} does not support binary builds`, log);
      const n = (bc['status']?.lastVersion ?? 0) + 1;
      this.put({ ...bc, status: { ...(bc['status'] ?? {}), lastVersion: n } });
      const build = this.put({
        apiVersion: 'build.openshift.io/v1',
        kind: 'Build',
        metadata: { name: `${name}-${n}`, namespace: ns, labels: { buildconfig: name, 'openshift.io/build-config.name': name } },
        spec: { source: { type: 'Binary', binary: {} } },
        status: { phase: 'New' },
      });
      this.binaryUploads.push({ namespace: ns!, buildConfig: name, build: build.metadata['name'], contentType: req.headers['content-type'], archive: Buffer.concat(chunks) });
      return this.json(res, 201, build, log);
    }

    if (req.method === 'GET' && resource === 'pods' && name && sub === 'proxy') {
      // name is `<pod>:<port>` (or `<scheme>:<pod>:<port>`); the rest of the path goes to the pod.
      const bits = name.split(':');
      const podName = bits.length === 3 ? bits[1]! : bits[0]!;
      const port = bits.at(-1) ?? '';
      const pod = this.store.get(this.keyOf(r, ns, podName));
      if (!pod) return this.status(res, 404, 'NotFound', `pods "${podName}" not found`, log);
      const answer = this.podProxy(structuredClone(pod), port, `/${segs.slice(segs.indexOf('proxy') + 1).join('/')}`);
      if (answer === 'hang') return;
      if (answer.status >= 300) return this.status(res, answer.status, answer.status === 503 ? 'ServiceUnavailable' : 'InternalError', answer.body, log);
      log.status = answer.status;
      res.writeHead(answer.status, { 'Content-Type': 'text/plain' });
      res.end(answer.body);
      return;
    }

    switch (req.method) {
      case 'GET': {
        if (name && sub === 'log') {
          const text = this.podLogs.get(`${ns}/${name}`);
          if (text === undefined) return this.status(res, 404, 'NotFound', `pods "${name}" not found`, log);
          log.status = 200;
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end(text);
          return;
        }
        if (name) {
          const o = this.store.get(this.keyOf(r, ns, name));
          if (!o) return this.status(res, 404, 'NotFound', `${resource} "${name}" not found`, log);
          return this.json(res, 200, o, log);
        }
        if (query['watch'] === 'true' || query['watch'] === '1') return this.watch(req, res, r, ns, query, log);
        const prefix = `${r.group}/${r.resource}/`;
        const items = [...this.store.entries()]
          .filter(([k, o]) => k.startsWith(prefix) && (!ns || o.metadata['namespace'] === ns) && matchesSelector(o, query['labelSelector']))
          .map(([, o]) => o);
        return this.json(res, 200, { kind: `${r.kind}List`, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, metadata: { resourceVersion: String(this.rv) }, items }, log);
      }
      case 'PATCH': {
        if (req.headers['content-type'] === 'application/merge-patch+json' && name) {
          // JSON merge patch (what `oc adm upgrade` sends): the object must exist.
          const key = this.keyOf(r, ns, name);
          const cur = this.store.get(key);
          if (!cur) return this.status(res, 404, 'NotFound', `${resource} "${name}" not found`, log);
          const merged = deepMerge(cur, JSON.parse(bodyText)) as Obj;
          if (dry) return this.json(res, 200, merged, log);
          return this.json(res, 200, this.put(merged), log);
        }
        if (req.headers['content-type'] !== 'application/apply-patch+yaml') {
          return this.status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml`, log);
        }
        if (!query['fieldManager']) return this.status(res, 422, 'Invalid', 'fieldManager is required for apply requests', log);
        const body = JSON.parse(bodyText) as Obj; // JSON is YAML; kmodlab sends JSON
        if (!name || body.metadata?.['name'] !== name) return this.status(res, 400, 'BadRequest', 'name in body does not match URL', log);
        const key = this.keyOf(r, ns, name);
        const merged = deepMerge(this.store.get(key) ?? {}, body) as Obj;
        if (r.namespaced) merged.metadata['namespace'] = ns;
        merged.metadata['managedFields'] = [{ manager: query['fieldManager'], operation: 'Apply' }];
        if (dry) return this.json(res, 200, merged, log);
        const existed = this.store.has(key);
        return this.json(res, existed ? 200 : 201, this.put(merged), log);
      }
      case 'POST': {
        if (resource === 'serviceaccounts' && name && sub === 'token') {
          // TokenRequest (authentication.k8s.io/v1): a bound token for an existing ServiceAccount.
          if (!this.store.has(this.keyOf(r, ns, name))) return this.status(res, 404, 'NotFound', `serviceaccounts "${name}" not found`, log);
          const req = JSON.parse(bodyText) as { spec?: { expirationSeconds?: number } };
          const token = `fake-sa-token-${ns}-${name}-${++this.rv}`;
          this.issuedTokens.push({ namespace: ns!, serviceAccount: name, token });
          const exp = new Date(Date.now() + (req.spec?.expirationSeconds ?? 3600) * 1000).toISOString();
          return this.json(res, 201, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: req.spec ?? {}, status: { token, expirationTimestamp: exp } }, log);
        }
        const body = JSON.parse(bodyText) as Obj;
        if (r.namespaced) body.metadata['namespace'] = ns;
        const key = this.keyOf(r, ns, body.metadata['name']);
        if (this.store.has(key)) return this.status(res, 409, 'AlreadyExists', `${resource} "${body.metadata['name']}" already exists`, log);
        if (dry) return this.json(res, 201, body, log);
        return this.json(res, 201, this.put(body), log);
      }
      case 'DELETE': {
        if (!name) return this.status(res, 405, 'MethodNotAllowed', 'collection delete not supported by the fake', log);
        const key = this.keyOf(r, ns, name);
        const o = this.store.get(key);
        if (!o) return this.status(res, 404, 'NotFound', `${resource} "${name}" not found`, log);
        if (dry) return this.json(res, 200, o, log);
        const policy = query['propagationPolicy'] ?? (JSON.parse(bodyText || '{}') as { propagationPolicy?: string }).propagationPolicy;
        o.metadata['deletionTimestamp'] = new Date().toISOString();
        if (policy === 'Foreground') o.metadata['finalizers'] = ['foregroundDeletion'];
        const updated = this.put(o);
        setTimeout(() => this.remove(key), this.deleteDelayMs);
        return this.json(res, 200, updated, log);
      }
      default:
        return this.status(res, 405, 'MethodNotAllowed', 'method not allowed', log);
    }
  }

  private discovery(res: http.ServerResponse, group: string, version: string, log: LoggedRequest): void {
    const resources = FAKE_RESOURCES.filter((r) => r.group === group && r.version === version && !this.unserved.has(`${r.group}/${r.resource}`));
    if (resources.length === 0) return this.status(res, 404, 'NotFound', 'the server could not find the requested resource', log);
    const gv = group ? `${group}/${version}` : version;
    this.json(
      res,
      200,
      {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: gv,
        resources: [
          ...resources.map((r) => ({ name: r.resource, kind: r.kind, namespaced: r.namespaced, verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] })),
          ...resources.map((r) => ({ name: `${r.resource}/status`, kind: r.kind, namespaced: r.namespaced, verbs: ['get', 'patch'] })),
        ],
      },
      log,
    );
  }

  private watch(req: http.IncomingMessage, res: http.ServerResponse, r: FakeResource, ns: string | undefined, query: Record<string, string>, log: LoggedRequest): void {
    log.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    if (this.emptyWatchResponses > 0) {
      this.emptyWatchResponses--;
      res.end();
      return;
    }
    const from = Number(query['resourceVersion'] ?? '0');
    if (from > 0 && from < this.compactedRv) {
      // As the API server does: a 200 stream whose only event is an ERROR with a 410 Status.
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${from} (${this.compactedRv})` } })}\n`);
      return;
    }
    const w: Watcher = { res, key: `${r.group}/${r.resource}/`, namespace: ns, labelSelector: query['labelSelector'] };
    for (const h of this.history) if (h.rv > from) this.send(w, h.type, h.key, h.obj);
    res.flushHeaders();
    this.watchers.add(w);
    const done = () => this.watchers.delete(w);
    req.on('close', done);
    res.on('close', done);
    const secs = Number(query['timeoutSeconds'] ?? '0');
    if (secs > 0) setTimeout(() => res.end(), secs * 1000).unref();
  }
}
