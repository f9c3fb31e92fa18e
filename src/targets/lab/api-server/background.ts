/**
 * Running the lab API in the background for `kmodlab lab up|status|down`: a detached
 * server process (main.js), its pid file and log under the lab cache, readiness as
 * `/readyz` answering "ok" over the lab CA.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { labCacheDir } from '../host/cache.js';

export function backgroundFiles(): { pidFile: string; logFile: string } {
  const dir = labCacheDir('lab-api');
  return { pidFile: path.join(dir, 'api.pid'), logFile: path.join(dir, 'api.log') };
}

export function runningPid(): number | undefined {
  const { pidFile } = backgroundFiles();
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** GET /readyz against the kubeconfig's server, trusting its CA. */
export function readyz(kubeconfigFile: string, timeoutMs = 2000): Promise<{ ok: boolean; server?: string; error?: string }> {
  let server: string;
  let ca: Buffer;
  try {
    const kc = parseYaml(readFileSync(kubeconfigFile, 'utf8')) as { clusters?: { cluster: { server: string; 'certificate-authority-data': string } }[] };
    const c = kc.clusters?.[0]?.cluster;
    if (!c) return Promise.resolve({ ok: false, error: `${kubeconfigFile} names no cluster` });
    server = c.server;
    ca = Buffer.from(c['certificate-authority-data'], 'base64');
  } catch (e) {
    return Promise.resolve({ ok: false, error: (e as Error).message });
  }
  return new Promise((resolve) => {
    const req = https.get(new URL('/readyz', server), { ca, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ ok: res.statusCode === 200 && body.trim() === 'ok', server }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ ok: false, server, error: e.message }));
  });
}

/** The server's own entry (main.js beside this file): what `lab api` and `lab up` run. */
export const SERVER_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');

/** Starts the server detached; resolves once /readyz is ok. */
export async function startInBackground(kubeconfigOut: string, extraArgs: string[], timeoutMs = 30_000): Promise<number> {
  const { pidFile, logFile } = backgroundFiles();
  rmSync(kubeconfigOut, { force: true });
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [SERVER_ENTRY, '--kubeconfig-out', kubeconfigOut, ...extraArgs], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  const pid = child.pid!;
  writeFileSync(pidFile, `${pid}\n`);
  const deadline = Date.now() + timeoutMs;
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`the lab API exited (code ${exited}) before it was ready; see ${logFile}`);
    if (existsSync(kubeconfigOut) && (await readyz(kubeconfigOut)).ok) return pid;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the lab API was not ready within ${timeoutMs / 1000} s; see ${logFile}`);
}

/** Stops the background API (SIGTERM, then SIGKILL after 5 s). Returns the pid it stopped. */
export async function stopBackground(): Promise<number | undefined> {
  const pid = runningPid();
  const { pidFile } = backgroundFiles();
  if (pid === undefined) {
    rmSync(pidFile, { force: true });
    return undefined;
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (runningPid() === undefined) break;
  }
  if (runningPid() !== undefined) process.kill(pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
  return pid;
}
