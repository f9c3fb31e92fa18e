/**
 * Release changes on a cluster, against the fake API server made to hold what the
 * real objects hold:
 *   - R5: `oc adm upgrade --to <v>` (openshift/oc pkg/cli/admin/upgrade) picks the
 *     update from status.availableUpdates and merge-patches spec.desiredUpdate with its
 *     version AND image; a stale desiredUpdate.image would otherwise win (ClusterVersion
 *     API: "image is specified, version is specified … version is silently ignored").
 *     The CVO reports a refused payload as ReleaseAccepted=False.
 *   - S3: a paused MachineConfigPool (spec.paused, machine-config-operator release-4.14)
 *     renders new configs but rolls none out: the kernel switch must say so, not wait 2 h.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { switchKernel, upgradeCluster } from '../../src/targets/cluster/release-change.js';
import { poolEvents } from '../../src/targets/cluster/observers.js';
import type { WatchObject } from '../../src/targets/cluster/watch.js';
import { UserError } from '../../src/errors.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { FIXTURE_TOKEN, kubeconfigFor } from './helpers.js';

const IMG_12 = 'quay.io/openshift-release-dev/ocp-release@sha256:1111111111111111111111111111111111111111111111111111111111111111';
const IMG_13 = 'quay.io/openshift-release-dev/ocp-release@sha256:1313131313131313131313131313131313131313131313131313131313131313';

describe('cluster release changes', () => {
  let fake: FakeKubeApiServer;
  let client: KubeClient;
  const events: [string, Record<string, unknown>][] = [];
  const common = () => ({ client, emit: (k: string, d: Record<string, unknown>) => void events.push([k, d]), label: 'cluster (test)', pollMs: 20 });

  beforeEach(async () => {
    events.length = 0;
    fake = new FakeKubeApiServer();
    fake.tokens.add(FIXTURE_TOKEN);
    client = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', await fake.start()) }) });
    fake.put({
      apiVersion: 'config.openshift.io/v1',
      kind: 'ClusterVersion',
      metadata: { name: 'version' },
      // An earlier `oc adm upgrade --to-image` left an image behind.
      spec: { channel: 'stable-4.14', desiredUpdate: { version: '4.14.12', image: IMG_12, force: false } },
      status: {
        desired: { version: '4.14.12', image: IMG_12 },
        history: [{ version: '4.14.12', image: IMG_12, state: 'Completed' }],
        availableUpdates: [{ version: '4.14.13', image: IMG_13 }],
        conditions: [{ type: 'ReleaseAccepted', status: 'True', reason: 'PayloadLoaded', message: 'Payload loaded version="4.14.12"' }],
      },
    });
  });
  afterEach(async () => fake.stop());

  it('upgrade patches desiredUpdate with the available update\'s version and image (as oc adm upgrade --to)', async () => {
    fake.reactors.push((type, o, s) => {
      const du = (o['spec'] as { desiredUpdate?: { version?: string; image?: string } }).desiredUpdate;
      if (o.kind !== 'ClusterVersion' || type !== 'MODIFIED' || o['status'].history[0].image === du?.image) return;
      // The fake CVO installs what the IMAGE names (as the real one does when both are set).
      const version = du?.image === IMG_13 ? '4.14.13' : '4.14.12';
      setTimeout(() => s.update('config.openshift.io/v1', 'ClusterVersion', 'version', undefined, (cv) => (cv['status'].history = [{ version, image: du?.image, state: 'Completed' }, ...cv['status'].history])), 10);
    });
    await upgradeCluster({ ...common(), version: '4.14.13', timeoutMs: 3000 });
    const patch = fake.log.find((r) => r.method === 'PATCH' && r.path.endsWith('/clusterversions/version'))!;
    expect(patch.contentType).toBe('application/merge-patch+json');
    expect(fake.get('config.openshift.io/v1', 'ClusterVersion', 'version')!['spec'].desiredUpdate).toEqual({ version: '4.14.13', image: IMG_13, force: false });
  });

  it('a version that is not an available update is refused before anything is patched', async () => {
    await expect(upgradeCluster({ ...common(), version: '4.15.0', timeoutMs: 3000 })).rejects.toThrow(UserError);
    await expect(upgradeCluster({ ...common(), version: '4.15.0', timeoutMs: 3000 })).rejects.toThrow(/4\.14\.13/);
    expect(fake.log.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  });

  it('ReleaseAccepted=False ends the wait with the CVO\'s message', async () => {
    fake.reactors.push((type, o, s) => {
      if (o.kind !== 'ClusterVersion' || type !== 'MODIFIED' || o['status'].conditions[0].status === 'False') return;
      setTimeout(
        () =>
          s.update('config.openshift.io/v1', 'ClusterVersion', 'version', undefined, (cv) => {
            cv['status'].conditions = [{ type: 'ReleaseAccepted', status: 'False', reason: 'RetrievePayload', message: 'Retrieving payload failed: signature verification failed' }];
          }),
        10,
      );
    });
    const t0 = Date.now();
    await expect(upgradeCluster({ ...common(), version: '4.14.13', timeoutMs: 20_000 })).rejects.toThrow(/ReleaseAccepted=False.*signature verification failed/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a blocker (the pool\'s MachineOSBuild failed) ends the upgrade wait with its evidence instead of running into the timeout', async () => {
    let calls = 0;
    const blocked = () => (++calls >= 2 ? ['MachineOSBuild master-1a2b (MachineOSConfig master) Failed after 86 s: Build Failed'] : []);
    const t0 = Date.now();
    await expect(upgradeCluster({ ...common(), version: '4.14.13', timeoutMs: 20_000, blocked })).rejects.toThrow(/the upgrade to 4\.14\.13 cannot complete: MachineOSBuild master-1a2b .*Failed/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('kernel switch on a paused pool is refused with a clear message (nothing applied)', async () => {
    fake.put({
      apiVersion: 'machineconfiguration.openshift.io/v1',
      kind: 'MachineConfigPool',
      metadata: { name: 'master' },
      spec: { paused: true, configuration: { name: 'rendered-master-1' } },
      status: { configuration: { name: 'rendered-master-1' }, machineCount: 1, updatedMachineCount: 1, readyMachineCount: 1, degradedMachineCount: 0 },
    });
    const t0 = Date.now();
    const p = switchKernel({ ...common(), pool: 'master', realtime: true, timeoutMs: 10_000 });
    await expect(p).rejects.toThrow(UserError);
    await expect(switchKernel({ ...common(), pool: 'master', realtime: true, timeoutMs: 10_000 })).rejects.toThrow(/master on .* is paused/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(fake.all('MachineConfig')).toHaveLength(0);
  });

  it('a pool paused during the rollout ends the wait', async () => {
    fake.put({
      apiVersion: 'machineconfiguration.openshift.io/v1',
      kind: 'MachineConfigPool',
      metadata: { name: 'master' },
      spec: { configuration: { name: 'rendered-master-1' } },
      status: { configuration: { name: 'rendered-master-1' }, machineCount: 1, updatedMachineCount: 1, readyMachineCount: 1, degradedMachineCount: 0 },
    });
    fake.reactors.push((type, o, s) => {
      if (o.kind !== 'MachineConfig' || type !== 'ADDED') return;
      setTimeout(() => s.update('machineconfiguration.openshift.io/v1', 'MachineConfigPool', 'master', undefined, (p) => (p['spec'] = { paused: true, configuration: { name: 'rendered-master-2' } })), 10);
    });
    await expect(switchKernel({ ...common(), pool: 'master', realtime: true, timeoutMs: 10_000 })).rejects.toThrow(/paused/);
  });

  it('pool watch: pausing and unpausing are reported (a fault while paused)', () => {
    const pool = (paused: boolean) => ({ apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfigPool', metadata: { name: 'worker' }, spec: { paused }, status: { machineCount: 2, updatedMachineCount: 2 } }) as unknown as WatchObject & never;
    const on = poolEvents('MODIFIED', pool(true), pool(false));
    expect(on).toContainEqual(['fault', expect.objectContaining({ fault: 'machineconfigpool-paused' })]);
    expect(poolEvents('MODIFIED', pool(false), pool(true))).toContainEqual(['progress', expect.objectContaining({ step: expect.stringMatching(/worker.*unpaused/) })]);
    expect(poolEvents('ADDED', pool(true), undefined)).toContainEqual(['fault', expect.objectContaining({ fault: 'machineconfigpool-paused' })]);
  });
});
