/**
 * The node agent and the node lifecycle controller against the real lab API server (in
 * this process) through @kubernetes/client-node. The node is a named fake shell (a QEMU
 * boot is in lab-up-nodes.test.ts): it answers the agent's probe like a guest, or stops
 * answering like a dead one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeAgent, parseProbe, type NodeShell } from '../../src/targets/lab/kubelet/node-agent.js';
import { nodeApiFromKubeconfig, type NodeApi } from '../../src/targets/lab/kubelet/node-api.js';
import { NodeLifecycleController } from '../../src/targets/lab/control-plane/controllers/node-lifecycle.js';
import { nodeNames, roleLabels } from '../../src/targets/lab/node/provider.js';
import { startTestApi, type TestApi } from './api-server-helpers.js';

/** Named fake: a guest shell answering `uname -r; cat boot_id; os-release` until `die()`. */
class FakeGuestShell implements NodeShell {
  dead = false;
  constructor(
    readonly name: string,
    public bootId: string,
    readonly kernel = '6.1.0-56-amd64',
  ) {}
  die() {
    this.dead = true;
  }
  async exec(): Promise<{ code: number; stdout: string; stderr: string }> {
    if (this.dead) throw new Error('QEMU exited unexpectedly');
    return { code: 0, stdout: `${this.kernel}\n${this.bootId}\n`, stderr: '' };
  }
}

const BOOT_A = '11111111-2222-4333-8444-555555555555';
const BOOT_B = '66666666-7777-4888-9999-000000000000';

describe('node roles', () => {
  it.each([
    [1, ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master', 'node-role.kubernetes.io/worker']],
    [2, ['node-role.kubernetes.io/worker']],
    [3, ['node-role.kubernetes.io/worker']],
  ])('%i node(s): %j', (n, roles) => {
    expect(Object.keys(roleLabels(n)).sort()).toEqual(roles);
    expect(nodeNames(n)).toHaveLength(n);
  });

  it('refuses a probe that is not a kernel release and a boot id', () => {
    expect(() => parseProbe('6.1.0-56-amd64\nnot-a-uuid\n')).toThrow(/unexpected node probe output/);
    expect(parseProbe(`6.1.0-56-amd64\n${BOOT_A}\nDebian GNU/Linux 12 (bookworm)\n`)).toEqual({ kernelVersion: '6.1.0-56-amd64', bootID: BOOT_A, osImage: 'Debian GNU/Linux 12 (bookworm)' });
  });
});

describe('node agent and node lifecycle controller through the lab API', () => {
  let t: TestApi;
  let api: NodeApi;
  beforeAll(async () => {
    t = await startTestApi();
    api = nodeApiFromKubeconfig(t.kubeconfig);
  });
  afterAll(async () => t?.stop());

  const ready = async (name: string) => (await api.getNode(name))?.status?.conditions?.find((c) => c.type === 'Ready');

  it('registers the Node with the guest facts and the role labels, then heartbeats', async () => {
    const shell = new FakeGuestShell('n1', BOOT_A);
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const agent = new NodeAgent({ api, node: shell, labels: roleLabels(1), heartbeatMs: 1000, now: () => new Date(clock) });
    await agent.register();
    const node = (await api.getNode('n1'))!;
    expect(node.metadata?.labels).toMatchObject({ 'kubernetes.io/hostname': 'n1', 'node-role.kubernetes.io/master': '', 'node-role.kubernetes.io/control-plane': '' });
    expect(node.status?.nodeInfo).toMatchObject({ bootID: BOOT_A, kernelVersion: '6.1.0-56-amd64' });
    const r1 = await ready('n1');
    expect(r1?.status).toBe('True');

    clock += 5_000;
    shell.bootId = BOOT_B; // a reboot between two heartbeats: the new boot id is posted
    await agent.heartbeat();
    const r2 = await ready('n1');
    expect(new Date(r2!.lastHeartbeatTime!).getTime() - new Date(r1!.lastHeartbeatTime!).getTime()).toBe(5_000);
    expect(new Date(r2!.lastTransitionTime!).getTime()).toBe(new Date(r1!.lastTransitionTime!).getTime());
    expect((await api.getNode('n1'))!.status?.nodeInfo?.bootID).toBe(BOOT_B);

    // A restarted agent adopts the existing Node (AlreadyExists), as kubelet does.
    await new NodeAgent({ api, node: shell, labels: roleLabels(1), heartbeatMs: 1000 }).register();
    expect((await api.listNodes()).filter((n) => n.metadata?.name === 'n1')).toHaveLength(1);
  });

  it('a node whose guest stops answering gets no heartbeat and goes Unknown after the grace period, not before', async () => {
    const shell = new FakeGuestShell('n2', BOOT_A);
    const agent = new NodeAgent({ api, node: shell, heartbeatMs: 1000 });
    await agent.register();
    let clock = 0;
    const ctl = new NodeLifecycleController({ api, monitorPeriodMs: 1000, gracePeriodMs: 8000, now: () => clock });
    await ctl.monitorOnce(); // first sight of the heartbeat
    shell.die();
    await expect(agent.heartbeat()).rejects.toThrow(/QEMU exited/);
    clock = 8000;
    expect(await ctl.monitorOnce()).not.toContain('n2');
    expect((await ready('n2'))?.status).toBe('True');
    clock = 8001;
    expect(await ctl.monitorOnce()).toContain('n2');
    const r = await ready('n2');
    expect(r).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    const conditions = (await api.getNode('n2'))!.status!.conditions!;
    expect(conditions.every((c) => c.status === 'Unknown')).toBe(true);
    // Marked once: the next pass leaves an Unknown node as it is.
    expect(await ctl.monitorOnce()).toEqual(expect.not.arrayContaining(['n2']));
  });

  it('a node that heartbeats again goes back to Ready=True with a new transition time', async () => {
    const shell = new FakeGuestShell('n2', BOOT_B);
    const before = await ready('n2');
    await new Promise((r) => setTimeout(r, 1100)); // RFC 3339 times have whole seconds
    await new NodeAgent({ api, node: shell, heartbeatMs: 1000 }).heartbeat();
    const after = await ready('n2');
    expect(after?.status).toBe('True');
    expect(new Date(after!.lastTransitionTime!).getTime()).toBeGreaterThan(new Date(before!.lastTransitionTime!).getTime());
  });
});
