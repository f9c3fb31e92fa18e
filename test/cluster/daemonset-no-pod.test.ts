/**
 * A DaemonSet whose pods go nowhere: the DaemonSet controller reports it with
 * status.desiredNumberScheduled 0 for the current generation (nodeSelector/affinity match
 * no node, or every matching node carries a NoSchedule taint the pod does not tolerate).
 * The wait for the driver ends at once with that reason instead of running to its timeout;
 * a DaemonSet that does schedule pods is still waited for until they run. Fake cluster
 * (its DaemonSet "controller" honours the selectors and taints and writes that status).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { loadDriver } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { allObjects, type ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { daemonSetEvents, noDaemonSetPod } from '../../src/targets/cluster/daemonset-status.js';
import type { WatchObject } from '../../src/targets/cluster/watch.js';
import { NODE_NAMES, startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { FIXTURE_TOKEN, kubeconfigFor } from './helpers.js';

let driver: DriverSpec;
let modules: string[];
beforeAll(async () => {
  driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
  modules = driver.modules.map((m) => m.name);
});

const TIMEOUT_MS = 20_000;

describe('a DaemonSet that schedules no pod ends the wait for the driver', () => {
  let cluster: FakeCluster;
  let t: ClusterTarget | undefined;
  const events: { kind: string; data: Record<string, unknown> }[] = [];
  afterEach(async () => {
    await t?.close();
    t = undefined;
    events.length = 0;
    await cluster.api.stop();
  });

  async function connect(): Promise<{ t: ClusterTarget; set: ArtifactSet }> {
    t = await ClusterTarget.connect({
      kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url),
      emit: (kind, data) => events.push({ kind, data }),
      readyzIntervalMs: 100,
      probeIntervalMs: 50,
      pollMs: 20,
      settleGraceMs: 60_000,
      prometheusMinWindowMs: Number.MAX_SAFE_INTEGER,
    });
    await t.reset({ release: t.releases().from });
    return { t, set: renderMethods(driver, t.releases().from, 'dtk', { pool: t.pool() })[0]! };
  }

  it('every node of the pool tainted NoSchedule, not tolerated: ends at once, naming the DaemonSet and its status', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, modules);
    for (const n of NODE_NAMES) cluster.api.update('v1', 'Node', n, undefined, (o) => (o['spec'] = { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }));
    const { t, set } = await connect();
    await t.apply(set);
    const start = Date.now();
    const w = await t.waitForModules(modules, { loaded: true, timeoutMs: TIMEOUT_MS });
    const tookMs = Date.now() - start;
    expect(w.ok).toBe(false);
    expect(w.pending).toEqual(NODE_NAMES);
    const ds = allObjects(set).find((o) => o.kind === 'DaemonSet')!;
    expect(w.settled?.reason).toContain(`DaemonSet ${ds.metadata.namespace}/${ds.metadata.name} schedules no pod: desiredNumberScheduled 0`);
    // Well before both the timeout and the settle grace window.
    expect(tookMs).toBeLessThan(TIMEOUT_MS / 2);
    expect(w.settled!.afterMs).toBeLessThanOrEqual(tookMs);
    expect(cluster.api.all('Pod').filter((p) => p.metadata['labels']?.['app.kubernetes.io/component'] === 'driver-container')).toEqual([]);
    // Recorded on the timeline too, once.
    expect(events.filter((e) => e.kind === 'progress' && e.data['desiredNumberScheduled'] === 0)).toHaveLength(1);
    // One watch for the DaemonSets of the namespace, not one per node.
    const watches = cluster.api.log.filter((r) => r.method === 'GET' && r.path.endsWith('/daemonsets') && r.query['watch'] === 'true');
    expect(new Set(watches.map((r) => r.path))).toEqual(new Set([`/apis/apps/v1/namespaces/${ds.metadata.namespace}/daemonsets`]));
    await t.remove(set);
  });

  it('a DaemonSet with pods to run is still waited for until they run', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, modules);
    cluster.podStartMs = 1500;
    const { t, set } = await connect();
    await t.apply(set);
    const start = Date.now();
    const w = await t.waitForModules(modules, { loaded: true, timeoutMs: TIMEOUT_MS });
    expect(w).toEqual({ ok: true, pending: [] });
    expect(Date.now() - start).toBeGreaterThanOrEqual(1000);
    const ds = allObjects(set).find((o) => o.kind === 'DaemonSet')!;
    const status = cluster.api.get('apps/v1', 'DaemonSet', ds.metadata.name, ds.metadata.namespace)!['status'];
    expect(status).toMatchObject({ desiredNumberScheduled: NODE_NAMES.length, numberReady: NODE_NAMES.length });
    await t.remove(set);
  });
});

describe('noDaemonSetPod: only the controller’s status for the current generation counts', () => {
  const ds = (name: string, over: { generation?: number; observed?: number; desired?: number } = {}) =>
    ({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace: 'ns', generation: over.generation ?? 2 },
      spec: { template: { spec: { nodeSelector: { 'node-role.kubernetes.io/worker': '' } } } },
      ...(over.observed !== undefined ? { status: { observedGeneration: over.observed, desiredNumberScheduled: over.desired ?? 0 } } : {}),
    }) as unknown as WatchObject;
  const refs = [{ namespace: 'ns', name: 'a' }];

  it('observed at the current generation with 0 desired: the reason names it and its selector', () => {
    expect(noDaemonSetPod(refs, [ds('a', { observed: 2 })])).toBe(
      'DaemonSet ns/a schedules no pod: desiredNumberScheduled 0 at generation 2, no node matches its selector, affinity and tolerations (nodeSelector node-role.kubernetes.io/worker)',
    );
  });

  it('not decided: no status yet, an older generation, not seen, pods desired, or another DaemonSet with pods', () => {
    expect(noDaemonSetPod(refs, [ds('a')])).toBeUndefined();
    expect(noDaemonSetPod(refs, [ds('a', { observed: 1 })])).toBeUndefined();
    expect(noDaemonSetPod(refs, [])).toBeUndefined();
    expect(noDaemonSetPod(refs, [ds('a', { observed: 2, desired: 1 })])).toBeUndefined();
    expect(noDaemonSetPod([...refs, { namespace: 'ns', name: 'b' }], [ds('a', { observed: 2 }), ds('b', { observed: 2, desired: 3 })])).toBeUndefined();
    expect(noDaemonSetPod([], [ds('a', { observed: 2 })])).toBeUndefined();
  });

  it('events: one note when it stops scheduling pods, one when it schedules again', () => {
    expect(daemonSetEvents('ADDED', ds('a'), undefined)).toEqual([]);
    expect(daemonSetEvents('MODIFIED', ds('a', { observed: 2 }), ds('a'))).toHaveLength(1);
    expect(daemonSetEvents('MODIFIED', ds('a', { observed: 2 }), ds('a', { observed: 2 }))).toEqual([]);
    expect(daemonSetEvents('MODIFIED', ds('a', { observed: 3, generation: 3, desired: 2 }), ds('a', { observed: 2 }))[0]![1]['step']).toBe('DaemonSet ns/a schedules 2 pod(s) again');
  });
});
