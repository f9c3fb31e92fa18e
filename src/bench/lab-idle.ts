/**
 * Bench figure: kmodlab's own CPU while a three-node lab idles. `kmodlab lab up --nodes 3`
 * (the lab process: controllers and kubelets on their informers, the node agents'
 * heartbeats, the metrics endpoint Prometheus scrapes every 2 s; and the API server it
 * starts) is left alone, and the CPU time of those two processes (/proc/<pid>/stat utime +
 * stime) is read over 10 s windows, as a share of one core. QEMU and Prometheus are not
 * kmodlab's code and are not counted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LabKernel } from '../targets/lab/kernels/catalog.js';
import { runningPid, startLab, stopLab } from '../targets/lab/up/background.js';
import { figure, notAFigure, type Figure } from './figures.js';

const NAME = "kmodlab's own CPU while 3 nodes idle (lab up: lab process + API server, 10 s windows)";
const UNIT = '% of one core';
const WINDOWS = 3;
const WINDOW_MS = 10_000;

/** utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/<pid>/stat, after the command name). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

export async function labIdleCpu(report: (f: Figure) => void, kernel: LabKernel): Promise<boolean> {
  // The bench brings its own lab up and down: one someone is using is not touched.
  if (runningPid() !== undefined) {
    report(notAFigure(NAME, UNIT, 'a lab is already up (run `kmodlab lab down` first)'));
    return false;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-bench-idle-'));
  try {
    const t0 = performance.now();
    const state = await startLab(path.join(dir, 'kubeconfig'), ['--port', '0', '--nodes', '3', '--memory', '256', '--kernel', kernel.kver], 900_000);
    process.stderr.write(`bench: lab up --nodes 3 on ${kernel.kver} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const pids = [state.supervisorPid, state.apiPid].filter((p): p is number => p !== undefined);
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    const total = () => pids.reduce((s, p) => s + cpuTicks(p), 0);
    // What lab up itself did (images pulled, pods listed) settles first: idle is the steady state.
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const shares: number[] = [];
    for (let i = 0; i < WINDOWS; i++) {
      const c0 = total();
      const w0 = performance.now();
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      shares.push((((total() - c0) / hz) * 1000 * 100) / (performance.now() - w0));
    }
    report(figure(NAME, UNIT, shares));
    return true;
  } catch (e) {
    report(notAFigure(NAME, UNIT, `lab up --nodes 3 failed: ${(e as Error).message.split('\n')[0]}`));
    return false;
  } finally {
    await stopLab();
    rmSync(dir, { recursive: true, force: true });
  }
}
