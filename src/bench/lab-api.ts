/** Bench figure: the lab API server's own memory under an apply load. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readyz, SERVER_ENTRY } from '../targets/lab/api-server/background.js';
import { findTool } from '../targets/lab/host/tools.js';
import { figure, type Figure } from './figures.js';

function tmp(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `kmodlab-bench-${prefix}-`));
}

/**
 * The lab API server's own resident memory (its process, /proc/<pid>/status VmRSS) after
 * the apply load: every manifest `kmodlab render` writes for the three methods applied
 * with `kubectl apply --server-side` twice, plus 300 ConfigMaps, plus a `kubectl get -w`
 * open on them. One sample after each of three rounds.
 */
export async function labApiRss(report: (f: Figure) => void): Promise<void> {
  const onPath = findTool('kubectl');
  if (!onPath) {
    process.stderr.write('bench: lab API RSS not measured: kubectl is not installed\n');
    return;
  }
  const pinned = path.join(path.dirname(realpathSync(onPath)), 'kubectl.1.32');
  const kubectl = existsSync(pinned) ? pinned : onPath;
  const dir = tmp('labapi');
  const cli = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bin', 'kmodlab.js');
  const kubeconfig = path.join(dir, 'kubeconfig');
  const env = { ...process.env, KMODLAB_LAB_DIR: dir, HOME: dir, KUBECONFIG: kubeconfig };
  // The process `kmodlab lab up` starts.
  const server = spawn(process.execPath, [SERVER_ENTRY, '--kubeconfig-out', kubeconfig], { env, stdio: 'ignore' });
  try {
    const deadline = Date.now() + 30_000;
    while (!(existsSync(kubeconfig) && (await readyz(kubeconfig)).ok)) {
      if (Date.now() > deadline) throw new Error('the lab API did not become ready within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const out = path.join(dir, 'out');
    execFileSync(process.execPath, [cli, 'render', '--output-dir', out], { env, stdio: 'ignore' });
    const cms = { apiVersion: 'v1', kind: 'List', items: Array.from({ length: 300 }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `load-${i}` }, data: { i: String(i) } })) };
    writeFileSync(path.join(dir, 'load.json'), JSON.stringify(cms));
    const watcher = spawn(kubectl, ['get', 'configmaps', '-A', '-w', '-o', 'name'], { env, stdio: 'ignore' });
    const samples: number[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        for (const m of ['dtk', 'layering', 'kmm']) {
          // KMM's Module has no CRD until the lab's OLM installs one: that file is refused, the rest applies.
          try {
            execFileSync(kubectl, ['apply', '--server-side', '--force-conflicts', '-f', path.join(out, m)], { env, stdio: 'ignore' });
          } catch {
            if (m !== 'kmm') throw new Error(`kubectl apply --server-side -f ${m} failed`);
          }
        }
        execFileSync(kubectl, ['apply', '--server-side', '-f', path.join(dir, 'load.json')], { env, stdio: 'ignore' });
        const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
        samples.push(Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024);
      }
    } finally {
      watcher.kill();
    }
    report(figure('lab API server RSS after the apply load', 'MiB', samples, '≤ 80 MiB'));
  } finally {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

