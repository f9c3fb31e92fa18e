/** `kmodlab render`: a driver + a release → each method's artifacts, as files or on stdout. */
import path from 'node:path';
import type { Command } from 'commander';
import { hiddenAlias, mergeAlias } from '../flag-aliases.js';
import { allObjects, writeArtifactSet, type ArtifactSet } from '../../artifacts/artifact-set.js';
import { checkOutputDir, clearMethodDirs, outputDirError } from '../../artifacts/output-dir.js';
import { loadDriver } from '../../driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../driver/reference.js';
import { UserError } from '../../errors.js';
import { methodsFor, renderMethods } from '../../methods/render.js';
import type { Placeholder } from '../../release/placeholders.js';
import { resolveRelease } from '../../release/resolve.js';
import { toYamlStream } from '../../yaml.js';
import type { CliIO } from '../output.js';
import { checkKernelFlag, checkMethodsForRelease } from '../render-checks.js';

interface RenderFlags {
  driver: string;
  method: string;
  /** Hidden alias of --method (evaluate's spelling). */
  methods?: string;
  ocpVersion?: string;
  kernel?: string;
  dtkImage?: string;
  rhcosImage?: string;
  releaseInfo?: string;
  osFamily?: string;
  day1?: boolean;
  pool: string;
  registry?: string;
  namespace?: string;
  variant?: string;
  kmmVersion?: string;
  outputDir?: string;
  output?: string;
  layeredImage?: string;
  allowPlaceholders?: boolean;
  overwrite?: boolean;
}

