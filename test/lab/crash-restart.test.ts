/**
 * The lab's machine health check (node/crash-restart.ts) with a named fake machine: a node
 * whose QEMU died is restarted only once the cluster sees it Unknown, once per crash, and
 * tried again after a failed boot. The real kill → Unknown → restart → rollout is in
 * faults.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CrashRestarter } from '../../src/targets/lab/node/crash-restart.js';
import type { LabNode } from '../../src/targets/lab/node/node.js';

/** Named fake: a machine with a state and a reboot that boots it (or fails to). */
class FakeMachine {
  state: 'ready' | 'crashed' | 'booting' = 'ready';
  reboots = 0;
  failNext = false;
  failure = { message: 'node m: QEMU exited unexpectedly (code null, signal SIGKILL)' };
  constructor(readonly name: string) {}
  async reboot() {
    this.reboots += 1;
    this.state = 'booting';
    await new Promise((r) => setTimeout(r, 20));
    if (this.failNext) {
      this.failNext = false;
      this.state = 'crashed';
      throw new Error('boot failed');
    }
    this.state = 'ready';
    return { kver: '6.1.0-56-amd64', bootId: 'b' };
  }
}

describe('machine health check of the lab nodes', () => {
  it('restarts a crashed node only once it is Unknown, once per crash, and again after a failed boot', async () => {
    const m = new FakeMachine('m');
    let ready = 'True';
    const lines: string[] = [];
    const r = new CrashRestarter({ nodes: () => [m as unknown as LabNode], ready: async () => ready, log: (l) => lines.push(l), retryMs: 50 });
    await r.pass();
    expect(m.reboots).toBe(0);
    m.state = 'crashed';
    await r.pass();
    expect(m.reboots, 'not before the cluster has seen it dead').toBe(0);
    ready = 'Unknown';
    m.failNext = true;
    await r.pass();
    await r.pass(); // in flight: not a second restart
    expect(m.reboots).toBe(1);
    await new Promise((res) => setTimeout(res, 30));
    expect(m.state).toBe('crashed');
    await r.pass();
    expect(m.reboots, 'a failed boot waits retryMs').toBe(1);
    await new Promise((res) => setTimeout(res, 60));
    await r.pass();
    await r.stop();
    expect(m.reboots).toBe(2);
    expect(m.state).toBe('ready');
    expect(r.restarts.get('m')).toBe(1);
    expect(lines.join('\n')).toMatch(/node m: crashed \(node m: QEMU exited unexpectedly \(code null, signal SIGKILL\)\); Ready=Unknown; restarting it/);
  });
});
