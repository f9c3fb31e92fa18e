/**
 * `kmodlab check`: the build-and-load matrix of one driver over lab kernels. Kernels
 * run concurrently, as many at a time as there are cores (a node under TCG keeps one
 * core busy while it boots; builds are CPU-bound too).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedDriver } from '../driver/load.js';
import { UserError } from '../errors.js';
import { findKernel, howToAddKernel, listKernels, type LabKernel } from '../targets/lab/kernels/catalog.js';
import { compareKver } from '../targets/lab/kernels/lab-releases.js';
import { checkKernel } from './kernel-check.js';
import { summarize, type CheckReport, type KernelCheck } from './report.js';

export interface CheckOptions {
  driver: LoadedDriver;
  kernels: LabKernel[];
  /** Kernels checked at the same time; default: the cores available. */
  jobs?: number;
  buildStore?: string;
  /** Where node console logs go; default a temp dir removed afterwards. */
  workDir?: string;
  memoryMB?: number;
  /** One line per step and kernel (the CLI writes it to stderr). */
  progress?: (line: string) => void;
}

/** `all` or a comma-separated list of kernel releases, each known to the lab. */
export function selectKernels(spec: string | undefined, flag = '--kernels'): LabKernel[] {
  const value = (spec ?? 'all').trim();
  if (value === 'all' || value === '') {
    const all = listKernels().sort((a, b) => compareKver(a.kver, b.kver));
    if (all.length === 0) throw new UserError(`${flag} all: no lab kernel is installed`, howToAddKernel());
    return all;
  }
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const seen = new Set<string>();
  return names
    .filter((n) => !seen.has(n) && seen.add(n))
    .map((n) => {
      try {
        return findKernel(n);
      } catch (e) {
        if (e instanceof UserError) throw new UserError(`${flag}: ${e.message}`, e.hint);
        throw e;
      }
    });
}

export async function runCheck(opts: CheckOptions): Promise<CheckReport> {
  const started = new Date();
  const t0 = performance.now();
  const progress = opts.progress ?? (() => undefined);
  const jobs = Math.max(1, Math.min(opts.jobs ?? availableParallelism(), opts.kernels.length));
  const ownWorkDir = !opts.workDir;
  const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'kmodlab-check-'));
  const rows: KernelCheck[] = new Array(opts.kernels.length);
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
  let next = 0;
  const worker = async () => {
    while (next < opts.kernels.length) {
      const i = next++;
      const kernel = opts.kernels[i]!;
      const dir = join(workDir, kernel.kver);
      mkdirSync(dir, { recursive: true });
      const row = await checkKernel({
        driver: opts.driver,
        kernel,
        workDir: dir,
        buildStore: opts.buildStore,
        memoryMB: opts.memoryMB,
        progress: (step) => progress(`[${elapsed()}] ${kernel.kver}: ${step}`),
      });
      rows[i] = row;
      const cells = (['build', 'load', 'unload'] as const).map((s) => `${s} ${row[s].status}${s === 'build' && row.build.cached ? ' (cached)' : ''}`);
      progress(`[${elapsed()}] ${kernel.kver}: ${cells.join(', ')}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
  }
  return {
    apiVersion: 'kmodlab.io/v1alpha1',
    kind: 'CheckReport',
    driver: { name: opts.driver.spec.name, version: opts.driver.spec.version, file: opts.driver.file },
    startedAt: started.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    kernels: rows,
    summary: summarize(rows),
  };
}
