/**
 * `evaluate --target lab-api` starts the lab detached (`kmodlab lab up` semantics); an
 * interrupted run ends with process.exit and never reaches the target's close(), so the
 * lab it started must be stopped from the exit handler — else its API server and QEMU
 * nodes keep running after Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLab, stopOnExit } from '../../src/targets/lab/up/background.js';
import { labFiles } from '../../src/targets/lab/up/state.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a lab started for a run stops when the run exits', () => {
  it('the exit handler sends SIGTERM to the detached lab process; cancelled, it does not', async () => {
    const lab = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => lab.once('exit', r));
    const before = process.listeners('exit');
    const cancel = stopOnExit(lab.pid!);
    const added = process.listeners('exit').filter((l) => !before.includes(l));
    expect(added).toHaveLength(1);
    (added[0] as () => void)();
    await exited;
    expect(alive(lab.pid!)).toBe(false);
    cancel();
    expect(process.listeners('exit').filter((l) => !before.includes(l))).toHaveLength(0);

    // Cancelled (the run stopped the lab itself, or left it to its user): nothing is sent.
    const kept = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    const sent: number[] = [];
    const b2 = process.listeners('exit');
    stopOnExit(kept.pid!, (p) => void sent.push(p))();
    expect(process.listeners('exit').filter((l) => !b2.includes(l))).toHaveLength(0);
    expect(sent).toEqual([]);
    kept.kill('SIGKILL');
  });

  it('startLab hands the lab process pid over as soon as it is spawned, before readiness (a Ctrl-C while it boots stops it too)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-startlab-'));
    const saved = process.env.KMODLAB_CACHE;
    process.env.KMODLAB_CACHE = dir;
    try {
      const seen: number[] = [];
      // A lab process that never becomes ready (a bad argument): the pid is handed over anyway.
      await expect(startLab(path.join(dir, 'kubeconfig'), ['--nodes', 'not-a-number'], 30_000, (pid) => seen.push(pid))).rejects.toThrow(/before it was ready|failed to start/);
      expect(seen).toEqual([Number(readFileSync(labFiles().pidFile, 'utf8'))]);
    } finally {
      if (saved === undefined) delete process.env.KMODLAB_CACHE;
      else process.env.KMODLAB_CACHE = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
