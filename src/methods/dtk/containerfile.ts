/**
 * The driver container image of the dtk method: a builder stage FROM the driver-toolkit
 * image compiles the modules (shared helpers in ../driver-build.ts), a small final stage
 * holds only the .ko files, kmod (modprobe/depmod) and the driver's modprobe.d options,
 * laid out where `modprobe` inside the container looks: `/lib/modules/$KVER/extra/`,
 * with the module index made in the builder (against the DTK's in-tree modules) and
 * `/lib/modules/$KVER/kernel` linked to the node's tree, mounted by the DaemonSet.
 *
 * - pinned: `ARG DTK` (the release's driver-toolkit, by digest) and `ARG KVER` (its
 *   kernel) are fixed at render time and passed as build args.
 * - tracking: the builder is the cluster's `openshift/driver-toolkit:latest` and the
 *   kernel is whatever that image was made for (`KERNEL_VERSION` in
 *   /etc/driver-toolkit-release.json), read during the build.
 */
import type { DriverSpec } from '../../driver/spec.js';
import { BUILD_OUT, buildLines, loadOrder, modprobeConf, sourceLines } from '../driver-build.js';
import { signingLines, type SigningSecretSource } from '../module-signing.js';
import type { RuntimeStage } from '../os-family.js';
import { CLUSTER_DTK_PULL_SPEC, rhelMajor } from './names.js';

/**
 * Where the DaemonSet mounts the node's module tree (read-only): the image's
 * `/lib/modules/<kernel>/kernel` is a symlink into it, so `modprobe` in the pod loads
 * in-tree dependencies (drm_kms_helper, industrialio, snd_pcm…) from the node, the way
 * KMM's images link their `/opt/lib/modules/<kernel>/` to the node's tree.
 */
export const HOST_MODULES_MOUNT = '/host/usr/lib/modules';

/** Where the tracking builder writes the DTK's kernel version (read by every RUN that needs KVER). */
export const KVER_FILE = '/etc/kmodlab-kver';
/** The file in every driver-toolkit image that names its kernel. */
export const DTK_RELEASE_FILE = '/etc/driver-toolkit-release.json';

/**
 * Final-stage base on rhcos (other families: src/methods/os-family.ts): UBI minimal of the nodes' RHEL major (8 for RHCOS 4.12 and older, 9
 * after), from registry.access.redhat.com, which needs no pull secret. `microdnf install
 * kmod` needs the UBI repositories (cdn-ubi.redhat.com) at build time.
 */
export function finalBaseImage(kver: string | undefined): string {
  const major = rhelMajor(kver);
  const ubi = major === 8 || major === 10 ? major : 9;
  return `registry.access.redhat.com/ubi${ubi}/ubi-minimal`;
}

export interface PinnedContainerfileInput {
  dtkImage: string;
  kver: string;
  /** Comment lines saying how this file is built (in-cluster and off-cluster). */
  header: string[];
  /** Where a signed driver's key comes from: podman `--secret` (off-cluster) or BuildConfig build volumes. */
  signing: SigningSecretSource;
  /** The final stage's base and kmod line, by node OS family (see `finalStage`). */
  runtime: RuntimeStage;
}

export function pinnedContainerfile(driver: DriverSpec, input: PinnedContainerfileInput): string {
  return [
    ...input.header.map((l) => `# ${l}`.trimEnd()),
    `ARG DTK=${input.dtkImage}`,
    `ARG KVER=${input.kver}`,
    '',
    'FROM ${DTK} AS builder',
    'ARG KVER',
    ...sourceLines(driver, { pathSource: 'context' }),
    ...buildLines(driver),
    ...signingLines(driver, { source: input.signing }),
    ...indexLines(driver),
    '',
    `FROM ${input.runtime.from}`,
    'ARG KVER',
    ...finalStageLines(driver, input.runtime, '${KVER}'),
    '',
  ].join('\n');
}

export interface TrackingContainerfileInput {
  /** Pull spec of the source image for `source.path` drivers (built by the source BuildConfig). */
  sourceImage?: string;
  header: string[];
  /** The final stage's base and kmod line (for rhcos, the UBI major comes from a kernel of the release only; the build does not depend on it). */
  runtime: RuntimeStage;
}

