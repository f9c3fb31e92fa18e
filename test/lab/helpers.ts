/**
 * Shared helpers for the lab tests: whether the lab can run here (QEMU + at least
 * one kernel with headers), and building the reference driver for a kernel.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listKernels, type LabKernel } from '../../src/targets/lab/kernels/catalog.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { run } from '../../src/targets/lab/host/run.js';
import { labCacheRoot } from '../../src/targets/lab/host/cache.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const tempDirs: string[] = [];

/** A temp dir removed by removeTempDirs() (call it in afterAll). */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `kmodlab-${prefix}-`));
  tempDirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface LabAvailability {
  ok: boolean;
  reason: string;
  kernels: LabKernel[];
}

/** Tests skip ONLY when these are missing; scripts/lab-packages.sh installs them. */
export function labAvailability(): LabAvailability {
  const kernels = listKernels();
  const missing = ['qemu-system-x86_64', 'busybox', 'kmod', 'depmod', 'cpio', 'make'].filter((t) => !findTool(t));
  if (missing.length) return { ok: false, reason: `not installed: ${missing.join(', ')} (run scripts/lab-packages.sh)`, kernels };
  if (!kernels.length) {
    return { ok: false, reason: 'no kernel with image + headers installed (run scripts/lab-packages.sh)', kernels };
  }
  return { ok: true, reason: '', kernels };
}

/** Prefer the kernel the rest of the project targets when present. */
export function primaryKernel(kernels: LabKernel[]): LabKernel {
  return kernels.find((k) => k.kver === '6.1.0-56-amd64') ?? kernels[kernels.length - 1]!;
}

/** Build drivers/simple-kmod for `kernel` in a temp copy; returns the .ko paths by file name. */
export async function buildReferenceDriver(kernel: LabKernel): Promise<Record<string, string>> {
  const dir = tempDir(`simple-kmod-${kernel.kver}`);
  cpSync(join(REPO, 'drivers', 'simple-kmod'), dir, { recursive: true });
  await run('make', [`KDIR=${kernel.buildDir}`, 'modules'], { cwd: dir, timeoutMs: 240_000 });
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) if (f.endsWith('.ko')) out[f] = join(dir, f);
  return out;
}

export function skipReason(a: LabAvailability): string {
  return a.ok ? '' : ` [SKIPPED: ${a.reason}]`;
}

/** Calls `f` until `ok` holds of its value or `ms` have passed (every `everyMs`); returns the last value. */
export async function pollUntil<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms: number, everyMs = 200): Promise<T> {
  const end = Date.now() + ms;
  let v = await f();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, everyMs));
    v = await f();
  }
  return v;
}

/**
 * The parts of the machine's lab cache a test's own KMODLAB_CACHE shares: extracted kernels,
 * initramfs images and OS-image boot disks (content-addressed: each file is written
 * atomically under a key of its content, so sharing changes no result, only how often the
 * same bytes are derived again), and the buildah store, so a test file's lab builds FROM
 * the release images `lab setup` left there instead of pulling and unpacking them again
 * (the driver-toolkit is 170 MiB). The store is safe to share only while one lab builds at
 * a time: builds tag fixed local names (a Build's `localhost/kmodlab-build/<ns>/<name>`, the
 * internal registry's name of a FROM image) and remove them when done — hence the lab
 * project's one worker (vitest.config.ts). Lab state, logs, build records and Prometheus data stay
 * the test's own.
 */
export const SHARED_CACHE_PARTS = ['vmlinux', 'initramfs', 'os-boot', 'buildah'] as const;

/** Creates `dir` (a test's KMODLAB_CACHE) with SHARED_CACHE_PARTS linked to the machine's cache; returns `dir`. */
export function testLabCache(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const machine = labCacheRoot();
  if (resolve(machine) === resolve(dir)) return dir;
  for (const part of SHARED_CACHE_PARTS) {
    const shared = join(machine, part);
    mkdirSync(shared, { recursive: true });
    if (!existsSync(join(dir, part))) symlinkSync(shared, join(dir, part));
  }
  return dir;
}
