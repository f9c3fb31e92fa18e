/**
 * Release: the platform release a driver is delivered to. For OpenShift it is a
 * version (4.14.12) with its RHCOS kernel and the pull specs of its rhel-coreos and
 * driver-toolkit images; in the lab it is a kernel installed on the host.
 *
 * Nothing is invented: a field that is not known stays undefined, and renderers put a
 * clearly named placeholder (see `placeholders.ts`) in its place.
 */
import { z } from 'zod';
import { isPlausibleKernelVersion } from './kernel.js';

/**
 * The family of the nodes' operating system, which decides the few Containerfile lines
 * that differ between node OSes (src/methods/os-family.ts): `rhcos` (RHEL CoreOS: rpm,
 * microdnf, ostree) or `debian-lab` (the lab's Debian-based node OS: no ostree, a
 * runtime base that already has kmod).
 */
export const OS_FAMILIES = ['rhcos', 'debian-lab'] as const;
export type OsFamilyId = (typeof OS_FAMILIES)[number];
export const EXPECTED_OS_FAMILY = `expected one of ${OS_FAMILIES.join(', ')}`;

const pullSpec = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]*(:[0-9]+)?\/[^\s@:]+(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, 'expected an image pull spec such as quay.io/org/image@sha256:<64 hex digits>');

export const ReleaseSchema = z.strictObject({
  /** OpenShift version, e.g. 4.14.12. */
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'expected an OpenShift version such as 4.14.12').optional(),
  /** `uname -r` of the release's default kernel. */
  kernelVersion: z.string().refine(isPlausibleKernelVersion, 'expected a kernel version as `uname -r` prints it, e.g. 5.14.0-284.52.1.el9_2.x86_64').optional(),
  /** `uname -r` of the release's realtime kernel, when known. */
  rtKernelVersion: z.string().refine(isPlausibleKernelVersion, 'expected a kernel version').optional(),
  /** RHCOS build, e.g. 414.92.202402051952-0 (the driver-toolkit imagestream tag). */
  rhcosVersion: z.string().optional(),
  rhcosImage: pullSpec.optional(),
  driverToolkitImage: pullSpec.optional(),
  /**
   * The base image of driver containers' final stage, when the release names one (the
   * lab release's `runtime-base` tag). OpenShift releases carry no ubi-minimal; for rhcos
   * the UBI image is used.
   */
  runtimeBaseImage: pullSpec.optional(),
  /** The nodes' OS family; every OpenShift release is rhcos. */
  osFamily: z.enum(OS_FAMILIES, { error: EXPECTED_OS_FAMILY }).default('rhcos'),
  /** Where each fact came from, for the README (e.g. "--release-info release.json"). */
  sources: z.record(z.string(), z.string()).default({}),
});

export type Release = z.output<typeof ReleaseSchema>;
export type ReleaseInput = z.input<typeof ReleaseSchema>;

/** `4.14.12` → [4, 14]; undefined when the version is unknown. */
export function minorVersion(release: Release): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)\./.exec(release.version ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** True when the release is at least `major.minor` (unknown version → false). */
export function releaseAtLeast(release: Release, major: number, minor: number): boolean {
  const v = minorVersion(release);
  if (!v) return false;
  return v[0] > major || (v[0] === major && v[1] >= minor);
}
