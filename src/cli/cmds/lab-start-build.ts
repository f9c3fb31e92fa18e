/**
 * `kmodlab lab start-build <bc> --namespace <ns> --from-dir <dir> [--wait]`: the call
 * `oc start-build --from-dir` makes (instantiatebinary with the directory as a tar
 * archive), for kubectl users; prints what oc prints (`build.build.openshift.io/<name> started`).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { labStateDir } from '../../targets/lab/api-server/tls.js';
import type { CliIO } from '../output.js';

export function registerLabStartBuild(lab: Command, io: CliIO): void {
  lab
    .command('start-build <buildconfig>')
    .description('Start a Binary BuildConfig with a local directory as its source, as `oc start-build --from-dir` does (against the lab or any cluster in the kubeconfig).')
    .requiredOption('--from-dir <dir>', 'the directory sent as the build source (a tar archive)')
    .option('-n, --namespace <ns>', 'the BuildConfig namespace', 'default')
    .option('--kubeconfig <file>', 'default: $KUBECONFIG, else the lab kubeconfig (~/.kmodlab/lab/kubeconfig)')
    .option('--wait', 'wait for the build to complete; exit 1 when it fails (with the end of its log)')
    .option('--timeout <seconds>', 'how long --wait waits', '1800')
    .action(async (bc: string, flags: { fromDir: string; namespace: string; kubeconfig?: string; wait?: boolean; timeout: string }) => {
      const kubeconfig = flags.kubeconfig ?? process.env.KUBECONFIG?.split(path.delimiter)[0] ?? path.join(labStateDir(), 'kubeconfig');
      const timeout = Number(flags.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new UserError(`--timeout: "${flags.timeout}" is not a positive number of seconds`);
      // client-node is loaded by the commands that talk to the API only.
      const { startBinaryBuild, waitForBuild } = await import('../../targets/lab/control-plane/start-build.js');
      const build = await startBinaryBuild({ kubeconfig, namespace: flags.namespace, buildConfig: bc, fromDir: path.resolve(flags.fromDir) });
      const name = String(build.metadata?.name);
      io.stdout(`build.build.openshift.io/${name} started\n`);
      if (!flags.wait) return;
      const done = await waitForBuild(kubeconfig, flags.namespace, name, timeout * 1000);
      if (done.status?.phase !== 'Complete') {
        // oc start-build --wait exits 1 when the build does not complete.
        if (done.status?.logSnippet) io.stderr(`${done.status.logSnippet}\n`);
        throw new Error(`build ${flags.namespace}/${name}: ${done.status?.phase}${done.status?.reason ? ` (${done.status.reason})` : ''}: ${done.status?.message ?? ''}`);
      }
    });
}
