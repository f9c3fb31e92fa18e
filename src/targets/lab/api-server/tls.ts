/**
 * The lab API's credentials: its own CA and a serving certificate for 127.0.0.1 made
 * with the `openssl` CLI (kept in the lab's state directory and reused while valid),
 * a random bearer token per start, and a kubeconfig (mode 0600) that carries both.
 * Nothing here logs the token or the key.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { toYaml } from '../../../yaml.js';

/** `~/.kmodlab/lab` (or $KMODLAB_LAB_DIR): kubeconfig, PKI, pid file. */
export function labStateDir(): string {
  return process.env.KMODLAB_LAB_DIR ?? path.join(homedir(), '.kmodlab', 'lab');
}

export interface ServingPki {
  caCert: string;
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl is needed to make the lab API's certificates: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.trim()}`);
}

function stillValid(certPem: string, minDays = 7): boolean {
  try {
    const c = new X509Certificate(certPem);
    return new Date(c.validTo).getTime() - Date.now() > minDays * 86_400_000 && (c.subjectAltName ?? '').includes('IP Address:127.0.0.1');
  } catch {
    return false;
  }
}

/** Makes (or reuses) a CA and a server certificate for 127.0.0.1/localhost in `dir/pki`. */
export function ensurePki(dir: string): ServingPki {
  const pki = path.join(dir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const f = (n: string) => path.join(pki, n);
  if (existsSync(f('server.crt')) && existsSync(f('server.key')) && existsSync(f('ca.crt'))) {
    const cert = readFileSync(f('server.crt'), 'utf8');
    if (stillValid(cert)) return { caCert: readFileSync(f('ca.crt'), 'utf8'), cert, key: readFileSync(f('server.key'), 'utf8') };
  }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=kmodlab-lab-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], pki);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kmodlab-lab-apiserver'], pki);
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '825', '-extfile', 'server.ext'], pki);
  for (const k of ['ca.key', 'server.key']) chmodSync(f(k), 0o600);
  return { caCert: readFileSync(f('ca.crt'), 'utf8'), cert: readFileSync(f('server.crt'), 'utf8'), key: readFileSync(f('server.key'), 'utf8') };
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of an `Authorization` header with the expected token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = header?.match(/^Bearer\s+(\S+)$/i);
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const LAB_CONTEXT = 'kmodlab-lab';

export function kubeconfigText(server: string, caCert: string, token: string, namespace = 'default'): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: LAB_CONTEXT, cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') } }],
    users: [{ name: `${LAB_CONTEXT}-admin`, user: { token } }],
    contexts: [{ name: LAB_CONTEXT, context: { cluster: LAB_CONTEXT, user: `${LAB_CONTEXT}-admin`, namespace } }],
    'current-context': LAB_CONTEXT,
  });
}

/** Writes the kubeconfig with mode 0600 (also when the file existed with wider permissions). */
export function writeKubeconfig(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}
