/**
 * The lab API with the project's cluster client (src/targets/cluster: KubeClient,
 * ResumableWatch) and with @kubernetes/client-node 1.4 (Watch, informer, object API):
 * list + watch resumed from a resourceVersion, 410 Gone → relist, bookmarks, selector
 * moves, server-side apply of rendered artifacts and foreground deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, Watch, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { startTestApi, type TestApi } from './api-server-helpers.js';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { ResumableWatch, type WatchEventType } from '../../src/targets/cluster/watch.js';
import { NODES } from '../../src/targets/cluster/cluster-target.js';
import { nodeObject } from '../../src/targets/lab/api-server/node-object.js';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import { renderMethods } from '../../src/methods/render.js';
import { resolveRelease } from '../../src/release/resolve.js';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import '../../src/methods/all.js';

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('lab API with client-node and the cluster client', () => {
  let api: TestApi;
  let kc: KubeConfig;
  let core: CoreV1Api;
  const configmaps = () => api.server.registry.find('', 'v1', 'configmaps')!;
  const nodes = () => api.server.registry.find('', 'v1', 'nodes')!;
  const put = (name: string, labels: Record<string, string> = {}) =>
    api.server.objects.create(configmaps(), 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels } }, { dryRun: false, fieldValidation: 'Strict' }).object;

  beforeAll(async () => {
    api = await startTestApi({ bookmarkIntervalMs: 200 });
    kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('client-node: a watch from a list resourceVersion gets exactly the later changes, then bookmarks', async () => {
    put('before');
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const rv = list.metadata!.resourceVersion!;
    expect(list.items.map((i) => i.metadata!.name)).toContain('before');
    put('after-1');
    // client-node's typed patch sends application/json-patch+json.
    await core.patchNamespacedConfigMap({ name: 'after-1', namespace: 'default', body: [{ op: 'add', path: '/data', value: { a: '1' } }] });
    const seen: { type: string; name?: string; rv?: string }[] = [];
    const req = await new Watch(kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: rv, allowWatchBookmarks: true },
      (type, obj: V1ConfigMap) => seen.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion }),
      () => undefined,
    );
    await until(() => seen.some((e) => e.type === 'BOOKMARK'), 'a bookmark');
    req.abort();
    const changes = seen.filter((e) => e.type !== 'BOOKMARK');
    expect(changes.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED after-1', 'MODIFIED after-1']);
    expect(Number(changes[0]!.rv)).toBeGreaterThan(Number(rv));
    expect(Number(seen.find((e) => e.type === 'BOOKMARK')!.rv)).toBeGreaterThanOrEqual(Number(changes[1]!.rv));
  });

  it('client-node: a resourceVersion older than the history answers 410 Gone (an ERROR event)', async () => {
    const rv = (await core.listNamespacedConfigMap({ namespace: 'default' })).metadata!.resourceVersion!;
    put('compacted-away');
    api.server.store.compact();
    const seen: { type: string; code?: number }[] = [];
    let done = false;
    await new Watch(kc).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: rv }, (type, obj: { code?: number }) => seen.push({ type, code: obj.code }), () => (done = true));
    await until(() => done, 'the stream to end');
    expect(seen).toEqual([{ type: 'ERROR', code: 410 }]);
  });

  it('client-node informer: relists after 410 and reports what it missed', async () => {
    const informer = makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
    const added: string[] = [];
    informer.on('add', (o) => added.push(o.metadata!.name!));
    await informer.start();
    await until(() => api.server.store.watcherCount('configmaps.') === 1, 'the informer watch');
    // The server drops the stream and its history, and a change lands before the client reconnects.
    api.server.endWatches();
    put('missed-while-away');
    api.server.store.compact();
    await until(() => added.includes('missed-while-away'), 'the relist');
    await informer.stop();
  });

  it('a label-selected watch sees objects leave and enter the selection as DELETED and ADDED', async () => {
    put('mover', { tier: 'a' });
    const rv = (await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'tier=a' })).metadata!.resourceVersion!;
    const seen: string[] = [];
    const req = await new Watch(kc).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: rv, labelSelector: 'tier=a' }, (type, o: V1ConfigMap) => seen.push(`${type} ${o.metadata!.name}`), () => undefined);
    await core.patchNamespacedConfigMap({ name: 'mover', namespace: 'default', body: [{ op: 'replace', path: '/metadata/labels/tier', value: 'b' }] });
    await core.patchNamespacedConfigMap({ name: 'mover', namespace: 'default', body: [{ op: 'replace', path: '/metadata/labels/tier', value: 'a' }] });
    await until(() => seen.length >= 2, 'two events');
    req.abort();
    expect(seen).toEqual(['DELETED mover', 'ADDED mover']);
  });

  it("the cluster client's ResumableWatch: list, watch, reconnect after the server ends the stream, relist after 410", async () => {
    api.server.objects.create(nodes(), undefined, nodeObject({ name: 'n0', bootID: 'b0', kernelVersion: '6.1.0', ready: true }), { dryRun: false, fieldValidation: 'Strict' });
    const client = new KubeClient({ credentials: new Credentials({ kubeconfig: api.kubeconfig }) });
    const events: { type: WatchEventType; name: string; boot?: string }[] = [];
    const w = new ResumableWatch({
      client,
      call: 'watch-nodes',
      ref: NODES,
      backoffMs: { initial: 20, max: 200 },
      onChange: (type, o) => events.push({ type, name: o.metadata.name, boot: (o as { status?: { nodeInfo?: { bootID?: string } } }).status?.nodeInfo?.bootID }),
    });
    await w.start();
    expect(events).toEqual([{ type: 'ADDED', name: 'n0', boot: 'b0' }]);
    await until(() => api.server.store.watcherCount('nodes.') === 1, 'the node watch');
    // A reboot: the node agent reports a new boot id through the status subresource.
    const rebooted = nodeObject({ name: 'n0', bootID: 'b1', kernelVersion: '6.1.0', ready: true });
    api.server.objects.patch(nodes(), undefined, 'n0', 'merge', JSON.stringify({ status: rebooted.status }), { dryRun: false, fieldValidation: 'Strict', force: false }, 'status');
    await until(() => events.length === 2, 'the reboot');
    expect(events[1]).toEqual({ type: 'MODIFIED', name: 'n0', boot: 'b1' });
    // The server ends the stream: resume from the last resourceVersion, nothing replayed.
    api.server.endWatches();
    await until(() => w.stats.connects === 2, 'the reconnect');
    api.server.objects.create(nodes(), undefined, nodeObject({ name: 'n1', bootID: 'c0', kernelVersion: '6.1.0', ready: true }), { dryRun: false, fieldValidation: 'Strict' });
    await until(() => events.length === 3, 'n1');
    expect(events[2]).toMatchObject({ type: 'ADDED', name: 'n1' });
    // History gone while away → 410 → relist, diffed: the deletion is still reported.
    api.server.endWatches();
    api.server.objects.delete(nodes(), undefined, 'n1', {});
    api.server.store.compact();
    await until(() => events.length === 4, 'the relist');
    expect(events[3]).toMatchObject({ type: 'DELETED', name: 'n1' });
    expect(w.stats.relistsAfterGone).toBeGreaterThanOrEqual(1);
    await w.stop();
  });

  it('deleting a CRD ends the watches of its kind', async () => {
    const crds = api.server.registry.find('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.com' },
      spec: { group: 'example.com', scope: 'Cluster', names: { plural: 'gadgets', kind: 'Gadget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    };
    api.server.objects.create(crds, undefined, crd, { dryRun: false, fieldValidation: 'Strict' });
    let ended = false;
    await new Watch(kc).watch('/apis/example.com/v1/gadgets', {}, () => undefined, () => (ended = true));
    await until(() => api.server.store.watcherCount('gadgets.example.com') === 1, 'the watch');
    api.server.objects.delete(crds, undefined, 'gadgets.example.com', {});
    await until(() => ended, 'the watch to end');
  });

  it('ResumableWatch.stop() while a watch request is in flight ends it (the stream must not outlive stop)', async () => {
    const client = new KubeClient({ credentials: new Credentials({ kubeconfig: api.kubeconfig }) });
    const w = new ResumableWatch({ client, call: 'watch-nodes', ref: NODES, onChange: () => undefined });
    await w.start(); // resolves after the list, while the watch request is being made
    const t0 = Date.now();
    await w.stop();
    await until(() => api.server.store.watcherCount('nodes.') === 0, 'the server-side watch to close', 3000);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('the cluster client applies rendered DTK artifacts server-side and deletes them in the foreground', async () => {
    const driver = await loadDriver(REFERENCE_DRIVER_FILE);
    const [set] = renderMethods(driver.spec, await resolveRelease({}), 'dtk');
    const objects = allObjects(set!);
    expect(objects.length).toBeGreaterThan(3);
    const client = new KubeClient({ credentials: new Credentials({ kubeconfig: api.kubeconfig }) });
    for (const o of objects) {
      const out = await client.apply('apply-artifacts', o);
      expect(out.metadata.name).toBe(o.metadata.name);
    }
    const ns = objects.find((o) => o.kind === 'Namespace')!;
    const ds = objects.find((o) => o.kind === 'DaemonSet')!;
    const live = await client.get('apply-artifacts', await client.mapping(ds.apiVersion, ds.kind), ds.metadata.name, ds.metadata.namespace);
    expect((live as unknown as { metadata: { managedFields: { manager: string; operation: string }[] } }).metadata.managedFields).toEqual([expect.objectContaining({ manager: 'kmodlab', operation: 'Apply' })]);
    // Re-applying the same objects changes nothing.
    const rv = live!.metadata as { resourceVersion?: string };
    await client.apply('apply-artifacts', ds);
    expect(((await client.get('apply-artifacts', await client.mapping(ds.apiVersion, ds.kind), ds.metadata.name, ds.metadata.namespace))!.metadata as { resourceVersion?: string }).resourceVersion).toBe(rv.resourceVersion);
    // client-node's object API speaks server-side apply too.
    const objApi = KubernetesObjectApi.makeApiClient(kc);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-client-node', namespace: ns.metadata.name }, data: { a: 'b' } };
    const applied = await objApi.patch(cm, undefined, undefined, 'client-node', true, PatchStrategy.ServerSideApply);
    expect((applied as V1ConfigMap).data).toEqual({ a: 'b' });
    const gone = await client.delete('apply-artifacts', ns, { waitMs: 10_000, pollMs: 50 });
    expect(gone.gone).toBe(true);
    expect(api.server.objects.list(configmaps(), ns.metadata.name).items).toEqual([]);
  });
});
