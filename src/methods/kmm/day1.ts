/**
 * KMM's Day-1 form, modelled on KMM's Day-1 utility (`day1-utility` / `pkg/mcproducer`,
 * rh-ecosystem-edge/kernel-module-management docs "Day 1 kernel module loading",
 * day1_limited_option.md; templates/machine-config.gotmpl, scripts/pull-image.sh and
 * replace-kernel-module.sh): a MachineConfig (Ignition 3.2.0) with two systemd units,
 * the script they run, and `crio-wipe.service` masked.
 *
 * As upstream:
 * - the image is tagged with the node's kernel: `<repo>:<uname -r>` (names.ts);
 * - the load unit runs before `network-pre.target` (DefaultDependencies=no). If the
 *   pulled image is on the node it unloads the in-tree modules to replace and loads the
 *   driver by running a container through podman (privileged, the node's /lib/modules
 *   mounted, `modprobe -d /opt`), as KMM's worker does. Otherwise it does nothing: there
 *   is no network yet;
 * - the pull unit runs after `network-online.target`: if the image is missing it pulls
 *   it with the node's pull secret, saves it to an archive (`podman save`) and reboots,
 *   so that the load unit finds it on the next boot;
 * - `crio-wipe.service` is masked: CRI-O may wipe the shared container storage at boot,
 *   which would take the images with it before the load unit ran.
 *
 * Modelled on, not equal to, upstream (by choice):
 * - the container that loads is the kmod image itself (it carries kmod for `depmod`),
 *   not KMM's worker image with a generated config: no second image to pull and to pin
 *   per KMM version, one `modprobe` per module so every module gets its own parameters;
 * - the archive is kept per kernel under `day1ImageStore` (upstream keeps one file and
 *   deletes it on the boot after the reboot), so every later boot loads too;
 * - the tag maps characters outside `[A-Za-z0-9._-]` to `_` as KMM does for its own
 *   builds (a 4.16+ realtime `uname -r` ends in `+rt`, which no image tag may hold);
 * - the pull is retried, and it runs after MCO's first-boot pivot (which reboots anyway).
 *
 * Hence one extra reboot per node for every kernel the node boots for the first time
 * (first install, each upgrade). No initramfs support (as upstream).
 */
import type { DriverSpec } from '../../driver/spec.js';
import { canonicalModuleName, moduleParameterWords } from '../../driver/spec.js';
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { ANNOTATION_INSTALL_PHASE, standardLabels } from '../../labels.js';
import type { RenderOptions } from '../method.js';
import { loadOrder } from '../driver-build.js';
import { FIRMWARE_DIR, HOST_FIRMWARE_DIR, MACHINE_CONFIG_API, MODULES_DIR, type KmmNames } from './names.js';

/** Ignition spec version of the MachineConfig (as KMM's mcproducer). */
export const IGNITION_VERSION = '3.2.0';
/** The kubelet's copy of the global pull secret on every node. */
export const NODE_AUTHFILE = '/var/lib/kubelet/config.json';
export const PULL_ATTEMPTS = 20;
export const PULL_RETRY_SECONDS = 30;
/** CRI-O's boot-time storage wipe; KMM's Day-1 MachineConfig masks it. */
export const CRIO_WIPE_UNIT = 'crio-wipe.service';
/**
 * How the load step runs the kmod image, like KMM's worker pod: privileged, as root, no
 * network (there is none yet), the node's module tree mounted for in-tree dependencies.
 */
export const DAY1_RUN = 'podman run --rm --privileged --user=root --network=none -v /lib/modules:/lib/modules:ro';

/** Always single-quoted, for values in the generated shell script. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The modprobe commands of the load step, in load order, each with its own parameters (run inside the kmod image). */
export function day1LoadCommands(driver: DriverSpec): string[] {
  return loadOrder(driver).map((m) => ['modprobe', '-v', '-d', MODULES_DIR, m, ...moduleParameterWords(driver, m).map(sq)].join(' '));
}

