/** `kmodlab lab kernels | setup`: what the lab can boot, and installing what it needs. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { howToAddKernel, listKernels } from '../../targets/lab/kernels/catalog.js';
import { dirBytes, labCacheRoot } from '../../targets/lab/host/cache.js';
import { kernelImagePackages, refreshPackageIndex } from '../../targets/lab/host/apt-index.js';
import { describePlan, INITRAMFS_HOOK_DIVERTED, LAB_PACKAGES_SCRIPT, setupPlan, undoHookDivert } from '../../targets/lab/host/host-changes.js';
import { findTool } from '../../targets/lab/host/tools.js';
import { chooseLabKernels, completeLab } from '../../targets/lab/kernels/lab-releases.js';
import { chooseKernelPackages, kernelsInIndex } from '../../targets/lab/kernels/package-index.js';
import { addUserKernel, removeUserKernel, userKernelsFile } from '../../targets/lab/kernels/user-kernels.js';
import type { CliIO } from '../output.js';
import { registerLabAddRelease } from './lab-add-release.js';
import { addRegistryOptions, registerLabImageCommands, setupImagesStep, type RegistryFlags } from './lab-images.js';
import { registerLabApiCommands } from './lab-api.js';
import { registerLabStartBuild } from './lab-start-build.js';
import { registerLabBuild } from './lab-build.js';

export function registerLabCommand(program: Command, io: CliIO): void {
  const lab = program.command('lab').description('The embedded lab: QEMU nodes booting real kernels.');
  registerLabApiCommands(lab, io);
  registerLabStartBuild(lab, io);
  registerLabBuild(lab, io);
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
      // A user kernel's name (e.g. "OpenShift 4.14.12" from add-release) says what it stands for.
      const rows = [['KERNEL', 'SERIES', 'FLAVOUR', 'ROLE', 'BUILD TREE'], ...kernels.map((k) => [k.kver, k.series, k.flavour, [role(k.kver), k.name].filter(Boolean).join(', ') || '-', k.buildDir])];
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
  registerLabAddRelease(lab, io);
  lab
    .command('remove-kernel <kver>')
    .description('Forget a kernel added with add-kernel.')
    .action((kver: string) => {
      if (!removeUserKernel(kver)) throw new UserError(`kernel ${kver} was not added with add-kernel (${userKernelsFile()})`);
      io.stdout(`removed kernel ${kver}\n`);
    });
  registerLabImageCommands(lab, io);
  addRegistryOptions(lab.command('setup'))
    .description("Install the lab's tools (qemu, busybox, kmod, cpio, buildah, registry) and kernels chosen from Debian's refreshed package index (says what it changes on the host and asks first), then build the lab release images.")
    .option('--kernels <list>', 'comma-separated kernel versions to install instead of the default choice')
    .option('--upgrade', 'choose again from the refreshed package index although the lab is set up (adds the newest kernels; keeps the installed ones)')
    .option('-y, --yes', 'change the host without asking (needed when stdin is not a terminal)')
    .option('--dry-run', 'print what would change and exit (the package index is still refreshed)')
    .option('--no-images', 'skip building the lab release images')
    .action(async (flags: LabSetupFlags & RegistryFlags & { images: boolean }) => {
      const kernels = await runLabSetup(flags, io);
      // Content-addressed: on a set-up lab this step is a no-op unless an input changed.
      if (kernels && flags.images) await setupImagesStep(io, { ...flags, kernels: flags.kernels ? kernels : undefined });
    });
  lab
    .command('teardown')
    .description('Undo the host change lab setup made (the divert of initramfs-tools\' kernel hook) and list what stays: packages, kernels, caches.')
    .action(() => runLabTeardown(io));
}

interface LabSetupFlags {
  kernels?: string;
  upgrade?: boolean;
  yes?: boolean;
  dryRun?: boolean;
}

const LAB_TOOLS = ['qemu-system-x86_64', 'busybox', 'cpio', 'depmod', 'make', 'time', 'buildah', 'skopeo', 'docker-registry', 'mkfs.erofs', 'openssl', 'prometheus'];

/** Returns the lab's kernels, or undefined when nothing was to be done (dry run, declined). */
export async function runLabSetup(flags: LabSetupFlags, io: CliIO): Promise<string[] | undefined> {
  if (flags.kernels !== undefined && flags.upgrade) throw new UserError('--kernels and --upgrade conflict: --kernels names the kernels, --upgrade chooses them from the package index');
  let kernels: string[];
  if (flags.kernels !== undefined) {
    kernels = flags.kernels.split(',').map((s) => s.trim()).filter(Boolean);
    if (kernels.length === 0) throw new UserError('--kernels: expected a comma-separated list of kernel versions (uname -r), e.g. 6.1.0-57-amd64');
    for (const k of kernels) if (!/^[0-9][A-Za-z0-9.+_-]*$/.test(k)) throw new UserError(`--kernels: "${k}" is not a kernel version (uname -r), e.g. 6.1.0-57-amd64`);
  } else {
    const ready = !flags.upgrade && LAB_TOOLS.every((t) => findTool(t)) ? completeLab(listKernels()) : undefined;
    if (ready) {
      io.stdout(`lab already set up (kernels: ${listKernels().map((k) => k.kver).join(', ')})\n`);
      io.stderr(`roles: start ${ready.from.kver}, upgrade ${ready.upgradeTo.kver}, realtime ${ready.realtime.kver} (kmodlab lab kernels)\nto change: --kernels <a,b,…> installs those, --upgrade adds the newest from the package index\n`);
      return listKernels().map((k) => k.kver);
    }
    // A stale index offers old kernels only and misses newer series: refresh first.
    io.stderr('refreshing the package index (apt-get update) …\n');
    refreshPackageIndex();
    const choice = chooseKernelPackages(kernelsInIndex(kernelImagePackages()));
    if (choice.kernels.length === 0) throw new UserError('the package index offers no amd64 kernel images', 'check /etc/apt/sources.list: kmodlab chooses from Debian\'s linux-image-<kver> packages');
    kernels = choice.kernels;
    io.stderr(`chosen from the package index: start ${choice.roles.from ?? '-'}, upgrade ${choice.roles.upgradeTo ?? '-'}, other series ${choice.roles.ySeries ?? '-'}, realtime ${choice.roles.realtime ?? '-'}\n`);
  }
  const plan = setupPlan(kernels);
  const changes = describePlan(plan);
  if (changes.length === 0) {
    io.stdout(`lab set up: nothing to install (kernels: ${kernels.join(', ')})\n`);
    return kernels;
  }
  io.stderr(`kmodlab lab setup will change this host:\n${changes.map((l) => (l.startsWith(' ') ? `  ${l}` : `  - ${l}`)).join('\n')}\n`);
  const command = `LAB_KERNELS="${kernels.join(' ')}" ${LAB_PACKAGES_SCRIPT}`;
  if (flags.dryRun) {
    io.stdout(`${command}\n`);
    return undefined;
  }
  if (!flags.yes) {
    if (!process.stdin.isTTY) {
      throw new UserError('lab setup changes this host (listed above) and stdin is not a terminal to ask on: pass --yes to confirm', `kmodlab lab setup --dry-run lists the changes${plan.divert ? '; kmodlab lab teardown undoes the divert' : ''}`);
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question('Proceed? [y/N] ');
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.stderr('nothing changed\n');
      return undefined;
    }
  }
  io.stderr(`running: ${command}\n`);
  const r = spawnSync(LAB_PACKAGES_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, LAB_KERNELS: kernels.join(' ') } });
  if (r.status !== 0) throw new UserError(`${LAB_PACKAGES_SCRIPT} failed (exit ${r.status ?? r.signal})`, 'it needs root and access to the Debian package mirror');
  return kernels;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** What lab setup changed that can be undone is undone; the rest is listed with how to remove it. */
