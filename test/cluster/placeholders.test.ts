/**
 * B2/B3: artifact sets that still hold placeholders are refused before the first write
 * (a layering MachineConfig with a placeholder osImageURL makes the MCO drain the node and
 * then fail to pull: node cordoned, pool Degraded), naming the field and the flag; the DTK
 * image comes from the cluster (imagestream openshift/driver-toolkit), so a cluster run
 * does not need it given. The fake cluster stands in for the MCO and the image streams.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import type { ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { ReleaseSchema } from '../../src/release/release.js';
import { UserError } from '../../src/errors.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { KVER, startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { FIXTURE_TOKEN, kubeconfigFor } from './helpers.js';

const DIGEST = `sha256:${'4'.repeat(64)}`;
const DTK = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'5'.repeat(64)}`;
let driver: DriverSpec;

beforeAll(async () => {
  driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
});

describe('placeholders are never applied to a cluster (fake cluster)', () => {
  let cluster: FakeCluster;
  let t: ClusterTarget | undefined;
  const connect = async () =>
    (t = await ClusterTarget.connect({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url), emit: () => undefined, readyzIntervalMs: 100, pollMs: 20, prometheusMinWindowMs: Number.MAX_SAFE_INTEGER }));
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await cluster.api.stop();
  });

  it('layering: a MachineConfig whose osImageURL is a placeholder is refused (exit 2), naming --layered-image; nothing is written', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    const target = await connect();
    const release = ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, sources: {} });
    const set = renderMethods(driver, release, 'layering', { registry: 'quay.io/acme' })[0]!;
    const e = await target.apply(set).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toMatch(/MachineConfig\/\S+ field spec\.osImageURL is the placeholder FILL_ME_LAYERED_IMAGE_DIGEST/);
    expect((e as UserError).hint).toMatch(/^pass --layered-image/);
    expect(cluster.api.log.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(cluster.api.all('MachineConfig')).toEqual([]);
  });

  it('layering with a real digest is applied', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    const target = await connect();
    const release = ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, sources: {} });
    const set = renderMethods(driver, release, 'layering', { registry: 'quay.io/acme', layeredImage: `quay.io/acme/simple-kmod-rhcos@${DIGEST}` })[0]!;
    await target.apply(set);
    expect(cluster.api.all('MachineConfig').map((m) => m['spec'].osImageURL)).toEqual([`quay.io/acme/simple-kmod-rhcos@${DIGEST}`]);
    await target.remove(set);
  });

  it('layering with an offClusterBuild hook (the lab): the hook runs before the guard, its pinned set is applied, and its step is recorded as performed by kmodlab', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    const events: Array<[string, Record<string, unknown>]> = [];
    // A named fake of the lab's hook (off-cluster-hook.ts, tested with buildah in test/lab/off-cluster-build.test.ts):
    // it pins osImageURL as build.sh would and says it performed ./build.sh.
    const fakeOffClusterBuild = async (s: ArtifactSet) => ({
      set: { ...s, files: s.files.map((f) => ({ ...f, objects: f.objects?.map((o) => (o.kind === 'MachineConfig' ? { ...o, spec: { osImageURL: `quay.io/acme/simple-kmod-rhcos@${DIGEST}` } } : o)) })) },
      performed: ['./build.sh'],
    });
    t = await ClusterTarget.connect({
      kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url),
      emit: (k, d) => void events.push([k, d]),
      readyzIntervalMs: 100,
      pollMs: 20,
      prometheusMinWindowMs: Number.MAX_SAFE_INTEGER,
      offClusterBuild: fakeOffClusterBuild,
    });
    const release = ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, sources: {} });
    const set = renderMethods(driver, release, 'layering', { registry: 'quay.io/acme' })[0]!;
    await t.apply(set);
    expect(cluster.api.all('MachineConfig').map((m) => m['spec'].osImageURL)).toEqual([`quay.io/acme/simple-kmod-rhcos@${DIGEST}`]);
    expect(events.filter(([k]) => k === 'manual-step').map(([, d]) => [d['command'], d['performedBy']])).toEqual([['./build.sh', 'kmodlab']]);
    await t.remove(set);
  });

  it('dtk: the driver-toolkit image is read from the imagestream openshift/driver-toolkit; without it a placeholder DTK is refused', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    cluster.api.removeObject('image.openshift.io/v1', 'ImageStream', 'driver-toolkit', 'openshift');
    let target = await connect();
    expect(target.releases().from.driverToolkitImage).toBeUndefined();
    const bare = renderMethods(driver, target.releases().from, 'dtk')[0]!;
    const e = await target.apply(bare).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toMatch(/BuildConfig\/\S+ field spec\.source\.dockerfile is the placeholder FILL_ME/);
    expect((e as UserError).hint).toMatch(/--dtk-image/);
    await target.close();
    // As on OpenShift: the cluster's driver-toolkit image stream, tag latest, pinned by digest.
    cluster.api.put({
      apiVersion: 'image.openshift.io/v1',
      kind: 'ImageStream',
      metadata: { name: 'driver-toolkit', namespace: 'openshift' },
      spec: { tags: [{ name: 'latest', from: { kind: 'DockerImage', name: DTK } }] },
      status: { tags: [{ tag: 'latest', items: [{ dockerImageReference: DTK, image: DTK.split('@')[1] }] }] },
    });
    target = await connect();
    expect(target.releases().from.driverToolkitImage).toBe(DTK);
    expect(target.releases().from.sources['driverToolkitImage']).toMatch(/imagestream openshift\/driver-toolkit/);
  });
});
