/** `kmodlab render`: a driver + a release → each method's artifacts, as files or on stdout. */
import path from 'node:path';
import type { Command } from 'commander';
import { allObjects, writeArtifactSet, type ArtifactSet } from '../../artifacts/artifact-set.js';
import { loadDriver } from '../../driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../driver/reference.js';
import { UserError } from '../../errors.js';
import { renderMethods } from '../../methods/render.js';
import { resolveRelease } from '../../release/resolve.js';
import { toYamlStream } from '../../yaml.js';
import type { CliIO } from '../output.js';

interface RenderFlags {
  driver: string;
  method: string;
  ocpVersion?: string;
  kernel?: string;
  dtkImage?: string;
  rhcosImage?: string;
  releaseInfo?: string;
  day1?: boolean;
  pool: string;
  registry?: string;
  namespace?: string;
  variant?: string;
  kmmVersion?: string;
  outputDir?: string;
  output?: string;
}

export function registerRenderCommand(program: Command, io: CliIO): void {
  program
    .command('render')
    .description("Write each delivery method's artifacts (manifests, Containerfiles, README) for a driver and a release.")
    .option('--driver <file>', 'driver spec (YAML)', REFERENCE_DRIVER_FILE)
    .option('--method <method>', 'layering | dtk | kmm | all (comma-separated list allowed)', 'all')
    .option('--ocp-version <version>', 'OpenShift version, e.g. 4.14.12')
    .option('--kernel <version>', "the release's RHCOS kernel (uname -r), e.g. 5.14.0-284.52.1.el9_2.x86_64")
    .option('--dtk-image <pullspec>', "the release's driver-toolkit image (oc adm release info --image-for=driver-toolkit)")
    .option('--rhcos-image <pullspec>', "the release's rhel-coreos image (oc adm release info --image-for=rhel-coreos)")
    .option('--release-info <file>', 'saved output of `oc adm release info <release>` (text or -o json); flags override it')
    .option('--day1', 'render the Day-1 (install-time) form: manifests for the installer openshift/ directory')
    .option('--pool <pool>', 'MachineConfigPool / node role the driver goes to: worker, master (single-node OpenShift) or a custom pool (e.g. infra, gpu)', 'worker')
    .option('--registry <prefix>', 'repository prefix for images kmodlab asks you to build, e.g. quay.io/acme')
    .option('--namespace <ns>', "namespace for the method's namespaced objects")
    .option('--variant <variant>', 'method variant (dtk: pinned|tracking, layering: off-cluster|on-cluster)')
    .option('--kmm-version <version>', 'KMM release the kmm files are for, e.g. 2.4 (default: the newest KMM for the OpenShift version)')
    .option('--output-dir <dir>', 'write <dir>/<method>/… files')
    .option('-o, --output <format>', 'print all objects to stdout instead: yaml | json')
    .addHelpText(
      'after',
      `
Examples:
  kmodlab render --method all --ocp-version 4.14.12 --kernel 5.14.0-284.52.1.el9_2.x86_64 --output-dir out/
  kmodlab render --driver my-driver/driver.yaml --method kmm --release-info release.json -o yaml | oc apply -f -
  kmodlab render --method layering --day1 --pool master --registry quay.io/acme --release-info release.txt --output-dir out/`,
    )
    .action(async (flags: RenderFlags) => {
      await runRender(flags, io);
    });
}

export async function runRender(flags: RenderFlags, io: CliIO): Promise<void> {
  if (flags.output !== undefined && flags.outputDir !== undefined) {
    throw new UserError('-o/--output and --output-dir conflict: print to stdout with -o yaml|json, or write files with --output-dir <dir>, not both');
  }
  if (flags.output === undefined && flags.outputDir === undefined) {
    throw new UserError('say where the artifacts go: --output-dir <dir> (files) or -o yaml|json (stdout)');
  }
  if (flags.output !== undefined && flags.output !== 'yaml' && flags.output !== 'json') {
    throw new UserError(`-o/--output: unknown format "${flags.output}": expected yaml or json`);
  }
  const driver = await loadDriver(flags.driver);
  const release = await resolveRelease({
    releaseInfoFile: flags.releaseInfo,
    ocpVersion: flags.ocpVersion,
    kernel: flags.kernel,
    dtkImage: flags.dtkImage,
    rhcosImage: flags.rhcosImage,
  });
  const sets = renderMethods(driver.spec, release, flags.method, {
    day1: flags.day1 ?? false,
    pool: flags.pool,
    registry: flags.registry,
    namespace: flags.namespace,
    variant: flags.variant,
    kmmVersion: flags.kmmVersion,
    sourceDir: driver.sourceDir,
  });

  if (flags.output !== undefined) {
    const objects = sets.flatMap((s) => allObjects(s));
    io.stdout(flags.output === 'json' ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n` : toYamlStream(objects));
    reportPlaceholders(sets, io);
    return;
  }
  const outDir = path.resolve(flags.outputDir!);
  for (const set of sets) {
    const written = await writeArtifactSet(set, outDir);
    io.stderr(`${set.method}${set.variant ? ` (${set.variant})` : ''}${set.day1 ? ' day1' : ''}: wrote ${written.length} files to ${path.join(outDir, set.method)}\n`);
  }
  reportPlaceholders(sets, io);
}

function reportPlaceholders(sets: ArtifactSet[], io: CliIO): void {
  for (const s of sets) for (const w of s.warnings ?? []) io.stderr(`warning: ${w}\n`);
  const seen = new Map<string, string>();
  for (const s of sets) for (const p of s.placeholders) seen.set(p.token, p.howToFill);
  if (seen.size === 0) return;
  io.stderr(`note: ${seen.size} value(s) were not known and are left as placeholders (the READMEs say how to fill them):\n`);
  for (const [token, how] of seen) io.stderr(`  ${token}: ${how}\n`);
}
