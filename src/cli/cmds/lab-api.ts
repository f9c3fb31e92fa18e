/**
 * `kmodlab lab api` (foreground) and `kmodlab lab up|status|down` (the same server in
 * the background): the lab's Kubernetes API on 127.0.0.1 with its own CA, a bearer token
 * and a kubeconfig (mode 0600). The token is never printed; use the kubeconfig.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { labStateDir } from '../../targets/lab/api-server/tls.js';
import { backgroundFiles, readyz, runningPid, SERVER_ENTRY, startInBackground, stopBackground } from '../../targets/lab/api-server/background.js';
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
    .description('Start the lab in the background and return when its API is ready (nodes and controllers: not yet).')
    .option('--kubeconfig-out <file>', 'where to write the kubeconfig (default ~/.kmodlab/lab/kubeconfig)')
    .option('--port <n>', 'TCP port on 127.0.0.1 (default: a free one)')
    .action(async (flags: { kubeconfigOut?: string; port?: string }) => {
      const out = path.resolve(flags.kubeconfigOut ?? defaultKubeconfig());
      const running = runningPid();
      if (running !== undefined) throw new UserError(`the lab is already up (pid ${running})`, 'run `kmodlab lab status`, or `kmodlab lab down` first');
      const pid = await startInBackground(out, flags.port ? ['--port', String(port(flags.port))] : []);
      io.stderr(`lab API up (pid ${pid}); log: ${backgroundFiles().logFile}\n`);
      io.stdout(`export KUBECONFIG=${out}\n`);
    });
  lab
    .command('status')
    .description('Say whether the lab is up and its API ready.')
    .option('--kubeconfig <file>', 'the lab kubeconfig (default ~/.kmodlab/lab/kubeconfig)')
    .action(async (flags: { kubeconfig?: string }) => {
      const pid = runningPid();
      if (pid === undefined) {
        io.stdout('lab: down\n');
        return;
      }
      const r = await readyz(flags.kubeconfig ?? defaultKubeconfig());
      io.stdout(`lab: up (pid ${pid}), API ${r.server ?? '?'}: ${r.ok ? 'ready' : `not ready${r.error ? ` (${r.error})` : ''}`}\n`);
    });
  lab
    .command('down')
    .description('Stop the background lab.')
    .action(async () => {
      const pid = await stopBackground();
      io.stdout(pid === undefined ? 'lab: was not running\n' : `lab: stopped (pid ${pid})\n`);
    });
}
