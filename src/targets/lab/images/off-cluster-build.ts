/**
 * The off-cluster build steps a rendered method README tells a person to do, run for real
 * against the lab registry:
 *   - layering (off-cluster): `./build.sh [driver source dir]` itself — podman build of the
 *     rendered Containerfile with the release's RHCOS_IMAGE/DTK_IMAGE, podman push
 *     --digestfile, and the script's own pin of `osImageURL` in the MachineConfig file;
 *   - a driver container image (dtk Day 1: no in-cluster build at install time): the README's
 *     `podman build --build-arg DTK=… --build-arg KVER=… -t <image> -f Containerfile <driver
 *     source dir>` and `podman push <image>` (with --digestfile); the pull secret's
 *     --authfile is dropped (the lab registry needs none);
 *   - a source image (KMM's in-cluster build, on-cluster layering: builds with no build context
 *     that copy the driver source from an image): the README's `podman build -f
 *     Containerfile.source -t <image> <driver source dir>` and `podman push <image>` (with
 *     --digestfile, to learn the digest).
 * `podman` is podman-shim.ts over buildah; the whole process tree (script, buildah, the
 * build's RUN steps) runs under GNU time (measured-command.ts). The image goes to the lab
 * registry: a rendered image whose registry is not the lab's is pushed to
 * `<lab prefix>/<its last path component>` instead (build.sh reads IMAGE from the
 * environment for exactly this; the pin then names where it really is).
 *
 * Content-addressed: a build whose inputs (the rendered files, the driver source tree, the
 * environment overrides, the destination) are those of an earlier build whose digest the
 * registry still holds is not built again; the script still runs (so build.sh still pins)
 * with `podman` answering from that digest.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../../errors.js';
import { runMeasured, type CommandUsage } from '../driver-builds/measured-command.js';
import { hashSourceTree } from '../driver-builds/source-hash.js';
import { labCacheDir, sha256, writeFileAtomic } from '../host/cache.js';
import { Buildah, shQuote } from './buildah.js';
import { writePodmanShim } from './podman-shim.js';
import { inspectManifest } from './registry-client.js';
import { blobSnapshot, newBlobBytes, pushCompression, type LabRegistry } from './registry.js';

/** Bump when how a build runs changes in a way its inputs do not show. */
const FORMAT = 'kmodlab-off-cluster-build-v1';

export type OffClusterStep = 'layered-os-image' | 'driver-image' | 'source-image';

/** Where each step's script writes the pushed digest (podman push --digestfile). */
const DIGEST_FILE: Record<OffClusterStep, string> = { 'layered-os-image': 'image-digest.txt', 'driver-image': 'driver-image-digest.txt', 'source-image': 'source-image-digest.txt' };

export interface OffClusterBuildPlan {
  step: OffClusterStep;
  /** The method output directory holding the rendered files. */
  dir: string;
  /** The rendered file built (relative to dir). */
  containerfile: string;
  /** The image the rendered files name. */
  renderedImage: string;
  /** Where it is pushed (the lab registry). */
  image: string;
  sourceDir: string;
  /** The shell script run (what the README says, with `podman` = the shim). */
  script: string;
  /** The manual-step command it performs (manual-steps.ts's wording). */
  manualStep: string;
}

export interface OffClusterImage {
  step: OffClusterStep;
  containerfile: string;
  renderedImage: string;
  /** `<repository>:<tag>` pushed. */
  image: string;
  digest: string;
  /** `<repository>@<digest>`. */
  digestRef: string;
  /** The file and value build.sh pinned (layering). */
  pinned?: { file: string; osImageURL: string };
  /** The kernel the layered image was built for (from the Containerfile's own log line). */
  kver?: string;
  /** True when the inputs were unchanged and nothing was built (figures are the earlier build's). */
  cached: boolean;
  /** The whole script's process tree: build + push (this run's, also when cached). */
  usage: CommandUsage;
  /** The figures of the build that made the image (this run's unless cached). */
  built: { usage: CommandUsage; bytesPushed?: number; builtAt: string };
  /** Compressed size as stored (config + layers) and layer count. */
  sizeBytes: number;
  layers: number;
  logFile: string;
  manualStep: string;
}

