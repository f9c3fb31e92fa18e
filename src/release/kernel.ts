/**
 * Kernel version strings: parsing the parts kmodlab needs (flavour, family) from
 * RHEL/RHCOS (`5.14.0-284.52.1.el9_2.x86_64`, `...rt14.337.el9_2.x86_64`) and Debian
 * (`6.1.0-56-amd64`, `6.1.0-56-rt-amd64`, `6.12.57+deb12-amd64`) versions.
 */

export type KernelFlavour = 'default' | 'realtime';

export interface KernelVersion {
  /** The full `uname -r` string. */
  full: string;
  /** `major.minor.patch`, e.g. `5.14.0`. */
  base: string;
  flavour: KernelFlavour;
  /** `rhel` for `.elN` kernels, `debian` for `-amd64`-style, `other` otherwise. */
  distro: 'rhel' | 'debian' | 'other';
}

const RHEL = /^(\d+\.\d+\.\d+)-([0-9][0-9.]*?)(\.rt[0-9.]+)?\.(el\d+(?:_\d+)?)\.([a-z0-9_]+)$/;
const DEBIAN = /^(\d+\.\d+\.\d+)(?:-\d+|\.\d+\+deb\d+)(-rt)?-([a-z0-9]+)$/;

export function parseKernelVersion(full: string): KernelVersion {
  const rhel = RHEL.exec(full);
  if (rhel) return { full, base: rhel[1]!, flavour: rhel[3] ? 'realtime' : 'default', distro: 'rhel' };
  const deb = DEBIAN.exec(full);
  if (deb) return { full, base: deb[1]!, flavour: deb[2] ? 'realtime' : 'default', distro: 'debian' };
  const base = /^(\d+\.\d+(?:\.\d+)?)/.exec(full)?.[1] ?? full;
  return { full, base, flavour: /[-.]rt/.test(full) ? 'realtime' : 'default', distro: 'other' };
}

/** A kernel version as `uname -r` prints it: no spaces, no slashes. */
export function isPlausibleKernelVersion(s: string): boolean {
  return /^\d+\.\d+(\.\d+)?[-+.A-Za-z0-9_]*$/.test(s);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A regular expression matching the release's kernel and the kernels a cluster on
 * that release can move to without a new driver source: later z-stream builds of the
 * same base version and distribution stream, in both default and realtime flavours.
 * KMM uses it as a kernelMapping so that each such kernel gets its own image.
 */
export function kernelFamilyRegexp(kver: string): string {
  const k = parseKernelVersion(kver);
  const base = escapeRegExp(k.base);
  if (k.distro === 'rhel') {
    const m = RHEL.exec(kver)!;
    const stream = escapeRegExp(m[4]!.replace(/_\d+$/, '')); // el9_2 → el9: y-streams share the driver source
    return `^${base}-[0-9.]+(\\.rt[0-9.]+)?\\.${stream}(_[0-9]+)?\\.${escapeRegExp(m[5]!)}$`;
  }
  if (k.distro === 'debian') {
    const m = DEBIAN.exec(kver)!;
    const abi = kver.includes('+deb') ? `[0-9]+\\+deb[0-9]+` : `[0-9]+`;
    const sep = kver.includes('+deb') ? '\\.' : '-';
    return `^${base}${sep}${abi}(-rt)?-${escapeRegExp(m[3]!)}$`;
  }
  return `^${base}[-.+].*$`;
}
