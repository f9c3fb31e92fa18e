/**
 * B5: kmodlab waits for the driver only on the nodes the method targets. A control-plane
 * node outside the worker pool never gets the driver container; waiting on it would time
 * out every scenario. Fake cluster (its DaemonSet "controller" follows the nodeSelector
 * only through NODE_NAMES: the master node gets no driver pod, as on a cluster).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { loadDriver } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { targetedNodes } from '../../src/targets/cluster/target-nodes.js';
import type { LabelledNode } from '../../src/targets/cluster/pool-choice.js';
import { KVER, NODE_NAMES, startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { node } from './node-fixtures.js';
import { FIXTURE_TOKEN, kubeconfigFor } from './helpers.js';

let driver: DriverSpec;
let modules: string[];
beforeAll(async () => {
  driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
  modules = driver.modules.map((m) => m.name);
});

describe('probes only the nodes the method targets', () => {
  let cluster: FakeCluster;
  let t: ClusterTarget | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await cluster.api.stop();
  });

  it('dtk on a cluster with a control-plane node: waits on the workers only, no probe pod on master-0', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, modules);
    const m = node('master-0', 'boot-m', true, { kernel: KVER });
    m.metadata.labels = { ...m.metadata.labels, 'node-role.kubernetes.io/master': '' };
    cluster.api.put(m);
    t = await ClusterTarget.connect({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url), emit: () => undefined, readyzIntervalMs: 100, probeIntervalMs: 50, pollMs: 20, prometheusMinWindowMs: Number.MAX_SAFE_INTEGER });
    await t.reset({ release: t.releases().from });
    const set = renderMethods(driver, t.releases().from, 'dtk', { pool: t.pool() })[0]!;
    await t.apply(set);
    const w = await t.waitForModules(modules, { loaded: true, timeoutMs: 3000 });
    expect(w).toEqual({ ok: true, pending: [] });
    const probed = cluster.api.all('Pod').filter((p) => p.metadata['labels']?.['app.kubernetes.io/component'] === 'module-probe');
    expect(cluster.api.log.some((r) => r.method === 'POST' && r.path.endsWith('/pods'))).toBe(true);
    expect(probed.map((p) => p['spec'].nodeName)).not.toContain('master-0');
    await t.remove(set);
  });

  it('selectors: DaemonSet nodeSelector + affinity, Module selector, MachineConfig role → pool nodes', () => {
    const nodes: LabelledNode[] = [
      { metadata: { name: 'm0', labels: { 'node-role.kubernetes.io/master': '' } } },
      { metadata: { name: 'w0', labels: { 'node-role.kubernetes.io/worker': '', 'feature.node.kubernetes.io/kernel-version.full': 'other' } } },
      { metadata: { name: 'w1', labels: { 'node-role.kubernetes.io/worker': '' } } },
    ];
    const pools = [
      { apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfigPool', metadata: { name: 'master' }, spec: { nodeSelector: { matchLabels: { 'node-role.kubernetes.io/master': '' } } } },
      { apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfigPool', metadata: { name: 'worker' }, spec: { nodeSelector: { matchLabels: { 'node-role.kubernetes.io/worker': '' } } } },
    ];
    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'd' },
      spec: {
        template: {
          spec: {
            nodeSelector: { 'node-role.kubernetes.io/worker': '' },
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'feature.node.kubernetes.io/kernel-version.full', operator: 'In', values: [KVER] }] }, { matchExpressions: [{ key: 'feature.node.kubernetes.io/kernel-version.full', operator: 'DoesNotExist' }] }] } } },
          },
        },
      },
    };
    expect(targetedNodes([ds], nodes, pools as never)).toEqual(['w1']);
    expect(targetedNodes([{ apiVersion: 'kmm.sigs.x-k8s.io/v1beta1', kind: 'Module', metadata: { name: 'm' }, spec: { selector: { 'node-role.kubernetes.io/master': '' } } }], nodes, pools as never)).toEqual(['m0']);
    expect(targetedNodes([{ apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfig', metadata: { name: 'mc', labels: { 'machineconfiguration.openshift.io/role': 'worker' } } }], nodes, pools as never)).toEqual(['w0', 'w1']);
    expect(targetedNodes([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }], nodes, pools as never)).toBeUndefined();
    expect(NODE_NAMES).not.toContain('master-0');
  });
});
