/**
 * Choosing lab kernels from what Debian's package index offers: two consecutive ABIs
 * of one series (a z-stream upgrade, e.g. 6.1.0-54 → 6.1.0-56), the newest kernel of
 * another series (a y-stream, e.g. 6.12), and the realtime flavour of the starting
 * kernel (a kernel switch). Pure over the list of package names, so it is testable
 * with a captured `apt-cache search` output.
 */
import { compareKver } from './lab-releases.js';

export interface KernelPackageChoice {
  /** Kernel versions (`uname -r`) to install, each with linux-image + linux-headers. */
  kernels: string[];
  roles: { from?: string; upgradeTo?: string; ySeries?: string; realtime?: string };
}

const IMAGE = /^linux-image-(\d+\.\d+\.\d+(?:-\d+|\+deb\d+)(?:-rt)?-amd64)$/;

/** `linux-image-<kver>` names (unsigned, amd64, default or rt) → kernel versions. */
export function kernelsInIndex(packageNames: string[]): string[] {
  return [...new Set(packageNames.map((n) => IMAGE.exec(n.trim().split(/\s/)[0] ?? '')?.[1]).filter((k): k is string => Boolean(k)))];
}

function series(kver: string): string {
  return /^(\d+\.\d+)/.exec(kver)?.[1] ?? '';
}

export function chooseKernelPackages(available: string[]): KernelPackageChoice {
  const plain = available.filter((k) => !k.includes('-rt-')).sort(compareKver);
  const rts = new Set(available.filter((k) => k.includes('-rt-')));
  const bySeries = new Map<string, string[]>();
  for (const k of plain) bySeries.set(series(k), [...(bySeries.get(series(k)) ?? []), k]);
  // The z-stream pair comes from the oldest series with two ABIs (the distro's main
  // kernel); the newest other series gives the y-stream step.
  const seriesNames = [...bySeries.keys()].sort(compareKver);
  const zSeries = seriesNames.find((s) => (bySeries.get(s)?.length ?? 0) >= 2) ?? seriesNames[0];
  const z = zSeries ? bySeries.get(zSeries)! : [];
  const upgradeTo = z.at(-1);
  const from = z.length >= 2 ? z.at(-2) : undefined;
  const ySeries = seriesNames.filter((s) => s !== zSeries).at(-1);
  const y = ySeries ? bySeries.get(ySeries)!.at(-1) : undefined;
  const start = from ?? upgradeTo;
  const rtWanted = start?.replace(/-amd64$/, '-rt-amd64');
  const realtime = rtWanted && rts.has(rtWanted) ? rtWanted : [...rts].filter((k) => series(k) === zSeries).sort(compareKver).at(-1);
  const kernels = [from, upgradeTo, y, realtime].filter((k): k is string => Boolean(k));
  return { kernels: [...new Set(kernels)], roles: { from, upgradeTo, ySeries: y, realtime } };
}