export function registerRenderCommand(program: Command, io: CliIO): void {
  program
    .command('render')
    .description("Write each delivery method's artifacts (manifests, Containerfiles, README) for a driver and a release.")
    .option('--driver <file>', 'driver spec (YAML)', REFERENCE_DRIVER_FILE)
    .option('--method <method>', 'layering | dtk | kmm | all (comma-separated list allowed; --methods works too)', 'all')
    .addOption(hiddenAlias('--methods <list>', 'alias of --method'))
    .option('--ocp-version <version>', 'OpenShift version, e.g. 4.14.12')
    .option('--kernel <version>', "the release's RHCOS kernel (uname -r), e.g. 5.14.0-284.52.1.el9_2.x86_64")
    .option('--dtk-image <pullspec>', "the release's driver-toolkit image (oc adm release info --image-for=driver-toolkit)")
    .option('--rhcos-image <pullspec>', "the release's rhel-coreos image (oc adm release info --image-for=rhel-coreos)")
    .option('--release-info <file>', 'saved output of `oc adm release info <release>` (text or -o json); flags override it')
    .option('--os-family <family>', 'node OS family the Containerfiles are for: rhcos | debian-lab (the kmodlab lab); default: what --release-info names, else rhcos')
    .option('--day1', 'render the Day-1 (install-time) form: manifests for the installer openshift/ directory')
    .option('--pool <pool>', 'MachineConfigPool / node role the driver goes to: worker, master (single-node OpenShift) or a custom pool (e.g. infra, gpu)', 'worker')
    .option('--registry <prefix>', 'repository prefix for images kmodlab asks you to build, e.g. quay.io/acme')
    .option('--namespace <ns>', "namespace for the method's namespaced objects")
    .option('--variant <variant>', 'method variant (dtk: pinned|tracking, layering: off-cluster|on-cluster)')
    .option('--kmm-version <version>', 'KMM release the kmm files are for, e.g. 2.4 (default: the newest KMM for the OpenShift version)')
    .option('--layered-image <pullspec>', 'layering: the layered OS image you built and pushed, by digest (<repository>@sha256:<digest>)')
    .option('--output-dir <dir>', 'write <dir>/<method>/… files (into a new or empty directory)')
    .option('--overwrite', 'with --output-dir: write into a non-empty directory, replacing the <dir>/<method>/ folders this render writes')
    .option('-o, --output <format>', "print one method's objects to stdout instead: yaml | json (refused while placeholders remain)")
    .option('--allow-placeholders', 'with -o: print even though some values are still placeholders (the objects will not work as they are)')
    .addHelpText(
      'after',
      `
Examples:
  kmodlab render --method all --ocp-version 4.14.12 --kernel 5.14.0-284.52.1.el9_2.x86_64 --output-dir out/
  kmodlab render --driver my-driver/driver.yaml --method kmm --release-info release.json -o yaml | oc apply -f -
  kmodlab render --method layering --release-info release.json --registry quay.io/acme --layered-image quay.io/acme/simple-kmod-rhcos@sha256:<digest> -o yaml
  kmodlab render --method layering --day1 --pool master --registry quay.io/acme --release-info release.txt --output-dir out/
  kmodlab render --method dtk --release-info <(kmodlab lab release-info 6.1.0-57-amd64) --output-dir lab-out/`,
    )
    .action(async (flags: RenderFlags, cmd: Command) => {
      mergeAlias(cmd, flags, 'method', 'methods', '--method', '--methods');
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
  if (flags.output !== undefined) {
    // One driver, one cluster, one method: two methods' objects in one stream load the
    // same module twice (a DaemonSet and a Module, a MachineConfig on top) and declare
    // the namespace twice with different labels.
    const methods = methodsFor(flags.method);
    if (methods.length !== 1) {
      throw new UserError(
        `-o prints the objects of one method, for \`oc apply -f -\`; --method ${flags.method} selects ${methods.map((m) => m.id).join(', ')}: several methods for one driver on one cluster fight over the module`,
        'pick one with --method layering|dtk|kmm, or write every method with --output-dir <dir> to compare them',
      );
    }
  }
  if (flags.allowPlaceholders && flags.output === undefined) {
    throw new UserError('--allow-placeholders applies to -o yaml|json; files written with --output-dir always may hold placeholders (their README says how to fill them)');
  }
  if (flags.overwrite && flags.outputDir === undefined) {
    throw new UserError('--overwrite applies to --output-dir <dir>; -o prints to stdout and overwrites nothing');
  }
  // Checked before anything is read or created: a bad --output-dir is the user's first error to fix.
  const outCheck = flags.outputDir !== undefined ? await checkOutputDir(flags.outputDir, { overwrite: flags.overwrite }) : undefined;
  const driver = await loadDriver(flags.driver);
  const release = await resolveRelease({
    releaseInfoFile: flags.releaseInfo,
    ocpVersion: flags.ocpVersion,
    kernel: flags.kernel,
    dtkImage: flags.dtkImage,
    rhcosImage: flags.rhcosImage,
    osFamily: flags.osFamily,
  });
  for (const w of checkKernelFlag(flags.kernel)) io.stderr(`warning: ${w}\n`);
  checkMethodsForRelease(
    methodsFor(flags.method).map((m) => m.id),
    release,
    flags.ocpVersion !== undefined ? '--ocp-version' : '--release-info',
  );
  const sets = renderMethods(driver.spec, release, flags.method, {
    day1: flags.day1 ?? false,
    pool: flags.pool,
    registry: flags.registry,
    namespace: flags.namespace,
    variant: flags.variant,
    kmmVersion: flags.kmmVersion,
    sourceDir: driver.sourceDir,
    layeredImage: flags.layeredImage,
  });
  if (flags.layeredImage !== undefined && !sets.some((s) => s.method === 'layering' && s.variant === 'off-cluster')) {
    throw new UserError('--layered-image applies to --method layering (variant off-cluster), whose MachineConfig boots that image');
  }

  if (flags.output !== undefined) {
    const objects = sets.flatMap((s) => allObjects(s));
    const text = flags.output === 'json' ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n` : toYamlStream(objects);
    const left = placeholdersIn(text, sets);
    if (left.length > 0 && !flags.allowPlaceholders) {
      throw new UserError(
        `-o ${flags.output}: ${left.length} value(s) are still placeholders, so these objects cannot work on a cluster:\n${left.map((p) => `  ${p.token}: fill with ${p.flag}`).join('\n')}`,
        'give the missing facts (the flags above), write files with --output-dir <dir> (their README says how to fill each value), or add --allow-placeholders to print them anyway',
      );
    }
    io.stdout(text);
    if (left.length > 0) reportPlaceholders(sets, io);
    return;
  }
  const outDir = outCheck!.dir;
  await clearMethodDirs(outCheck!, sets.map((s) => s.method));
  for (const set of sets) {
    const written = await writeArtifactSet(set, outDir).catch((e: unknown) => Promise.reject(outputDirError(flags.outputDir!, e, `write ${set.method}/`)));
    io.stderr(`${set.method}${set.variant ? ` (${set.variant})` : ''}${set.day1 ? ' day1' : ''}: wrote ${written.length} files to ${path.join(outDir, set.method)}\n`);
  }
  reportPlaceholders(sets, io);
}

/**
 * Placeholders left in the printed text. Only what is printed counts: a placeholder
 * used in a Containerfile or build script only is not part of the stream. Any FILL_ME
 * that no set declares is reported too, so nothing unfilled slips through.
 */
function placeholdersIn(text: string, sets: ArtifactSet[]): Pick<Placeholder, 'token' | 'flag'>[] {
  const declared = new Map<string, Placeholder>();
  for (const s of sets) for (const p of s.placeholders) declared.set(p.token, p);
  const left: Pick<Placeholder, 'token' | 'flag'>[] = [...declared.values()].filter((p) => text.includes(p.token));
  const undeclared = [...new Set(text.match(/FILL_ME\w*/g) ?? [])].filter((t) => !left.some((p) => p.token.includes(t)));
  for (const token of undeclared) left.push({ token, flag: 'see the README of --output-dir' });
  return left;
}

function reportPlaceholders(sets: ArtifactSet[], io: CliIO): void {
  for (const s of sets) for (const w of s.warnings ?? []) io.stderr(`warning: ${w}\n`);
  const seen = new Map<string, string>();
  for (const s of sets) for (const p of s.placeholders) seen.set(p.token, p.howToFill);
  if (seen.size === 0) return;
  io.stderr(`note: ${seen.size} value(s) were not known and are left as placeholders (the READMEs say how to fill them):\n`);
  for (const [token, how] of seen) io.stderr(`  ${token}: ${how}\n`);
}