export function runLabTeardown(io: CliIO): void {
  const undone = undoHookDivert();
  io.stdout(
    undone
      ? `restored initramfs-tools' kernel hook (removed the divert to ${INITRAMFS_HOOK_DIVERTED}): kernels installed from now on get an initramfs again\n`
      : `initramfs-tools' kernel hook is not diverted by kmodlab: nothing to undo\n`,
  );
  const kernels = listKernels().filter((k) => k.source === 'system');
  const noInitrd = kernels.filter((k) => !existsSync(path.join(path.dirname(k.vmlinuz), `initrd.img-${k.kver}`)));
  const cache = labCacheRoot();
  const left = [
    kernels.length
      ? `kernels (with headers): ${kernels.map((k) => k.kver).join(', ')} — remove: apt-get purge ${kernels.map((k) => `linux-image-${k.kver} linux-headers-${k.kver}`).join(' ')}`
      : undefined,
    noInitrd.length ? `kernels without an initramfs (installed while the hook was diverted): ${noInitrd.map((k) => k.kver).join(', ')} — to boot this machine on one: update-initramfs -c -k <kver>` : undefined,
    `the lab's tools (qemu-system-x86, busybox-static, kmod, cpio, build-essential, time, …), which other software may use — scripts/lab-packages.sh lists them`,
    existsSync(cache) ? `caches: ${cache} (${mib(dirBytes(cache))}: vmlinux, initramfs images, driver builds) — remove: rm -rf ${cache}` : undefined,
    existsSync(userKernelsFile()) ? `kernels added with add-kernel: ${userKernelsFile()} (kmodlab lab remove-kernel <kver>)` : undefined,
    'run directories (runs/<time>/ where evaluate ran) — each holds its own driver builds unless --build-cache was given',
  ].filter((l): l is string => Boolean(l));
  io.stdout(`left on this host:\n${left.map((l) => `  - ${l}`).join('\n')}\n`);
}
