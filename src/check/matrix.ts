/** The matrix `kmodlab check` prints: one row per kernel, one column per step, then the first error line of each failure. */
import { CHECK_STEPS, type CheckReport, type KernelCheck } from './report.js';

function cellText(row: KernelCheck, step: (typeof CHECK_STEPS)[number]): string {
  const c = row[step];
  if (step === 'build' && c.status === 'ok' && row.build.cached) return 'ok (cached)';
  return c.status === 'failed' ? 'FAILED' : c.status;
}

export function formatMatrix(report: CheckReport): string {
  const rows = [['KERNEL', 'BUILD', 'LOAD', 'UNLOAD'], ...report.kernels.map((k) => [k.kver, ...CHECK_STEPS.map((s) => cellText(k, s))])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  const errors = report.kernels.flatMap((k) =>
    CHECK_STEPS.filter((s) => k[s].status === 'failed').map((s) => `${k.kver} ${s}: ${k[s].firstError ?? 'failed'}`),
  );
  const { ok, failed, skipped } = report.summary;
  lines.push('', `${report.driver.name} ${report.driver.version}: ${ok} ok, ${failed} failed, ${skipped} skipped (${(report.durationMs / 1000).toFixed(1)} s)`);
  if (errors.length) lines.push('', ...errors);
  return `${lines.join('\n')}\n`;
}
