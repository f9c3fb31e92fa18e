/**
 * The lab kubelet's relist (pod-sandbox.ts probeContainers): one request answers for every
 * container of the node, each with its own state and only its own log bytes. The script
 * is the one the guest runs; here a named fake node runs it with the host's /bin/sh over
 * pod directories made for the test.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { podDir, probeContainers } from '../../src/targets/lab/kubelet/pod-sandbox.js';
import type { NodeShell } from '../../src/targets/lab/kubelet/node-agent.js';

/** Fake node: the host's shell (the guest's is busybox sh; the script is POSIX). */
const hostShell: NodeShell & { calls: number } = {
  name: 'fake-node',
  calls: 0,
  async exec(command) {
    hostShell.calls += 1;
    const r = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8' });
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  },
};

describe('lab kubelet: relist', () => {
  const id = randomBytes(4).toString('hex');
  const uids = { running: `t-${id}-run`, exited: `t-${id}-exit`, creating: `t-${id}-new`, gone: `t-${id}-gone` };
  afterAll(() => {
    for (const u of Object.values(uids)) rmSync(podDir(u), { recursive: true, force: true });
  });

  it('one request for all containers; states and logs per container; a vanished pod directory (node rebooted) is an exit', async () => {
    mkdirSync(podDir(uids.running), { recursive: true });
    writeFileSync(`${podDir(uids.running)}/pid`, String(process.pid));
    writeFileSync(`${podDir(uids.running)}/log.1`, 'first line\nsecond line without newline');
    mkdirSync(podDir(uids.exited), { recursive: true });
    writeFileSync(`${podDir(uids.exited)}/pid`, '999999999');
    writeFileSync(`${podDir(uids.exited)}/exit.2`, '3\n');
    writeFileSync(`${podDir(uids.exited)}/log.2`, 'bye\n');
    mkdirSync(podDir(uids.creating), { recursive: true });
    hostShell.calls = 0;
    const states = await probeContainers(hostShell, [
      { uid: uids.running, n: 1, offset: 6 },
      { uid: uids.exited, n: 2, offset: 0 },
      { uid: uids.creating, n: 1, offset: 0 },
      { uid: uids.gone, n: 1, offset: 0 },
    ]);
    expect(hostShell.calls).toBe(1);
    expect(states.get(uids.running)).toEqual({ state: 'running', log: 'line\nsecond line without newline' });
    expect(states.get(uids.exited)).toEqual({ state: 'exited', exitCode: 3, log: 'bye\n' });
    expect(states.get(uids.creating)).toEqual({ state: 'creating', log: '' });
    expect(states.get(uids.gone)).toMatchObject({ state: 'exited', exitCode: 137 });
    // The same lines run under `set -e` at the end of a container start (startContainer):
    // a value that cannot be read (a process already gone, no exit file yet) must not end the script.
    const strict: NodeShell = { name: 'fake-node', exec: (command) => hostShell.exec(`set -e\n${command}`) };
    const again = await probeContainers(strict, [
      { uid: uids.running, n: 1, offset: 6 },
      { uid: uids.exited, n: 2, offset: 0 },
      { uid: uids.exited, n: 3, offset: 0 },
      { uid: uids.creating, n: 1, offset: 0 },
    ]);
    expect([...again.values()].map((s) => s.state)).toEqual(['running', 'exited', 'creating']);
  });
});
