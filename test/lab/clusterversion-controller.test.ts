/**
 * ClusterVersion on the lab API (in this process, no QEMU), reconciled by the lab's
 * cluster-version controller, driven by the real kubectl 1.32 and by the cluster
 * target's own upgrade call (src/targets/cluster/release-change.ts, R5). The releases
 * are two lab release records with made-up digests (the controller only compares and
 * writes references; pulling them is the kubelets' and the MCO's business); the
 * MachineConfigPool and its rendered MachineConfig are written by the test in the shape
 * the Machine Config Operator gives them.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterVersionController, resolveDesired } from '../../src/targets/lab/control-plane/api-controllers/clusterversion.js';
import { SharedInformers } from '../../src/targets/lab/control-plane/informers.js';
import type { LabReleaseOffer } from '../../src/targets/lab/images/lab-release.js';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { upgradeCluster } from '../../src/targets/cluster/release-change.js';
import { kubectlBinary, startTestApi, type TestApi } from './api-server-helpers.js';
import { pollUntil } from './helpers.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const release = (kver: string, c: string, d: string): LabReleaseOffer => ({ version: kver, kver, image: `127.0.0.1:5000/kmodlab/node-os@${digest(c)}`, driverToolkit: `127.0.0.1:5000/kmodlab/driver-toolkit@${digest(d)}` });
const A = release('6.1.0-56-amd64', 'a', 'b');
const B = release('6.1.0-57-amd64', 'c', 'd');
const C = release('6.12.0-1-amd64', 'e', 'f');

describe.skipIf(!kubectlBinary())('ClusterVersion on the lab API', () => {
  let api: TestApi;
  let informers: SharedInformers;
  let cvo: ClusterVersionController;
  const kubectl = (...args: string[]) => api.kubectl(args, { timeoutMs: 60_000 });
  const getJson = async (...args: string[]) => JSON.parse((await kubectl('get', ...args, '-o', 'json')).stdout);
  const until = <T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000) => pollUntil(f, ok, ms);
  const cond = (cv: { status: { conditions: { type: string }[] } }, type: string) => cv.status.conditions.find((c) => c.type === type) as { status: string; reason?: string; message?: string } | undefined;

  beforeAll(async () => {
    api = await startTestApi();
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig);
    informers = new SharedInformers(kc);
    cvo = new ClusterVersionController({ kc, informers, offers: [A, B, C], current: A });
    await cvo.start();
  }, 60_000);
  afterAll(async () => {
    await cvo?.stop();
    await informers?.stop();
    await api?.stop();
  });

  it('kubectl get clusterversion version -o yaml: desired, Completed history, availableUpdates, conditions; ConfigMap and driver-toolkit tag of the current release', async () => {
    const y = await until(() => kubectl('get', 'clusterversion', 'version', '-o', 'yaml'), (r) => r.stdout.includes('availableUpdates'));
    expect(y.code, y.stderr).toBe(0);
    const cv = await getJson('clusterversion', 'version');
    expect(cv.spec.clusterID).toMatch(/^[0-9a-f-]{36}$/);
    expect(cv.status.desired).toEqual({ version: A.version, image: A.image });
    expect(cv.status.history).toHaveLength(1);
    expect(cv.status.history[0]).toMatchObject({ state: 'Completed', version: A.version, image: A.image, verified: false });
    expect(cv.status.availableUpdates).toEqual([
      { version: B.version, image: B.image },
      { version: C.version, image: C.image },
    ]);
    expect(cond(cv, 'Available')?.status).toBe('True');
    expect(cond(cv, 'Progressing')).toMatchObject({ status: 'False', message: `Cluster version is ${A.version}` });
    expect(cond(cv, 'Failing')?.status).toBe('False');
    expect(cond(cv, 'ReleaseAccepted')).toMatchObject({ status: 'True', reason: 'PayloadLoaded' });
    expect(cv.status.observedGeneration).toBe(cv.metadata.generation);
    const cm = await getJson('configmap', '-n', 'openshift-machine-config-operator', 'machine-config-osimageurl');
    expect(cm.data).toEqual({ baseOSContainerImage: A.image, releaseVersion: A.version });
    const is = await getJson('imagestream', '-n', 'openshift', 'driver-toolkit');
    expect(is.status.tags.find((t: { tag: string }) => t.tag === 'latest').items[0].dockerImageReference).toBe(A.driverToolkit);
  });

  it('kubectl patch desiredUpdate (version and image, as oc adm upgrade): ConfigMap and driver-toolkit move; with no pools it completes at once', async () => {
    const p = await kubectl('patch', 'clusterversion', 'version', '--type=merge', '-p', JSON.stringify({ spec: { desiredUpdate: { version: B.version, image: B.image, force: false } } }));
    expect(p.code, p.stderr).toBe(0);
    const cv = await until(() => getJson('clusterversion', 'version'), (x) => x.status.history[0].version === B.version && x.status.history[0].state === 'Completed');
    expect(cv.status.desired).toEqual({ version: B.version, image: B.image });
    expect(cv.status.history.map((h: { version: string; state: string }) => `${h.version} ${h.state}`)).toEqual([`${B.version} Completed`, `${A.version} Completed`]);
    expect(cv.status.availableUpdates.map((u: { version: string }) => u.version)).toEqual([A.version, C.version]);
    const cm = await getJson('configmap', '-n', 'openshift-machine-config-operator', 'machine-config-osimageurl');
    expect(cm.data).toEqual({ baseOSContainerImage: B.image, releaseVersion: B.version });
    const items = (await getJson('imagestream', '-n', 'openshift', 'driver-toolkit')).status.tags.find((t: { tag: string }) => t.tag === 'latest').items;
    expect(items.map((i: { dockerImageReference: string }) => i.dockerImageReference)).toEqual([B.driverToolkit, A.driverToolkit]);
  });

  it('an unknown version is refused (Invalid, InvalidClusterVersion); an unknown image is not accepted (ReleaseAccepted=False); nothing moves', async () => {
    expect((await kubectl('patch', 'clusterversion', 'version', '--type=merge', '-p', JSON.stringify({ spec: { desiredUpdate: { version: '9.9.9', image: null } } }))).code).toBe(0);
    let cv = await until(() => getJson('clusterversion', 'version'), (x) => cond(x, 'Invalid')?.status === 'True');
    expect(cond(cv, 'Invalid')).toMatchObject({ reason: 'InvalidClusterVersion', message: expect.stringContaining('"9.9.9": when image is empty the update must be an available update') });
    expect(cv.status.desired.version).toBe(B.version);
    const bogus = `127.0.0.1:5000/kmodlab/node-os@${digest('9')}`;
    expect((await kubectl('patch', 'clusterversion', 'version', '--type=merge', '-p', JSON.stringify({ spec: { desiredUpdate: { version: null, image: bogus } } }))).code).toBe(0);
    cv = await until(() => getJson('clusterversion', 'version'), (x) => cond(x, 'ReleaseAccepted')?.status === 'False');
    expect(cond(cv, 'ReleaseAccepted')).toMatchObject({ status: 'False', reason: 'RetrievePayload', message: expect.stringContaining(bogus) });
    expect(cond(cv, 'Invalid')).toBeUndefined();
    expect(cv.status.desired.version).toBe(B.version);
    const cm = await getJson('configmap', '-n', 'openshift-machine-config-operator', 'machine-config-osimageurl');
    expect(cm.data.releaseVersion).toBe(B.version);
  });

  it("the cluster target's upgrade (release-change.ts) against it: Progressing until the pool's rendered config is of the new release, then Completed", async () => {
    // A pool as the MCO shows it, updated to the current release's rendered config.
    const mc = (name: string, version: string) => ({ apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfig', metadata: { name, annotations: { 'machineconfiguration.openshift.io/release-image-version': version } }, spec: {} });
    const pool = { apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfigPool', metadata: { name: 'master' }, spec: { configuration: { name: 'rendered-master-1' } } };
    expect((await kubectl('apply', '-f', api.file('mc1.json', JSON.stringify(mc('rendered-master-1', B.version))))).code).toBe(0);
    expect((await kubectl('apply', '-f', api.file('pool.json', JSON.stringify(pool)))).code).toBe(0);
    const poolStatus = (rendered: string) =>
      kubectl('patch', 'mcp', 'master', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { machineCount: 1, updatedMachineCount: 1, configuration: { name: rendered }, conditions: [{ type: 'Updated', status: 'True' }] } }));
    expect((await poolStatus('rendered-master-1')).code).toBe(0);

    const client = new KubeClient({ credentials: new Credentials({ kubeconfig: api.kubeconfig }) });
    const events: string[] = [];
    const upgrade = upgradeCluster({ client, emit: (k) => void events.push(k), label: 'lab', version: C.version, pollMs: 200, timeoutMs: 30_000 });
    const progressing = await until(() => getJson('clusterversion', 'version'), (x) => x.status.history[0].version === C.version);
    expect(progressing.spec.desiredUpdate).toEqual({ version: C.version, image: C.image, force: false });
    expect(progressing.status.history[0].state).toBe('Partial');
    expect(cond(progressing, 'Progressing')).toMatchObject({ status: 'True', message: expect.stringContaining(`Working towards ${C.version}`) });
    expect(cond(progressing, 'ReleaseAccepted')?.status).toBe('True');
    // Still the old rendered config: still Partial a few resyncs later.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await getJson('clusterversion', 'version')).status.history[0].state).toBe('Partial');
    // The MCO renders for the new release and rolls the pool.
    expect((await kubectl('apply', '-f', api.file('mc2.json', JSON.stringify(mc('rendered-master-2', C.version))))).code).toBe(0);
    expect((await poolStatus('rendered-master-2')).code).toBe(0);
    await upgrade;
    const done = await getJson('clusterversion', 'version');
    expect(done.status.history[0]).toMatchObject({ version: C.version, state: 'Completed' });
    expect(cond(done, 'Progressing')?.status).toBe('False');
    expect((await getJson('configmap', '-n', 'openshift-machine-config-operator', 'machine-config-osimageurl')).data.releaseVersion).toBe(C.version);
  }, 60_000);
});

describe('desiredUpdate resolution (cvo.go findUpdateFromConfig)', () => {
  it('image wins over version; a version alone must be an available update or in the history', () => {
    const avail = [{ version: B.version, image: B.image }];
    expect(resolveDesired({ version: 'whatever', image: B.image }, [A, B], avail, [])).toEqual({ release: B });
    expect(resolveDesired({ version: B.version }, [A, B], avail, [])).toEqual({ release: B });
    expect(resolveDesired({ version: A.version }, [A, B], avail, [{ version: A.version, image: A.image }])).toEqual({ release: A });
    expect(resolveDesired({ version: A.version }, [A, B], avail, [])).toHaveProperty('invalid');
    expect(resolveDesired({ image: `x@${digest('0')}` }, [A, B], avail, [])).toHaveProperty('rejected');
    expect(resolveDesired(undefined, [A, B], avail, [])).toBeUndefined();
  });
});
