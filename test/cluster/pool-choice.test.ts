/**
 * B4: on single-node OpenShift the node is in the master pool and the worker pool has 0
 * machines (the MCO puts a node with both roles in master). The fake cluster stands in
 * for the MCO's pools (the lab API has no MCO).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { choosePool } from '../../src/targets/cluster/pool-choice.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { node } from './node-fixtures.js';
import { FIXTURE_TOKEN, kubeconfigFor } from './helpers.js';

const MASTER = { 'node-role.kubernetes.io/master': '' };
const WORKER = { 'node-role.kubernetes.io/worker': '' };

function pool(name: string, matchLabels: Record<string, string>, machineCount?: number) {
  return {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfigPool',
    metadata: { name },
    spec: { nodeSelector: { matchLabels }, configuration: { name: `rendered-${name}-1` } },
    status: machineCount === undefined ? undefined : { configuration: { name: `rendered-${name}-1` }, machineCount, updatedMachineCount: machineCount, readyMachineCount: machineCount, degradedMachineCount: 0 },
  };
}

/** A single-node OpenShift: one node with the master and worker roles; MCO counts it in master. */
async function sno(): Promise<FakeKubeApiServer> {
  const api = new FakeKubeApiServer();
  api.tokens.add(FIXTURE_TOKEN);
  await api.start();
  const n = node('sno-0', 'boot-a');
  n.metadata.labels = { ...n.metadata.labels, ...MASTER, ...WORKER };
  api.put(n);
  api.put(pool('master', MASTER, 1));
  api.put(pool('worker', WORKER, 0));
  return api;
}

describe('the MachineConfigPool that holds the nodes', () => {
  let api: FakeKubeApiServer;
  let t: ClusterTarget | undefined;
  const connect = (pool?: string) => ClusterTarget.connect({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', api.url), emit: () => undefined, readyzIntervalMs: 100, pool });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await api.stop();
  });

  it('single-node OpenShift, no --pool: master (worker has 0 machines)', async () => {
    api = await sno();
    t = await connect();
    expect(t.pool()).toBe('master');
  });

  it('single-node OpenShift, --pool worker: refused (exit 2) naming --pool and the pool that holds the node', async () => {
    api = await sno();
    const e = await connect('worker').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toMatch(/--pool worker: MachineConfigPool worker has 0 machines.*master pool/);
    expect((e as UserError).hint).toMatch(/pass --pool master/);
  });

  it('pure choice: worker when it has machines; counted from selectors (master wins) when a pool has no status yet', () => {
    const nodes = [
      { metadata: { name: 'm0', labels: { ...MASTER, ...WORKER } } },
      { metadata: { name: 'w0', labels: WORKER } },
    ];
    expect(choosePool([pool('master', MASTER), pool('worker', WORKER)] as never, nodes, undefined).pool).toBe('worker');
    expect(choosePool([pool('master', MASTER), pool('worker', WORKER)] as never, nodes.slice(0, 1), undefined).pool).toBe('master');
    expect(() => choosePool([pool('master', MASTER, 1)] as never, nodes, 'gpu')).toThrow(/--pool gpu: the cluster has no MachineConfigPool gpu/);
  });
});
