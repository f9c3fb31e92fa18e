/**
 * The kubeconfig's `proxy-url` (clusters[].cluster.proxy-url), honoured as
 * client-node 1.4 does in `KubeConfig.createAgent` (config.ts) and client-go in
 * `rest.Config.Proxy`: an HTTP(S) proxy is asked to `CONNECT host:port` for an https
 * server and TLS runs end to end through that tunnel; a plain-http server is asked
 * through the proxy with the absolute URL. Credentials in the proxy URL's userinfo
 * become `Proxy-Authorization: Basic`. SOCKS proxies (client-node uses
 * socks-proxy-agent) are not supported here: refused with a message naming the field.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { UserError } from '../../errors.js';
import { redactString } from '../../evaluation/redact.js';

export interface ProxyRoute {
  /** Options to merge into http(s).request for this target URL. */
  requestOptions: Record<string, unknown>;
  /** For plain http through a proxy: the URL to connect to instead (the proxy), path = absolute target URL. */
  via?: URL;
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return { 'Proxy-Authorization': `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

/** Parses and checks `proxy-url`; the context name goes into errors, never the URL's credentials. */
export function parseProxyUrl(proxyUrl: string, context: string): URL {
  let u: URL;
  try {
    u = new URL(proxyUrl);
  } catch {
    throw new UserError(`kubeconfig context ${context}: proxy-url is not a URL`);
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') return u;
  throw new UserError(
    `kubeconfig context ${context}: proxy-url with scheme ${u.protocol.replace(/:$/, '')} is not supported (expected http:// or https://)`,
    'use an HTTP CONNECT proxy, or reach the API server without one',
  );
}

/**
 * How to reach `target` through `proxy`. For https targets a `createConnection` opens
 * the CONNECT tunnel and starts TLS on it with the kubeconfig's TLS material.
 */
export function routeThroughProxy(proxy: URL, target: URL, tlsOpts: Record<string, unknown>, timeoutMs = 30_000): ProxyRoute {
  if (target.protocol === 'http:') {
    return { via: proxy, requestOptions: { headers: proxyAuth(proxy) } };
  }
  const port = Number(target.port || 443);
  const createConnection = (_opts: unknown, cb: (err: Error | null, s?: Duplex) => void): undefined => {
    const proxyMod = proxy.protocol === 'https:' ? https : http;
    const req = proxyMod.request({
      host: proxy.hostname,
      port: Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80)),
      method: 'CONNECT',
      path: `${target.hostname}:${port}`,
      headers: { Host: `${target.hostname}:${port}`, ...proxyAuth(proxy) },
      timeout: timeoutMs,
    });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        cb(new Error(`proxy ${proxy.host} refused CONNECT ${target.host}: ${res.statusCode}`));
        return;
      }
      const servername = (tlsOpts['servername'] as string | undefined) ?? (isIp(target.hostname) ? undefined : target.hostname);
      const s = tls.connect({ ...tlsOpts, socket, ...(servername ? { servername } : {}) });
      let done = false;
      s.once('secureConnect', () => {
        done = true;
        cb(null, s);
      });
      s.once('error', (e) => {
        if (!done) cb(e);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`proxy ${proxy.host}: no answer to CONNECT`)));
    req.on('error', (e) => cb(new Error(`proxy ${proxy.host}: ${redactString(e.message).text}`)));
    req.end();
    return undefined;
  };
  // No `agent`: Node then uses this createConnection (an agent would open its own socket).
  return { requestOptions: { createConnection } };
}

function isIp(h: string): boolean {
  return /^[\d.]+$/.test(h) || h.includes(':');
}

