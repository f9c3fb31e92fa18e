/**
 * The background lab's own process (`kmodlab lab up` starts it detached):
 *   node dist/targets/lab/up/main.js --kubeconfig-out <file> [--port <n>] [--nodes <n>]
 *        [--kernel <kver>] [--memory <MiB>] [--manifests <dir>] [--kernel-arg <arg>]…
 * Runs until SIGTERM/SIGINT, then stops the nodes and the API server (supervisor.ts).
 * Flags were checked by the CLI; this entry only refuses what it cannot parse.
 */
import { findKernel } from '../kernels/catalog.js';
import { readInstallManifests } from './install-manifests.js';
import { runLab } from './supervisor.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
const out = flag('--kubeconfig-out');
const port = Number(flag('--port') ?? '0');
const nodes = Number(flag('--nodes') ?? '0');
const memoryMB = Number(flag('--memory') ?? '256');
const kver = flag('--kernel');
const manifestsDir = flag('--manifests');
const kernelArgs = process.argv.flatMap((a, i) => (a === '--kernel-arg' && process.argv[i + 1] ? [process.argv[i + 1]!] : []));
if (!out || !Number.isInteger(port) || !Number.isInteger(nodes) || nodes < 0 || !Number.isInteger(memoryMB) || (nodes > 0 && !kver)) {
  process.stderr.write('usage: main.js --kubeconfig-out <file> [--port <n>] [--nodes <n> --kernel <kver>] [--memory <MiB>]\n');
  process.exit(2);
}

let stopping = false;
try {
  const lab = await runLab({ kubeconfigOut: out, port, nodes, kernel: kver ? findKernel(kver) : undefined, memoryMB, kernelArgs, bootTimeoutMs: 240_000, log, ...(manifestsDir ? { manifests: readInstallManifests(manifestsDir) } : {}) });
  log(`lab ready: API and ${nodes} node(s)`);
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping the lab`);
    await lab.stop();
    log('lab stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP'));
} catch (e) {
  log(`lab failed: ${(e as Error).message}`);
  process.exit(1);
}
