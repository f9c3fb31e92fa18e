/**
 * What the background lab process tells `kmodlab lab up|status|down`: its pid file, its log,
 * and a state file (phase, the API server's pid, each node's QEMU pid and console log). Node
 * health itself is read from the API (Node objects), never from here.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { labCacheDir, writeFileAtomic } from '../host/cache.js';

export interface LabNodeState {
  name: string;
  kernel: string;
  qemuPid?: number;
  consoleLog: string;
}

export interface LabState {
  phase: 'starting' | 'ready' | 'failed';
  error?: string;
  supervisorPid: number;
  apiPid?: number;
  kubeconfig: string;
  nodes: LabNodeState[];
  /** The lab Prometheus scraping the lab's cAdvisor-style /metrics (what the cluster target queries). */
  prometheusUrl?: string;
  /** Its process (`lab down` stops it with the lab). */
  prometheusPid?: number;
}

export function labFiles(): { pidFile: string; logFile: string; stateFile: string; runDir: string } {
  const dir = labCacheDir('lab-api');
  return {
    pidFile: path.join(dir, 'api.pid'),
    logFile: path.join(dir, 'api.log'),
    stateFile: path.join(dir, 'lab.json'),
    runDir: path.join(dir, 'nodes'),
  };
}

export function readState(): LabState | undefined {
  const { stateFile } = labFiles();
  if (!existsSync(stateFile)) return undefined;
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as LabState;
  } catch {
    return undefined; // being rewritten or damaged: treat as unknown
  }
}

export function writeState(s: LabState): void {
  writeFileAtomic(labFiles().stateFile, `${JSON.stringify(s, null, 2)}\n`);
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
