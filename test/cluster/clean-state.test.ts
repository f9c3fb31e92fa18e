/**
 * Before each scenario the cluster target starts from a clean state (W4): a realtime
 * kernel MachineConfig left by the previous scenario is removed and its rollout waited
 * for; a driver module still loaded on a node is unloaded (modprobe -r on the host) and
 * the probe must then see it gone — otherwise the scenario is refused, not measured on
 * a dirty node. kmodlab's namespace carries `openshift.io/node-selector: ""` (R8), so a
 * cluster-wide defaultNodeSelector does not keep its probe pods off masters/infra nodes.
 * Against the fake cluster (kubelet, MCO and the node's modules faked).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReleaseSchema } from '../../src/release/release.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { isRealtimeKernel } from '../../src/targets/cluster/clean-state.js';
import { realtimeMachineConfig } from '../../src/targets/cluster/release-change.js';
import { startFakeCluster, KVER, NODE_NAMES, type FakeCluster } from './fake-cluster.js';
import { FIXTURE_TOKEN, kubeconfigFor, tempDir } from './helpers.js';

const MODULES = ['simple-kmod'];
type Ev = { kind: string; data: Record<string, unknown>; node?: string };

describe('realtime kernels by their release string', () => {
  it.each([
    ['5.14.0-284.52.1.rt14.337.el9_2.x86_64', true],
    ['6.1.0-56-rt-amd64', true],
    ['5.14.0-284.52.1.el9_2.x86_64', false],
    ['6.1.0-56-amd64', false],
    ['6.1.0-56-cloud-amd64', false],
    ['6.12.117+deb12-amd64', false],
  ])('%s → %s', (kver, rt) => {
    expect(isRealtimeKernel(kver)).toBe(rt);
  });
});

describe('clean state before each scenario', () => {
  let cluster: FakeCluster;
  let t: ClusterTarget | undefined;
  const events: Ev[] = [];
  const release = ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, sources: {} });

  async function connect(): Promise<ClusterTarget> {
    t = await ClusterTarget.connect({
      kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url),
      env: {},
      home: tempDir(),
      emit: (kind, data, node) => events.push({ kind, data, node }),
      pollMs: 20,
      probeIntervalMs: 20,
      rolloutTimeoutMs: 5000,
      prometheusUrl: 'http://127.0.0.1:1',
    });
    return t;
  }

  beforeEach(async () => {
    events.length = 0;
    cluster = await startFakeCluster(FIXTURE_TOKEN, MODULES);
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await cluster.api.stop();
  });

  it("kmodlab's namespace has openshift.io/node-selector: \"\" (R8)", async () => {
    const target = await connect();
    await target.reset({ release });
    const ns = cluster.api.get('v1', 'Namespace', 'kmodlab')!;
    expect(ns.metadata['annotations']?.['openshift.io/node-selector']).toBe('');
  });

  it('a realtime kernel MachineConfig left behind is removed and rolled out before the scenario', async () => {
    const target = await connect();
    cluster.api.put(realtimeMachineConfig('worker'));
    cluster.api.reactors.push((type, o, s) => {
      if (o.kind === 'MachineConfig' && type === 'DELETED') {
        s.update('machineconfiguration.openshift.io/v1', 'MachineConfigPool', 'worker', undefined, (p) => (p['spec'].configuration.name = 'rendered-worker-3'));
        setTimeout(() => s.update('machineconfiguration.openshift.io/v1', 'MachineConfigPool', 'worker', undefined, (p) => (p['status'].configuration.name = 'rendered-worker-3')), 30);
      }
    });
    await target.reset({ release });
    expect(cluster.api.all('MachineConfig')).toHaveLength(0);
    expect(cluster.api.get('machineconfiguration.openshift.io/v1', 'MachineConfigPool', 'worker')!['status'].configuration.name).toBe('rendered-worker-3');
    expect(events.some((e) => e.kind === 'progress' && /realtime kernel/.test(String(e.data['step'])))).toBe(true);
    // The revert is a cleanup, not the scenario's removal: an uninstall measures from its own delete.
    expect(events.filter((e) => e.kind === 'delete')).toEqual([expect.objectContaining({ data: { objects: [`MachineConfig/${realtimeMachineConfig('worker').metadata.name}`], cleanup: true } })]);
  });

  it('a module left loaded by the previous method is unloaded and verified gone', async () => {
    const target = await connect();
    await target.reset({ release });
    // The previous scenario waited for this module; its removal left it loaded on worker-1.
    await target.waitForModules(MODULES, { loaded: false, timeoutMs: 1000 });
    cluster.loaded.get('worker-1')!.add('simple-kmod');
    events.length = 0;
    await target.reset({ release });
    expect(cluster.loaded.get('worker-1')!.size).toBe(0);
    expect(events.some((e) => e.kind === 'progress' && e.node === 'worker-1' && /unload/.test(String(e.data['step'])))).toBe(true);
  });

  it('a module that cannot be unloaded refuses the scenario with a fault naming node and module', async () => {
    const target = await connect();
    await target.reset({ release });
    await target.waitForModules(MODULES, { loaded: false, timeoutMs: 1000 });
    cluster.loaded.get('worker-0')!.add('simple-kmod');
    cluster.stuck.add('simple-kmod'); // "Module simple_kmod is in use"
    await expect(target.reset({ release })).rejects.toThrow(/worker-0.*simple-kmod|simple-kmod.*worker-0/);
    expect(events.some((e) => e.kind === 'fault' && e.data['fault'] === 'unclean-state')).toBe(true);
  });

  it('nothing left behind: no MachineConfig change, no unload pod', async () => {
    const target = await connect();
    await target.reset({ release });
    await target.waitForModules(MODULES, { loaded: false, timeoutMs: 1000 });
    const before = cluster.api.log.length;
    await target.reset({ release });
    const pods = cluster.api.log.slice(before).filter((r) => r.method === 'POST' && r.path.endsWith('/pods'));
    expect(pods).toHaveLength(NODE_NAMES.length); // one probe per node, no unload pod
    expect(cluster.api.log.slice(before).filter((r) => r.method === 'DELETE' && r.path.includes('machineconfigs'))).toHaveLength(0);
  });
});
