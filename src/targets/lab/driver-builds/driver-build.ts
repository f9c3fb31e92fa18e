/**
 * Builds a driver for one lab kernel, the lab's stand-in for a build FROM the
 * release's driver-toolkit image: the driver's own build commands run in a scratch
 * copy of its source against the kernel's kbuild tree, measured (wall, CPU, peak RSS,
 * output bytes). Results are stored content-addressed by (source hash, build
 * commands, kernel build tree), so an unchanged build is a cache hit, as pulling an
 * already-pushed image would be.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { z } from 'zod';
import type { LoadedDriver } from '../../../driver/load.js';
import { canonicalModuleName, moduleFile } from '../../../driver/spec.js';
import { UserError } from '../../../errors.js';
import { labCacheDir } from '../host/cache.js';
import { hashSourceTree } from './source-hash.js';
import { runMeasured } from './measured-command.js';

/** The kernel a build targets: its version and kbuild tree. */
export interface BuildKernel {
  kver: string;
  buildDir: string;
}

export const BuiltModuleSchema = z.strictObject({
  /** Kernel's name for the module (`simple_kmod`). */
  name: z.string(),
  /** Stored .ko, absolute. */
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
});

/** One build as recorded: the raw samples a report derives build cost from. */
export const BuildRecordSchema = z.strictObject({
  key: z.string(),
  driver: z.string(),
  driverVersion: z.string(),
  kver: z.string(),
  /** Where the modules and the log are stored. */
  dir: z.string(),
  logFile: z.string(),
  startedAt: z.string(),
  wallMs: z.number(),
  userCpuMs: z.number(),
  systemCpuMs: z.number(),
  peakRssBytes: z.number(),
  /** Sum of the module files' sizes (what an image layer would carry). */
  outputBytes: z.number(),
  modules: z.array(BuiltModuleSchema),
});
export type BuildRecord = z.infer<typeof BuildRecordSchema>;

export interface BuildResult {
  record: BuildRecord;
  /** True when the store already had this build (nothing was compiled). */
  cached: boolean;
}

/** A build that ran and failed: its log is kept, and the message says where. */
export class DriverBuildError extends Error {
  override readonly name = 'DriverBuildError';
  constructor(
    message: string,
    readonly logFile: string,
    readonly exitCode: number,
    readonly logTail: string,
    /** How long the build ran before it failed (a failed build costs time too). */
    readonly wallMs?: number,
  ) {
    super(message);
  }
}

