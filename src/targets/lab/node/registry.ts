/**
 * Process-wide registry of running QEMU processes. A node must never outlive
 * kmodlab: each QEMU is killed when its node stops, when this process exits, and
 * on SIGINT/SIGTERM/SIGHUP. (If kmodlab is SIGKILLed no handler runs; for that
 * case QEMU is started under `setpriv --pdeathsig SIGKILL` when available, see
 * qemu.ts.)
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const live = new Set<ChildProcess>();
/** Scratch paths (agent socket dirs) removed together with the processes. */
const scratch = new Set<string>();
let installed = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Kill every tracked process now, synchronously (safe inside an 'exit' handler). */
export function killAllNodes(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const p of scratch) rmSync(p, { recursive: true, force: true });
  scratch.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNodes();
  // Our listener replaced Node's default "die on signal"; restore it and re-raise
  // unless someone else (e.g. the CLI) handles the signal.
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  installed = false;
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllNodes);
  for (const s of SIGNALS) process.on(s, onSignal);
}

export function trackProcess(child: ChildProcess): void {
  install();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export function untrackProcess(child: ChildProcess): void {
  live.delete(child);
}

export function trackScratch(path: string): void {
  install();
  scratch.add(path);
}

export function untrackScratch(path: string): void {
  scratch.delete(path);
}

/** PIDs of tracked processes (for tests and diagnostics). */
export function trackedPids(): number[] {
  return [...live].map((c) => c.pid).filter((p): p is number => p !== undefined);
}
