/**
 * The lab API driven by the real kubectl 1.32: server-side apply (conflicts, force),
 * client-side apply (create, then a strategic merge patch), get -o yaml, get -w, wait
 * for a condition and for deletion, delete with a finalizer that a controller removes,
 * logs, --dry-run=server, label, field validation, CRDs created at run time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig, Watch, CustomObjectsApi, CoreV1Api } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { kubectlBinary, startTestApi, type TestApi } from './api-server-helpers.js';
import { nodeObject } from '../../src/targets/lab/api-server/node-object.js';
import type { MemoryLogSource } from '../../src/targets/lab/api-server/log-source.js';

const hasKubectl = kubectlBinary() !== undefined;

describe.skipIf(!hasKubectl)('lab API with kubectl', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('is driven by kubectl 1.32', async () => {
    const r = await api.kubectl(['version', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.clientVersion.minor).toBe('32');
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.27\./);
  });

  it('refuses requests without the token', async () => {
    const https = await import('node:https');
    const { readFileSync } = await import('node:fs');
    const ca = parseYaml(readFileSync(api.kubeconfig, 'utf8')).clusters[0].cluster['certificate-authority-data'];
    const status = await new Promise<number>((resolve, reject) =>
      https.get(`${api.server.url}/api/v1/namespaces`, { ca: Buffer.from(ca, 'base64') }, (res) => resolve(res.statusCode!)).on('error', reject),
    );
    expect(status).toBe(401);
  });

  it('server-side apply: creates, reports a conflict with another manager, and --force-conflicts takes the field', async () => {
    const f = api.file('ssa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  key: one\n  other: x\n');
    let r = await api.kubectl(['apply', '--server-side', '-f', f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('configmap/ssa serverside-applied');
    const f2 = api.file('ssa2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  key: two\n');
    r = await api.kubectl(['apply', '--server-side', '--field-manager=second', '-f', f2]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl" using v1: .data.key');
    expect((await api.kubectl(['get', 'cm', 'ssa', '-o', 'jsonpath={.data.key}'])).stdout).toBe('one');
    r = await api.kubectl(['apply', '--server-side', '--field-manager=second', '--force-conflicts', '-f', f2]);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse((await api.kubectl(['get', 'cm', 'ssa', '-o', 'json', '--show-managed-fields'])).stdout);
    expect(o.data).toEqual({ key: 'two', other: 'x' });
    const owners = Object.fromEntries(o.metadata.managedFields.map((m: { manager: string; fieldsV1: unknown }) => [m.manager, m.fieldsV1]));
    expect(owners['second']).toEqual({ 'f:data': { 'f:key': {} } });
    expect(owners['kubectl']).toEqual({ 'f:data': { 'f:other': {} } });
    // The first manager stops applying "other": the field goes, since nobody else owns it.
    r = await api.kubectl(['apply', '--server-side', '-f', api.file('ssa3.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata: {}\n')]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse((await api.kubectl(['get', 'cm', 'ssa', '-o', 'json'])).stdout).data).toEqual({ key: 'two' });
  });

  it('plain apply twice: create, then a three-way strategic merge patch', async () => {
    const deploy = (image: string, env: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        env:
${env}
`;
    const f = api.file('deploy.yaml', deploy('nginx:1', '        - {name: A, value: "1"}\n        - {name: B, value: "2"}'));
    let r = await api.kubectl(['apply', '-f', f, '-v=6']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/POST https:\/\/127\.0\.0\.1:\d+\/apis\/apps\/v1\/namespaces\/default\/deployments\?fieldManager=kubectl-client-side-apply&fieldValidation=Strict 201/);
    // Someone else adds a container; a second apply must keep it (merge by name) and drop env B (removed from the manifest).
    r = await api.kubectl(['patch', 'deployment', 'web', '--type=strategic', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}']);
    expect(r.code, r.stderr).toBe(0);
    r = await api.kubectl(['apply', '-f', api.file('deploy.yaml', deploy('nginx:2', '        - {name: A, value: "1"}')), '-v=6']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PATCH https:\/\/127\.0\.0\.1:\d+\/apis\/apps\/v1\/namespaces\/default\/deployments\/web\?fieldManager=kubectl-client-side-apply&fieldValidation=Strict 200/);
    const o = parseYaml((await api.kubectl(['get', 'deployment', 'web', '-o', 'yaml'])).stdout);
    const byName = Object.fromEntries(o.spec.template.spec.containers.map((c: { name: string }) => [c.name, c]));
    expect(byName.web.image).toBe('nginx:2');
    expect(byName.web.env).toEqual([{ name: 'A', value: '1' }]);
    expect(byName.sidecar.image).toBe('busybox');
    expect(o.metadata.generation).toBe(3);
    expect(JSON.parse(o.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).spec.template.spec.containers[0].image).toBe('nginx:2');
    // Unchanged manifest → a patch that changes nothing: no write, same resourceVersion.
    const rv = o.metadata.resourceVersion;
    r = await api.kubectl(['apply', '-f', api.file('deploy.yaml', deploy('nginx:2', '        - {name: A, value: "1"}'))]);
    expect(r.code, r.stderr).toBe(0);
    expect((await api.kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.metadata.resourceVersion}'])).stdout).toBe(rv);
  });

  it('get -w streams changes until its timeout', async () => {
    const watching = api.kubectl(['get', 'configmaps', '-w', '-o', 'name', '--request-timeout=4s'], { timeoutMs: 8000 });
    await new Promise((r) => setTimeout(r, 1500));
    await api.kubectl(['apply', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"watched"}}' });
    const r = await watching;
    expect(r.stdout).toContain('configmap/watched');
  });

  it('wait --for=condition=Ready node/x returns when the node turns Ready, and times out while it is not', async () => {
    let r = await api.kubectl(['create', '-f', '-'], { input: JSON.stringify(nodeObject({ name: 'worker-0', bootID: 'boot-1', kernelVersion: '6.1.0-lab', ready: false })) });
    expect(r.code, r.stderr).toBe(0);
    r = await api.kubectl(['wait', '--for=condition=Ready', 'node/worker-0', '--timeout=2s']);
    expect(r.code).not.toBe(0);
    const waiting = api.kubectl(['wait', '--for=condition=Ready', 'node/worker-0', '--timeout=20s']);
    await new Promise((res) => setTimeout(res, 1000));
    const ready = nodeObject({ name: 'worker-0', bootID: 'boot-1', kernelVersion: '6.1.0-lab', ready: true });
    r = await api.kubectl(['patch', 'node', 'worker-0', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: ready.status.conditions } })]);
    expect(r.code, r.stderr).toBe(0);
    r = await waiting;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('node/worker-0 condition met');
    const n = JSON.parse((await api.kubectl(['get', 'node', 'worker-0', '-o', 'json'])).stdout);
    expect(n.status.nodeInfo).toMatchObject({ bootID: 'boot-1', kernelVersion: '6.1.0-lab' });
    expect((await api.kubectl(['get', 'nodes'])).stdout).toMatch(/worker-0\s+Ready\s+6\.1\.0-lab/);
  });

  it('delete with a finalizer: the object waits, with deletionTimestamp, until a controller removes the finalizer', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    // The test controller: on a terminating ConfigMap carrying our finalizer, remove it.
    const removed: string[] = [];
    const req = await new Watch(kc).watch(
      '/api/v1/namespaces/default/configmaps',
      {},
      (type, obj: { metadata: { name: string; deletionTimestamp?: string; finalizers?: string[] } }) => {
        if (type === 'MODIFIED' && obj.metadata.deletionTimestamp && obj.metadata.finalizers?.includes('example.com/cleanup')) {
          removed.push(obj.metadata.name);
          void core.patchNamespacedConfigMap({ name: obj.metadata.name, namespace: 'default', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
        }
      },
      () => undefined,
    );
    let r = await api.kubectl(['create', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"guarded","finalizers":["example.com/cleanup"]}}' });
    expect(r.code, r.stderr).toBe(0);
    r = await api.kubectl(['delete', 'cm', 'guarded', '--timeout=20s']);
    req.abort();
    expect(r.code, r.stderr).toBe(0);
    expect(removed).toEqual(['guarded']);
    r = await api.kubectl(['get', 'cm', 'guarded']);
    expect(r.stderr).toContain('configmaps "guarded" not found');
  });

  it('wait --for=delete returns once the last finalizer is removed', async () => {
    await api.kubectl(['create', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/hold"]}}' });
    let r = await api.kubectl(['delete', 'cm', 'held', '--wait=false']);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse((await api.kubectl(['get', 'cm', 'held', '-o', 'json'])).stdout);
    expect(o.metadata.deletionTimestamp).toBeTruthy();
    r = await api.kubectl(['wait', '--for=delete', 'cm/held', '--timeout=2s']);
    expect(r.code).not.toBe(0);
    const waiting = api.kubectl(['wait', '--for=delete', 'cm/held', '--timeout=20s']);
    await new Promise((res) => setTimeout(res, 1000));
    r = await api.kubectl(['patch', 'cm', 'held', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    expect(r.code, r.stderr).toBe(0);
    expect((await waiting).code).toBe(0);
  });

  it('logs: pods/log from the log source, one container picked by default, -c and --tail', async () => {
    let r = await api.kubectl(['apply', '-f', '-'], { input: '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe"},"spec":{"containers":[{"name":"main","image":"busybox"}]}}' });
    expect(r.code, r.stderr).toBe(0);
    r = await api.kubectl(['logs', 'probe']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('waiting to start');
    (api.server.logs as MemoryLogSource).append('default', 'probe', 'main', 'line 1\nline 2\nline 3\n');
    r = await api.kubectl(['logs', 'probe']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('line 1\nline 2\nline 3\n');
    expect((await api.kubectl(['logs', 'probe', '-c', 'main', '--tail=1'])).stdout).toBe('line 3\n');
    const following = api.kubectl(['logs', '-f', 'probe']);
    await new Promise((res) => setTimeout(res, 1000));
    (api.server.logs as MemoryLogSource).append('default', 'probe', 'main', 'line 4');
    (api.server.logs as MemoryLogSource).end('default', 'probe', 'main');
    expect((await following).stdout).toBe('line 1\nline 2\nline 3\nline 4\n');
  });

  it('--dry-run=server validates and answers without storing, for create, apply, patch and delete', async () => {
    let r = await api.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-', '-o', 'json'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dry"},"data":{"a":"b"}}' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).data).toEqual({ a: 'b' });
    expect((await api.kubectl(['get', 'cm', 'dry'])).stderr).toContain('not found');
    r = await api.kubectl(['create', '--dry-run=server', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dry"}}' });
    expect(r.stdout).toContain('created (server dry run)');
    expect((await api.kubectl(['get', 'cm', 'dry'])).stderr).toContain('not found');
    // In a namespace that does not exist, as a real server answers.
    r = await api.kubectl(['create', '--dry-run=server', '-n', 'nowhere', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dry"}}' });
    expect(r.stderr).toContain('namespaces "nowhere" not found');
    await api.kubectl(['apply', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kept"},"data":{"a":"1"}}' });
    r = await api.kubectl(['patch', 'cm', 'kept', '--dry-run=server', '--type=merge', '-p', '{"data":{"a":"2"}}', '-o', 'jsonpath={.data.a}']);
    expect(r.stdout).toBe('2');
    r = await api.kubectl(['delete', 'cm', 'kept', '--dry-run=server']);
    expect(r.code, r.stderr).toBe(0);
    expect((await api.kubectl(['get', 'cm', 'kept', '-o', 'jsonpath={.data.a}'])).stdout).toBe('1');
  });

  it('label and annotate', async () => {
    await api.kubectl(['apply', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"tagged","labels":{"a":"1"}}}' });
    let r = await api.kubectl(['label', 'cm', 'tagged', 'b=2']);
    expect(r.code, r.stderr).toBe(0);
    r = await api.kubectl(['label', 'cm', 'tagged', 'a=3']);
    expect(r.code).not.toBe(0);
    r = await api.kubectl(['label', 'cm', 'tagged', 'a-']);
    expect(r.code, r.stderr).toBe(0);
    r = await api.kubectl(['annotate', 'cm', 'tagged', 'note=hello']);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse((await api.kubectl(['get', 'cm', 'tagged', '-o', 'json'])).stdout);
    expect(o.metadata.labels).toEqual({ b: '2' });
    expect(o.metadata.annotations.note).toBe('hello');
    expect((await api.kubectl(['get', 'cm', '-l', 'b=2', '-o', 'name'])).stdout.trim()).toBe('configmap/tagged');
    expect((await api.kubectl(['get', 'cm', '-l', 'b!=2', '-o', 'name'])).stdout).not.toContain('tagged');
    expect((await api.kubectl(['get', 'cm', '--field-selector', 'metadata.name=tagged', '-o', 'name'])).stdout.trim()).toBe('configmap/tagged');
  });

  it('fieldValidation=Strict: kubectl validates on the server; unknown fields are refused where the schema is known', async () => {
    let r = await api.kubectl(['apply', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"typo"},"dat":{"a":"b"}}' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('strict decoding error: unknown field "dat"');
    r = await api.kubectl(['apply', '--validate=false', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"typo"},"dat":{"a":"b"}}' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse((await api.kubectl(['get', 'cm', 'typo', '-o', 'json'])).stdout).dat).toBeUndefined();
  });

  it('CRDs created at run time become served kinds; custom resources get merge patches, not strategic ones', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' }, items: { type: 'array', items: { type: 'string' } } } }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
          },
        ],
      },
    };
    let r = await api.kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) });
    expect(r.code, r.stderr).toBe(0);
    r = await api.kubectl(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=10s']);
    expect(r.code, r.stderr).toBe(0);
    const w = (spec: object) => JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec });
    r = await api.kubectl(['apply', '-f', '-'], { input: w({ size: 1, items: ['a', 'b'] }) });
    expect(r.code, r.stderr).toBe(0);
    r = await api.kubectl(['apply', '-f', '-', '-v=6'], { input: w({ items: ['c'] }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PATCH .*\/apis\/example\.com\/v1\/namespaces\/default\/widgets\/w1\?.* 200/);
    expect(JSON.parse((await api.kubectl(['get', 'widget', 'w1', '-o', 'json'])).stdout).spec).toEqual({ items: ['c'] });
    r = await api.kubectl(['apply', '-f', '-'], { input: w({ colour: 'red' }) });
    expect(r.stderr).toContain('unknown field "spec.colour"');
    r = await api.kubectl(['patch', 'widget', 'w1', '-p', '{"spec":{"size":2}}']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('application/strategic-merge-patch+json is not supported');
    // Status is a subresource: the main resource ignores it.
    r = await api.kubectl(['patch', 'widget', 'w1', '--type=merge', '-p', '{"status":{"ready":true}}']);
    expect(JSON.parse((await api.kubectl(['get', 'widget', 'w1', '-o', 'json'])).stdout).status).toBeUndefined();
    r = await api.kubectl(['patch', 'widget', 'w1', '--subresource=status', '--type=merge', '-p', '{"status":{"ready":true}}']);
    expect(r.code, r.stderr).toBe(0);
    const obj = JSON.parse((await api.kubectl(['get', 'widget', 'w1', '-o', 'json'])).stdout);
    expect(obj.status).toEqual({ ready: true });
    expect(obj.metadata.generation).toBe(2);
    // The same kind through client-node.
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig);
    const list = await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: 'example.com', version: 'v1', namespace: 'default', plural: 'widgets' });
    expect((list as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name)).toEqual(['w1']);
    // Deleting the CRD removes the kind and its objects.
    r = await api.kubectl(['delete', 'crd', 'widgets.example.com']);
    expect(r.code, r.stderr).toBe(0);
    r = await api.kubectl(['get', 'widgets']);
    expect(r.code).not.toBe(0);
  });

  it('deleting a namespace deletes its content, then the namespace; while it terminates, nothing new goes in', async () => {
    await api.kubectl(['apply', '-f', '-'], { input: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"scratch"}}' });
    await api.kubectl(['apply', '-n', 'scratch', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"inside"}}' });
    await api.kubectl(['apply', '-n', 'scratch', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/hold"]}}' });
    let r = await api.kubectl(['delete', 'namespace', 'scratch', '--wait=false']);
    expect(r.code, r.stderr).toBe(0);
    expect((await api.kubectl(['get', 'ns', 'scratch', '-o', 'jsonpath={.status.phase}'])).stdout).toBe('Terminating');
    expect((await api.kubectl(['get', 'cm', '-n', 'scratch', '-o', 'name'])).stdout.trim()).toBe('configmap/held');
    r = await api.kubectl(['apply', '-n', 'scratch', '-f', '-'], { input: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"late"}}' });
    expect(r.stderr).toContain('configmaps "late" is forbidden: unable to create new content in namespace scratch because it is being terminated');
    const waiting = api.kubectl(['wait', '--for=delete', 'namespace/scratch', '--timeout=20s']);
    await new Promise((res) => setTimeout(res, 1000));
    await api.kubectl(['patch', '-n', 'scratch', 'cm', 'held', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    expect((await waiting).code).toBe(0);
    expect((await api.kubectl(['get', 'ns', 'scratch'])).stderr).toContain('not found');
  });

  it('the kubectl on PATH (which may pick a client by server version) works too', async () => {
    const { findTool } = await import('../../src/targets/lab/host/tools.js');
    const { execFile } = await import('node:child_process');
    const onPath = findTool('kubectl')!;
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(onPath, ['apply', '--server-side', '-f', '-', '-o', 'name'], { env: { PATH: process.env.PATH, HOME: api.dir, KUBECONFIG: api.kubeconfig } }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, out: stdout + stderr }),
      ).stdin!.end('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"from-path-kubectl"}}'),
    );
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('configmap/from-path-kubectl');
  });

  it('owned objects go with their owner (background), or stay without the reference (--cascade=orphan)', async () => {
    const owned = async (owner: string, dependent: string) => {
      const o = JSON.parse((await api.kubectl(['apply', '-f', '-', '-o', 'json'], { input: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${owner}"}}` })).stdout);
      const dep = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: dependent, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid: o.metadata.uid }] } };
      expect((await api.kubectl(['apply', '-f', '-'], { input: JSON.stringify(dep) })).code).toBe(0);
    };
    await owned('owner-a', 'dependent-a');
    expect((await api.kubectl(['delete', 'cm', 'owner-a'])).code).toBe(0);
    expect((await api.kubectl(['get', 'cm', 'dependent-a'])).stderr).toContain('not found');
    await owned('owner-b', 'dependent-b');
    expect((await api.kubectl(['delete', 'cm', 'owner-b', '--cascade=orphan'])).code).toBe(0);
    const d = JSON.parse((await api.kubectl(['get', 'cm', 'dependent-b', '-o', 'json'])).stdout);
    expect(d.metadata.ownerReferences).toBeUndefined();
  });
});
