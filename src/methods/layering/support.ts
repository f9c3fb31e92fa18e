/**
 * Which releases have on-cluster layering (MachineOSConfig), and in which API version.
 * kmodlab renders only the API versions whose schema it checks against
 * (machineconfiguration.openshift.io/v1; the v1alpha1 of 4.16–4.17 had other fields).
 */
import { UserError } from '../../errors.js';
import { minorVersion, type Release } from '../../release/release.js';

export const MACHINE_OS_CONFIG_API = 'machineconfiguration.openshift.io/v1';

export interface OnClusterSupport {
  apiVersion: typeof MACHINE_OS_CONFIG_API;
  /** `ga` from 4.19 (and 4.18.21+), `tech-preview` on earlier 4.18 z-streams. */
  level: 'ga' | 'tech-preview';
  /** Single-node OpenShift (master pool) is supported from 4.19. */
  singleNode: boolean;
}

const SUPPORTED = 'on-cluster layering (MachineOSConfig machineconfiguration.openshift.io/v1) is GA from OpenShift 4.19 (and 4.18.21), Tech Preview in earlier 4.18 releases';

export function onClusterSupport(release: Release): OnClusterSupport {
  const v = minorVersion(release);
  if (!v) {
    throw new UserError(
      `--variant on-cluster depends on the OpenShift version, which is unknown: pass --ocp-version <version> (${SUPPORTED})`,
      'oc get clusterversion version -o jsonpath={.status.desired.version}',
    );
  }
  const [major, minor] = v;
  const patch = Number(/^\d+\.\d+\.(\d+)/.exec(release.version ?? '')?.[1] ?? 0);
  if (major === 4 && (minor === 16 || minor === 17)) {
    throw new UserError(
      `--variant on-cluster: OpenShift ${release.version} only has the Tech Preview MachineOSConfig machineconfiguration.openshift.io/v1alpha1, which kmodlab does not render; ${SUPPORTED}. Use --variant off-cluster on ${release.version}.`,
    );
  }
  if (major < 4 || (major === 4 && minor < 16)) {
    throw new UserError(`--variant on-cluster: OpenShift ${release.version} has no on-cluster layering; ${SUPPORTED}. Use --variant off-cluster on ${release.version}.`);
  }
  if (major === 4 && minor === 18) {
    return { apiVersion: MACHINE_OS_CONFIG_API, level: patch >= 21 ? 'ga' : 'tech-preview', singleNode: false };
  }
  return { apiVersion: MACHINE_OS_CONFIG_API, level: 'ga', singleNode: true };
}
