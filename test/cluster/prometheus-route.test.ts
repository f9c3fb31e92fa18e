/**
 * R1–R2: reaching thanos-querier through its route as a real OpenShift serves it.
 *   - The route's certificate is the ingress controller's, signed by the ingress CA,
 *     which the ingress operator publishes in openshift-config-managed/default-ingress-cert
 *     (key ca-bundle.crt) — not the API server's CA from the kubeconfig.
 *   - A kubeconfig cluster with insecure-skip-tls-verify: the user chose not to verify.
 *   - thanos-querier authenticates bearer tokens (TLS ends at the router, so a client
 *     certificate never reaches it): an installer-style client-certificate kubeconfig
 *     gets a clear error instead of "refused the credentials".
 * The querier is the fake Prometheus over HTTPS with a certificate from its own CA.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { PrometheusClient } from '../../src/targets/cluster/prometheus.js';
import { ensurePki } from '../../src/targets/lab/api-server/tls.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { FakePrometheus } from './fake-prometheus.js';
import { FIXTURE_TOKEN, kubeconfigFor, tempDir } from './helpers.js';

const QUERY = 'up';
let ingress: { caCert: string; cert: string; key: string };
beforeAll(() => {
  // An "ingress CA" and a router certificate for 127.0.0.1, unrelated to any kubeconfig CA.
  ingress = ensurePki(tempDir('kmodlab-ingress-'));
});

describe('thanos-querier through its route', () => {
  let api: FakeKubeApiServer;
  let prom: FakePrometheus;
  beforeEach(async () => {
    api = new FakeKubeApiServer();
    api.tokens.add(FIXTURE_TOKEN);
    await api.start();
    prom = new FakePrometheus({ key: ingress.key, cert: ingress.cert });
    prom.tokens.add(FIXTURE_TOKEN);
    await prom.start();
  });
  afterEach(async () => {
    await prom.stop();
    await api.stop();
  });

  const now = Date.now();

  it('trusts the ingress CA from openshift-config-managed/default-ingress-cert', async () => {
    api.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'default-ingress-cert', namespace: 'openshift-config-managed' }, data: { 'ca-bundle.crt': ingress.caCert } });
    const credentials = new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', api.url) });
    const p = await PrometheusClient.forCluster(new KubeClient({ credentials }), credentials, prom.url);
    await expect(p.queryRange(QUERY, now - 60_000, now, 15)).resolves.toEqual([]);
    expect(prom.queries).toHaveLength(1);
  });

  it('without the ingress CA the route certificate is refused (the check is real)', async () => {
    const credentials = new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', api.url) });
    const p = await PrometheusClient.forCluster(new KubeClient({ credentials }), credentials, prom.url);
    await expect(p.queryRange(QUERY, now - 60_000, now, 15)).rejects.toThrow(/certificate/i);
  });

  it('honours the kubeconfig cluster\'s insecure-skip-tls-verify', async () => {
    const file = kubeconfigFor('ocp-token.kubeconfig', api.url);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(\n(\s+)server: .*\n)/, '$1$2insecure-skip-tls-verify: true\n'));
    expect(readFileSync(file, 'utf8')).toContain('insecure-skip-tls-verify: true');
    const credentials = new Credentials({ kubeconfig: file });
    const p = await PrometheusClient.forCluster(new KubeClient({ credentials }), credentials, prom.url);
    await expect(p.queryRange(QUERY, now - 60_000, now, 15)).resolves.toEqual([]);
  });

  it('a client-certificate kubeconfig gets a clear error: the querier needs a bearer token', async () => {
    api.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'default-ingress-cert', namespace: 'openshift-config-managed' }, data: { 'ca-bundle.crt': ingress.caCert } });
    const credentials = new Credentials({ kubeconfig: kubeconfigFor('client-cert.kubeconfig', api.url, tempDir(), path.basename('client-cert.kubeconfig')) });
    const p = new PrometheusClient({ url: prom.url, credentials, extraCa: ingress.caCert });
    await expect(p.queryRange(QUERY, now - 60_000, now, 15)).rejects.toThrow(/client certificate.*bearer token/);
  });
});

describe('client-certificate kubeconfig: a service-account token for thanos-querier (TokenRequest)', async () => {
  const { removePrometheusAccess } = await import('../../src/targets/cluster/prometheus-token.js');
  let api: FakeKubeApiServer;
  let prom: FakePrometheus;
  beforeEach(async () => {
    api = new FakeKubeApiServer(); // accepts any client here: the client certificate is not checked by this http fake
    await api.start();
    prom = new FakePrometheus();
    await prom.start();
  });
  afterEach(async () => {
    await prom.stop();
    await api.stop();
  });

  it('creates kmodlab-prometheus bound to cluster-monitoring-view, queries with its token, removes both', async () => {
    const credentials = new Credentials({ kubeconfig: kubeconfigFor('client-cert.kubeconfig', api.url) });
    const client = new KubeClient({ credentials });
    const p = await PrometheusClient.forCluster(client, credentials, prom.url, { serviceAccountNamespace: 'kmodlab' });
    // The querier accepts only the token the API issued.
    const now = Date.now();
    for (const t of api.issuedTokens) prom.tokens.add(t.token);
    expect(api.issuedTokens.map((t) => [t.namespace, t.serviceAccount])).toEqual([['kmodlab', 'kmodlab-prometheus']]);
    await expect(p.queryRange(QUERY, now - 60_000, now, 15)).resolves.toEqual([]);
    expect(prom.authHeaders.at(-1)).toBe(`Bearer ${api.issuedTokens[0]!.token}`);
    const crb = api.get('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'kmodlab-prometheus-kmodlab')!;
    expect(crb['roleRef']).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-monitoring-view' });
    expect(crb['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'kmodlab-prometheus', namespace: 'kmodlab' }]);
    await removePrometheusAccess(client, 'kmodlab', { pollMs: 10 });
    expect(api.get('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'kmodlab-prometheus-kmodlab')).toBeUndefined();
    expect(api.get('v1', 'ServiceAccount', 'kmodlab-prometheus', 'kmodlab')).toBeUndefined();
  });
});
