/**
 * Reaching the lab API server's process: its entry (main.js) and readiness as `/readyz`
 * answering "ok" over the lab CA. Running it in the background with the nodes is
 * ../up/background.ts.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

/** GET /readyz against the kubeconfig's server, trusting its CA. */
export function readyz(kubeconfigFile: string, timeoutMs = 2000): Promise<{ ok: boolean; server?: string; error?: string }> {
  let server: string;
  let ca: Buffer;
  try {
    const kc = parseYaml(readFileSync(kubeconfigFile, 'utf8')) as { clusters?: { cluster: { server: string; 'certificate-authority-data': string } }[] };
    const c = kc.clusters?.[0]?.cluster;
    if (!c) return Promise.resolve({ ok: false, error: `${kubeconfigFile} names no cluster` });
    server = c.server;
    ca = Buffer.from(c['certificate-authority-data'], 'base64');
  } catch (e) {
    return Promise.resolve({ ok: false, error: (e as Error).message });
  }
  return new Promise((resolve) => {
    const req = https.get(new URL('/readyz', server), { ca, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ ok: res.statusCode === 200 && body.trim() === 'ok', server }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ ok: false, server, error: e.message }));
  });
}

/** The server's own entry (main.js beside this file): what `lab api` and `lab up` run. */
export const SERVER_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');
