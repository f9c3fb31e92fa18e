/**
 * `kmodlab lab up|down`: starts the lab process (main.js beside this file) detached, with its
 * pid file and log under the lab cache, and waits until it reports ready (API answering,
 * every node registered Ready) — or failed, or gone.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, labFiles, readState, type LabState } from './state.js';

export const LAB_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');

/** The lab process's pid when it is running. */
export function runningPid(): number | undefined {
  const { pidFile } = labFiles();
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/**
 * `onSpawn` gets the lab process's pid as soon as it exists, before it is ready: a run
 * that registers its exit handler there stops the lab on a Ctrl-C during `lab up` too
 * (registered after readiness, an interrupted start left the lab running).
 */
export async function startLab(kubeconfigOut: string, args: string[], timeoutMs: number, onSpawn?: (pid: number) => void): Promise<LabState> {
  const { pidFile, logFile, stateFile } = labFiles();
  rmSync(kubeconfigOut, { force: true });
  rmSync(stateFile, { force: true });
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [LAB_ENTRY, '--kubeconfig-out', kubeconfigOut, ...args], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  const pid = child.pid!;
  writeFileSync(pidFile, `${pid}\n`);
  onSpawn?.(pid);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = readState();
    if (s?.supervisorPid === pid && s.phase === 'ready') return s;
    if (s?.supervisorPid === pid && s.phase === 'failed') throw new Error(`the lab failed to start: ${s.error}; see ${logFile}`);
    if (exited !== undefined) throw new Error(`the lab process exited (code ${exited}) before it was ready; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  process.kill(pid, 'SIGTERM');
  throw new Error(`the lab was not ready within ${Math.round(timeoutMs / 1000)} s (stopped it); see ${logFile}`);
}

/**
 * A lab started for someone else's run (`evaluate --target lab-api`) is detached, so it
 * outlives its starter unless told: on this process's exit (Ctrl-C, kill, an uncaught
 * error; the interrupt handler ends with process.exit) it gets SIGTERM and stops its nodes.
 * Returns the function that cancels this (the lab was stopped, or is handed over).
 */
export function stopOnExit(pid: number, kill: (pid: number, signal: NodeJS.Signals) => void = (p, s) => process.kill(p, s)): () => void {
  const handler = () => {
    try {
      if (alive(pid)) kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', handler);
  return () => process.off('exit', handler);
}

/**
 * SIGTERM to the lab process (it stops its nodes and the API), SIGKILL after 30 s (QEMU and
 * the API then die through their parent-death signal). Waits until none of them is left.
 */
export async function stopLab(): Promise<number | undefined> {
  const pid = runningPid();
  const { pidFile } = labFiles();
  const s = readState();
  if (pid === undefined) {
    rmSync(pidFile, { force: true });
    return undefined;
  }
  // Everything the lab runs, Prometheus included: `lab down` returns when all of it is gone.
  const pids = [pid, s?.apiPid, s?.prometheusPid, ...(s?.nodes ?? []).map((n) => n.qemuPid)].filter((p): p is number => !!p);
  process.kill(pid, 'SIGTERM');
  const until = async (ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end; ) {
      if (!pids.some(alive)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  if (!(await until(30_000))) {
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
    await until(5_000);
  }
  rmSync(pidFile, { force: true });
  return pid;
}
