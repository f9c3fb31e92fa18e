/**
 * The lab API server's pods/<pod>:<port>/proxy/: relayed to the node's forwarded host port
 * (Node annotation lab.kmodlab.io/host-ports), here a local HTTP server standing in for the
 * guest; 503 when the node is not Ready, the pod not Running, or nothing answers. Probed with
 * the cluster target's own canary probe. No QEMU (test/lab/canary.test.ts runs the real path).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeCanaryPod } from '../../src/targets/cluster/canary-probe.js';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { LAB_HOST_PORTS } from '../../src/targets/lab/api-server/node-object.js';
import { labNetexecArgv } from '../../src/targets/lab/kubelet/netexec-substitute.js';
import { freeLocalPort } from '../../src/targets/lab/node/provider.js';
import { startTestApi, type TestApi } from './api-server-helpers.js';

describe('lab API pod proxy', () => {
  let api: TestApi;
  let guest: http.Server;
  let client: KubeClient;
  const paths: string[] = [];
  const w = { dryRun: false, fieldValidation: 'Strict' as const, fieldManager: 'test' };
  const pods = () => api.server.registry.findKind('', 'v1', 'Pod')!;
  const nodes = () => api.server.registry.findKind('', 'v1', 'Node')!;
  const setStatus = (t: ReturnType<typeof pods>, ns: string | undefined, name: string, status: object) => api.server.objects.patch(t, ns, name, 'merge', JSON.stringify({ status }), { ...w, force: false }, 'status');

  beforeAll(async () => {
    api = await startTestApi();
    guest = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok\n');
    });
    await new Promise<void>((r) => guest.listen(0, '127.0.0.1', r));
    const hostPort = (guest.address() as AddressInfo).port;
    api.server.objects.create(nodes(), undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n0', annotations: { [LAB_HOST_PORTS]: JSON.stringify({ 8080: hostPort }) } } }, w);
    setStatus(nodes(), undefined, 'n0', { conditions: [{ type: 'Ready', status: 'True' }] });
    api.server.objects.create(pods(), 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'canary', namespace: 'default' }, spec: { nodeName: 'n0', containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }] } }, w);
    setStatus(pods(), 'default', 'canary', { phase: 'Running' });
    client = new KubeClient({ credentials: new Credentials({ kubeconfig: api.kubeconfig, env: {}, home: api.dir }) });
  });
  afterAll(async () => {
    await new Promise<void>((r) => guest.close(() => r()));
    await api?.stop();
  });

  it('relays a probe to the node forwarded port and back', async () => {
    expect(await probeCanaryPod(client, 'default', 'canary', 2_000)).toMatchObject({ ok: true });
    expect(paths.at(-1)).toBe('/');
    const r = await client.request('canary-probe', { method: 'GET', ref: { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true }, namespace: 'default', name: 'canary:8080', subresource: 'proxy', subpath: '/a/b?x=1' });
    expect(r.text).toBe('ok\n');
    expect(paths.at(-1)).toBe('/a/b?x=1');
  });

  it('503 when the pod is not running, when the node is down, when nothing listens', async () => {
    setStatus(pods(), 'default', 'canary', { phase: 'Pending' });
    expect((await probeCanaryPod(client, 'default', 'canary', 2_000)).error).toMatch(/503 ServiceUnavailable.*not running/);
    setStatus(pods(), 'default', 'canary', { phase: 'Running' });
    setStatus(nodes(), undefined, 'n0', { conditions: [{ type: 'Ready', status: 'Unknown' }] });
    expect((await probeCanaryPod(client, 'default', 'canary', 2_000)).error).toMatch(/503 ServiceUnavailable.*node n0 is not ready/);
    setStatus(nodes(), undefined, 'n0', { conditions: [{ type: 'Ready', status: 'True' }] });
    // The node's QEMU is restarting: nothing listens on its host port.
    const closed = await freeLocalPort();
    api.server.objects.patch(nodes(), undefined, 'n0', 'merge', JSON.stringify({ metadata: { annotations: { [LAB_HOST_PORTS]: JSON.stringify({ 8080: closed }) } } }), { ...w, force: false }, undefined);
    expect((await probeCanaryPod(client, 'default', 'canary', 2_000)).error).toMatch(/503 ServiceUnavailable.*error trying to reach service: ECONNREFUSED/);
    expect((await probeCanaryPod(client, 'default', 'missing', 2_000)).error).toMatch(/404/);
  });

  it('the lab kubelet runs the guest busybox httpd for agnhost netexec only', () => {
    expect(labNetexecArgv(undefined, ['netexec', '--http-port=8080'])?.at(-1)).toMatch(/^mkdir .* exec \/proc\/1\/root\/bin\/busybox httpd -f -p 8080 -h /);
    expect(labNetexecArgv(['/agnhost'], ['netexec', '--http-port=9000'])?.at(-1)).toContain('httpd -f -p 9000 ');
    expect(labNetexecArgv(['sh', '-c'], ['netexec'])).toBeUndefined();
    expect(labNetexecArgv(undefined, ['sleep', 'infinity'])).toBeUndefined();
  });
});