export function day1Script(driver: DriverSpec, names: KmmNames): string {
  const hasFirmware = driver.firmware.length > 0;
  const inTree = driver.inTreeModulesToRemove;
  const lines = [
    '#!/bin/bash',
    `# kmodlab: Day-1 loader for ${driver.name} ${driver.version} (method kmm), written by MachineConfig ${names.machineConfig};`,
    "# modelled on KMM's Day-1 utility (see the kmodlab README for where it differs).",
    `#   ${names.day1Script} load  — ${names.day1LoadUnit}, before network-pre.target: load from the pulled image`,
    `#   ${names.day1Script} pull  — ${names.day1PullUnit}, after network-online.target: pull the image, reboot`,
    'set -euo pipefail',
    '',
    `IMAGE_REPO=${sq(names.imageRepo)}`,
    `IMAGE_STORE=${sq(names.day1ImageStore)}`,
    `AUTHFILE=${sq(NODE_AUTHFILE)}`,
    'KVER="$(uname -r)"',
    "# KMM's Day-1 scheme: the tag is the kernel; characters outside [A-Za-z0-9._-] become \"_\" (as in KMM's own builds).",
    'TAG="$(printf \'%s\' "${KVER}" | tr -c \'A-Za-z0-9._-\' \'_\')"',
    'IMAGE="${IMAGE_REPO}:${TAG}"',
    'ARCHIVE="${IMAGE_STORE}/${TAG}.tar"',
    '',
    `log() { echo "kmodlab-${driver.name}: $*" >&2; }`,
    '',
    'load() {',
    '  if [ ! -e "${ARCHIVE}" ]; then',
    `    log "\${IMAGE} is not on this node yet: ${names.day1PullUnit} pulls it once the network is up and reboots"`,
    '    return 0',
    '  fi',
    '  podman load -q -i "${ARCHIVE}" >/dev/null',
  ];
  for (const m of inTree) {
    lines.push(
      `  if grep -q '^${canonicalModuleName(m)} ' /proc/modules; then`,
      `    log "unloading in-tree module ${m}"`,
      `    modprobe -v -r ${m}`,
      '  fi',
    );
  }
  if (hasFirmware) {
    lines.push(
      `  mkdir -p ${HOST_FIRMWARE_DIR}`,
      `  ${DAY1_RUN} -v ${HOST_FIRMWARE_DIR}:${HOST_FIRMWARE_DIR} "\${IMAGE}" cp -r ${FIRMWARE_DIR}/. ${HOST_FIRMWARE_DIR}/`,
      `  # /lib/firmware is read-only on RHCOS: add ${HOST_FIRMWARE_DIR} to the kernel's firmware search path (as KMM's worker does)`,
      `  printf '%s' ${HOST_FIRMWARE_DIR} > /sys/module/firmware_class/parameters/path`,
    );
  }
  lines.push(
    ...day1LoadCommands(driver).map((c) => `  ${DAY1_RUN} "\${IMAGE}" ${c}`),
    '  log "loaded from ${IMAGE}"',
    '}',
    '',
    'pull() {',
    '  if [ -e "${ARCHIVE}" ]; then',
    '    log "${IMAGE} is on this node (${ARCHIVE})"',
    '    return 0',
    '  fi',
    '  local attempt',
    `  for attempt in $(seq 1 ${PULL_ATTEMPTS}); do`,
    '    if podman pull --authfile "${AUTHFILE}" "${IMAGE}"; then',
    '      mkdir -p "${IMAGE_STORE}"',
    '      # keep one archive: the one of the running kernel',
    '      rm -f "${IMAGE_STORE}"/*.tar',
    '      podman save -o "${ARCHIVE}.part" "${IMAGE}"',
    '      mv "${ARCHIVE}.part" "${ARCHIVE}"',
    `      log "pulled \${IMAGE}; rebooting so that ${names.day1LoadUnit} loads the driver before the network starts"`,
    '      systemctl reboot',
    '      return 0',
    '    fi',
    `    log "pulling \${IMAGE} failed (attempt \${attempt}/${PULL_ATTEMPTS}); retrying in ${PULL_RETRY_SECONDS}s"`,
    `    sleep ${PULL_RETRY_SECONDS}`,
    '  done',
    '  log "could not pull ${IMAGE}: build and push the image for kernel ${KVER} (see the kmodlab README)"',
    '  return 1',
    '}',
    '',
    'case "${1:-}" in',
    '  load) load ;;',
    '  pull) pull ;;',
    '  *) echo "usage: $0 load|pull" >&2; exit 2 ;;',
    'esac',
    '',
  );
  return lines.join('\n');
}

export function loadUnit(driver: DriverSpec, names: KmmNames): string {
  return [
    '[Unit]',
    `Description=kmodlab: load ${driver.name} ${driver.version} from its KMM kmod image before the network starts`,
    'DefaultDependencies=no',
    'After=local-fs.target',
    // crio-wipe is masked (below); the ordering also keeps podman off the storage while a wipe would run.
    `Before=network-pre.target ${CRIO_WIPE_UNIT}`,
    'Wants=network-pre.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${names.day1Script} load`,
    'TimeoutStartSec=180',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function pullUnit(driver: DriverSpec, names: KmmNames): string {
  return [
    '[Unit]',
    `Description=kmodlab: pull the KMM kmod image of ${driver.name} ${driver.version} for the running kernel (reboots after a pull)`,
    'Wants=network-online.target',
    `After=network-online.target machine-config-daemon-firstboot.service ${names.day1LoadUnit}`,
    '',
    '[Service]',
    'Type=oneshot',
    'EnvironmentFile=-/etc/mco/proxy.env',
    `ExecStart=${names.day1Script} pull`,
    `TimeoutStartSec=${PULL_ATTEMPTS * (PULL_RETRY_SECONDS + 15) + 60}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function dataUrl(text: string): string {
  return `data:text/plain;charset=utf-8;base64,${Buffer.from(text, 'utf8').toString('base64')}`;
}

export function day1MachineConfig(driver: DriverSpec, names: KmmNames, options: RenderOptions): K8sObject {
  return {
    apiVersion: MACHINE_CONFIG_API,
    kind: 'MachineConfig',
    metadata: {
      name: names.machineConfig,
      labels: {
        ...standardLabels(driver.name, 'kmm', 'day1-loader', driver.version),
        'machineconfiguration.openshift.io/role': options.pool,
      },
      annotations: { [ANNOTATION_INSTALL_PHASE]: 'day1' },
    },
    spec: {
      config: {
        ignition: { version: IGNITION_VERSION },
        storage: {
          files: [
            {
              path: names.day1Script,
              mode: 0o755,
              overwrite: true,
              contents: { source: dataUrl(day1Script(driver, names)) },
            },
          ],
        },
        systemd: {
          units: [
            { name: names.day1LoadUnit, enabled: true, contents: loadUnit(driver, names) },
            { name: names.day1PullUnit, enabled: true, contents: pullUnit(driver, names) },
            // As KMM's Day-1 MachineConfig: keep CRI-O from wiping the storage the loader uses.
            { name: CRIO_WIPE_UNIT, enabled: false, mask: true },
          ],
        },
      },
    },
  };
}
