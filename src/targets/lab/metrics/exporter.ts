/**
 * The lab's metrics endpoint: GET /metrics on 127.0.0.1 answers the usage source's
 * current snapshot in the Prometheus text format. Each scrape samples once; a source
 * that fails answers 500, which Prometheus records as a failed scrape (up == 0) — a
 * gap, as a node that stops answering leaves on a cluster.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderExposition } from './exposition.js';
import type { UsageSource } from './usage.js';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsExporter {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` (a scrape target). */
  target: string;
  stop(): Promise<void>;
}

export async function startExporter(source: UsageSource, port = 0): Promise<MetricsExporter> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics is served\n');
      return;
    }
    source.sample().then(
      (snap) => res.writeHead(200, { 'Content-Type': EXPOSITION_CONTENT_TYPE }).end(renderExposition(snap)),
      (e: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`sampling failed: ${e.message}\n`),
    );
  });
  // 127.0.0.1 only: lab services never listen on other interfaces.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    target: `127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
