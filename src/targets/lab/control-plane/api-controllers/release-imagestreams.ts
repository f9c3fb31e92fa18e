/**
 * The release's images as an OpenShift cluster carries them in its API: the
 * `openshift/driver-toolkit` ImageStream, whose `latest` tag the cluster-version operator
 * points at the release payload's driver-toolkit image (openshift/driver-toolkit
 * manifests/01-openshift-imagestream.yaml, installed by the CVO). BuildConfigs that track
 * the driver-toolkit (`from: openshift/driver-toolkit:latest`, ImageChange trigger) and the
 * cluster target (which reads the driver-toolkit image from the cluster) read it here.
 *
 * The tag's status is written as the image import would after reading the image from the
 * registry (the lab's images are referenced by digest, so there is nothing to look up).
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { findKernel } from '../../kernels/catalog.js';
import { lookupImages, planLabReleases, releaseImagesOf } from '../../images/release-images.js';
import type { LabRegistry } from '../../images/registry.js';

const IMG = { group: 'image.openshift.io', version: 'v1' };

export interface LabReleaseRefs {
  kver: string;
  /** Digest references in the lab registry. */
  os: string;
  driverToolkit: string;
  runtimeBase: string;
}

/** The lab release of `kver` by digest, as its release-info names it; undefined when it is not in the registry. */
export async function labReleaseRefs(kver: string, registry: LabRegistry): Promise<LabReleaseRefs | undefined> {
  const [plan] = await planLabReleases([findKernel(kver)]);
  const { os, driverToolkit, runtimeBase } = releaseImagesOf(plan!, await lookupImages([plan!], registry));
  if (!os?.digestRef || !driverToolkit?.digestRef || !runtimeBase?.digestRef) return undefined;
  return { kver, os: os.digestRef, driverToolkit: driverToolkit.digestRef, runtimeBase: runtimeBase.digestRef };
}

function rfc3339(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * Creates (or moves) `openshift/driver-toolkit:latest` to `image`; the namespace `openshift`
 * is created if absent. Moving the tag is what an upgrade does; a kernel switch does not.
 */
export async function setDriverToolkitTag(kc: KubeConfig, image: string, kver: string): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const core = kc.makeApiClient(CoreV1Api);
  await core.patchNamespace({ name: 'openshift', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'openshift' } }, fieldManager: 'cluster-version-operator', force: true }, ssa);
  const stream = {
    apiVersion: 'image.openshift.io/v1',
    kind: 'ImageStream',
    metadata: { name: 'driver-toolkit', namespace: 'openshift', annotations: { 'io.kmodlab.kernel-version': kver } },
    spec: { tags: [{ name: 'latest', from: { kind: 'DockerImage', name: image }, referencePolicy: { type: 'Source' } }] },
  };
  await custom.patchNamespacedCustomObject({ ...IMG, namespace: 'openshift', plural: 'imagestreams', name: 'driver-toolkit', body: stream, fieldManager: 'cluster-version-operator', force: true }, ssa);
  const digest = image.slice(image.indexOf('@') + 1);
  const repo = image.slice(0, image.indexOf('@'));
  const current = (await custom.getNamespacedCustomObject({ ...IMG, namespace: 'openshift', plural: 'imagestreams', name: 'driver-toolkit' })) as { status?: { tags?: { tag: string; items?: { dockerImageReference: string }[] }[] } };
  const old = current.status?.tags?.find((t) => t.tag === 'latest')?.items ?? [];
  if (old[0]?.dockerImageReference === image) return;
  const item = { created: rfc3339(), dockerImageReference: image, image: digest, generation: 1 };
  await custom.patchNamespacedCustomObjectStatus(
    { ...IMG, namespace: 'openshift', plural: 'imagestreams', name: 'driver-toolkit', body: { status: { dockerImageRepository: repo, tags: [{ tag: 'latest', items: [item, ...old].slice(0, 5) }] } } },
    merge,
  );
}
