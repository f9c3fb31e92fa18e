/**
 * `kmodlab lab build <method-output-dir> [--source <driver dir>]`: the off-cluster build
 * steps of a rendered README (layering's build.sh, the source image of KMM's or on-cluster layering's in-cluster build), run with buildah
 * into the lab registry, for kubectl users of `lab up` (the counterpart of `lab start-build`
 * for what a person builds off-cluster). Prints the digest-pinned references; progress on stderr.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ExitStatus, UserError } from '../../errors.js';
import { OffClusterBuildError, runOffClusterBuilds, type OffClusterImage } from '../../targets/lab/images/off-cluster-build.js';
import { openRegistry } from '../../targets/lab/images/registry.js';
import type { CliIO } from '../output.js';
import { addRegistryOptions, registryOptions, type RegistryFlags } from './lab-images.js';

function mib(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  return bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`;
}

function row(i: OffClusterImage): string[] {
  const u = i.built.usage;
  return [
    i.step,
    i.digestRef,
    i.cached ? 'unchanged' : `${(u.wallMs / 1000).toFixed(1)} s`,
    `${((u.userCpuMs + u.systemCpuMs) / 1000).toFixed(1)} s`,
    mib(u.peakRssBytes),
    mib(i.sizeBytes),
    String(i.layers),
    mib(i.built.bytesPushed),
  ];
}

export function registerLabBuild(lab: Command, io: CliIO): void {
  addRegistryOptions(
    lab
      .command('build <method-output-dir>')
      .description(
        "Run the off-cluster build steps of a rendered method (layering's build.sh, a Containerfile.source the README asks you to push) with buildah into the lab registry; prints the digest-pinned image references. build.sh pins osImageURL in the MachineConfig file, as it does for a person.",
      )
      .option('--source <dir>', 'the driver source directory (default: the one the rendered files name)')
      .option('--no-cache', 'build again even when the inputs are unchanged')
      .option('-o, --output <format>', 'table | json', 'table'),
  ).action(async (dir: string, flags: RegistryFlags & { source?: string; cache: boolean; output: string }) => {
    if (flags.output !== 'table' && flags.output !== 'json') throw new UserError(`-o/--output: unknown format "${flags.output}": expected table or json`);
    // Bad input is reported before the registry is started.
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`<method-output-dir> ${dir}: no such directory (expected a method output directory of kmodlab render, e.g. <output-dir>/layering)`);
    if (flags.source !== undefined && (!existsSync(flags.source) || !statSync(flags.source).isDirectory())) throw new UserError(`--source ${flags.source}: no such directory (expected the driver source directory)`);
    const registry = await openRegistry(registryOptions(flags));
    let images: OffClusterImage[];
    try {
      images = await runOffClusterBuilds(dir, {
        registry,
        sourceDir: flags.source ? path.resolve(flags.source) : undefined,
        noCache: !flags.cache,
        log: (l) => io.stderr(`lab build: ${l}\n`),
      });
    } catch (e) {
      // A failed build step is the build's outcome, not kmodlab's failure: its log tail, exit 1.
      if (e instanceof OffClusterBuildError) {
        io.stderr(`error: ${e.message}\n`);
        throw new ExitStatus(1);
      }
      throw e;
    } finally {
      await registry.stop();
    }
    if (flags.output === 'json') {
      io.stdout(`${JSON.stringify(images, null, 2)}\n`);
      return;
    }
    const rows = [['STEP', 'IMAGE', 'BUILD', 'CPU', 'PEAK RSS', 'SIZE', 'LAYERS', 'PUSHED'], ...images.map(row)];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    io.stdout(rows.map((r) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n');
    for (const i of images) {
      if (i.pinned) io.stderr(`lab build: ${i.pinned.file}: osImageURL ${i.pinned.osImageURL}\n`);
      if (i.image !== i.renderedImage) io.stderr(`lab build: the rendered files name ${i.renderedImage}; pushed to the lab registry as ${i.image}${i.step === 'source-image' ? ' (render with --registry <lab registry> so the in-cluster build copies from it)' : ''}\n`);
    }
  });
}
