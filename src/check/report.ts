/**
 * The result of `kmodlab check`: one row per kernel, one cell per step (build, load,
 * unload). This is a boundary type (written as JSON, read by CI tooling), so it has a
 * run-time schema and the CLI checks its own output against it before printing.
 */
import { z } from 'zod';
import { DependencySchema } from '../targets/lab/driver-builds/module-dependencies.js';

/** The classification is shared with the lab's build events. */
export { DependencySchema, type Dependency } from '../targets/lab/driver-builds/module-dependencies.js';

export const CHECK_STEPS = ['build', 'load', 'unload'] as const;
export type CheckStep = (typeof CHECK_STEPS)[number];

export const CellStatusSchema = z.enum(['ok', 'failed', 'skipped']);
export type CellStatus = z.infer<typeof CellStatusSchema>;


const cell = {
  status: CellStatusSchema,
  durationMs: z.number().nonnegative().optional(),
  /** First line that says what went wrong, in the words of the compiler, modprobe or the kernel. */
  firstError: z.string().optional(),
  /** Why a step did not run. */
  skippedBecause: z.string().optional(),
};

export const BuiltModuleInfoSchema = z.strictObject({
  name: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  /** `modinfo -F vermagic` of the built module. */
  vermagic: z.string(),
  dependencies: z.array(DependencySchema),
});

export const BuildCellSchema = z.strictObject({
  ...cell,
  /** True when the lab's content-addressed build store already had this build. */
  cached: z.boolean().optional(),
  /** Build log (kept for failed builds too). */
  logFile: z.string().optional(),
  /** `modinfo -F vermagic` of one of the kernel's own modules: what the built modules must match. */
  kernelVermagic: z.string().optional(),
  modules: z.array(BuiltModuleInfoSchema).default([]),
});

export const LoadedModuleSchema = z.strictObject({
  name: z.string(),
  /** Present in /sys/module with initstate `live`. */
  loaded: z.boolean(),
  initstate: z.string().optional(),
  /** /sys/module/<m>/taint (`O` out-of-tree, `E` unsigned, …). */
  taint: z.string().optional(),
  coresizeBytes: z.number().int().nonnegative().optional(),
  /** Parameters read back from /sys/module/<m>/parameters (only those the driver spec sets). */
  parameters: z.record(z.string(), z.string()).default({}),
});

export const LoadCellSchema = z.strictObject({
  ...cell,
  /** Node start (QEMU spawn) to agent ready, before loading; durationMs counts the load alone. */
  bootMs: z.number().nonnegative().optional(),
  /** In-tree modules loaded first because the driver's modules depend on them. */
  inTreeDependencies: z.array(z.string()).default([]),
  modules: z.array(LoadedModuleSchema).default([]),
  /** /proc/sys/kernel/tainted before and after loading. */
  kernelTaintBefore: z.number().int().nonnegative().optional(),
  kernelTaintAfter: z.number().int().nonnegative().optional(),
  /** Output of the load commands (modprobe -v). */
  output: z.string().default(''),
  /** Kernel log lines the load produced. */
  kernelLog: z.array(z.string()).default([]),
});

export const UnloadCellSchema = z.strictObject({
  ...cell,
  /** Driver modules still in /sys/module after unloading. */
  leftOver: z.array(z.string()).default([]),
  output: z.string().default(''),
  kernelLog: z.array(z.string()).default([]),
});

export const KernelCheckSchema = z.strictObject({
  kver: z.string(),
  series: z.string(),
  flavour: z.string(),
  /** `system` (installed packages) or `user` (added with `lab add-kernel` / `lab add-release`). */
  source: z.enum(['system', 'user']),
  build: BuildCellSchema,
  load: LoadCellSchema,
  unload: UnloadCellSchema,
});
export type KernelCheck = z.infer<typeof KernelCheckSchema>;

export const CheckReportSchema = z.strictObject({
  apiVersion: z.literal('kmodlab.io/v1alpha1'),
  kind: z.literal('CheckReport'),
  driver: z.strictObject({ name: z.string(), version: z.string(), file: z.string() }),
  startedAt: z.string(),
  durationMs: z.number().nonnegative(),
  kernels: z.array(KernelCheckSchema),
  /** Cells per status, over all kernels and steps. */
  summary: z.strictObject({ ok: z.number().int(), failed: z.number().int(), skipped: z.number().int() }),
});
export type CheckReport = z.infer<typeof CheckReportSchema>;

export function summarize(kernels: KernelCheck[]): CheckReport['summary'] {
  const s = { ok: 0, failed: 0, skipped: 0 };
  for (const k of kernels) for (const step of CHECK_STEPS) s[k[step].status]++;
  return s;
}

export function checkFailed(report: CheckReport): boolean {
  return report.summary.failed > 0;
}
