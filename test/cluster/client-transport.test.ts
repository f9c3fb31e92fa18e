/**
 * Transport behaviour of KubeClient that real servers and real kubeconfigs exhibit:
 *   - a watch line split inside a multi-byte UTF-8 character across two chunks (S1);
 *   - 429/503 with Retry-After (API priority and fairness, an apiserver starting) (R3);
 *   - a kubeconfig cluster with `proxy-url` (R6), against the lab's real API server.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { KubeClient, type ResourceRef } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { startTestApi, type TestApi } from '../lab/api-server-helpers.js';
import { tempDir } from './helpers.js';

const NODES: ResourceRef = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };

function plainKubeconfig(server: string): string {
  const dir = tempDir();
  const f = `${dir}/kubeconfig`;
  writeFileSync(
    f,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${server}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: plain-test-token\n`,
  );
  return f;
}

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closers.push(() => {
    s.closeAllConnections();
    return new Promise<void>((r) => s.close(() => r()));
  });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe('watch lines (S1)', () => {
  it('a multi-byte character split between two chunks arrives intact', async () => {
    const line = Buffer.from(`${JSON.stringify({ type: 'ADDED', object: { kind: 'Event', metadata: { name: 'e' }, message: 'Ünïcode — ✓ 日本' } })}\n`, 'utf8');
    const cut = line.indexOf(Buffer.from('—')) + 1; // inside the 3-byte em dash
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(line.subarray(0, cut));
      setTimeout(() => res.end(line.subarray(cut)), 50);
    });
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig: plainKubeconfig(url) }) });
    const s = await c.stream('watch-nodes', { method: 'GET', ref: NODES, query: { watch: true } });
    const got: string[] = [];
    for await (const l of s.lines) got.push(l);
    expect(got).toHaveLength(1);
    expect((JSON.parse(got[0]!) as { object: { message: string } }).object.message).toBe('Ünïcode — ✓ 日本');
  });
});

describe('Retry-After (R3)', () => {
  it.each([429, 503])('%i with Retry-After is retried after the given delay, then succeeds', async (code) => {
    const times: number[] = [];
    const url = await serve((_req, res) => {
      times.push(Date.now());
      if (times.length <= 2) {
        res.writeHead(code, { 'Content-Type': 'application/json', 'Retry-After': '1' });
        res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: code === 429 ? 'TooManyRequests' : 'ServiceUnavailable', code }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'NodeList', items: [], metadata: { resourceVersion: '7' } }));
    });
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig: plainKubeconfig(url) }) });
    const r = await c.list('watch-nodes', NODES);
    expect(r.resourceVersion).toBe('7');
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(950);
  });

  it('retries are bounded: a server that always asks to retry gets an error with its status', async () => {
    let n = 0;
    const url = await serve((_req, res) => {
      n++;
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '0' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'TooManyRequests', message: 'too many requests, please try again later', code: 429 }));
    });
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig: plainKubeconfig(url) }) });
    await expect(c.list('watch-nodes', NODES)).rejects.toMatchObject({ status: 429 });
    expect(n).toBeGreaterThan(1);
    expect(n).toBeLessThanOrEqual(11);
  });

  it('a 503 without Retry-After is not retried (client-go retries only when the server says when)', async () => {
    let n = 0;
    const url = await serve((_req, res) => {
      n++;
      res.writeHead(503, { 'Content-Type': 'text/plain' });
      res.end('unavailable');
    });
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig: plainKubeconfig(url) }) });
    await expect(c.list('watch-nodes', NODES)).rejects.toMatchObject({ status: 503 });
    expect(n).toBe(1);
  });
});

describe('proxy-url (R6), lab API server', () => {
  let api: TestApi | undefined;
  afterEach(async () => {
    // The proxy first: its tunnels hold connections to the API server open.
    for (const c of closers.splice(0).reverse()) await c();
    await api?.stop();
    api = undefined;
  });

  it('HTTPS requests go through the kubeconfig proxy (CONNECT), with proxy credentials from the URL', async () => {
    api = await startTestApi();
    const connects: { target: string; auth?: string }[] = [];
    const proxy = http.createServer((_q, r) => r.writeHead(405).end());
    const tunnels: net.Socket[] = [];
    proxy.on('connect', (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => {
      tunnels.push(sock);
      connects.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] });
      const [host, port] = (req.url ?? '').split(':');
      const up = net.connect(Number(port), host!, () => {
        tunnels.push(up);
        sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(sock);
        sock.pipe(up);
      });
      up.on('error', () => sock.destroy());
      sock.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    closers.push(() => {
      // A CONNECT socket is no longer the HTTP server's: closeAllConnections does not end it.
      for (const t of tunnels) t.destroy();
      proxy.closeAllConnections();
      return new Promise<void>((r) => proxy.close(() => r()));
    });
    const port = (proxy.address() as AddressInfo).port;
    const kc = parseYaml(readFileSync(api.kubeconfig, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
    kc.clusters[0]!.cluster['proxy-url'] = `http://proxyuser:proxypass@127.0.0.1:${port}`;
    const server = new URL(kc.clusters[0]!.cluster['server']!);
    const f = `${api.dir}/kubeconfig-proxy`;
    writeFileSync(f, stringifyYaml(kc));
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig: f }) });
    await c.list('watch-nodes', NODES);
    expect(connects.map((x) => x.target)).toContain(`${server.hostname}:${server.port}`);
    expect(connects[0]!.auth).toBe(`Basic ${Buffer.from('proxyuser:proxypass').toString('base64')}`);
  });

  it('a socks proxy is refused with a clear error naming the field', async () => {
    const f = plainKubeconfig('https://127.0.0.1:1');
    writeFileSync(f, readFileSync(f, 'utf8').replace('    server: https://127.0.0.1:1\n', '    server: https://127.0.0.1:1\n    proxy-url: socks5://127.0.0.1:1080\n'));
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig: f }) });
    await expect(c.list('watch-nodes', NODES)).rejects.toThrow(/proxy-url.*socks5/);
  });
});