export class OffClusterBuildError extends Error {
  constructor(
    readonly plan: OffClusterBuildPlan,
    readonly logFile: string,
    readonly usage: CommandUsage,
  ) {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-25).join('\n') : '';
    super(`${plan.step}: ${plan.containerfile} in ${plan.dir} failed (exit ${usage.exitCode}) after ${(usage.wallMs / 1000).toFixed(1)} s; log ${logFile}:\n${tail}`);
    this.name = 'OffClusterBuildError';
  }
}

/** The image name on the lab registry: the rendered one if it is there already, else `<prefix>/<last component>`. */
export function labDestination(rendered: string, registry: LabRegistry): string {
  const host = rendered.split('/')[0]!;
  if (host === registry.host) return rendered;
  return `${registry.prefix}/${rendered.split('/').pop()!}`;
}

function shellDefault(script: string, name: string): string | undefined {
  return new RegExp(`^${name}="\\$\\{${name}:-([^}]*)\\}"`, 'm').exec(script)?.[1];
}

/** What `dir` (one method's output directory) asks to be built off-cluster; [] when nothing. */
export function planOffClusterBuilds(dir: string, registry: LabRegistry, opts: { sourceDir?: string; env?: NodeJS.ProcessEnv } = {}): OffClusterBuildPlan[] {
  const plans: OffClusterBuildPlan[] = [];
  const env = opts.env ?? process.env;
  const buildSh = join(dir, 'build.sh');
  if (existsSync(buildSh) && existsSync(join(dir, 'Containerfile'))) {
    const text = readFileSync(buildSh, 'utf8');
    const rendered = shellDefault(text, 'IMAGE');
    // context="${1:-<dir>}" when render knew the driver's directory, context="${1:?usage…}" when not (an argument is required).
    const m = /^context="\$\{1:([-?])([^}]*)\}"/m.exec(text);
    if (!rendered || !m) throw new UserError(`${buildSh}: not a build.sh kmodlab rendered (no IMAGE="\${IMAGE:-…}" or context="\${1:-…}" line)`, 're-render the method with kmodlab render');
    const context = opts.sourceDir ?? (m[1] === '-' ? m[2] : undefined);
    if (!context) throw new UserError(`${buildSh}: needs the driver source directory (build.sh takes it as its argument)`, 'pass --source <driver dir>');
    const sourceDir = resolve(context);
    const image = env.IMAGE || labDestination(rendered, registry);
    plans.push({
      step: 'layered-os-image',
      dir,
      containerfile: 'Containerfile',
      renderedImage: rendered,
      image,
      sourceDir,
      script: `IMAGE=${shQuote(image)} ./build.sh ${shQuote(sourceDir)}`,
      manualStep: './build.sh',
    });
  }
  const driverImage = driverImagePlan(dir, registry, opts.sourceDir);
  if (driverImage) plans.push(driverImage);
  const source = join(dir, 'Containerfile.source');
  if (existsSync(source)) {
    // The README's own command line names the image and the source directory.
    const readme = existsSync(join(dir, 'README.md')) ? readFileSync(join(dir, 'README.md'), 'utf8') : '';
    const m = /^podman build -f Containerfile\.source -t (\S+) (\S+)$/m.exec(readme);
    // No such line: the set packs the source itself (dtk tracking's binary build), nothing for a person to push.
    if (m) {
      const sourceDir = resolve(opts.sourceDir ?? m[2]!);
      const image = labDestination(m[1]!, registry);
      plans.push({
        step: 'source-image',
        dir,
        containerfile: 'Containerfile.source',
        renderedImage: m[1]!,
        image,
        sourceDir,
        script: `podman build -f Containerfile.source -t ${shQuote(image)} ${shQuote(sourceDir)}\npodman push --digestfile source-image-digest.txt ${shQuote(image)}`,
        manualStep: `podman build -f Containerfile.source -t ${m[1]} ${sourceDir} && podman push ${m[1]}`,
      });
    }
  }
  // After the source image: KMM's Containerfile copies the driver source from it.
  const kmodImage = kmmDay1ImagePlan(dir, registry);
  if (kmodImage) plans.push(kmodImage);
  for (const p of plans) {
    if (!existsSync(p.sourceDir) || !statSync(p.sourceDir).isDirectory()) {
      throw new UserError(`driver source directory ${p.sourceDir} (named by ${p.step === 'layered-os-image' ? join(dir, 'build.sh') : join(dir, 'README.md')}) does not exist`, 'pass --source <driver dir>');
    }
  }
  return plans;
}

