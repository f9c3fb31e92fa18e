/**
 * The node OS family's lines: the only lines of the rendered Containerfiles (layering's
 * Containerfile, DTK's Containerfile and BuildConfig Dockerfile, KMM's Dockerfile
 * ConfigMap) that depend on the nodes' operating system. Everything else is one template
 * for every family; test/methods/os-family.test.ts renders each method for two families
 * and checks that the renders differ in exactly these lines.
 *
 * - `rhcos`: RHEL CoreOS. The OS image is an ostree container whose kernel is the
 *   `kernel` rpm; a layered image ends in `ostree container commit` (RHCOS image layering
 *   docs, "Containerfile" examples); driver containers end FROM ubi-minimal, which gets
 *   kmod with microdnf.
 * - `debian-lab`: the lab's Debian-based release (src/targets/lab/images/). The OS image
 *   has no package database (busybox, kmod and the kernel's tree), so its kernel is the
 *   one `/usr/lib/modules/<kernel>/vmlinuz` it holds, and there is no ostree to commit to;
 *   driver containers end FROM the release's `runtime-base`, which already has kmod.
 */
import type { OsFamilyId, Release } from '../release/release.js';
import type { ReleaseFacts } from '../release/placeholders.js';

export interface OsFamily {
  id: OsFamilyId;
  /**
   * Shell that sets KVER to the kernel(s) of the OS image it runs in (one per line) and
   * fails when the image has none. Used in `if ! …; then` and after `set -eu;`.
   */
  queryKernel: string;
  /** Why queryKernel failed, for the build's error message. */
  noKernel: string;
  /** What the base image should have been, when it holds no `/usr/lib/modules/$KVER/vmlinuz`. */
  notNodeOs: string;
  /**
   * Shell at the start of a layered image's final RUN (before depmod, modinfo and the
   * modules-load.d entry): what the family's OS image needs for them, or nothing.
   */
  finalizeSetup: string;
  /** Last command of a layered image's final RUN. */
  commitLayer: string;
  /** The shell that gives a driver container's final stage modprobe and depmod (the first commands of its RUN). */
  kmodCommand: string;
}

export const OS_FAMILY_TABLE: Record<OsFamilyId, OsFamily> = {
  rhcos: {
    id: 'rhcos',
    queryKernel: `KVER="$(rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\\n' kernel)"`,
    noKernel: `no 'kernel' package in the base OS image ($KVER); only the default kernel is supported`,
    notNodeOs: 'is this an RHCOS image?',
    finalizeSetup: '',
    commitLayer: 'ostree container commit',
    kmodCommand: 'microdnf install -y kmod && microdnf clean all',
  },
  'debian-lab': {
    id: 'debian-lab',
    // POSIX sh (the lab OS image's shell is busybox): no pipefail, so no pipe; the glob
    // stays unexpanded when no kernel is there, and the subshell fails.
    queryKernel: `KVER="$(for f in /usr/lib/modules/*/vmlinuz; do [ -e "$f" ] || exit 1; f="\${f%/vmlinuz}"; echo "\${f##*/}"; done)"`,
    noKernel: 'no /usr/lib/modules/<kernel>/vmlinuz in the base OS image',
    notNodeOs: 'is this a kmodlab lab node OS image?',
    // The lab OS image's /bin/sh is Debian's busybox-static, which runs its own applets
    // before PATH (FEATURE_PREFER_APPLETS); busybox's modinfo has no -k. kmod's tools are
    // in /sbin (src/targets/lab/os-image/init.ts routes them the same way on the node).
    // The image has no systemd, so no /etc/modules-load.d yet.
    finalizeSetup: 'depmod() { /sbin/depmod "$@"; }; modinfo() { /sbin/modinfo "$@"; }; mkdir -p /etc/modules-load.d; ',
    commitLayer: 'echo "kmodlab: debian-lab has no ostree: the image is the node OS as built"',
    kmodCommand: `command -v modprobe >/dev/null && command -v depmod >/dev/null || { echo "kmodlab: the runtime base has no kmod" >&2; exit 1; }`,
  },
};

export function osFamilyOf(release: Pick<Release, 'osFamily'>): OsFamily {
  return OS_FAMILY_TABLE[release.osFamily];
}

/** A driver container's final stage: its base image and the shell that gives it kmod. */
export interface RuntimeStage {
  from: string;
  kmodCommand: string;
}

/**
 * The final stage of a driver container: for rhcos FROM the method's UBI image
 * (`rhcosBase`), for debian-lab FROM the release's runtime-base (a placeholder when the
 * release does not name it).
 */
export function runtimeStage(facts: ReleaseFacts, rhcosBase: string): RuntimeStage {
  const family = osFamilyOf(facts.release);
  return { from: family.id === 'rhcos' ? rhcosBase : facts.runtimeBaseImage, kmodCommand: family.kmodCommand };
}
