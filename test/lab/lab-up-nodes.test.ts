/**
 * `kmodlab lab up --nodes 1` as a user runs it (bin/kmodlab.js; needs `npm run build`): a
 * QEMU node booting the lab kernel registers as a Node through the API, seen with the real
 * kubectl 1.32; killing its QEMU turns Ready away from True within the documented time;
 * `lab down` — and a SIGKILL of the lab process — leave no QEMU and no API server behind.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_NODE_TIMING } from '../../src/targets/lab/control-plane/controllers/node-lifecycle.js';
import type { LabState } from '../../src/targets/lab/up/state.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness } from './lab-up-harness.js';

const lab = labAvailability();

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    // a zombie is dead for our purpose
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) if (await cond()) return true;
  return cond();
}

describe.skipIf(!lab.ok || !kubectlBinary())(`kmodlab lab up --nodes 1${skipReason(lab)}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
  const h = new LabUpHarness('labnodes', { registry: false });
  const { dir, kmodlab, kubectl } = h;
  const stateFile = path.join(dir, 'cache', 'lab-api', 'lab.json');
  const state = () => JSON.parse(readFileSync(stateFile, 'utf8')) as LabState;
  let first: LabState;

  beforeAll(async () => {
    const { up: r } = await h.start({ kernel: kernel!, images: [] });
    expect(r.code, r.stderr).toBe(0);
    first = state();
  }, 320_000);
  afterAll(() => h.stop());

  it('kubectl sees one Ready node running the booted kernel, with its boot id and SNO roles', async () => {
    const g = await kubectl('get', 'nodes', '-o', 'json');
    expect(g.code, g.stderr).toBe(0);
    const items = JSON.parse(g.stdout).items;
    expect(items).toHaveLength(1);
    const node = items[0];
    const name: string = node.metadata.name;
    expect(node.status.nodeInfo.kernelVersion).toBe(kernel!.kver);
    expect(node.status.nodeInfo.bootID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(node.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': name, 'node-role.kubernetes.io/master': '', 'node-role.kubernetes.io/control-plane': '' });
    const ready = node.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready.status).toBe('True');
    expect(ready.lastHeartbeatTime).toBeTruthy();
    const w = await kubectl('wait', '--for=condition=Ready', `node/${name}`, '--timeout=30s');
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toContain(`node/${name} condition met`);
    // The heartbeat moves.
    await new Promise((r) => setTimeout(r, LAB_NODE_TIMING.heartbeatMs * 2 + 1000));
    const again = JSON.parse((await kubectl('get', 'node', name, '-o', 'json')).stdout);
    const ready2 = again.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(Date.parse(ready2.lastHeartbeatTime)).toBeGreaterThan(Date.parse(ready.lastHeartbeatTime));

    const s = await kmodlab('lab', 'status');
    expect(s.stdout).toMatch(new RegExp(`${name}\\s+True\\s+control-plane,master,worker\\s+${kernel!.kver.replace(/[.+]/g, '\\$&')}\\s+${node.status.nodeInfo.bootID}\\s+${first.nodes[0]!.qemuPid}`));
  });

  it('killing the QEMU process turns Ready away from True within grace + monitor period', async () => {
    const name = first.nodes[0]!.name;
    const qemu = first.nodes[0]!.qemuPid!;
    expect(alive(qemu)).toBe(true);
    process.kill(qemu, 'SIGKILL');
    const killedAt = Date.now();
    const status = async () => {
      const g = await kubectl('get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
      return g.stdout.trim();
    };
    // Documented bound: the last heartbeat ≤ heartbeat interval before the kill, then the
    // grace period, seen at the next monitor pass; plus slack for kubectl on a loaded host.
    const bound = LAB_NODE_TIMING.heartbeatMs + LAB_NODE_TIMING.gracePeriodMs + LAB_NODE_TIMING.monitorPeriodMs + 5_000;
    expect(await until(async () => (await status()) !== 'True', bound)).toBe(true);
    const tookMs = Date.now() - killedAt;
    expect(await status()).toBe('Unknown');
    // Not before the grace period either: heartbeats stopping is what made it Unknown.
    expect(tookMs).toBeGreaterThanOrEqual(LAB_NODE_TIMING.gracePeriodMs - LAB_NODE_TIMING.heartbeatMs);
    process.stderr.write(`lab node: Ready=Unknown ${tookMs} ms after QEMU was killed\n`);
    expect((await kmodlab('lab', 'status')).stdout).toMatch(new RegExp(`${name}\\s+Unknown\\s.*${qemu} \\(exited\\)`));
  });

  it('lab down leaves no QEMU, no API server, no lab process', async () => {
    const d = await kmodlab('lab', 'down');
    expect(d.stdout).toContain(`lab: stopped (pid ${first.supervisorPid})`);
    for (const pid of [first.supervisorPid, first.apiPid, ...first.nodes.map((n) => n.qemuPid)]) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect((await kmodlab('lab', 'status')).stdout).toContain('lab: down');
  });

  it('a SIGKILLed lab process takes its QEMU and API server with it', async () => {
    const r = await kmodlab('lab', 'up', '--nodes', '1', '--kernel', kernel!.kver);
    expect(r.code, r.stderr).toBe(0);
    const s = state();
    const children = [s.apiPid, s.nodes[0]!.qemuPid];
    expect(children.every(alive)).toBe(true);
    process.kill(s.supervisorPid, 'SIGKILL');
    expect(await until(() => !children.some(alive), 10_000), `left: ${children.filter(alive).join(', ')}`).toBe(true);
  }, 320_000);
});
