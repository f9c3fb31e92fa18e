/**
 * The Containerfiles of the layering method. Both variants have the same three stages:
 *
 * 1. `os-kernel`: the base OS image itself, asked (`rpm -q kernel` on RHCOS; the node OS
 *    family's query, src/methods/os-family.ts) which kernel it boots — not `uname -r`,
 *    which is the build host's kernel;
 * 2. `builder`: the driver-toolkit image, checked to have a build tree for exactly that
 *    kernel (the top cause of broken driver builds is a DTK from another release), then
 *    the driver's own build commands (shared `buildLines`);
 * 3. the final OS image: the base image plus the modules under
 *    `/usr/lib/modules/$KVER/extra`, firmware, modprobe.d options, `depmod`, a
 *    modules-load.d entry (systemd-modules-load loads the modules at every boot) and, on
 *    RHCOS, `ostree container commit`.
 *
 * Off-cluster the base image is `ARG RHCOS_IMAGE` (the release's rhel-coreos); on-cluster
 * it is the MCO's `configs` stage and the final stage must be `FROM configs AS final`.
 */
import { BUILD_OUT, buildLines, loadOrder, modprobeConf, sourceLines } from '../driver-build.js';
import { canonicalModuleName, type DriverSpec } from '../../driver/spec.js';
import type { ReleaseFacts } from '../../release/placeholders.js';
import { signingLines } from '../module-signing.js';
import { osFamilyOf, type OsFamily } from '../os-family.js';
import { rhcosImageFor } from './images.js';

/** Where the os-kernel stage leaves the base image's kernel version. */
export const KERNEL_VERSION_FILE = '/kernel-version';

/** The os-kernel stage body: find the one default kernel of the base image. */
function osKernelLines(family: OsFamily, renderedFor: string | undefined): string[] {
  const lines = [
    `RUN set -eu; \\`,
    `    if ! ${family.queryKernel}; then \\`,
    `      echo "kmodlab: ${family.noKernel}" >&2; exit 1; fi; \\`,
    `    if [ "$(printf '%s\\n' "$KVER" | wc -l)" -ne 1 ]; then \\`,
    `      echo "kmodlab: the base OS image has several kernels: $KVER" >&2; exit 1; fi; \\`,
    `    if [ ! -e "/usr/lib/modules/$KVER/vmlinuz" ]; then \\`,
    `      echo "kmodlab: /usr/lib/modules/$KVER/vmlinuz missing: ${family.notNodeOs}" >&2; exit 1; fi; \\`,
  ];
  if (renderedFor) {
    lines.push(
      `    if [ "$KVER" != "${renderedFor}" ]; then \\`,
      `      echo "kmodlab: note: rendered for kernel ${renderedFor}, the base OS image has $KVER; building for $KVER"; fi; \\`,
    );
  }
  lines.push(`    echo "kmodlab: base OS kernel $KVER"; printf '%s\\n' "$KVER" > ${KERNEL_VERSION_FILE}`);
  return lines;
}

/** The check at the start of the builder stage: the DTK must hold the OS kernel's build tree. */
function dtkCheckLines(): string[] {
  return [
    `COPY --from=os-kernel ${KERNEL_VERSION_FILE} ${KERNEL_VERSION_FILE}`,
    `RUN KVER="$(cat ${KERNEL_VERSION_FILE})"; \\`,
    `    if [ ! -d "/lib/modules/$KVER/build" ]; then \\`,
    `      echo "kmodlab: this driver-toolkit image has no build tree for $KVER, the kernel of the base OS image;" \\`,
    `        "it has: $(ls /usr/src/kernels 2>/dev/null | tr '\\n' ' ')." \\`,
    `        "Use the driver-toolkit of the same release: oc adm release info <release> --image-for=driver-toolkit" >&2; \\`,
    `      exit 1; fi`,
  ];
}

/** COPY lines bringing the build output into the final OS image. */
function installCopyLines(driver: DriverSpec, hasModprobeConf: boolean): string[] {
  const lines = [`COPY --from=builder ${BUILD_OUT}/lib/modules/ /usr/lib/modules/`];
  if (driver.firmware.length > 0) lines.push(`COPY --from=builder ${BUILD_OUT}/lib/firmware/ /usr/lib/firmware/`);
  if (hasModprobeConf) lines.push(`COPY --from=builder ${BUILD_OUT}/etc/modprobe.d/ /etc/modprobe.d/`);
  return lines;
}

/** In-tree modules to keep from autoloading (not the ones the driver replaces under the same name). */
export function blacklistedModules(driver: DriverSpec): string[] {
  const ours = new Set(loadOrder(driver));
  return driver.inTreeModulesToRemove.map(canonicalModuleName).filter((m) => !ours.has(m));
}

