/**
 * The kubelets' own HTTP endpoint, where the API server reads `pods/log` from — as
 * kube-apiserver proxies `pods/log` to the kubelet of the pod's node at the port the Node
 * publishes in status.daemonEndpoints.kubeletEndpoint (k8s.io/kubernetes
 * pkg/registry/core/pod/rest/log.go, pkg/kubelet/server/server.go
 * `/containerLogs/{namespace}/{pod}/{container}` with follow, tailLines, previous).
 * One endpoint serves the lab's nodes (the kubelets share the lab process); it listens on
 * 127.0.0.1 only and asks for the lab's bearer token, which the API server holds.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MemoryLogSource } from '../api-server/log-source.js';

export const CONTAINER_LOGS_PATH = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/;

export class KubeletServer {
  private server: http.Server | undefined;
  port = 0;

  constructor(
    private readonly logs: MemoryLogSource,
    private readonly token: string,
  ) {}

  async start(): Promise<number> {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const m = CONTAINER_LOGS_PATH.exec(url.pathname);
      if ((req.headers.authorization ?? '') !== `Bearer ${this.token}`) {
        res.writeHead(401).end('Unauthorized');
        return;
      }
      if (req.method !== 'GET' || !m) {
        res.writeHead(404).end('not found');
        return;
      }
      const [namespace, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
      const tail = url.searchParams.get('tailLines');
      const q = { namespace, pod, container, follow: url.searchParams.get('follow') === 'true', tailLines: tail ? Number(tail) : undefined };
      const lines = this.logs.read(q);
      if (lines === undefined && !q.follow) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`container "${container}" in pod "${pod}" is waiting to start`);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
      for (const l of lines ?? []) res.write(`${l}\n`);
      if (!q.follow) return void res.end();
      const stop = this.logs.follow(q, (l) => res.write(`${l}\n`), () => res.end());
      req.on('close', stop);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
