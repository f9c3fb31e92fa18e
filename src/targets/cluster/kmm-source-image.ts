/**
 * KMM's in-cluster build of a path driver copies the source from an image
 * (`COPY --from=<source image>`); the build fails until someone pushed it. The step is
 * recorded as a manual step (src/artifacts/manual-steps.ts); here kmodlab also says
 * whether the image is there, when it can tell: an image in the cluster's internal
 * registry exists exactly when its ImageStreamTag does (`<registry svc>/<ns>/<name>:<tag>`
 * is the ImageStreamTag `<name>:<tag>` in `<ns>`, OpenShift image registry docs). An
 * image in an external registry is not checked (kmodlab has no registry credentials).
 */
import type { ArtifactSet } from '../../artifacts/artifact-set.js';
import { INTERNAL_REGISTRY } from '../../methods/kmm/names.js';
import type { KubeClient, ResourceRef } from './client.js';

export function sourceImageOf(set: ArtifactSet): string | undefined {
  const f = set.files.find((x) => x.path === 'Containerfile.source' && x.phase === 'build');
  const hasModuleBuild = set.files.some((x) => x.objects?.some((o) => o.kind === 'Module' && /"build":/.test(JSON.stringify(o.spec ?? {}))));
  return f && hasModuleBuild ? /^Source image (\S+)/.exec(f.description)?.[1] : undefined;
}

/** 'present' | 'missing' for an internal-registry image; undefined when it cannot be told. */
export async function sourceImageState(client: KubeClient, image: string, serves: (apiVersion: string, kind: string) => Promise<ResourceRef | undefined>): Promise<'present' | 'missing' | undefined> {
  const m = new RegExp(`^${INTERNAL_REGISTRY.replace(/[.]/g, '\\.')}/([^/]+)/([^/:@]+):([^/:@]+)$`).exec(image);
  if (!m) return undefined;
  const ref = await serves('image.openshift.io/v1', 'ImageStreamTag');
  if (!ref) return undefined;
  const ist = await client.get('read-source-image', ref, `${m[2]}:${m[3]}`, m[1]).catch(() => null);
  if (ist === null) return undefined;
  return ist ? 'present' : 'missing';
}
