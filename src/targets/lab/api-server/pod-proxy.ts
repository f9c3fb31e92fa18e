/**
 * `pods/<name>[:<port>]/proxy/<path>`: the API server forwards the request to the pod's
 * port and relays the answer, as kube-apiserver does (pkg/registry/core/pod/rest/subresources.go
 * ProxyREST; the name may be `<pod>`, `<pod>:<port>` or `<scheme>:<pod>:<port>`). A real
 * API server dials the pod's IP; the lab's pods share their QEMU guest's network, which the
 * host reaches only through the node's forwarded host ports (Node annotation LAB_HOST_PORTS,
 * node-object.ts), so the lab forwards to 127.0.0.1:<host port of the guest port>.
 * Nothing to reach — the node down (its QEMU restarting), no forward for that port, the pod
 * not Running, the connection refused or reset — is a 503 ServiceUnavailable, as
 * kube-apiserver's "error trying to reach service" is.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, type Obj } from './status.js';
import { LAB_HOST_PORTS } from './node-object.js';

/** What the proxy needs from the API's storage. */
export interface ProxyLookup {
  pod(namespace: string, name: string): Obj;
  node(name: string): Obj | undefined;
}

/** `<pod>`, `<pod>:<port>`, `<scheme>:<pod>:<port>` (kube-apiserver's net.SplitSchemeNamePort). */
export function splitProxyName(id: string): { scheme: string; name: string; port?: string } {
  const parts = id.split(':');
  if (parts.length === 1) return { scheme: '', name: parts[0]! };
  if (parts.length === 2) return { scheme: '', name: parts[0]!, port: parts[1]! };
  if (parts.length === 3) return { scheme: parts[0]!, name: parts[1]!, port: parts[2]! };
  throw badRequest(`invalid pod proxy name "${id}"`);
}

const unavailable = (message: string) => new ApiError(503, 'ServiceUnavailable', message);

/** The host port the pod's `port` is reached at, or a 503 saying why there is none. */
export function proxyTarget(lookup: ProxyLookup, namespace: string, id: string): { hostPort: number; pod: string; port: number } {
  const { scheme, name, port: portText } = splitProxyName(id);
  if (scheme && scheme !== 'http') throw badRequest(`the lab's pod proxy speaks http only, not ${scheme}`);
  const pod = lookup.pod(namespace, name);
  const containers = (pod.spec?.containers ?? []) as { ports?: { containerPort?: number; name?: string }[] }[];
  const declared = containers.flatMap((c) => c.ports ?? []);
  // A port given by name resolves through the containers' ports; no port: the first declared one, else 80.
  const port = portText === undefined || portText === '' ? (declared[0]?.containerPort ?? 80) : /^\d+$/.test(portText) ? Number(portText) : declared.find((p) => p.name === portText)?.containerPort;
  if (port === undefined) throw badRequest(`pod ${name} has no port named "${portText}"`);
  const nodeName = pod.spec?.nodeName as string | undefined;
  if (!nodeName) throw unavailable(`pod ${namespace}/${name} is not scheduled to a node`);
  if (pod.status?.phase !== 'Running') throw unavailable(`pod ${namespace}/${name} is not running (phase ${String(pod.status?.phase ?? 'Pending')})`);
  const node = lookup.node(nodeName);
  const ready = ((node?.status?.conditions ?? []) as { type: string; status: string }[]).find((c) => c.type === 'Ready')?.status;
  if (ready !== 'True') throw unavailable(`node ${nodeName} is not ready (Ready=${ready ?? 'unknown'}): error trying to reach pod ${name}`);
  let ports: Record<string, number> = {};
  try {
    ports = JSON.parse(String(node?.metadata?.annotations?.[LAB_HOST_PORTS] ?? '{}')) as Record<string, number>;
  } catch {
    ports = {};
  }
  const hostPort = ports[String(port)];
  if (typeof hostPort !== 'number') throw unavailable(`node ${nodeName} forwards no host port to its port ${port} (${LAB_HOST_PORTS})`);
  return { hostPort, pod: name, port };
}

/** Relays the request to 127.0.0.1:<hostPort><path>; a failure to reach it is a 503 Status. */
export function relay(req: IncomingMessage, res: ServerResponse, hostPort: number, path: string, fail: (e: ApiError) => void, timeoutMs = 10_000): void {
  const headers = { ...req.headers };
  // The API's credentials are not the pod's business (kube-apiserver strips them too).
  delete headers.authorization;
  delete headers.host;
  const up = http.request({ host: '127.0.0.1', port: hostPort, method: req.method, path, headers, agent: false, timeout: timeoutMs }, (pres) => {
    res.writeHead(pres.statusCode ?? 502, pres.headers);
    pres.pipe(res);
  });
  const broken = (why: string) => {
    up.destroy();
    if (!res.headersSent) fail(unavailable(`error trying to reach service: ${why}`));
    else res.destroy();
  };
  up.on('timeout', () => broken(`no answer within ${timeoutMs} ms`));
  up.on('error', (e: NodeJS.ErrnoException) => broken(e.code ?? e.message));
  req.pipe(up);
}
