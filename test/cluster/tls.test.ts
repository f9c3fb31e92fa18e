/**
 * TLS against the fake API server: certificate-authority-data and a client certificate
 * from the kubeconfig (an installer-style admin kubeconfig) reach the connection. The
 * certificates are made for this test with openssl, in a temp dir.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { tempDir } from './helpers.js';

const dir = tempDir('kmodlab-tls-');
const f = (n: string) => path.join(dir, n);
const b64 = (n: string) => readFileSync(f(n)).toString('base64');

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function kubeconfig(server: string, ca: string): string {
  const file = f(`kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- cluster: {certificate-authority-data: ${ca}, server: '${server}'}
  name: lab
contexts:
- context: {cluster: lab, user: admin}
  name: admin
current-context: admin
users:
- name: admin
  user: {client-certificate-data: ${b64('client.crt')}, client-key-data: ${b64('client.key')}}
`,
  );
  return file;
}

describe('TLS with the kubeconfig CA and client certificate', () => {
  let fake: FakeKubeApiServer;
  beforeAll(async () => {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=kmodlab-test-ca');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '1', '-subj', '/CN=other-ca');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'server.ext');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/O=system:masters/CN=system:admin');
    openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1');
    fake = new FakeKubeApiServer({ key: readFileSync(f('server.key'), 'utf8'), cert: readFileSync(f('server.crt'), 'utf8'), clientCa: readFileSync(f('ca.crt'), 'utf8') });
    fake.tokens.add('sha256~tokens-are-not-used-here');
    await fake.start();
  });
  afterAll(async () => fake?.stop());

  it('verifies the server with the kubeconfig CA and presents the client certificate', async () => {
    expect(fake.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfig(fake.url, b64('ca.crt')) }) });
    expect((await c.mapping('apps/v1', 'DaemonSet')).resource).toBe('daemonsets');
    expect(fake.clientCerts.at(-1)).toBe('system:admin');
  });

  it('a server certificate the kubeconfig CA did not sign is refused, and the error quotes no key material', async () => {
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfig(fake.url, b64('other-ca.crt')) }) });
    const e = (await c.mapping('v1', 'Pod').catch((x: Error) => x)) as Error;
    expect(e.message).toMatch(/certificate/i);
    for (const s of [b64('client.key'), b64('client.crt'), readFileSync(f('client.key'), 'utf8').split('\n')[1]!]) expect(`${e.message}\n${e.stack}`).not.toContain(s);
  });
});
