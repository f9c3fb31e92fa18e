/**
 * Links into the OpenShift documentation for the rendered release's version, so a README
 * never sends a 4.12 user to 4.19 instructions. Unknown version → `latest`.
 *
 * Page paths are docs.openshift.com's (which redirects to docs.redhat.com): the RHCOS
 * layering chapter moved from "Postinstallation configuration" (4.12–4.14) to the
 * "Machine configuration" book (4.15 on).
 */
import { minorVersion, type Release } from '../release/release.js';

const BASE = 'https://docs.openshift.com/container-platform';

/** `4.14` for 4.14.12; `latest` when the version is unknown. */
export function docsVersion(release: Release): string {
  const v = minorVersion(release);
  return v ? `${v[0]}.${v[1]}` : 'latest';
}

export interface OcpDocs {
  /** Updating the global cluster pull secret. */
  globalPullSecret: string;
  /** RHCOS image layering (off- and on-cluster). */
  coreosLayering: string;
  /** The Driver Toolkit. */
  driverToolkit: string;
  /** The Kernel Module Management operator chapter (the fallback minor's when the version is unknown). */
  kmm: string;
}

export function ocpDocs(release: Release): OcpDocs {
  const version = docsVersion(release);
  const v = minorVersion(release);
  const layeringInPostInstall = v !== undefined && v[0] === 4 && v[1] <= 14;
  const at = (page: string) => `${BASE}/${version}/${page}`;
  return {
    globalPullSecret: at('openshift_images/managing_images/using-image-pull-secrets.html#images-update-global-pull-secret_using-image-pull-secrets'),
    coreosLayering: at(layeringInPostInstall ? 'post_installation_configuration/coreos-layering.html' : 'machine_configuration/mco-coreos-layering.html'),
    driverToolkit: at('hardware_enablement/psap-driver-toolkit.html'),
    kmm: ocpKmmDocs(v),
  };
}

/** Newest OpenShift minor whose KMM chapter the feature table cites; also the fallback when the release is unknown. */
export const DOCS_FALLBACK_MINOR: readonly [number, number] = [4, 20];

/**
 * The KMM chapter of the OpenShift documentation for one OpenShift minor (the chapter
 * exists from 4.12, the first release KMM supports; older minors get the 4.12 chapter).
 */
export function ocpKmmDocs(minor: readonly [number, number] | undefined = DOCS_FALLBACK_MINOR): string {
  const [major, m] = minor[0] === 4 && minor[1] < 12 ? [4, 12] : minor;
  return `https://docs.redhat.com/en/documentation/openshift_container_platform/${major}.${m}/html/specialized_hardware_and_driver_enablement/kernel-module-management-operator`;
}
