/**
 * The lab's render controller on the lab API (in this process, no QEMU): a release change
 * that leaves a pool's merged spec as it was — a MachineConfig's osImageURL overrides the
 * new base OS image (off-cluster layering) — renders the same `rendered-<pool>-<hash>`
 * name, and upstream then applies the generated config over the existing one
 * (machine-config-operator pkg/controller/render/render_controller.go
 * syncGeneratedMachineConfig: `pool.Spec.Configuration.Name == generated.Name` →
 * ApplyMachineConfig), so its release-image-version annotation names the new release and
 * the cluster-version operator sees the pool at that release. Without it an upgrade of a
 * layered pool never completes.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MachineConfigController } from '../../src/targets/lab/control-plane/api-controllers/machineconfig.js';
import type { LabNode } from '../../src/targets/lab/node/node.js';
import { RELEASE_IMAGE_VERSION } from '../../src/targets/lab/control-plane/api-controllers/mco/render.js';
import { SharedInformers } from '../../src/targets/lab/control-plane/informers.js';
import { startTestApi, type TestApi } from './api-server-helpers.js';
import { pollUntil } from './helpers.js';

const MC = { group: 'machineconfiguration.openshift.io', version: 'v1' };
const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe('lab MCO render controller: a release change with an unchanged merged spec', () => {
  let api: TestApi;
  let informers: SharedInformers;
  let mco: MachineConfigController;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;

  const renderedOf = async (pool: string) => {
    const p = (await custom.getClusterCustomObject({ ...MC, plural: 'machineconfigpools', name: pool })) as { spec?: { configuration?: { name?: string } } };
    return p.spec?.configuration?.name;
  };
  const until = <T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000) => pollUntil(f, ok, ms);
  const releaseOf = async (name: string) => ((await custom.getClusterCustomObject({ ...MC, plural: 'machineconfigs', name })) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.[RELEASE_IMAGE_VERSION];

  beforeAll(async () => {
    api = await startTestApi();
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig);
    custom = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
    informers = new SharedInformers(kc);
    mco = new MachineConfigController({ kc, informers, nodes: [], insecure: () => true, release: { baseOSContainerImage: `127.0.0.1:5000/kmodlab/node-os@${digest('a')}`, releaseVersion: '6.1.0-56-amd64' } });
    await mco.start();
  }, 90_000);
  afterAll(async () => {
    await mco?.stop();
    await informers?.stop();
    await api?.stop();
  });

  it('the existing rendered config gets the new release-image-version; a pool without the override gets a new rendered config', async () => {
    // Off-cluster layering: the master pool boots a custom image whatever the release says.
    const layered = { apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfig', metadata: { name: '99-master-layered', labels: { 'machineconfiguration.openshift.io/role': 'master' } }, spec: { osImageURL: `127.0.0.1:5000/kmodlab/simple-kmod-rhcos@${digest('c')}` } };
    const before = await renderedOf('master');
    await custom.createClusterCustomObject({ ...MC, plural: 'machineconfigs', body: layered });
    const masterRendered = await until(() => renderedOf('master'), (n) => !!n && n !== before);
    expect(masterRendered).not.toBe(before);
    expect(await releaseOf(masterRendered!)).toBe('6.1.0-56-amd64');
    const workerBefore = await renderedOf('worker');

    // The cluster-version operator applies the new release's ConfigMap (an upgrade).
    await core.patchNamespacedConfigMap(
      { namespace: 'openshift-machine-config-operator', name: 'machine-config-osimageurl', body: { data: { baseOSContainerImage: `127.0.0.1:5000/kmodlab/node-os@${digest('b')}`, releaseVersion: '6.1.0-57-amd64' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // worker: a new merged spec (the new base image) → a new rendered config of the release.
    const workerAfter = await until(() => renderedOf('worker'), (n) => n !== workerBefore);
    expect(workerAfter).not.toBe(workerBefore);
    expect(await releaseOf(workerAfter!)).toBe('6.1.0-57-amd64');
    // master: the same name (the override wins), now annotated with the new release.
    expect(await until(() => releaseOf(masterRendered!), (v) => v === '6.1.0-57-amd64')).toBe('6.1.0-57-amd64');
    expect(await renderedOf('master')).toBe(masterRendered);
  }, 60_000);
});

/**
 * A node provisioned with a rendered config whose OS is not the image it booted (Day 1 with
 * a layering MachineConfig among the installer's manifests), or that has kernel arguments:
 * upstream's machine-config-daemon-firstboot.service rebases / sets the arguments and reboots
 * before the node counts as Done on it (pkg/daemon/daemon.go RunFirstbootCompleteMachineconfig;
 * only the boot image with no kernel arguments needs no update). The lab's node joins booted
 * from the base image, so its daemon must run that update instead of marking it Done at once —
 * else the layered image never boots, or the arguments are missing until some later reboot.
 */
