/**
 * What a node boots for a rendered config — the machine-config-daemon's OS update
 * (openshift/machine-config-operator release-4.14 pkg/daemon/update.go updateOS /
 * applyOSChanges, rpm-ostree.go RebaseLayered):
 *   - the rendered osImageURL (a MachineConfig's override, else the base image): pulled by
 *     digest from the registry and booted — its own kernel and module tree (ostree.linux
 *     label names the kernel, as on RHCOS images);
 *   - kernelType realtime on the base image: the release's realtime kernel (the real MCD
 *     swaps kernel for kernel-rt packages shipped in the release's extensions image; the lab
 *     release ships a node-os image per kernel, so it boots the realtime kernel's one).
 *     On a layered image the lab boots the layered image as it is and says so.
 * A reference that does not resolve throws the pull error, which the daemon reports.
 */
import { chooseLabKernels } from '../../../kernels/lab-releases.js';
import { listKernels } from '../../../kernels/catalog.js';
import { bootableOsImage, type BootableOsImage } from '../../../images/boot-os-image.js';
import { imageLabels, inspectManifest } from '../../../images/registry-client.js';
import { lookupImages, planLabReleases, releaseImagesOf } from '../../../images/release-images.js';
import type { LabRegistry } from '../../../images/registry.js';
import type { MachineConfigSpec } from './render.js';

/** `host/repo:tag`, `host/repo@sha256:…` → `host/repo`. */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}

export interface ResolvedOs {
  /** Digest-pinned reference of the image booted. */
  digestRef: string;
  kver: string;
  why: string;
}

export class PullError extends Error {}

/** Resolves an image reference to its digest and kernel, as a pull would (errors as a pull's). */
export async function resolveImage(ref: string, insecure: (ref: string) => boolean, why: string): Promise<ResolvedOs> {
  let manifest;
  try {
    manifest = await inspectManifest(ref, insecure(ref));
  } catch (e) {
    throw new PullError(`failed to pull ${ref}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!manifest) throw new PullError(`failed to pull ${ref}: manifest unknown: the registry has no such image`);
  const digestRef = `${repositoryOf(ref)}@${manifest.digest}`;
  const kver = (await imageLabels(digestRef, insecure(ref)).catch(() => ({}) as Record<string, string>))['ostree.linux'];
  if (!kver) throw new PullError(`${ref} is not a bootable OS image: its config has no ostree.linux label naming its kernel`);
  return { digestRef, kver, why };
}

/** The lab release's node-os image of the realtime build of `kver`. */
export async function realtimeImage(kver: string, registry: LabRegistry): Promise<string> {
  const { realtime } = chooseLabKernels(listKernels(), { from: kver });
  if (!realtime) throw new PullError(`kernelType realtime: the lab has no realtime kernel for ${kver} (kmodlab lab add-kernel / lab setup)`);
  const [plan] = await planLabReleases([realtime]);
  const { os } = releaseImagesOf(plan!, await lookupImages([plan!], registry));
  if (!os?.digestRef) throw new PullError(`kernelType realtime: the node-os image of ${realtime.kver} is not in the registry ${registry.prefix} (kmodlab lab setup --kernels ${realtime.kver})`);
  return os.digestRef;
}

/** The OS image a rendered config boots. */
export async function osFor(spec: MachineConfigSpec, baseOSImage: string, o: { registry?: LabRegistry; insecure: (ref: string) => boolean }): Promise<ResolvedOs> {
  const url = spec.osImageURL || baseOSImage;
  const layered = url !== baseOSImage;
  if (spec.kernelType === 'realtime' && !layered) {
    if (!o.registry) throw new PullError('kernelType realtime: the lab has no image registry');
    const base = await resolveImage(baseOSImage, o.insecure, 'base image');
    return resolveImage(await realtimeImage(base.kver, o.registry), o.insecure, `kernelType realtime on ${base.kver}`);
  }
  return resolveImage(url, o.insecure, layered ? 'osImageURL' : 'base image');
}

/** The resolved image turned into what QEMU boots (cached per digest). */
export async function bootable(os: ResolvedOs, insecure: (ref: string) => boolean): Promise<BootableOsImage> {
  const digest = os.digestRef.slice(os.digestRef.indexOf('@') + 1);
  return bootableOsImage({ digestRef: os.digestRef, digest, kver: os.kver }, { insecure: insecure(os.digestRef) });
}
