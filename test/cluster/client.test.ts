import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { KubeApiError, KubeClient, verbOf, APPLY_PATCH } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { UserError } from '../../src/errors.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { FIXTURE_TOKEN, kubeconfigFor } from './helpers.js';

const DS = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'simple-kmod-driver', namespace: 'simple-kmod-dtk', labels: { 'app.kubernetes.io/managed-by': 'kmodlab' } },
  spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
};
const NS = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'simple-kmod-dtk' } };

describe('KubeClient against the fake API server', () => {
  let fake: FakeKubeApiServer;
  let kubeconfig: string;
  const client = (o: { dryRun?: boolean; observeOnly?: boolean } = {}) => new KubeClient({ credentials: new Credentials({ kubeconfig }), ...o });

  beforeEach(async () => {
    fake = new FakeKubeApiServer();
    fake.tokens.add(FIXTURE_TOKEN);
    kubeconfig = kubeconfigFor('ocp-token.kubeconfig', await fake.start());
  });
  afterEach(async () => fake.stop());

  it('maps kinds through discovery (plural, namespaced), caching each group/version', async () => {
    const c = client();
    expect(await c.mapping('apps/v1', 'DaemonSet')).toEqual({ group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true });
    expect(await c.mapping('v1', 'Namespace')).toMatchObject({ resource: 'namespaces', namespaced: false });
    await c.mapping('apps/v1', 'Deployment');
    expect(fake.log.filter((r) => r.path === '/apis/apps/v1')).toHaveLength(1);
    await expect(c.mapping('nope.example.com/v1', 'Thing')).rejects.toThrow(UserError);
  });

  it('server-side applies with apply-patch+yaml, fieldManager=kmodlab, force, strict validation; re-apply merges', async () => {
    const c = client();
    await c.apply('apply-artifacts', NS);
    const out = await c.apply('apply-artifacts', DS);
    expect(out.metadata.namespace).toBe('simple-kmod-dtk');
    const patch = fake.log.find((r) => r.method === 'PATCH' && r.path.endsWith('/daemonsets/simple-kmod-driver'))!;
    expect(patch.path).toBe('/apis/apps/v1/namespaces/simple-kmod-dtk/daemonsets/simple-kmod-driver');
    expect(patch.contentType).toBe(APPLY_PATCH);
    expect(patch.query).toEqual({ fieldManager: 'kmodlab', force: 'true', fieldValidation: 'Strict' });
    await c.apply('apply-artifacts', { ...DS, metadata: { ...DS.metadata, labels: { extra: 'yes' } } });
    expect(fake.get('apps/v1', 'DaemonSet', 'simple-kmod-driver', 'simple-kmod-dtk')!.metadata['labels']).toEqual({ 'app.kubernetes.io/managed-by': 'kmodlab', extra: 'yes' });
  });

  it('the fake answers 415 to a PATCH that is neither apply nor merge patch (client-node\'s default pitfall)', async () => {
    const c = client();
    const ref = await c.mapping('v1', 'Namespace');
    await expect(c.request('apply-artifacts', { method: 'PATCH', ref, name: 'x', body: NS, contentType: 'application/json' })).rejects.toMatchObject({ status: 415 });
  });

  it('--dry-run=server: apply and delete carry dryRun=All and nothing is stored or deleted', async () => {
    const dry = client({ dryRun: true });
    const before = fake.resourceVersion;
    const out = await dry.apply('apply-artifacts', DS);
    expect(out.metadata.name).toBe('simple-kmod-driver'); // the server answered with the object it would store
    expect(fake.all('DaemonSet')).toEqual([]);
    expect(fake.resourceVersion).toBe(before);
    await client().apply('apply-artifacts', NS);
    const rv = fake.resourceVersion;
    expect(await dry.delete('apply-artifacts', NS)).toEqual({ gone: false });
    expect(fake.get('v1', 'Namespace', 'simple-kmod-dtk')).toBeDefined();
    expect(fake.resourceVersion).toBe(rv);
    for (const r of fake.log.filter((x) => x.method !== 'GET' && x.query['dryRun'] === undefined)) expect(r.query).toHaveProperty('fieldManager'); // only the non-dry client's own apply
    expect(fake.log.filter((x) => x.method !== 'GET' && x.query['dryRun'] === 'All')).toHaveLength(2);
  });

  it('deletes with Foreground propagation and waits until the object is gone', async () => {
    const c = client();
    await c.apply('apply-artifacts', NS);
    fake.deleteDelayMs = 300;
    const t0 = Date.now();
    expect(await c.delete('apply-artifacts', NS, { pollMs: 50 })).toEqual({ gone: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(fake.log.find((r) => r.method === 'DELETE')!.query['propagationPolicy']).toBe('Foreground');
    expect(fake.get('v1', 'Namespace', 'simple-kmod-dtk')).toBeUndefined();
    expect(await c.delete('apply-artifacts', NS)).toEqual({ gone: true }); // already gone = gone
  });

  it('wait-until-gone is bounded', async () => {
    const c = client();
    await c.apply('apply-artifacts', NS);
    fake.deleteDelayMs = 60_000;
    expect(await c.delete('apply-artifacts', NS, { waitMs: 200, pollMs: 50 })).toEqual({ gone: false });
  });

  it('--observe-only refuses writes with a UserError naming the flag, before any request', async () => {
    const c = client({ observeOnly: true });
    const n = fake.log.length;
    const e = await c.apply('apply-artifacts', NS).catch((x) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(/--observe-only/);
    expect(fake.log.slice(n).filter((r) => r.method !== 'GET')).toEqual([]);
    const ref = await c.mapping('v1', 'Node');
    await expect(c.list('watch-nodes', ref)).resolves.toMatchObject({ items: [] });
  });

  it('a request outside its API_CALLS entry is an internal error (the table cannot drift)', async () => {
    const c = client();
    const ref = await c.mapping('v1', 'Node');
    await expect(c.request('watch-pods', { method: 'GET', ref })).rejects.toThrow(/not in the API_CALLS entry "watch-pods"/);
    const pods = await c.mapping('v1', 'Pod');
    await expect(c.request('watch-pods', { method: 'DELETE', ref: pods, namespace: 'x', name: 'y' })).rejects.toThrow(/API_CALLS/);
  });

  it('verbs are derived as the authorizer does', () => {
    const ref = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };
    expect(verbOf({ method: 'GET', ref })).toBe('list');
    expect(verbOf({ method: 'GET', ref, name: 'p' })).toBe('get');
    expect(verbOf({ method: 'GET', ref, query: { watch: true } })).toBe('watch');
    expect(verbOf({ method: 'PATCH', ref, name: 'p' })).toBe('patch');
    expect(verbOf({ method: 'GET', path: '/readyz' })).toBe('get');
  });

  it('a 401 re-reads the kubeconfig once (refreshed token) and retries; a second 401 is a clear error without the token', async () => {
    const c = client();
    // The token expires; `oc login` writes a new one to the same file.
    fake.tokens.clear();
    fake.tokens.add('sha256~renewed-token-0002');
    writeFileSync(kubeconfig, readFileSync(kubeconfig, 'utf8').replace(FIXTURE_TOKEN, 'sha256~renewed-token-0002'));
    expect((await c.mapping('v1', 'Pod')).resource).toBe('pods');
    fake.tokens.clear();
    fake.tokens.add('sha256~another-one-0003');
    const e = (await c.mapping('apps/v1', 'DaemonSet').catch((x) => x)) as KubeApiError;
    expect(e).toBeInstanceOf(KubeApiError);
    expect(e.status).toBe(401);
    expect(e.message).toMatch(/oc login/);
    expect(e.message).not.toContain('renewed-token');
    expect(e.message).not.toContain(FIXTURE_TOKEN);
  });

  it('readyz: ok, not ready (500) and down (connection reset) are told apart', async () => {
    const c = client();
    expect((await c.readyz()).ok).toBe(true);
    fake.readyz = 'notready';
    expect(await c.readyz()).toMatchObject({ ok: false, status: 500 });
    fake.readyz = 'down';
    expect(await c.readyz()).toMatchObject({ ok: false, status: 0 });
  });
});
