/**
 * A bearer token for thanos-querier when the kubeconfig has none: an installer-style
 * kubeconfig authenticates with a client certificate, which cannot reach the querier
 * (TLS ends at the ingress router, and the querier's proxy authenticates tokens). kmodlab
 * then uses a ServiceAccount of its own, `kmodlab-prometheus` in its namespace, bound to
 * the ClusterRole `cluster-monitoring-view` (what cluster-monitoring-operator documents
 * for reading metrics), and asks the API for a short-lived bound token with a
 * TokenRequest (POST serviceaccounts/<name>/token, authentication.k8s.io/v1). No token is
 * stored in a Secret; both objects carry kmodlab's label and are removed at close.
 */
import { LABEL_MANAGED_BY } from '../../labels.js';
import type { KubeClient, ResourceRef } from './client.js';

export const PROMETHEUS_SA = 'kmodlab-prometheus';
const SERVICEACCOUNTS: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true };
const CLUSTERROLEBINDINGS: ResourceRef = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false };
/** One hour: TokenRequest's usual lifetime; the token is asked again when it nears expiry. */
const TOKEN_SECONDS = 3600;

function bindingName(namespace: string): string {
  return `${PROMETHEUS_SA}-${namespace}`;
}

/** Ensures the ServiceAccount and its binding exist (server-side apply) in `namespace`. */
export async function ensurePrometheusAccess(client: KubeClient, namespace: string): Promise<void> {
  await client.apply('prometheus-token', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: PROMETHEUS_SA, namespace, labels: { [LABEL_MANAGED_BY]: 'kmodlab' } } });
  await client.apply('prometheus-token', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: bindingName(namespace), labels: { [LABEL_MANAGED_BY]: 'kmodlab' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-monitoring-view' },
    subjects: [{ kind: 'ServiceAccount', name: PROMETHEUS_SA, namespace }],
  } as never);
}

/** A fresh bound token of the ServiceAccount, and when it expires (ms). */
export async function requestToken(client: KubeClient, namespace: string): Promise<{ token: string; expiresMs: number }> {
  const r = await client.request('prometheus-token', {
    method: 'POST',
    ref: SERVICEACCOUNTS,
    namespace,
    name: PROMETHEUS_SA,
    subresource: 'token',
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: TOKEN_SECONDS } },
  });
  const st = (r.body as { status?: { token?: string; expirationTimestamp?: string } }).status;
  if (!st?.token) throw new Error(`TokenRequest for ${namespace}/${PROMETHEUS_SA} returned no token`);
  const exp = Date.parse(st.expirationTimestamp ?? '');
  return { token: st.token, expiresMs: Number.isFinite(exp) ? exp : Date.now() + TOKEN_SECONDS * 1000 };
}

/** A token source that asks again 5 minutes before expiry. */
export function tokenSource(client: KubeClient, namespace: string, first: { token: string; expiresMs: number }): () => Promise<string> {
  let cur = first;
  return async () => {
    if (Date.now() > cur.expiresMs - 5 * 60_000) cur = await requestToken(client, namespace);
    return cur.token;
  };
}

/** Removes the binding and the ServiceAccount (best effort at close). */
export async function removePrometheusAccess(client: KubeClient, namespace: string, opts: { pollMs?: number } = {}): Promise<void> {
  await client.deleteRef('prometheus-token', CLUSTERROLEBINDINGS, bindingName(namespace), undefined, { waitMs: 60_000, pollMs: opts.pollMs });
  await client.deleteRef('prometheus-token', SERVICEACCOUNTS, PROMETHEUS_SA, namespace, { waitMs: 60_000, pollMs: opts.pollMs });
}
