/**
 * `kmodlab lab api` (the API server alone, foreground) and `kmodlab lab up|status|down`
 * (the lab in the background: the API server plus QEMU nodes registered as Nodes by their
 * node agents): the lab's Kubernetes API on 127.0.0.1 with its own CA, a bearer token and
 * a kubeconfig (mode 0600). The token is never printed; use the kubeconfig.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { labStateDir } from '../../targets/lab/api-server/tls.js';
import { readyz, SERVER_ENTRY } from '../../targets/lab/api-server/background.js';
import { listKernels } from '../../targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../../targets/lab/kernels/lab-releases.js';
import { ROLE_LABEL } from '../../targets/lab/node/provider.js';
import { ovmfFiles, readCertificateDer } from '../../targets/lab/node/uefi.js';
import { runningPid, startLab, stopLab, stopOnExit } from '../../targets/lab/up/background.js';
import { alive, labFiles, readState } from '../../targets/lab/up/state.js';
import type { CliIO } from '../output.js';

function port(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`--port: "${v}" is not a TCP port (0-65535)`);
  return n;
}

const defaultKubeconfig = () => path.join(labStateDir(), 'kubeconfig');

export function registerLabApiCommands(lab: Command, io: CliIO): void {
  lab
    .command('api')
    .description('Serve the lab Kubernetes API in the foreground (HTTPS on 127.0.0.1) until interrupted.')
    .option('--kubeconfig-out <file>', 'where to write the kubeconfig (default ~/.kmodlab/lab/kubeconfig)')
    .option('--port <n>', 'TCP port on 127.0.0.1 (default: a free one)')
    .action(async (flags: { kubeconfigOut?: string; port?: string }) => {
      const out = path.resolve(flags.kubeconfigOut ?? defaultKubeconfig());
      // The server runs as its own lean process (its memory is the server's), attached to this terminal.
      const child = spawn(process.execPath, [SERVER_ENTRY, '--kubeconfig-out', out, '--port', String(port(flags.port))], { stdio: 'inherit' });
      const forward = (sig: NodeJS.Signals) => child.kill(sig);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      if (code !== 0 && code !== null) throw new Error(`the lab API exited with code ${code}`);
    });
  lab
    .command('up')
    .description('Start the lab in the background (the API server and N QEMU nodes registered as Nodes) and return when the API is ready and every node is Ready.')
    .option('--nodes <n>', 'QEMU nodes: 1 = single-node OpenShift (master pool), more = workers; 0 = the API only', '1')
    .option('--kernel <kver>', 'the kernel the nodes boot (default: the lab release kernel, see `kmodlab lab kernels`)')
    .option('--memory <MiB>', 'guest RAM per node (default 256; 512 with --secure-boot: OVMF keeps part of it)')
    .option('--kubeconfig-out <file>', 'where to write the kubeconfig (default ~/.kmodlab/lab/kubeconfig)')
    .option('--port <n>', 'TCP port on 127.0.0.1 (default: a free one)')
    .option('--manifests <dir>', "installer manifests (the YAML files of an install's openshift/ dir): created through the API before the nodes join, as the installer's bootstrap does")
    .option('--secure-boot', 'boot every node through UEFI firmware with Secure Boot on (OVMF, q35; Debian package ovmf), as a node whose firmware enforces it')
    .option('--mok-cert <file>', 'with --secure-boot: a certificate (DER or PEM) to enroll as a Machine Owner Key on every node, what `mokutil --import` does once per machine; repeatable', collect, [])
    .option('--kernel-arg <arg>', 'extra kernel command line argument for every node boot (e.g. module.sig_enforce=1); repeatable', collect, [])
    .action(async (flags: { nodes: string; kernel?: string; memory?: string; kubeconfigOut?: string; port?: string; manifests?: string; secureBoot?: boolean; mokCert: string[]; kernelArg: string[] }) => {
      const nodes = intFlag('--nodes', flags.nodes, 0, 8);
      const memory = intFlag('--memory', flags.memory ?? (flags.secureBoot ? '512' : '256'), 128, 4096);
      // Checked here so that bad input is a user error (exit 2), not a failed background start.
      const mokCerts = mokCertFiles(flags.mokCert, flags.secureBoot === true);
      if (flags.secureBoot) ovmfFiles();
      const out = path.resolve(flags.kubeconfigOut ?? defaultKubeconfig());
      // Checked here so a bad --kernel is a user error (exit 2), not a failed background start.
      const kernel = nodes > 0 ? chooseLabKernels(listKernels(), { from: flags.kernel }).from : undefined;
      // Read here too so a bad directory or file is a user error (exit 2), not a failed background start.
      const manifests = flags.manifests ? path.resolve(flags.manifests) : undefined;
      // Loaded only when asked for: it brings client-node (~1 s to load at every CLI start).
      const objects = manifests ? (await import('../../targets/lab/up/install-manifests.js')).readInstallManifests(manifests) : [];
      const kernelArgs = flags.kernelArg.map(kernelArg);
      const running = runningPid();
      if (running !== undefined) throw new UserError(`the lab is already up (pid ${running})`, 'run `kmodlab lab status`, or `kmodlab lab down` first');
      const args = ['--port', String(port(flags.port)), '--nodes', String(nodes), '--memory', String(memory)];
      if (kernel) args.push('--kernel', kernel.kver);
      for (const a of kernelArgs) args.push('--kernel-arg', a);
      if (flags.secureBoot) args.push('--secure-boot', ...mokCerts.flatMap((f) => ['--mok-cert', f]));
      if (manifests) {
        args.push('--manifests', manifests);
        io.stderr(`installer manifests: ${objects.length} object(s) from ${manifests}, created before the nodes join\n`);
      }
      if (nodes > 0) io.stderr(`starting the lab API and ${nodes} node(s) booting ${kernel!.kver}${flags.secureBoot ? ` through UEFI with Secure Boot${mokCerts.length ? `, ${mokCerts.length} MOK certificate(s) to enroll` : ''}` : ''}…\n`);
      // Boot under TCG on a loaded host is slow: allow 4 min per round of parallel boots; a UEFI
      // node boots slower still, and twice when it enrolls a MOK (node.ts enrollMok).
      const bootMs = flags.secureBoot ? (mokCerts.length ? 2 : 1) * 270_000 : 240_000;
      // Ctrl-C while the lab starts stops it (the command did not bring it up); once it
      // is ready it is the user's, until `kmodlab lab down`.
      let cancelStop: (() => void) | undefined;
      const interrupted = () => process.exit(130);
      process.once('SIGINT', interrupted);
      process.once('SIGTERM', interrupted);
      const state = await startLab(out, args, 60_000 + (nodes > 0 ? bootMs : 0), (pid) => (cancelStop = stopOnExit(pid))).finally(() => {
        process.off('SIGINT', interrupted);
        process.off('SIGTERM', interrupted);
      });
      cancelStop?.();
      io.stderr(`lab up (pid ${state.supervisorPid}, API pid ${state.apiPid}); log: ${labFiles().logFile}\n`);
      for (const n of state.nodes) io.stderr(`  node ${n.name}: Ready, ${n.kernel}, QEMU pid ${n.qemuPid}\n`);
      io.stdout(`export KUBECONFIG=${out}\n`);
    });
  lab
    .command('status')
    .description('Say whether the lab is up, its API ready, and list its nodes as the API reports them.')
    .option('--kubeconfig <file>', 'the lab kubeconfig (default ~/.kmodlab/lab/kubeconfig)')
    .action(async (flags: { kubeconfig?: string }) => {
      const pid = runningPid();
      if (pid === undefined) {
        io.stdout('lab: down\n');
        return;
      }
      const kubeconfig = flags.kubeconfig ?? defaultKubeconfig();
      const r = await readyz(kubeconfig);
      io.stdout(`lab: up (pid ${pid}), API ${r.server ?? '?'}: ${r.ok ? 'ready' : `not ready${r.error ? ` (${r.error})` : ''}`}\n`);
      if (!r.ok) return;
      const qemu = new Map((readState()?.nodes ?? []).map((n) => [n.name, n.qemuPid]));
      const { nodeApiFromKubeconfig } = await import('../../targets/lab/kubelet/node-api.js');
      const rows = (await nodeApiFromKubeconfig(kubeconfig).listNodes()).map((n) => {
        const name = n.metadata?.name ?? '?';
        const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
        const roles = Object.keys(n.metadata?.labels ?? {}).filter((l) => l.startsWith(ROLE_LABEL)).map((l) => l.slice(ROLE_LABEL.length)).sort().join(',') || '<none>';
        const qpid = qemu.get(name);
        return [name, ready, roles, n.status?.nodeInfo?.kernelVersion ?? '', n.status?.nodeInfo?.bootID ?? '', qpid && alive(qpid) ? String(qpid) : qpid ? `${qpid} (exited)` : '-'];
      });
      io.stdout(formatTable(['NAME', 'READY', 'ROLES', 'KERNEL', 'BOOT-ID', 'QEMU-PID'], rows));
    });
  lab
    .command('down')
    .description('Stop the background lab: its nodes (no QEMU is left) and its API.')
    .action(async () => {
      const pid = await stopLab();
      io.stdout(pid === undefined ? 'lab: was not running\n' : `lab: stopped (pid ${pid})\n`);
    });
}

/** One kernel command-line word: `name` or `name=value`, nothing the shell or QEMU's -append would split. */
function kernelArg(v: string): string {
  if (!/^[A-Za-z0-9_.-]+(=[A-Za-z0-9_.,:/+-]*)?$/.test(v)) throw new UserError(`--kernel-arg: "${v}" is not one kernel command-line argument (name or name=value, no spaces or quotes; repeat the flag for each)`);
  return v;
}

function collect(v: string, all: string[]): string[] {
  return [...all, v];
}

/** `--mok-cert` files: each must be a readable X.509 certificate; absolute paths for the lab process. */
function mokCertFiles(files: string[], secureBoot: boolean): string[] {
  if (files.length && !secureBoot) throw new UserError('--mok-cert: Machine Owner Keys are enrolled only on UEFI nodes', 'add --secure-boot');
  return files.map((f) => {
    const abs = path.resolve(f);
    try {
      readCertificateDer(abs);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ? `cannot read ${abs}: ${(e as Error).message}` : (e as Error).message;
      throw new UserError(`--mok-cert ${f}: ${why}`, 'give a certificate file, DER (e.g. signing_key.der) or PEM');
    }
    return abs;
  });
}

function intFlag(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`${flag}: "${v}" is not a whole number from ${min} to ${max}`);
  return n;
}

function formatTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]! + 3))).join('').trimEnd() + '\n').join('');
}
