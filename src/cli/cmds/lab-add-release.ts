/** `kmodlab lab add-release`: the kernel of an OpenShift release (from its rhel-coreos and driver-toolkit images) as a lab kernel. */
import type { Command } from 'commander';
import { addReleaseKernel } from '../../targets/lab/kernels/release-kernel.js';
import { userKernelsFile } from '../../targets/lab/kernels/user-kernels.js';
import type { CliIO } from '../output.js';

export function registerLabAddRelease(lab: Command, io: CliIO): void {
  lab
    .command('add-release')
    .description("Pull a release's rhel-coreos and driver-toolkit images (skopeo), extract the kernel, its modules and its kernel-devel tree, and add them as a lab kernel.")
    .requiredOption('--release-info <file>', 'saved `oc adm release info --pullspecs <release>` or `oc adm release info -o json <release>`')
    .option('--authfile <file>', 'pull secret for the registries (its contents are never printed)')
    .action(async (flags: { releaseInfo: string; authfile?: string }) => {
      const r = await addReleaseKernel({ releaseInfo: flags.releaseInfo, authfile: flags.authfile, progress: (l) => io.stderr(`add-release: ${l}\n`) });
      io.stdout(`added kernel ${r.kernel.kver} (${r.kernel.name ?? 'release kernel'}) (${userKernelsFile()})\n`);
    });
}
