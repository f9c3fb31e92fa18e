/**
 * KMM's Day-1 form, after the design of KMM's `day1-utility` / `mcproducer`
 * (rh-ecosystem-edge/kernel-module-management docs "Day 1 kernel module loading"):
 * a MachineConfig (Ignition 3.2.0) with two systemd units and the script they run.
 *
 * - The load unit runs before `network-pre.target` (DefaultDependencies=no). If the kmod
 *   image for the running kernel (tag = driver version + `uname -r` the way KMM writes
 *   it) is already in the node's container storage, it copies the modules (and firmware)
 *   out of it, unloads the in-tree modules to replace, and loads the driver's modules
 *   with the host's modprobe. Otherwise it does nothing: there is no network yet.
 * - The pull unit runs after `network-online.target` (and after MCO's first-boot
 *   pivot, which reboots anyway). If the image is missing it pulls it with the node's
 *   pull secret and reboots, so that the load unit finds it on the next boot.
 *
 * Hence one extra reboot per node for every kernel the node boots for the first time
 * (first install, each upgrade). No initramfs support (as upstream). Differences from
 * upstream, by choice: the modules are extracted with podman and loaded by the host's
 * modprobe (no KMM worker image needed at boot), every module gets its own parameters,
 * the pull is retried, and `crio-wipe.service` is left alone (upstream masks it); if CRI-O
 * wipes the storage the pull unit fetches the image again.
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

/** Always single-quoted, for values in the generated shell script. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The modprobe commands of the load step, in load order, each with its own parameters. */
export function day1LoadCommands(driver: DriverSpec, modulesRoot: string): string[] {
  return loadOrder(driver).map((m) => ['modprobe', '-v', '-d', `"${modulesRoot}"`, m, ...moduleParameterWords(driver, m).map(sq)].join(' '));
}

export function day1Script(driver: DriverSpec, names: KmmNames): string {
  const hasFirmware = driver.firmware.length > 0;
  const inTree = driver.inTreeModulesToRemove;
  const lines = [
    '#!/bin/bash',
    `# kmodlab: Day-1 loader for ${driver.name} ${driver.version} (method kmm), written by MachineConfig ${names.machineConfig}.`,
    `#   ${names.day1Script} load  — ${names.day1LoadUnit}, before network-pre.target: load from the local image`,
    `#   ${names.day1Script} pull  — ${names.day1PullUnit}, after network-online.target: pull the image, reboot`,
    'set -euo pipefail',
    '',
    `IMAGE_REPO=${sq(names.imageRepo)}`,
    `DRIVER_VERSION=${sq(driver.version)}`,
    `MODULES_ROOT=${sq(names.day1ModulesRoot)}`,
    `AUTHFILE=${sq(NODE_AUTHFILE)}`,
    'KVER="$(uname -r)"',
    '# KMM writes the kernel into image tags with characters outside [A-Za-z0-9._-] replaced by "_".',
    'IMAGE="${IMAGE_REPO}:${DRIVER_VERSION}-$(printf \'%s\' "${KVER}" | tr -c \'A-Za-z0-9._-\' \'_\')"',
    '',
    `log() { echo "kmodlab-${driver.name}: $*" >&2; }`,
    '',
    'load() {',
    '  if ! podman image exists "${IMAGE}"; then',
    `    log "\${IMAGE} is not in local storage: ${names.day1PullUnit} pulls it once the network is up and reboots"`,
    '    return 0',
    '  fi',
    '  CTR="$(podman create "${IMAGE}" /bin/true)"',
    '  trap \'podman rm -f "${CTR}" >/dev/null 2>&1 || true\' EXIT',
    '  rm -rf "${MODULES_ROOT}/lib/modules/${KVER}"',
    '  mkdir -p "${MODULES_ROOT}/lib/modules"',
    `  podman cp "\${CTR}:${MODULES_DIR}/lib/modules/\${KVER}" "\${MODULES_ROOT}/lib/modules/\${KVER}"`,
  ];
  if (hasFirmware) {
    lines.push(
      `  mkdir -p ${HOST_FIRMWARE_DIR}`,
      `  podman cp "\${CTR}:${FIRMWARE_DIR}/." ${HOST_FIRMWARE_DIR}/`,
      `  # /lib/firmware is read-only on RHCOS: add ${HOST_FIRMWARE_DIR} to the kernel's firmware search path (as KMM's worker does)`,
      `  printf '%s' ${HOST_FIRMWARE_DIR} > /sys/module/firmware_class/parameters/path`,
    );
  }
  for (const m of inTree) {
    lines.push(
      `  if grep -q '^${canonicalModuleName(m)} ' /proc/modules; then`,
      `    log "unloading in-tree module ${m}"`,
      `    modprobe -v -r ${m}`,
      '  fi',
    );
  }
  lines.push(
    ...day1LoadCommands(driver, '${MODULES_ROOT}').map((c) => `  ${c}`),
    '  log "loaded from ${IMAGE}"',
    '}',
    '',
    'pull() {',
    '  if podman image exists "${IMAGE}"; then',
    '    log "${IMAGE} is present"',
    '    return 0',
    '  fi',
    '  local attempt',
    `  for attempt in $(seq 1 ${PULL_ATTEMPTS}); do`,
    '    if podman pull --authfile "${AUTHFILE}" "${IMAGE}"; then',
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
    'Before=network-pre.target',
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
          ],
        },
      },
    },
  };
}
