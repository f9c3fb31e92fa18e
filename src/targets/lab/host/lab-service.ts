/**
 * How kmodlab runs a lab service (its registry, its Prometheus): a child process with
 * its log and pid file in the service's directory, tracked by the node process registry
 * (killed on exit and on SIGINT/SIGTERM/SIGHUP) and started under
 * `setpriv --pdeathsig SIGKILL` for the case where kmodlab itself is SIGKILLed, so it
 * never outlives kmodlab; ready when its probe answers; stopped with SIGTERM, SIGKILL
 * after 5 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { writeFileAtomic } from './cache.js';
import { findTool } from './tools.js';
import { trackProcess, untrackProcess } from '../node/registry.js';

export interface LabServiceProcess {
  pid: number;
  /** Idempotent. */
  stop(): Promise<void>;
}

export interface LabServiceSpec {
  /** What error messages call it, e.g. `docker-registry`. */
  name: string;
  command: string;
  args: string[];
  logFile: string;
  pidFile: string;
  /** Where it should answer (for the error message). */
  address: string;
  ready: () => Promise<boolean>;
  readyTimeoutMs: number;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The pid in `pidFile` if that process is alive and its command line names `marker` (its config file). */
export function liveOwner(pidFile: string, marker: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function startLabService(s: LabServiceSpec): Promise<LabServiceProcess> {
  const setpriv = findTool('setpriv');
  const logFd = openSync(s.logFile, 'a');
  const [cmd, args] = setpriv ? [setpriv, ['--pdeathsig', 'SIGKILL', s.command, ...s.args]] : [s.command, s.args];
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  trackProcess(child);
  writeFileAtomic(s.pidFile, `${child.pid}\n`);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));

  const deadline = Date.now() + s.readyTimeoutMs;
  while (!(await s.ready())) {
    if (exited !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      untrackProcess(child);
      const tail = readFileSync(s.logFile, 'utf8').trim().split('\n').slice(-10).join('\n');
      throw new Error(`${s.name} did not start on ${s.address} (${exited !== undefined ? `exit ${exited}` : 'no answer'}); ${s.logFile}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid!,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (exited !== undefined || child.exitCode !== null) {
          untrackProcess(child);
          resolve();
          return;
        }
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(kill);
          untrackProcess(child);
          resolve();
        });
        child.kill('SIGTERM');
      })),
  };
}