/** The README of a directory built with its own Containerfile (not layering's build.sh), if it has both. */
function containerfileReadme(dir: string): string | undefined {
  if (!existsSync(join(dir, 'Containerfile')) || existsSync(join(dir, 'build.sh')) || !existsSync(join(dir, 'README.md'))) return undefined;
  return readFileSync(join(dir, 'README.md'), 'utf8');
}

/** The plan of one `podman build -f Containerfile` + push the README names: its build args, into the lab registry. */
function containerfilePlan(dir: string, registry: LabRegistry, renderedImage: string, buildArgs: string, context: string): OffClusterBuildPlan {
  const args = [...buildArgs.matchAll(/--build-arg (\w+)=(\S+)/g)].map((a) => `--build-arg ${a[1]}=${shQuote(a[2]!)}`);
  const image = labDestination(renderedImage, registry);
  return {
    step: 'driver-image',
    dir,
    containerfile: 'Containerfile',
    renderedImage,
    image,
    sourceDir: context,
    script: `podman build ${args.join(' ')} -t ${shQuote(image)} -f Containerfile ${shQuote(context)}\npodman push --digestfile ${DIGEST_FILE['driver-image']} ${shQuote(image)}`,
    // manual-steps.ts's wording of the step.
    manualStep: `podman build -f Containerfile ${context} && podman push <image>`,
  };
}

/**
 * The README's off-cluster build of the driver container image itself (dtk Day 1), when it
 * has one: `podman build [--authfile f] --build-arg K=V… -t <image> -f Containerfile <context>`.
 * A build that needs signing secrets (--secret) is left to the person: kmodlab holds no keys.
 */
function driverImagePlan(dir: string, registry: LabRegistry, sourceDir: string | undefined): OffClusterBuildPlan | undefined {
  const readme = containerfileReadme(dir);
  const m = readme && /^podman build ((?:[^\n]*\\\n)*?)\s*-t (\S+) -f Containerfile (\S+)\npodman push \S+$/m.exec(readme);
  if (!m || /--secret\b/.test(m[1]!)) return undefined;
  return containerfilePlan(dir, registry, m[2]!, m[1]!, resolve(sourceDir ?? m[3]!));
}

/**
 * The README's off-cluster build of a KMM Day-1 kmod image (the image the loader
 * MachineConfig pulls, `<repo>:<kernel>`): `podman build -f Containerfile --authfile …
 * -v "$PWD/host-modules:/lib/modules/<kver>:ro" --build-arg DTK_AUTO=… --build-arg
 * KERNEL_FULL_VERSION=… -t <image> .` then `podman push <image>`. The README mounts the
 * DTK image's own module tree over /lib/modules/<kver> (KMM mounts the node's); in the
 * builder stage, which is that DTK image, the tree is already there, so the lab builds
 * without the mount. A signed image (built `-unsigned`, then signed with the person's
 * keys) is left to the person: kmodlab holds no keys.
 */
function kmmDay1ImagePlan(dir: string, registry: LabRegistry): OffClusterBuildPlan | undefined {
  const readme = containerfileReadme(dir);
  const m = readme && /^podman build -f Containerfile (?:--authfile \S+ )?(?:-v \S+ )?\\\n((?:[ \t]+--build-arg \S+ \\\n)+)[ \t]+-t (\S+) \.\npodman push (\S+)$/m.exec(readme);
  if (!m || m[2] !== m[3]) return undefined;
  return containerfilePlan(dir, registry, m[2]!, m[1]!, dir);
}

