/**
 * A FAKE Prometheus (thanos-querier) for tests: `/api/v1/query_range` on 127.0.0.1,
 * bearer-token checked (with expiry), the 11,000-points limit enforced like the real
 * one, answers built by a test-supplied function, and a log of the queries received.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RangeQuery {
  query: string;
  startS: number;
  endS: number;
  stepS: number;
}

export type FakeSeries = { metric: Record<string, string>; values: [number, string][] };

export class FakePrometheus {
  readonly tokens = new Set<string>();
  readonly queries: RangeQuery[] = [];
  readonly authHeaders: string[] = [];
  /** Builds the matrix for a query (default: no series). */
  answer: (q: RangeQuery) => FakeSeries[] = () => [];
  private server: http.Server;
  url = '';

  /** With `tls`, serves HTTPS with that certificate (as the thanos-querier route does, signed by the ingress CA). */
  constructor(private readonly tls?: { key: string; cert: string }) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    this.server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `${this.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers['authorization'] ?? '';
    this.authHeaders.push(auth);
    if (this.tokens.size > 0 && !this.tokens.has(auth.replace(/^Bearer /, ''))) {
      res.writeHead(401, { 'Content-Type': 'text/plain' });
      res.end('Unauthorized\n');
      return;
    }
    if (url.pathname !== '/api/v1/query_range') return this.send(res, 404, { status: 'error', errorType: 'not_found', error: 'not found' });
    const step = url.searchParams.get('step') ?? '';
    const q: RangeQuery = {
      query: url.searchParams.get('query') ?? '',
      startS: Number(url.searchParams.get('start')),
      endS: Number(url.searchParams.get('end')),
      stepS: Number(step.replace(/s$/, '')),
    };
    this.queries.push(q);
    if (!(q.stepS > 0)) return this.send(res, 400, { status: 'error', errorType: 'bad_data', error: 'invalid parameter "step"' });
    if ((q.endS - q.startS) / q.stepS > 11000) {
      return this.send(res, 400, { status: 'error', errorType: 'bad_data', error: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)' });
    }
    this.send(res, 200, { status: 'success', data: { resultType: 'matrix', result: this.answer(q) } });
  }
}

/** Points at every step of the query, except the step indexes in `missing`. */
export function seriesAt(q: RangeQuery, metric: Record<string, string>, value: (i: number) => number, missing: Set<number> = new Set()): FakeSeries {
  const values: [number, string][] = [];
  for (let i = 0, t = q.startS; t <= q.endS + 1e-9; i++, t += q.stepS) if (!missing.has(i)) values.push([Number(t.toFixed(3)), String(value(i))]);
  return { metric, values };
}
