/**
 * buildah, as the lab runs it: Debian's buildah 1.28 with its own storage under the lab
 * cache, `--isolation chroot` (crun fails on this machine's hybrid cgroup setup, and
 * chroot isolation needs no runtime at all) and no build-layer cache (kmodlab decides
 * what to rebuild by content, see release-images.ts).
 *
 * Storage driver: overlay, measured against vfs on this 2-core machine (ext4, root,
 * 2026-11-30, load average ~14 from concurrent work, one run each): an image FROM
 * scratch holding one kernel's module tree (396 MB) + busybox took 34.6 s (overlay) vs
 * 29.0 s (vfs) to copy and commit — within the noise of that load — but a `bud` FROM
 * that image adding one file and one RUN took 1.6 s (overlay) vs 20.5 s (vfs), because
 * vfs copies the whole parent for every container. Every lab image but the first of a
 * chain is built FROM a parent, so overlay (which works here as root without
 * fuse-overlayfs) is the default; KMODLAB_BUILDAH_DRIVER=vfs selects vfs where overlay
 * cannot mount (e.g. inside an unprivileged container).
 *
 * Builds run under GNU time (measured-command.ts), so wall time, CPU and peak RSS cover
 * the whole buildah process tree, and the log is kept whether the build works or not.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labCacheDir } from '../host/cache.js';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';
import { runMeasured, type CommandUsage } from '../driver-builds/measured-command.js';

export type StorageDriver = 'overlay' | 'vfs';

export interface BuildahStore {
  root: string;
  runroot: string;
  driver: StorageDriver;
}

/** The lab's buildah storage: <lab cache>/buildah, overlay unless KMODLAB_BUILDAH_DRIVER says vfs. */
export function labBuildahStore(base = labCacheDir('buildah')): BuildahStore {
  const env = process.env.KMODLAB_BUILDAH_DRIVER;
  const driver: StorageDriver = env === 'vfs' ? 'vfs' : 'overlay';
  // One store per driver: a storage root cannot switch drivers once used.
  return { root: join(base, driver, 'root'), runroot: join(base, driver, 'run'), driver };
}

export function storeArgs(store: BuildahStore): string[] {
  return ['--root', store.root, '--runroot', store.runroot, '--storage-driver', store.driver];
}

/** Quotes one word for /bin/sh. */
export function shQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export class ImageBuildError extends Error {
  constructor(
    readonly tag: string,
    readonly logFile: string,
    readonly exitCode: number,
    /** The failed command's measured usage (a failed build's figures, up to the failure). */
    readonly usage?: CommandUsage,
  ) {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-20).join('\n') : '';
    super(`building ${tag} failed (buildah exit ${exitCode}); log ${logFile}:\n${tail}`);
    this.name = 'ImageBuildError';
  }
}

export interface BudOptions {
  /** Containerfile path. */
  containerfile: string;
  /** Build context directory. */
  context: string;
  /** Local name of the built image. */
  tag: string;
  buildArgs?: Record<string, string>;
  /** Build log (appended). */
  logFile: string;
  /** Layers and image config dated 1970: the same content gives the same digests. */
  reproducible?: boolean;
  /** Registries a FROM may pull from over plain HTTP (the lab's loopback registry). */
  insecure?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Read-only bind mounts for every RUN (`host-dir:container-dir`), never committed to a
   * layer: how OpenShift build volumes (e.g. a signing key's Secret) reach the build.
   */
  volumes?: string[];
  /**
   * Build secrets by id → host file (`--secret id=<id>,src=<file>`): mounted at
   * /run/secrets/<id> only for the RUN that asks (`RUN --mount=type=secret,id=<id>`),
   * never in a layer — what `podman build --secret` gives a signing step.
   */
  secrets?: Record<string, string>;
}

export interface BuiltImage {
  tag: string;
  /** Local image id (sha256 of the image config). */
  imageId: string;
  usage: CommandUsage;
  logFile: string;
}

export class Buildah {
  readonly bin = requireTool('buildah');
  constructor(readonly store: BuildahStore = labBuildahStore()) {}