describe('lab MCO: first boot of a node whose rendered config boots another OS image or has kernel arguments', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['an osImageURL', { osImageURL: '127.0.0.1:9/kmodlab/not-there@' + digest('e') }],
    ['kernelArguments only (the boot image unchanged)', { kernelArguments: ['kmodlab.day1=1'] }],
  ];
  it.each(cases)('%s: the node is sent through the OS update (here: an image that cannot be pulled → Degraded), not marked Done on the config', async (_what, spec) => {
    const api = await startTestApi();
    let informers: SharedInformers | undefined;
    let mco: MachineConfigController | undefined;
    try {
      const kc = new KubeConfig();
      kc.loadFromFile(api.kubeconfig);
      const custom = kc.makeApiClient(CustomObjectsApi);
      const core = kc.makeApiClient(CoreV1Api);
      // The installer's manifest, created before any node joins.
      await core.createNamespace({ body: { metadata: { name: 'openshift-machine-config-operator' } } }).catch(() => undefined);
      await custom.createClusterCustomObject({
        ...MC,
        plural: 'machineconfigs',
        body: { apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfig', metadata: { name: '99-master-day1', labels: { 'machineconfiguration.openshift.io/role': 'master' } }, spec },
      });
      informers = new SharedInformers(kc);
      // A named stand-in for the QEMU node: the update fails at the pull, before any reboot.
      const node = { name: 'lab-node-0', reboot: async () => Promise.reject(new Error('no reboot in this test')) } as unknown as LabNode;
      mco = new MachineConfigController({ kc, informers, nodes: [node], insecure: () => true, release: { baseOSContainerImage: `127.0.0.1:9/kmodlab/node-os@${digest('a')}`, releaseVersion: '6.1.0-56-amd64' } });
      const started = mco.start();
      await core.createNode({ body: { metadata: { name: 'lab-node-0', labels: { 'node-role.kubernetes.io/master': '' } } } });
      // start() waits for the pools to be installed, which this one never is: watch the node meanwhile.
      void started.catch(() => undefined);
      const annotations = async () => (await core.readNode({ name: 'lab-node-0' })).metadata?.annotations ?? {};
      const a = await until(annotations, (x) => x['machineconfiguration.openshift.io/state'] === 'Degraded' || x['machineconfiguration.openshift.io/state'] === 'Done', 30_000);
      const rendered = ((await custom.getClusterCustomObject({ ...MC, plural: 'machineconfigpools', name: 'master' })) as { spec: { configuration: { name: string } } }).spec.configuration.name;
      expect(a['machineconfiguration.openshift.io/desiredConfig']).toBe(rendered);
      expect(a['machineconfiguration.openshift.io/state']).toBe('Degraded');
      expect(a['machineconfiguration.openshift.io/reason']).toMatch(/failed to update OS to/);
      expect(a['machineconfiguration.openshift.io/currentConfig']).not.toBe(rendered);
    } finally {
      await mco?.stop();
      await informers?.stop();
      await api.stop();
    }
  }, 90_000);

  const until = <T>(f: () => Promise<T>, ok: (v: T) => boolean, ms: number) => pollUntil(f, ok, ms, 250);
});