/** The final RUN: depmod, check modprobe finds every module, modules-load.d, commit. */
function finalizeLines(driver: DriverSpec, family: OsFamily): string[] {
  const mods = loadOrder(driver);
  const lines = [
    `RUN set -eu; ${family.finalizeSetup}${family.queryKernel}; \\`,
    `    depmod -a "$KVER"; \\`,
    `    for m in ${mods.join(' ')}; do modinfo -k "$KVER" -F filename "$m"; done; \\`,
  ];
  const blacklist = blacklistedModules(driver);
  if (blacklist.length > 0) {
    lines.push(`    printf 'blacklist %s\\n' ${blacklist.join(' ')} > /etc/modprobe.d/${driver.name}-blacklist.conf; \\`);
  }
  lines.push(`    printf '%s\\n' ${mods.join(' ')} > /etc/modules-load.d/${driver.name}.conf; \\`, `    ${family.commitLayer}`);
  return lines;
}

function hasModprobeConf(driver: DriverSpec): boolean {
  return modprobeConf(driver) !== undefined;
}

/** The off-cluster Containerfile (build context: the driver source for `source.path` drivers). */
export function offClusterContainerfile(driver: DriverSpec, facts: ReleaseFacts): string {
  const release = facts.release;
  const about = release.version ? `OpenShift ${release.version}` : 'your OpenShift release';
  const os = rhcosImageFor(release);
  const family = osFamilyOf(release);
  return [
    `# kmodlab: ${driver.name} ${driver.version} as an RHCOS layered image (off-cluster build) for ${about}.`,
    `# Build with ./build.sh (or podman build --build-arg ... -t <image> <context>); see README.md.`,
    `# Both images must come from the SAME release as the cluster's nodes:`,
    `#   oc adm release info <release> --image-for=${os.tag}${os.note ? `      ${os.note}` : ''}`,
    `#   oc adm release info <release> --image-for=driver-toolkit`,
    `ARG RHCOS_IMAGE=${facts.rhcosImage}`,
    `ARG DTK_IMAGE=${facts.driverToolkitImage}`,
    '',
    `# 1. Ask the OS image which kernel it boots (not uname -r: that is the build host's kernel).`,
    `FROM \${RHCOS_IMAGE} AS os-kernel`,
    ...osKernelLines(family, release.kernelVersion),
    '',
    `# 2. Build the modules in the driver-toolkit against exactly that kernel.`,
    `FROM \${DTK_IMAGE} AS builder`,
    ...dtkCheckLines(),
    ...sourceLines(driver, { pathSource: 'context' }),
    ...buildLines(driver, { kverFile: KERNEL_VERSION_FILE }),
    ...signingLines(driver, { source: 'podman-secret', kverFile: KERNEL_VERSION_FILE }),
    '',
    `# 3. The OS image plus the modules; systemd-modules-load loads them at every boot.`,
    `FROM \${RHCOS_IMAGE}`,
    `LABEL io.kmodlab.driver=${driver.name} io.kmodlab.driver-version=${driver.version}`,
    ...installCopyLines(driver, hasModprobeConf(driver)),
    ...finalizeLines(driver, family),
    '',
  ].join('\n');
}

/**
 * The on-cluster Containerfile, appended by the MCO after its own `configs` stage (the
 * pool's base OS image with its MachineConfigs applied). Other images may be used as
 * build stages; their pull credentials must be in the MachineOSConfig's
 * baseImagePullSecret. The MCO stores at most 4096 characters.
 */
export function onClusterContainerfile(driver: DriverSpec, facts: ReleaseFacts, sourceImage: string): string {
  const family = osFamilyOf(facts.release);
  return [
    `# kmodlab: ${driver.name} ${driver.version}. 1. kernel of the pool's OS image`,
    `FROM configs AS os-kernel`,
    ...osKernelLines(family, undefined),
    `# 2. build against it in the driver-toolkit (pinned: ${facts.release.version ? `OpenShift ${facts.release.version}` : 'this release'})`,
    `FROM ${facts.driverToolkitImage} AS builder`,
    ...dtkCheckLines(),
    ...sourceLines(driver, { pathSource: 'image', sourceImage }),
    ...buildLines(driver, { kverFile: KERNEL_VERSION_FILE }),
    `# 3. the pool's image plus the modules`,
    `FROM configs AS final`,
    ...installCopyLines(driver, hasModprobeConf(driver)),
    ...finalizeLines(driver, family),
  ].join('\n');
}

/** The MCO's limit on `containerFile[].content`. */
export const CONTAINERFILE_CONTENT_MAX = 4096;
