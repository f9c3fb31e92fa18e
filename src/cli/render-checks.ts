/**
 * Render flags that parse but cannot be what the user meant, found before any file is
 * written. Decisions (README "kmodlab render"):
 * - `--kernel` is compared with `uname -r` on nodes (KMM kernelMappings regexp, the DTK
 *   image tag, the guard between the DTK and RHCOS kernels). An RHCOS `uname -r` always
 *   ends in its architecture (`…el9_2.x86_64`); a RHEL kernel without it is a copy
 *   mistake that matches no node: exit 2. Any other kernel without a known architecture
 *   suffix only gets a warning: it may be a kernel of a non-RHCOS node image.
 * - KMM is shipped for OpenShift 4.12 and later (the Kernel Module Management operator
 *   in redhat-operators starts with 4.12; OpenShift docs "Kernel Module Management
 *   Operator" exist from the 4.12 book on): rendering kmm for an older release is exit 2.
 */
import type { MethodId } from '../artifacts/artifact-set.js';
import { UserError } from '../errors.js';
import { minorVersion, releaseAtLeast, type Release } from '../release/release.js';

/** `uname -r` suffixes of the architectures OpenShift ships RHCOS for. */
const ARCH_SUFFIX = /\.(x86_64|aarch64|ppc64le|s390x)(\+\w+)?$/;
/** A RHEL kernel release ending in its dist tag (`.el9_2`, `.el8_6`, `.el9`) and nothing after. */
const RHEL_WITHOUT_ARCH = /\.el\d+(_\d+)?$/;

/** Returns warnings to print; throws for a kernel that no node can report. */
export function checkKernelFlag(kernel: string | undefined): string[] {
  if (kernel === undefined || ARCH_SUFFIX.test(kernel)) return [];
  if (RHEL_WITHOUT_ARCH.test(kernel)) {
    throw new UserError(
      `--kernel ${kernel}: no node reports this: uname -r on RHCOS ends in the architecture, e.g. ${kernel}.x86_64; the KMM kernel mapping and the DTK image tag are matched against uname -r`,
      'copy the value from `oc debug node/<node> -- chroot /host uname -r`',
    );
  }
  return [
    `--kernel ${kernel} does not end in an architecture (.x86_64, .aarch64, .ppc64le, .s390x) as uname -r on RHCOS does; the rendered files only match nodes whose uname -r is exactly ${kernel}`,
  ];
}

/** KMM needs OpenShift 4.12 or later. `versionFlag` names where the version came from. */
export function checkMethodsForRelease(methods: readonly MethodId[], release: Release, versionFlag: string): void {
  if (!methods.includes('kmm') || release.version === undefined || releaseAtLeast(release, 4, 12)) return;
  const v = minorVersion(release);
  const others = methods.filter((m) => m !== 'kmm');
  throw new UserError(
    `${versionFlag} ${release.version}: Kernel Module Management is available from OpenShift 4.12; OpenShift ${v ? v.join('.') : release.version} has no KMM operator to install`,
    others.length > 0 ? `render without kmm: --method ${others.join(',')}` : 'use --method dtk or --method layering, or render for OpenShift 4.12 or later',
  );
}
