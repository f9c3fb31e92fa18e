/**
 * `kmodlab lab api` (foreground) and `kmodlab lab up|status|down` (the same server in
 * the background): the lab's Kubernetes API on 127.0.0.1 with its own CA, a bearer token
 * and a kubeconfig (mode 0600). The token is never printed; use the kubeconfig.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { startLabApi, labStateDir } from '../../targets/lab/api-server/index.js';
import { backgroundFiles, readyz, runningPid, startInBackground, stopBackground } from '../../targets/lab/api-server/background.js';
import type { CliIO } from '../output.js';

const CLI_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'kmodlab.js');

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
      const out = flags.kubeconfigOut ?? defaultKubeconfig();
      const { server } = await startLabApi({ port: port(flags.port), kubeconfigOut: out });
      io.stderr(`lab API serving on ${server.url}; kubeconfig: ${out}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.stop();
      io.stderr('lab API stopped\n');
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
      const pid = await startInBackground(CLI_SCRIPT, out, flags.port ? ['--port', String(port(flags.port))] : []);
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
