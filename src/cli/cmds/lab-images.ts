/**
 * `kmodlab lab images | release-info`, and the image step of `lab setup`: the lab
 * release (per kernel an OS image, a driver-toolkit image and a runtime base) built
 * with buildah and kept in a registry (kmodlab's own on 127.0.0.1, or --registry).
 */
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { findKernel } from '../../targets/lab/kernels/catalog.js';
import { labReleaseInfoFor, listLabImages, setupLabImages } from '../../targets/lab/images/lab-release.js';
import type { ReleaseImage } from '../../targets/lab/images/release-images.js';
import type { OpenRegistryOptions } from '../../targets/lab/images/registry.js';
import type { CliIO } from '../output.js';

export interface RegistryFlags {
  registry?: string;
  registryPort?: string;
}

export function addRegistryOptions(cmd: Command): Command {
  return cmd
    .option('--registry <host[:port][/path]>', "an existing registry for the lab's images (default: $KMODLAB_REGISTRY, else kmodlab's own on 127.0.0.1)")
    .option('--registry-port <port>', "port of kmodlab's own registry (default: $KMODLAB_REGISTRY_PORT, else the one used last time)");
}

export function registryOptions(flags: RegistryFlags): OpenRegistryOptions {
  let port: number | undefined;
  if (flags.registryPort !== undefined) {
    port = Number(flags.registryPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`--registry-port "${flags.registryPort}": expected a TCP port number (1-65535)`);
    if (flags.registry) throw new UserError('--registry-port applies to kmodlab\'s own registry; it cannot be combined with --registry');
  }
  return { registry: flags.registry, port };
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

/** The image step of `lab setup`: build and push what the registry lacks, for the given kernels (default: all installed). */
export async function setupImagesStep(io: CliIO, flags: RegistryFlags & { kernels?: string[] }): Promise<void> {
  const kernels = flags.kernels?.map((k) => findKernel(k));
  io.stderr('lab setup: lab release images (buildah → registry)\n');
  const r = await setupLabImages(kernels, { ...registryOptions(flags), log: (l) => io.stderr(`${l}\n`) });
  io.stderr(
    `lab setup: ${r.images.length} images in ${r.registry} (${r.built} built, ${r.images.length - r.built} unchanged) in ${seconds(r.wallMs)}` +
      (r.registryBytes !== undefined ? `; registry storage ${mib(r.registryBytes)}` : '') +
      '\n',
  );
}

function imageRow(i: ReleaseImage): string[] {
  const b = i.build;
  return [
    i.role,
    i.kver ?? '-',
    i.tag,
    i.digest ? i.digest.slice(0, 19) : 'not built',
    mib(i.sizeBytes),
    i.layers === undefined ? '-' : String(i.layers),
    seconds(b?.usage.wallMs),
    b ? seconds(b.usage.userCpuMs + b.usage.systemCpuMs) : '-',
    mib(b?.usage.peakRssBytes),
    mib(b?.bytesPushed),
  ];
}

export function registerLabImageCommands(lab: Command, io: CliIO): void {
  addRegistryOptions(
    lab
      .command('images')
      .description('List the lab release images of the installed kernels: digest, size and layers in the registry, and the figures of the build that made each.')
      .option('-o, --output <format>', 'table | json', 'table'),
  ).action(async (flags: RegistryFlags & { output: string }) => {
    if (flags.output !== 'table' && flags.output !== 'json') throw new UserError(`-o/--output: unknown format "${flags.output}": expected table or json`);
    const images = await listLabImages(registryOptions(flags));
    if (flags.output === 'json') {
      io.stdout(`${JSON.stringify(images, null, 2)}\n`);
      return;
    }
    const rows = [['ROLE', 'KERNEL', 'TAG', 'DIGEST', 'SIZE', 'LAYERS', 'BUILD', 'CPU', 'PEAK RSS', 'PUSHED'], ...images.map(imageRow)];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    io.stdout(rows.map((r) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n');
    if (images.some((i) => !i.digest)) io.stderr('some images are not built: run kmodlab lab setup\n');
  });

  addRegistryOptions(
    lab
      .command('release-info <kernel>')
      .description("Print a lab kernel's release (OS image, driver-toolkit, runtime base, by digest) as `oc adm release info -o json` does, for `kmodlab render --release-info`."),
  ).action(async (kver: string, flags: RegistryFlags) => {
    io.stdout(`${JSON.stringify(await labReleaseInfoFor(kver, registryOptions(flags)), null, 2)}\n`);
  });
}
