/**
 * The host's TSC rate in kHz. Under TCG the guest's RDTSC runs at the host's TSC
 * rate, and on `-M microvm` (no PIT/HPET to calibrate against) the guest hangs in
 * TSC calibration unless told the rate with `tsc_early_khz=` (measured, lab-notes).
 * Sources, best first: $KMODLAB_TSC_KHZ, the host kernel's own calibration in the
 * kernel log, /proc/cpuinfo "cpu MHz".
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let cached: number | undefined;

export function parseTscKhzFromKernelLog(log: string): number | undefined {
  // "tsc: Refined TSC clocksource calibration: 2095.077 MHz" beats "tsc: Detected 2095.077 MHz processor".
  const refined = /Refined TSC clocksource calibration: (\d+\.\d+) MHz/.exec(log);
  const detected = /tsc: Detected (\d+\.\d+) MHz/.exec(log);
  const m = refined ?? detected;
  return m?.[1] ? Math.round(Number(m[1]) * 1000) : undefined;
}

export function parseTscKhzFromCpuinfo(cpuinfo: string): number | undefined {
  const m = /^cpu MHz\s*:\s*(\d+(?:\.\d+)?)/m.exec(cpuinfo);
  return m?.[1] ? Math.round(Number(m[1]) * 1000) : undefined;
}

export function hostTscKhz(): number {
  if (cached !== undefined) return cached;
  const env = Number(process.env.KMODLAB_TSC_KHZ);
  if (Number.isFinite(env) && env > 0) return (cached = env);
  let fromLog: number | undefined;
  try {
    fromLog = parseTscKhzFromKernelLog(execFileSync('dmesg', [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }));
  } catch {
    // dmesg may be restricted (kernel.dmesg_restrict); fall back to cpuinfo
  }
  const value = fromLog ?? parseTscKhzFromCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
  if (!value) throw new Error('cannot determine the host TSC rate; set KMODLAB_TSC_KHZ');
  return (cached = value);
}