export function trackingContainerfile(driver: DriverSpec, input: TrackingContainerfileInput): string {
  const source =
    'path' in driver.source
      ? sourceLines(driver, { pathSource: 'image', sourceImage: input.sourceImage })
      : sourceLines(driver, { pathSource: 'context' });
  return [
    ...input.header.map((l) => `# ${l}`.trimEnd()),
    `ARG DTK=${CLUSTER_DTK_PULL_SPEC}`,
    '',
    'FROM ${DTK} AS builder',
    `# The kernel to build for is the one this driver-toolkit image was made for.`,
    `RUN sed -n 's/.*"KERNEL_VERSION": *"\\([^"]*\\)".*/\\1/p' ${DTK_RELEASE_FILE} > ${KVER_FILE} \\`,
    ` && test -s ${KVER_FILE} || { echo "no KERNEL_VERSION in ${DTK_RELEASE_FILE}" >&2; exit 1; } \\`,
    ` && echo "building ${driver.name} ${driver.version} for kernel $(cat ${KVER_FILE})"`,
    ...source,
    ...buildLines(driver, { kverFile: KVER_FILE }),
    // Built in the cluster only: the key comes from the BuildConfig's build volumes.
    ...signingLines(driver, { source: 'build-volumes', kverFile: KVER_FILE }),
    ...indexLines(driver, KVER_FILE),
    '',
    `FROM ${input.runtime.from}`,
    ...finalStageLines(driver, input.runtime, '$(ls /lib/modules)'),
    '',
  ].join('\n');
}

/**
 * The builder's output tree (modules, firmware, modprobe.d options), then one RUN: kmod
 * (modprobe and depmod, for the DaemonSet lifecycle hooks) and, for each kernel
 * directory, `kernel/` linked to the node's in-tree modules, which the DaemonSet mounts.
 * One RUN, as each costs the build a container start.
 */
function finalStageLines(driver: DriverSpec, runtime: RuntimeStage, kvers: string): string[] {
  const lines = [`COPY --from=builder ${BUILD_OUT}/lib/modules/ /lib/modules/`];
  if (driver.firmware.length > 0) lines.push(`COPY --from=builder ${BUILD_OUT}/lib/firmware/ /lib/firmware/`);
  if (modprobeConf(driver)) lines.push(`COPY --from=builder ${BUILD_OUT}/etc/modprobe.d/ /etc/modprobe.d/`);
  lines.push(
    `# modprobe and depmod for the DaemonSet lifecycle hooks; in-tree modules come from the node (DaemonSet hostPath ${HOST_MODULES_MOUNT}, read-only), the index came from the builder.`,
    `RUN ${runtime.kmodCommand} \\`,
    ` && for k in ${kvers}; do ln -sfn ${HOST_MODULES_MOUNT}/$k/kernel /lib/modules/$k/kernel; done`,
  );
  return lines;
}

/**
 * Builder stage: index the driver's modules together with the in-tree modules they
 * depend on (`depmod` given those files only), and keep the index files with the build
 * output. The index then names in-tree dependencies by their path under `kernel/`,
 * which the final image links to the node's tree. The in-tree modules needed are the
 * closure of the modules' `depends` in the driver-toolkit's own index of the same kernel
 * (`modprobe --show-depends`): indexing its whole tree instead took 1.2–1.7 s of a lab
 * build for the ~4000 modules of a kernel. A dependency the kernel does not have fails
 * the build here. Not `depmod` in the final stage: there the in-tree modules are not
 * present (they are the node's, at run time).
 */
function indexLines(driver: DriverSpec, kverFile?: string): string[] {
  const kver = kverFile ? `KVER="$(cat ${kverFile})" && ` : '';
  const own = loadOrder(driver).join(' ');
  const extra = '/lib/modules/$KVER/extra';
  return [
    "# Index the modules with the in-tree modules they depend on (from the driver-toolkit's index of the same kernel), so modprobe resolves in-tree dependencies.",
    `RUN ${kver}mkdir -p ${extra} && cp -a ${BUILD_OUT}/lib/modules/$KVER/extra/. ${extra}/ \\`,
    ` && for d in $(modinfo -F depends ${extra}/*.ko | tr ',-' ' _'); do \\`,
    `      case " ${own} " in *" $d "*) ;; *) modprobe -S "$KVER" --show-depends "$d" || exit 1 ;; esac; done > /tmp/kmodlab-in-tree-deps \\`,
    ` && depmod "$KVER" ${extra}/*.ko $(sed -n 's/^insmod \\([^ ]*\\).*/\\1/p' /tmp/kmodlab-in-tree-deps | sort -u) \\`,
    ` && cp /lib/modules/$KVER/modules.* ${BUILD_OUT}/lib/modules/$KVER/`,
  ];
}