  private argv(...args: string[]): string[] {
    return [...storeArgs(this.store), ...args];
  }

  /** Runs one buildah command (not measured). */
  async run(args: string[], opts: { timeoutMs?: number; allowFailure?: boolean } = {}) {
    return run(this.bin, this.argv(...args), opts);
  }

  /** `buildah bud` a Containerfile, measured; throws ImageBuildError (with the log) when a step fails. */
  async bud(o: BudOptions): Promise<BuiltImage> {
    mkdirSync(this.store.runroot, { recursive: true });
    const args = [
      'bud',
      '--isolation', 'chroot',
      '--layers=false',
      // A failed build must not leave its stages' containers mounted in the store.
      '--force-rm',
      '-f', o.containerfile,
      '-t', o.tag,
      ...(o.reproducible ? ['--timestamp', '0'] : []),
      ...(o.insecure ? ['--tls-verify=false'] : []),
      ...Object.entries(o.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      ...(o.volumes ?? []).flatMap((v) => ['--volume', `${v}:ro`]),
      ...Object.entries(o.secrets ?? {}).flatMap(([id, src]) => ['--secret', `id=${id},src=${src}`]),
      o.context,
    ];
    const script = [this.bin, ...this.argv(...args)].map(shQuote).join(' ');
    const usage = await runMeasured(script, { cwd: o.context, env: process.env, logFile: o.logFile, timeoutMs: o.timeoutMs, signal: o.signal });
    if (usage.exitCode !== 0) throw new ImageBuildError(o.tag, o.logFile, usage.exitCode, usage);
    const imageId = await this.imageId(o.tag);
    if (!imageId) throw new Error(`buildah reported success but image ${o.tag} is not in ${this.store.root}`);
    return { tag: o.tag, imageId, usage, logFile: o.logFile };
  }

  /** Local image id of `name`, undefined when absent. */
  async imageId(name: string): Promise<string | undefined> {
    const r = await this.run(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', name], { allowFailure: true });
    return r.code === 0 ? r.stdout.toString('utf8').trim() || undefined : undefined;
  }

  /** Pushes a local image to `dest` (a registry reference); returns the manifest digest the registry stored. */
  async push(name: string, dest: string, opts: { insecure: boolean; logFile: string; compression?: 'gzip' | 'zstd' }): Promise<{ digest: string; wallMs: number; usage: CommandUsage }> {
    const digestFile = join(this.store.runroot, `digest-${process.pid}-${Date.now()}`);
    const t0 = performance.now();
    const args = [
      'push',
      ...(opts.insecure ? ['--tls-verify=false'] : []),
      ...(opts.compression ? ['--compression-format', opts.compression] : []),
      '--digestfile', digestFile,
      name,
      `docker://${dest}`,
    ];
    const script = [this.bin, ...this.argv(...args)].map(shQuote).join(' ');
    const usage = await runMeasured(script, { cwd: this.store.runroot, env: process.env, logFile: opts.logFile });
    if (usage.exitCode !== 0) throw new ImageBuildError(`push ${dest}`, opts.logFile, usage.exitCode);
    const digest = readFileSync(digestFile, 'utf8').trim();
    return { digest, wallMs: performance.now() - t0, usage };
  }

  /**
   * Removes the local name `name` (the image itself only when no other name holds it), so
   * a build that names it must pull it. Absent names are fine.
   */
  async forget(name: string): Promise<boolean> {
    return (await this.run(['rmi', name], { allowFailure: true })).code === 0;
  }

  /** Pulls `ref` into local storage under the name `as` (a parent image a build needs). */
  async pullAs(ref: string, as: string, insecure: boolean): Promise<void> {
    await this.run(['pull', '--quiet', ...(insecure ? ['--tls-verify=false'] : []), ref], { timeoutMs: 600_000 });
    await this.run(['tag', ref, as]);
  }
}

