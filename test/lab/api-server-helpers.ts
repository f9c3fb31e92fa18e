/**
 * Starts the lab API in this process for a test (PKI and kubeconfig in a temp dir) and
 * runs the real kubectl against it. kubectl runs asynchronously: a synchronous spawn
 * would block the server it talks to.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { ensurePki, writeKubeconfig } from '../../src/targets/lab/api-server/tls.js';
import { LabApiServer, type ApiServerOptions } from '../../src/targets/lab/api-server/server.js';

/**
 * kubectl 1.32. Google Cloud SDK's `kubectl` is a dispatcher that picks a client matching
 * the server's minor version (the lab says 1.27, as OpenShift 4.14): use its 1.32
 * binary explicitly so the tests exercise the client version the project targets.
 */
export function kubectlBinary(): string | undefined {
  const k = findTool('kubectl');
  if (!k) return undefined;
  const pinned = path.join(path.dirname(realpathSync(k)), 'kubectl.1.32');
  return existsSync(pinned) ? pinned : k;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestApi {
  server: LabApiServer;
  dir: string;
  kubeconfig: string;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** A manifest file in the test dir. */
  file(name: string, text: string): string;
  stop(): Promise<void>;
}

export async function startTestApi(opts: Partial<ApiServerOptions> = {}): Promise<TestApi> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-labapi-'));
  const server = new LabApiServer({ pki: ensurePki(dir), ...opts });
  await server.start();
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, server.kubeconfig());
  const home = path.join(dir, 'home');
  mkdirSync(home);
  const bin = kubectlBinary() ?? 'kubectl';
  return {
    server,
    dir,
    kubeconfig,
    kubectl: (args, o = {}) =>
      new Promise((resolve) => {
        const child = execFile(bin, args, { env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: kubeconfig }, timeout: o.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 124) : 0;
          resolve({ code, stdout, stderr });
        });
        if (o.input !== undefined) child.stdin!.end(o.input);
      }),
    file: (name, text) => {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    },
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `kubectl wait --for=condition=Ready pod -l <selector>` once a pod exists: with a label
 * selector kubectl fails at once ("no matching resources found") if the DaemonSet
 * controller has not created the pod yet.
 */
export async function waitPodsReady<R extends { code: number; stdout: string }>(kubectl: (...args: string[]) => Promise<R>, selector: string, timeout = '180s'): Promise<R> {
  for (let i = 0; i < 60; i++) {
    if ((await kubectl('get', 'pods', '-l', selector, '-o', 'name')).stdout.trim()) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return kubectl('wait', '--for=condition=Ready', 'pod', '-l', selector, `--timeout=${timeout}`);
}