interface CacheRecord {
  digest: string;
  image: string;
  kver?: string;
  usage: CommandUsage;
  bytesPushed?: number;
  builtAt: string;
}

function cacheKey(p: OffClusterBuildPlan, env: NodeJS.ProcessEnv): string {
  const files = readdirSync(p.dir)
    .filter((f) => f !== 'README.md' && !f.endsWith('-digest.txt') && statSync(join(p.dir, f)).isFile())
    .sort()
    // build.sh pins the MachineConfig file in place: its osImageURL line is an output, not an input.
    .map((f) => `${f}\0${readFileSync(join(p.dir, f), 'utf8').replace(/^(\s*osImageURL:).*$/m, '$1')}`);
  const overrides = ['RHCOS_IMAGE', 'DTK_IMAGE', 'AUTHFILE'].map((k) => `${k}=${env[k] ?? ''}`);
  return sha256(FORMAT, p.step, p.containerfile, p.image, hashSourceTree(p.sourceDir), ...files, ...overrides);
}

function recordFile(key: string): string {
  return join(labCacheDir('off-cluster-builds'), `${key}.json`);
}

/**
 * Forgets every off-cluster build (its records, not its logs): the next build of any
 * inputs does its work again, as on a machine that never built them. For a cold
 * measurement (the bench's cold evaluation); the images stay in the registry.
 */
export function forgetOffClusterBuilds(): number {
  const dir = labCacheDir('off-cluster-builds');
  const records = readdirSync(dir).filter((f) => f.endsWith('.json'));
  for (const f of records) rmSync(join(dir, f), { force: true });
  return records.length;
}

