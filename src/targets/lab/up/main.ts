/**
 * The background lab's own process (`kmodlab lab up` starts it detached):
 *   node dist/targets/lab/up/main.js --kubeconfig-out <file> [--port <n>] [--nodes <n>]
 *        [--kernel <kver>] [--memory <MiB>] [--manifests <dir>] [--kernel-arg <arg>]...
 *        [--secure-boot [--mok-cert <file>]...]
 * Runs until SIGTERM/SIGINT, then stops the nodes and the API server (supervisor.ts).
 * Flags were checked by the CLI; this entry only refuses what it cannot parse.
 *
 * The machines start booting first (machines.ts); the rest of the lab process — the API
 * server's side and the controllers, 0.8 s of module loading — is loaded while they boot.
 */
import { findKernel } from '../kernels/catalog.js';
import { startMachines } from './machines.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Every value of a repeatable flag, in order. */
function flags(name: string): string[] {
  return process.argv.flatMap((a, i) => (a === name && i + 1 < process.argv.length ? [process.argv[i + 1]!] : []));
}

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
const out = flag('--kubeconfig-out');
const port = Number(flag('--port') ?? '0');
const nodes = Number(flag('--nodes') ?? '0');
const memoryMB = Number(flag('--memory') ?? '256');
const kver = flag('--kernel');
const manifestsDir = flag('--manifests');
const kernelArgs = flags('--kernel-arg');
const secureBoot = process.argv.includes('--secure-boot');
if (!out || !Number.isInteger(port) || !Number.isInteger(nodes) || nodes < 0 || !Number.isInteger(memoryMB) || (nodes > 0 && !kver)) {
  process.stderr.write('usage: main.js --kubeconfig-out <file> [--port <n>] [--nodes <n> --kernel <kver>] [--memory <MiB>]\n');
  process.exit(2);
}

let stopping = false;
try {
  const machineSpec = {
    nodes,
    kernel: kver ? findKernel(kver) : undefined,
    memoryMB,
    // A UEFI boot (OVMF with SMM under TCG) takes several times a microvm one (node.ts).
    bootTimeoutMs: secureBoot ? 270_000 : 240_000,
    log,
    ...(kernelArgs.length ? { cmdline: kernelArgs.join(' ') } : {}),
    ...(secureBoot ? { uefi: { mokCerts: flags('--mok-cert') } } : {}),
  };
  const machines = startMachines(machineSpec);
  // A failure is runLab's to handle (it stops what booted); not an unhandled rejection meanwhile.
  machines.catch(() => undefined);
  const [{ runLab }, { readInstallManifests }] = await Promise.all([import('./supervisor.js'), import('./install-manifests.js')]);
  const lab = await runLab(
    {
      ...machineSpec,
      kubeconfigOut: out,
      port,
      ...(manifestsDir ? { manifests: readInstallManifests(manifestsDir) } : {}),
    },
    machines,
  );
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
