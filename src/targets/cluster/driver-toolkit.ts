/**
 * The cluster's driver-toolkit image. OpenShift publishes it as the image stream
 * `driver-toolkit` in the `openshift` namespace, tag `latest` plus one tag per RHCOS
 * version (openshift/driver-toolkit README, "Finding the Driver Toolkit image URL in
 * the payload": `oc get imagestream -n openshift driver-toolkit`); its status items
 * carry the image by digest, the same pullspec `oc adm release info --image-for=driver-toolkit`
 * prints for the running release. Absent (not OpenShift, or no access): undefined, and
 * a DTK set rendered without `--dtk-image` keeps its placeholder and is refused.
 */
import type { KubeClient, ResourceRef } from './client.js';

export const DTK_IMAGESTREAM = { namespace: 'openshift', name: 'driver-toolkit', tag: 'latest' } as const;

type ImageStream = { status?: { tags?: { tag: string; items?: { dockerImageReference?: string }[] }[] } };

export async function driverToolkitImage(client: KubeClient, serves: (apiVersion: string, kind: string) => Promise<ResourceRef | undefined>): Promise<{ image: string; source: string } | undefined> {
  const ref = await serves('image.openshift.io/v1', 'ImageStream');
  if (!ref) return undefined;
  const is = (await client.get('read-driver-toolkit', ref, DTK_IMAGESTREAM.name, DTK_IMAGESTREAM.namespace).catch(() => undefined)) as ImageStream | undefined;
  const image = is?.status?.tags?.find((t) => t.tag === DTK_IMAGESTREAM.tag)?.items?.[0]?.dockerImageReference;
  if (!image || !/@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
  return { image, source: `imagestream ${DTK_IMAGESTREAM.namespace}/${DTK_IMAGESTREAM.name}:${DTK_IMAGESTREAM.tag} (status)` };
}
