/** `kmodlab lab kernels | setup`: what the lab can boot, and installing what it needs. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { howToAddKernel, listKernels } from '../../targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../../targets/lab/kernels/lab-releases.js';
import { chooseKernelPackages, kernelsInIndex } from '../../targets/lab/kernels/package-index.js';
import { addUserKernel, removeUserKernel, userKernelsFile } from '../../targets/lab/kernels/user-kernels.js';
import type { CliIO } from '../output.js';
import { registerLabApiCommands } from './lab-api.js';

const SETUP_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'lab-packages.sh');

export function registerLabCommand(program: Command, io: CliIO): void {
  const lab = program.command('lab').description('The embedded lab: QEMU nodes booting real kernels.');
  registerLabApiCommands(lab, io);
  lab
    .command('kernels')
    .description('List the kernels the lab can use (a bootable image with its kbuild tree) and the roles an evaluation gives them.')
    .option('-o, --output <format>', 'table | json', 'table')
    .action((flags: { output: string }) => {
      const kernels = listKernels();
      if (flags.output === 'json') {
        io.stdout(`${JSON.stringify(kernels, null, 2)}\n`);
        return;
      }
      if (flags.output !== 'table') throw new UserError(`-o/--output: unknown format "${flags.output}": expected table or json`);
      if (kernels.length === 0) throw new UserError('no lab kernel is installed', howToAddKernel());
      const roles = chooseLabKernels(kernels);
      const role = (k: string) => [k === roles.from.kver && 'start', k === roles.upgradeTo?.kver && 'upgrade target', k === roles.realtime?.kver && 'realtime'].filter(Boolean).join(', ');
      const rows = [['KERNEL', 'SERIES', 'FLAVOUR', 'ROLE', 'BUILD TREE'], ...kernels.map((k) => [k.kver, k.series, k.flavour, role(k.kver) || '-', k.buildDir])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      io.stdout(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
    });
  lab
    .command('add-kernel')
    .description('Use your own kernel in the lab, e.g. a RHEL kernel and its kernel-devel unpacked from RPMs.')
    .requiredOption('--image <file>', 'bootable kernel image (vmlinuz/bzImage)')
    .requiredOption('--build <dir>', 'its kbuild tree (kernel-devel / linux-headers build directory)')
    .option('--modules <dir>', 'its /lib/modules/<kver> tree (the node needs its virtio and 9p modules)')
    .option('--kver <release>', 'kernel release (uname -r), if the build tree does not say')
    .action((flags: { image: string; build: string; modules?: string; kver?: string }) => {
      const k = addUserKernel({ image: flags.image, buildDir: flags.build, modulesDir: flags.modules, kver: flags.kver });
      io.stdout(`added kernel ${k.kver} (${userKernelsFile()})\n`);
    });
  lab
    .command('remove-kernel <kver>')
    .description('Forget a kernel added with add-kernel.')
    .action((kver: string) => {
      if (!removeUserKernel(kver)) throw new UserError(`kernel ${kver} was not added with add-kernel (${userKernelsFile()})`);
      io.stdout(`removed kernel ${kver}\n`);
    });
  lab
    .command('setup')
    .description("Install the lab's tools (qemu, busybox, kmod, cpio) and a default set of kernels chosen from Debian's package index.")
    .option('--kernels <list>', 'comma-separated kernel versions to install instead of the default choice')
    .option('--dry-run', 'print what would be installed and exit')
    .action((flags: { kernels?: string; dryRun?: boolean }) => {
      let kernels: string[];
      if (flags.kernels) {
        kernels = flags.kernels.split(',').map((s) => s.trim()).filter(Boolean);
      } else {
        const search = spawnSync('apt-cache', ['search', '--names-only', '^linux-image-[0-9]'], { encoding: 'utf8' });
        if (search.status !== 0) throw new UserError('apt-cache search failed: is this a Debian-based machine? Run apt-get update first', search.stderr.trim());
        const choice = chooseKernelPackages(kernelsInIndex(search.stdout.split('\n')));
        if (choice.kernels.length === 0) throw new UserError('the package index offers no amd64 kernel images: run apt-get update first');
        kernels = choice.kernels;
        io.stderr(`chosen from the package index: start ${choice.roles.from ?? '-'}, upgrade ${choice.roles.upgradeTo ?? '-'}, other series ${choice.roles.ySeries ?? '-'}, realtime ${choice.roles.realtime ?? '-'}\n`);
      }
      for (const k of kernels) if (!/^[0-9][A-Za-z0-9.+_-]*$/.test(k)) throw new UserError(`--kernels: "${k}" is not a kernel version`);
      io.stdout(`LAB_KERNELS="${kernels.join(' ')}" ${SETUP_SCRIPT}\n`);
      if (flags.dryRun) return;
      const r = spawnSync(SETUP_SCRIPT, [], { stdio: 'inherit', env: { ...process.env, LAB_KERNELS: kernels.join(' ') } });
      if (r.status !== 0) throw new UserError(`${SETUP_SCRIPT} failed (exit ${r.status ?? r.signal})`, 'it needs root and access to the Debian package mirror');
    });
}
