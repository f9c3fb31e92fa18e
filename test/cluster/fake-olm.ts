/**
 * A FAKE Operator Lifecycle Manager on the fake API server, reproducing what OLM does on
 * a cluster for the KMM install:
 *   - until an operator's CSV succeeds, its CRD does not exist: the Module kind is not
 *     served (absent from discovery, 404);
 *   - a Subscription → (after a while) a CSV, named in the Subscription's
 *     `status.installedCSV`/`currentCSV`, phase Pending, then
 *       - exactly one OperatorGroup in the namespace: phase Succeeded, the CRD created
 *         and Established, the Module kind served;
 *       - two or more: phase Failed, reason TooManyOperatorGroups (OLM docs, Operator
 *         groups troubleshooting) — and the kind stays unserved.
 * Deleting a Subscription leaves the CSV (as OLM does); deleting the namespace removes it.
 */
import type { FakeKubeApiServer } from './fake-kube-apiserver.js';

export const KMM_MODULES = 'kmm.sigs.x-k8s.io/modules';

export function installFakeOlm(api: FakeKubeApiServer, opts: { delayMs?: number } = {}): void {
  const delay = opts.delayMs ?? 100;
  api.unserved.add(KMM_MODULES);
  api.reactors.push((type, o, s) => {
    if (o.kind !== 'Subscription' || type !== 'ADDED') return;
    const ns = o.metadata['namespace'] as string;
    const sub = o.metadata['name'] as string;
    const csv = `${(o['spec'] as { name: string }).name}.v2.0.0`;
    setTimeout(() => {
      if (!s.get('operators.coreos.com/v1alpha1', 'Subscription', sub, ns)) return;
      s.put({ apiVersion: 'operators.coreos.com/v1alpha1', kind: 'ClusterServiceVersion', metadata: { name: csv, namespace: ns }, spec: {}, status: { phase: 'Pending' } });
      s.update('operators.coreos.com/v1alpha1', 'Subscription', sub, ns, (x) => (x['status'] = { currentCSV: csv, installedCSV: csv, state: 'AtLatestKnown' }));
      setTimeout(() => {
        const groups = s.all('OperatorGroup').filter((g) => g.metadata['namespace'] === ns);
        if (groups.length !== 1) {
          const reason = groups.length === 0 ? 'NoOperatorGroup' : 'TooManyOperatorGroups';
          s.update('operators.coreos.com/v1alpha1', 'ClusterServiceVersion', csv, ns, (c) => (c['status'] = { phase: 'Failed', reason, message: `csv created in namespace with ${groups.length} operatorgroups` }));
          return;
        }
        s.put({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'modules.kmm.sigs.x-k8s.io' },
          spec: { group: 'kmm.sigs.x-k8s.io', names: { kind: 'Module', plural: 'modules' }, scope: 'Namespaced' },
          status: { conditions: [{ type: 'Established', status: 'True' }] },
        });
        s.unserved.delete(KMM_MODULES);
        s.update('operators.coreos.com/v1alpha1', 'ClusterServiceVersion', csv, ns, (c) => (c['status'] = { phase: 'Succeeded', reason: 'InstallSucceeded' }));
      }, delay);
    }, delay);
  });
}

/** KMM installed by someone else before kmodlab runs: namespace, OperatorGroup, Subscription, CSV, CRD. */
export function preinstalledKmm(api: FakeKubeApiServer, ns = 'openshift-kmm'): void {
  api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  api.put({ apiVersion: 'operators.coreos.com/v1', kind: 'OperatorGroup', metadata: { name: 'kmm-admins', namespace: ns }, spec: {} });
  api.put({ apiVersion: 'operators.coreos.com/v1alpha1', kind: 'Subscription', metadata: { name: 'kmm-by-admin', namespace: ns }, spec: { name: 'kernel-module-management', channel: 'stable', source: 'redhat-operators', sourceNamespace: 'openshift-marketplace' } });
}
