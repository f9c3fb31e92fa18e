/**
 * The release state the Machine Config Operator starts from at `lab up`: the base OS image
 * (the lab release's node-os image of the lab kernel, digest-pinned, as the release
 * payload's rhel-coreos reference is) and the release's version string — the data of
 * openshift-machine-config-operator/machine-config-osimageurl on OpenShift 4.14.
 */
import type { LabKernel } from '../../../kernels/catalog.js';
import { lookupImages, planLabReleases, releaseImagesOf } from '../../../images/release-images.js';
import type { LabRegistry } from '../../../images/registry.js';

/** The lab release's version string (the lab release is named after its kernel). */
export function labReleaseVersion(kver: string): string {
  return `lab-${kver}`;
}

export async function labBaseRelease(kernel: LabKernel, registry: LabRegistry | undefined, log?: (line: string) => void): Promise<{ baseOSContainerImage: string; releaseVersion: string }> {
  const releaseVersion = labReleaseVersion(kernel.kver);
  const [plan] = await planLabReleases([kernel]);
  const os = registry ? releaseImagesOf(plan!, await lookupImages([plan!], registry)).os : undefined;
  if (os?.digestRef) return { baseOSContainerImage: os.digestRef, releaseVersion };
  // Without the image, a rollout to the base image fails to pull (the node goes Degraded), as on a cluster.
  const ref = registry ? os?.ref ?? `${registry.prefix}/node-os:${plan!.os.tag}` : `node-os:${plan!.os.tag}`;
  log?.(`machine-config: the node-os image of ${kernel.kver} is not in the registry (kmodlab lab setup --kernels ${kernel.kver}); base image ${ref}`);
  return { baseOSContainerImage: ref, releaseVersion };
}
