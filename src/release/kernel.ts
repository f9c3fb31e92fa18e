/**
 * Kernel version strings: parsing the parts kmodlab needs (flavour, family) from
 * RHEL/RHCOS and Debian versions as `uname -r` prints them:
 *
 * - RHEL 8/9 up to 9.2 (OpenShift ≤ 4.15): `5.14.0-284.52.1.el9_2.x86_64`, realtime
 *   `5.14.0-284.52.1.rt14.337.el9_2.x86_64` (kernel-rt built from its own source RPM).
 * - RHEL 9.3+ (OpenShift 4.16+): realtime is a variant of the main kernel build and
 *   carries a `+rt` suffix, `5.14.0-427.13.1.el9_4.x86_64+rt` (the driver-toolkit
 *   release-4.16+ Dockerfile writes RT_KERNEL_VERSION as `%{VERSION}-%{RELEASE}.%{ARCH}+rt`);
 *   aarch64 has a `+64k` page-size variant.
 * - Debian with an ABI number: `6.1.0-56-amd64`, `6.1.0-56-rt-amd64`.
 * - Debian 13 / bookworm-backports style, upstream version + `+debN`: `6.12.57+deb12-amd64`.
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

// 1 base, 2 release, 3 old-style ".rtN..." marker, 4 el stream, 5 arch, 6 variant after "+" (rt, 64k)
const RHEL = /^(\d+\.\d+\.\d+)-([0-9][0-9.]*?)(\.rt[0-9.]+)?\.(el\d+(?:_\d+)?)\.([a-z0-9_]+)(?:\+([a-z0-9]+))?$/;
// 1 major.minor, 2 patch, 3 ABI number, 4 debN, 5 "-rt", 6 flavour (amd64, arm64, cloud-amd64, ...)
const DEBIAN = /^(\d+\.\d+)\.(\d+)(?:-(\d+)|\+(deb\d+))(-rt)?-([a-z0-9]+(?:-[a-z0-9]+)*)$/;

export function parseKernelVersion(full: string): KernelVersion {
  const rhel = RHEL.exec(full);
  if (rhel) return { full, base: rhel[1]!, flavour: rhel[3] || rhel[6] === 'rt' ? 'realtime' : 'default', distro: 'rhel' };
  const deb = DEBIAN.exec(full);
  if (deb) return { full, base: `${deb[1]!}.${deb[2]!}`, flavour: deb[5] ? 'realtime' : 'default', distro: 'debian' };
  const base = /^(\d+\.\d+(?:\.\d+)?)/.exec(full)?.[1] ?? full;
  return { full, base, flavour: /[-.+]rt/.test(full) ? 'realtime' : 'default', distro: 'other' };
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
    // Realtime is ".rtN.M" before the stream up to RHEL 9.2 and "+rt" after the arch from 9.3 on;
    // an aarch64 "+64k" kernel keeps its own variant in the family.
    const variant = m[6] !== undefined && m[6] !== 'rt' ? `(\\+(rt|${escapeRegExp(m[6])}))?` : '(\\+rt)?';
    return `^${base}-[0-9.]+(\\.rt[0-9.]+)?\\.${stream}(_[0-9]+)?\\.${escapeRegExp(m[5]!)}${variant}$`;
  }
  if (k.distro === 'debian') {
    const m = DEBIAN.exec(kver)!;
    const flavour = escapeRegExp(m[6]!);
    // 6.1.0-56-amd64: same upstream series, any ABI number. 6.12.57+deb12-amd64: the ABI
    // name is the upstream version itself, so any point release of 6.12 built for deb12.
    if (m[4] !== undefined) return `^${escapeRegExp(m[1]!)}\\.[0-9]+\\+${escapeRegExp(m[4])}(-rt)?-${flavour}$`;
    return `^${base}-[0-9]+(-rt)?-${flavour}$`;
  }
  return `^${base}[-.+].*$`;
}
