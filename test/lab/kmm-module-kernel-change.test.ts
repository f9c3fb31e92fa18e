/**
 * The lab's KMM Module controller against the lab API server in this process, with Node
 * objects standing for the nodes and this test in the kubelet's place (it sets the worker
 * pods' phase — a named fake: no QEMU here). What it shows: a node whose kernelVersion
 * changes (a reboot into another kernel) loses KMM's ready label and gets a new load worker
 * with the image of the mapping of its new kernel; deleting the Module runs the unload
 * worker and keeps the finalizer until it succeeded. The images are the lab release's (in the
 * registry), so no build is needed.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMM_OWNED, kmmCrd } from '../../src/targets/lab/control-plane/api-controllers/kmm-bundle.js';
import { KmmModuleController, MODULE_FINALIZER, readyLabel } from '../../src/targets/lab/control-plane/api-controllers/kmm-module.js';
import { SharedInformers } from '../../src/targets/lab/control-plane/informers.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { setupLabImages } from '../../src/targets/lab/images/lab-release.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { startTestApi, type TestApi } from './api-server-helpers.js';
import { labAvailability, primaryKernel } from './helpers.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe.skipIf(!ok)('KMM Module controller: kernel change and unload (lab API in process, pods phased by the test)', () => {
  let api: TestApi;
  let registry: LabRegistry;
  let informers: SharedInformers;
  let kmm: KmmModuleController;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let imageA: string;
  let imageB: string;
  const ns = 'drv';
  const K1 = '6.1.0-1-lab-amd64';
  const K2 = '6.1.0-2-lab-amd64';
  const label = readyLabel(ns, 'm');

  const until = async <T>(probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > end) throw new Error('timed out');
      await sleep(100);
    }
  };
  const workerPod = () => informers.list<V1Pod>('/api/v1/pods').find((p) => p.metadata?.namespace === ns && p.metadata?.name === 'kmm-worker-n1-m' && !p.metadata?.deletionTimestamp);
  const node = () => informers.list<V1Node>('/api/v1/nodes').find((n) => n.metadata?.name === 'n1');
  /** What the kubelet would post when the worker's command exited 0. */
  const succeed = (p: V1Pod) => core.patchNamespacedPodStatus({ namespace: ns, name: p.metadata!.name!, body: { status: { phase: 'Succeeded' } } }, merge);
  const setKernel = (kver: string, bootID: string) => core.patchNodeStatus({ name: 'n1', body: { status: { nodeInfo: { kernelVersion: kver, bootID } } } }, merge);

  beforeAll(async () => {
    registry = await openRegistry();
    const kernel = primaryKernel(lab.kernels);
    const release = await setupLabImages([kernel]);
    imageA = release.images.find((i) => i.role === 'runtime-base')!.digestRef!;
    imageB = release.images.find((i) => i.role === 'driver-toolkit')!.digestRef!;
    api = await startTestApi();
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    for (const c of KMM_OWNED) await ext.createCustomResourceDefinition({ body: kmmCrd(c) });
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNode({ body: { metadata: { name: 'n1', labels: { 'node-role.kubernetes.io/master': '' } } } });
    await setKernel(K1, 'boot-1');
    informers = new SharedInformers(kc);
    kmm = new KmmModuleController({ kc, informers, registry });
    await kmm.setRunning(true);
  }, 900_000);
  afterAll(async () => {
    await kmm?.stop();
    await informers?.stop();
    await api?.stop();
    await registry?.stop();
  });

  it('loads with the mapping of the node kernel, loads again after a reboot into another kernel, unloads before the finalizer goes', async () => {
    const module = {
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
      kind: 'Module',
      metadata: { name: 'm', namespace: ns },
      spec: {
        selector: { 'node-role.kubernetes.io/master': '' },
        moduleLoader: { container: { modprobe: { moduleName: 'x' }, kernelMappings: [{ literal: K1, containerImage: imageA }, { regexp: '^6\\.1\\.0-2-', containerImage: imageB }] } },
      },
    };
    await custom.createNamespacedCustomObject({ group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', plural: 'modules', namespace: ns, body: module });
    const getModule = () => custom.getNamespacedCustomObject({ group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', plural: 'modules', namespace: ns, name: 'm' }) as Promise<{ metadata: { finalizers?: string[] }; status?: { moduleLoader?: unknown } }>;

    const first = await until(workerPod);
    expect(first.spec?.nodeName).toBe('n1');
    expect(first.spec?.containers[0]!.image).toBe(imageA);
    expect(first.metadata?.labels?.['kmm.node.kubernetes.io/worker-action']).toBe('Load');
    expect(first.spec?.containers[0]!.command?.join(' ')).toContain("'modprobe' '-v' '-d' '/opt' 'x'");
    expect((await getModule()).metadata.finalizers).toContain(MODULE_FINALIZER);
    expect(node()?.metadata?.labels?.[label]).toBeUndefined(); // not before the worker succeeded
    await succeed(first);
    await until(() => node()?.metadata?.labels?.[label] !== undefined);
    await until(async () => JSON.stringify((await getModule()).status?.moduleLoader) === JSON.stringify({ nodesMatchingSelectorNumber: 1, desiredNumber: 1, availableNumber: 1 }));

    // Reboot into K2: the modules are gone; the mapping of K2 gives the other image.
    await setKernel(K2, 'boot-2');
    await until(() => node()?.metadata?.labels?.[label] === undefined);
    const second = await until(() => (workerPod()?.spec?.containers[0]!.image === imageB ? workerPod() : undefined));
    expect(second.metadata?.labels?.['kmm.node.kubernetes.io/worker-action']).toBe('Load');
    await succeed(second);
    await until(() => node()?.metadata?.labels?.[label] !== undefined);

    // Delete: an unload worker first; the Module stays until it succeeded.
    await custom.deleteNamespacedCustomObject({ group: 'kmm.sigs.x-k8s.io', version: 'v1beta1', plural: 'modules', namespace: ns, name: 'm' });
    const unload = await until(() => (workerPod()?.metadata?.labels?.['kmm.node.kubernetes.io/worker-action'] === 'Unload' ? workerPod() : undefined));
    expect(unload.spec?.containers[0]!.image).toBe(imageB);
    expect(unload.spec?.containers[0]!.command?.join(' ')).toContain("'modprobe' '-v' '-r' '-d' '/opt' 'x'");
    await sleep(1_000);
    expect((await getModule()).metadata.finalizers).toContain(MODULE_FINALIZER);
    await succeed(unload);
    await until(async () => (await getModule().then(() => false, () => true)) || undefined);
    expect(node()?.metadata?.labels?.[label]).toBeUndefined();
  }, 120_000);
});