export interface OffClusterBuildOptions {
  registry: LabRegistry;
  buildah?: Buildah;
  /** Environment of the script (RHCOS_IMAGE/DTK_IMAGE/AUTHFILE overrides); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Build again even when the inputs are unchanged. */
  noCache?: boolean;
  log?: (line: string) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Runs one planned step; throws OffClusterBuildError (with the log tail) when it fails. */
export async function runOffClusterBuild(p: OffClusterBuildPlan, o: OffClusterBuildOptions): Promise<OffClusterImage> {
  const env = o.env ?? process.env;
  const buildah = o.buildah ?? new Buildah();
  const key = cacheKey(p, env);
  const logDir = labCacheDir('off-cluster-builds/logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${p.step}-${key.slice(0, 16)}.log`);
  rmSync(logFile, { force: true });
  let record: CacheRecord | undefined;
  if (!o.noCache && existsSync(recordFile(key))) {
    const r = JSON.parse(readFileSync(recordFile(key), 'utf8')) as CacheRecord;
    if (await inspectManifest(`${r.image.replace(/:[^:/]+$/, '')}@${r.digest}`, o.registry.insecure)) record = r;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'kmodlab-podman-'));
  try {
    const shimDir = writePodmanShim(scratch, { buildah, insecure: o.registry.insecure, compression: pushCompression(o.registry), cachedDigest: record?.digest });
    const before = record ? undefined : blobSnapshot(o.registry);
    o.log?.(`${p.step}: ${record ? 'inputs unchanged, ' : ''}${p.script.split('\n').join('; ')} (in ${p.dir})`);
    const usage = await runMeasured(`${p.script}\n`, {
      cwd: p.dir,
      env: { ...env, PATH: `${shimDir}:${env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`, IMAGE: p.image },
      logFile,
      timeoutMs: o.timeoutMs ?? 1_800_000,
      signal: o.signal,
    });
    if (usage.exitCode !== 0) throw new OffClusterBuildError(p, logFile, usage);
    const digestFile = join(p.dir, DIGEST_FILE[p.step]);
    const digest = readFileSync(digestFile, 'utf8').trim();
    const repo = p.image.replace(/:[^:/]+$/, '');
    const digestRef = `${repo}@${digest}`;
    const manifest = await inspectManifest(digestRef, o.registry.insecure);
    if (!manifest) throw new Error(`${p.step}: pushed ${digestRef} but the registry does not have it`);
    const blobs = [manifest.configDigest, ...manifest.layers.map((l) => l.digest)];
    const bytesPushed = before ? newBlobBytes(o.registry, before, blobs) : record?.bytesPushed;
    const log = readFileSync(logFile, 'utf8');
    const kver = /^kmodlab: base OS kernel (\S+)$/m.exec(log)?.[1] ?? record?.kver;
    const built = record ? { usage: record.usage, bytesPushed: record.bytesPushed, builtAt: record.builtAt } : { usage, bytesPushed, builtAt: new Date().toISOString() };
    if (!record) writeFileAtomic(recordFile(key), `${JSON.stringify({ digest, image: p.image, kver, usage, bytesPushed, builtAt: built.builtAt } satisfies CacheRecord, null, 2)}\n`);
    let pinned: OffClusterImage['pinned'];
    if (p.step === 'layered-os-image') {
      // The file build.sh itself pins (its `sed -i … "$here/<file>"`): a Day-1 set's is under openshift/.
      const mc = /^sed -i -E .*"\$here\/([^"]+)"$/m.exec(readFileSync(join(p.dir, 'build.sh'), 'utf8'))?.[1] ?? readdirSync(p.dir).find((f) => /^\d+-machineconfig-.*\.yaml$/.test(f));
      const url = mc ? /^\s*osImageURL:\s*(\S+)\s*$/m.exec(readFileSync(join(p.dir, mc), 'utf8'))?.[1] : undefined;
      if (!mc || url !== digestRef) throw new Error(`${p.step}: build.sh did not pin ${digestRef} in ${mc ?? 'a MachineConfig file'} (found ${url ?? 'nothing'})`);
      pinned = { file: mc, osImageURL: url };
    }
    o.log?.(
      `${p.step}: ${digestRef} (${record ? 'unchanged' : `built in ${(usage.wallMs / 1000).toFixed(1)} s`}, ${(manifest.sizeBytes / 1048576).toFixed(1)} MiB, ${manifest.layers.length} layers${bytesPushed !== undefined ? `, ${(bytesPushed / 1048576).toFixed(1)} MiB pushed` : ''})`,
    );
    return {
      step: p.step,
      containerfile: p.containerfile,
      renderedImage: p.renderedImage,
      image: p.image,
      digest,
      digestRef,
      ...(pinned ? { pinned } : {}),
      ...(kver ? { kver } : {}),
      cached: record !== undefined,
      usage,
      built,
      sizeBytes: manifest.sizeBytes,
      layers: manifest.layers.length,
      logFile,
      manualStep: p.manualStep,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    // The registry holds the result: no local copy is kept (builds are not layer-cached), also
    // when the push or a check failed, so a later build of the same tag leaves no unnamed image.
    if (!record) await buildah.run(['rmi', p.image], { allowFailure: true });
  }
}

/** Every off-cluster step of a method output directory (or of each method directory under a render's output directory). */
export async function runOffClusterBuilds(dir: string, o: OffClusterBuildOptions & { sourceDir?: string }): Promise<OffClusterImage[]> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`${dir}: no such directory (expected a method output directory of kmodlab render, e.g. <output-dir>/layering)`);
  let plans = planOffClusterBuilds(root, o.registry, { sourceDir: o.sourceDir, env: o.env });
  if (plans.length === 0) {
    plans = readdirSync(root)
      .filter((d) => statSync(join(root, d)).isDirectory())
      .sort()
      .flatMap((d) => planOffClusterBuilds(join(root, d), o.registry, { sourceDir: o.sourceDir, env: o.env }));
  }
  if (plans.length === 0) {
    throw new UserError(
      `${dir}: nothing to build off-cluster (no build.sh + Containerfile, no Containerfile.source)`,
      `expected a method output directory of kmodlab render such as <output-dir>/layering; dtk builds in the cluster (kmodlab lab start-build)`,
    );
  }
  const out: OffClusterImage[] = [];
  for (const p of plans) out.push(await runOffClusterBuild(p, o));
  return out;
}