export interface BuildOptions {
  /** Store root; default `<lab cache>/builds`. */
  storeDir?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What identifies the kernel side of a build: its release string and exported symbols' CRCs. */
function kernelBuildIdentity(kernel: BuildKernel): string {
  const h = createHash('sha256').update(kernel.kver);
  for (const f of ['include/config/kernel.release', 'Module.symvers', '.config']) {
    const p = join(kernel.buildDir, f);
    if (existsSync(p)) h.update(f).update(readFileSync(p));
  }
  return h.digest('hex');
}

export function buildKey(driver: LoadedDriver, sourceHash: string, kernel: BuildKernel): string {
  return createHash('sha256')
    .update(JSON.stringify({ sourceHash, build: driver.spec.build, modules: driver.spec.modules, kernel: kernelBuildIdentity(kernel) }))
    .digest('hex');
}

function sha256File(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function buildDriver(driver: LoadedDriver, kernel: BuildKernel, opts: BuildOptions = {}): Promise<BuildResult> {
  if (!driver.sourceDir) {
    throw new UserError(`${driver.file}: source: the lab builds from a local directory (source.path); for a git source, clone it and point source.path at the clone`);
  }
  if (!existsSync(join(kernel.buildDir, 'Makefile'))) {
    throw new UserError(`kernel ${kernel.kver}: no kbuild tree at ${kernel.buildDir}`, `install it with: apt-get install linux-headers-${kernel.kver}`);
  }
  const store = opts.storeDir ?? labCacheDir('builds');
  mkdirSync(store, { recursive: true });
  const key = buildKey(driver, hashSourceTree(driver.sourceDir), kernel);
  const dir = join(store, key);
  const recordFile = join(dir, 'build.json');
  if (existsSync(recordFile)) {
    const record = BuildRecordSchema.parse(JSON.parse(readFileSync(recordFile, 'utf8')));
    if (record.modules.every((m) => existsSync(m.path))) return { record, cached: true };
  }

  // Build in a scratch directory next to the store, then rename into place: a crashed
  // or concurrent build never leaves a half-filled entry under the key.
  const scratch = mkdtempSync(join(store, `.build-${key.slice(0, 12)}-`));
  const src = join(scratch, 'src');
  cpSync(driver.sourceDir, src, { recursive: true });
  const logFile = join(scratch, 'build.log');
  writeFileSync(logFile, `# kmodlab lab build of ${driver.spec.name} ${driver.spec.version} for ${kernel.kver}\n# kbuild tree: ${kernel.buildDir}\n`);
  const startedAt = new Date().toISOString();
  const script = driver.spec.build.commands.join('\n');
  const usage = await runMeasured(script, {
    cwd: src,
    // KDIR lets Makefiles that honour it use a kbuild tree outside /lib/modules.
    env: { ...process.env, ...driver.spec.build.env, KVER: kernel.kver, KDIR: kernel.buildDir, PWD: src },
    logFile,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
  });
  const failedLog = () => {
    const kept = join(store, `failed-${key.slice(0, 12)}-${Date.now()}.log`);
    renameSync(logFile, kept);
    rmSync(scratch, { recursive: true, force: true });
    return kept;
  };
  if (usage.exitCode !== 0) {
    const kept = failedLog();
    throw new DriverBuildError(`build of ${driver.spec.name} for ${kernel.kver} failed (exit ${usage.exitCode}); log: ${kept}`, kept, usage.exitCode, tail(kept), Math.round(usage.wallMs));
  }
  const outDir = join(scratch, 'modules');
  mkdirSync(outDir);
  const modules: z.infer<typeof BuiltModuleSchema>[] = [];
  for (const m of driver.spec.modules) {
    const built = join(src, moduleFile(m));
    if (!existsSync(built)) {
      const kept = failedLog();
      throw new DriverBuildError(`build of ${driver.spec.name} for ${kernel.kver} succeeded but did not produce ${moduleFile(m)} (modules[].file in ${basename(driver.file)}); log: ${kept}`, kept, 0, tail(kept), Math.round(usage.wallMs));
    }
    const stored = join(outDir, basename(moduleFile(m)));
    cpSync(built, stored);
    modules.push({ name: canonicalModuleName(m.name), path: join(dir, 'modules', basename(stored)), bytes: statSync(stored).size, sha256: sha256File(stored) });
  }
  rmSync(src, { recursive: true, force: true });
  const record: BuildRecord = {
    key,
    driver: driver.spec.name,
    driverVersion: driver.spec.version,
    kver: kernel.kver,
    dir,
    logFile: join(dir, 'build.log'),
    startedAt,
    wallMs: Math.round(usage.wallMs),
    userCpuMs: usage.userCpuMs,
    systemCpuMs: usage.systemCpuMs,
    peakRssBytes: usage.peakRssBytes,
    outputBytes: modules.reduce((s, m) => s + m.bytes, 0),
    modules,
  };
  writeFileSync(join(scratch, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
  mkdirSync(dirname(dir), { recursive: true });
  // An entry without build.json is the remains of an interrupted store: replace it.
  if (existsSync(dir) && !existsSync(recordFile)) rmSync(dir, { recursive: true, force: true });
  try {
    renameSync(scratch, dir);
  } catch (e) {
    // Another process stored the same build first: theirs is as good as ours.
    if (!existsSync(recordFile)) throw e;
    rmSync(scratch, { recursive: true, force: true });
  }
  return { record, cached: false };
}
