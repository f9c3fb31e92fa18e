/**
 * The Dockerfile KMM builds in the cluster (ConfigMap key `dockerfile`), also usable
 * off-cluster with podman for the Day-1 image:
 *
 * 1. `builder`, FROM `${DTK_AUTO}`: KMM sets DTK_AUTO to the driver-toolkit image of the
 *    node's kernel, and KERNEL_FULL_VERSION to that kernel; the stage checks that the
 *    DTK really has that kernel's build tree, fetches the source (shared `sourceLines`)
 *    and runs the driver's build commands with KVER=KERNEL_FULL_VERSION (`buildLines`);
 * 2. the kmod image, FROM ubi-minimal (rhcos; the node OS family decides, os-family.ts): the `.ko` files under
 *    `/opt/lib/modules/<kernel>/extra/`, `depmod -b /opt <kernel>` (kmod installed for
 *    it), firmware under `/firmware/`. KMM's worker needs `sh`, `mkdir` and `cp` in it.
 *    In-tree dependencies follow KMM's convention ("Symbolic links for in-tree
 *    dependencies", OpenShift docs, Kernel Module Management Operator chapter): KMM
 *    mounts the node's /usr/lib/modules into build and worker pods, and a symlink
 *    `/opt/lib/modules/<kernel>/host` → `/lib/modules/<kernel>` lets `depmod -b /opt`
 *    record in-tree modules (drm_kms_helper, industrialio, snd_pcm …) and
 *    `modprobe -d /opt` load them. Harmless for a driver without such dependencies.
 *
 * `ARG DTK_AUTO` must appear: KMM only fills DTK_AUTO when the Dockerfile mentions it.
 */
import type { DriverSpec } from '../../driver/spec.js';
import { BUILD_OUT, buildLines, sourceLines } from '../driver-build.js';
import type { RuntimeStage } from '../os-family.js';
import { FIRMWARE_DIR, MODULES_DIR, type KmmNames } from './names.js';

/** Name of the in-tree symlink under /opt/lib/modules/<kernel>/ (as in KMM's docs). */
export const IN_TREE_LINK = 'host';

/** Base image of the kmod image (Red Hat's minimal UBI, as in the KMM docs). */
export const KMOD_BASE_IMAGE = 'registry.redhat.io/ubi9/ubi-minimal';

/** `runtime`: the kmod image's base and kmod line by node OS family (rhcos: KMOD_BASE_IMAGE, microdnf). */
export function kmmDockerfile(driver: DriverSpec, names: KmmNames, runtime: RuntimeStage): string {
  const modulesOut = `${BUILD_OUT}/lib/modules/\${KERNEL_FULL_VERSION}/`;
  const lines = [
    `# kmod image for ${driver.name} ${driver.version}, built by KMM for each node kernel (kmodlab, method kmm).`,
    '# KMM sets the build args DTK_AUTO (driver-toolkit image for the kernel) and KERNEL_FULL_VERSION.',
    'ARG DTK_AUTO',
    'FROM ${DTK_AUTO} AS builder',
    'ARG KERNEL_FULL_VERSION',
    'ENV KVER=${KERNEL_FULL_VERSION}',
    ...sourceLines(driver, { pathSource: 'image', sourceImage: names.sourceImage }),
    // First in the build's RUN: a driver-toolkit without this kernel's build tree says so.
    ...buildLines(driver, {
      before: ['{ test -n "${KVER}" && test -d "/lib/modules/${KVER}/build" || { echo "kmodlab: no kernel build tree for \'${KVER}\' in this driver-toolkit image (DTK_AUTO must match KERNEL_FULL_VERSION)" >&2; exit 1; }; }'],
    }),
    '',
    `FROM ${runtime.from}`,
    'ARG KERNEL_FULL_VERSION',
    `COPY --from=builder ${modulesOut} ${MODULES_DIR}/lib/modules/\${KERNEL_FULL_VERSION}/`,
  ];
  if (driver.firmware.length > 0) {
    lines.push(`COPY --from=builder ${BUILD_OUT}/lib/firmware/ ${FIRMWARE_DIR}/`);
  }
  lines.push(
    "# kmod, then KMM's convention for in-tree dependencies: the node's module tree (mounted by KMM) through a symlink, indexed with the modules (one RUN: each costs the build a container start).",
    `RUN ${runtime.kmodCommand} \\`,
    ` && ln -s /lib/modules/\${KERNEL_FULL_VERSION} ${MODULES_DIR}/lib/modules/\${KERNEL_FULL_VERSION}/${IN_TREE_LINK} \\`,
    ` && depmod -b ${MODULES_DIR} \${KERNEL_FULL_VERSION}`,
    '',
  );
  return lines.join('\n');
}

/**
 * Day 1 with signing: KMM signs only the images it builds in the cluster, so the image
 * built off-cluster for first boot is signed with this Containerfile, the way KMM's sign
 * step does it (copy the image's /opt out, `sign-file` every file of `filesToSign`, copy
 * it back): `podman build --secret id=key,src=<key> --secret id=cert,src=<cert>`.
 * `sign-file` comes from the kernel build tree of the driver-toolkit image.
 */
export function kmmSignContainerfile(driver: DriverSpec, files: readonly string[]): string {
  const loops = files.map(
    (f) => `    for f in /signed${f}; do [ -e "$f" ] || { echo "kmodlab: nothing to sign at $f" >&2; exit 1; }; "$SIGN_FILE" sha256 /run/secrets/key /run/secrets/cert "$f"; done`,
  );
  return [
    `# Signs the modules of the Day-1 kmod image of ${driver.name} ${driver.version} (kmodlab, method kmm), as KMM's sign step does.`,
    '#   podman build -f Containerfile.sign --authfile pull-secret.json \\',
    '#     --build-arg UNSIGNED_IMAGE=<image>-unsigned --build-arg DTK_IMAGE=<driver-toolkit> --build-arg KERNEL_FULL_VERSION=<kernel> \\',
    '#     --secret id=key,src=signing_key.priv --secret id=cert,src=signing_key.der -t <image> .',
    'ARG UNSIGNED_IMAGE',
    'ARG DTK_IMAGE',
    'FROM ${UNSIGNED_IMAGE} AS unsigned',
    '',
    'FROM ${DTK_IMAGE} AS signer',
    'ARG KERNEL_FULL_VERSION',
    `COPY --from=unsigned ${MODULES_DIR}/ /signed${MODULES_DIR}/`,
    'RUN --mount=type=secret,id=key --mount=type=secret,id=cert \\',
    '    set -eu; SIGN_FILE="/lib/modules/${KERNEL_FULL_VERSION}/build/scripts/sign-file"; \\',
    ...loops.map((l, i) => (i < loops.length - 1 ? `${l}; \\` : l)),
    '',
    'FROM ${UNSIGNED_IMAGE}',
    `COPY --from=signer /signed${MODULES_DIR}/ ${MODULES_DIR}/`,
    '',
  ].join('\n');
}
