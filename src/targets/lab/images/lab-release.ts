/**
 * What the `lab` commands do with images, each opening the registry for its own
 * duration: build/push the lab release of some kernels (`lab setup`), list what the
 * registry holds (`lab images`), print one kernel's release (`lab release-info`).
 */
import { UserError } from '../../../errors.js';
import { findKernel, howToAddKernel, listKernels, type LabKernel } from '../kernels/catalog.js';
import { ensureImages, lookupImages, planLabReleases, releaseImagesOf, type ReleaseImage } from './release-images.js';
import { labReleaseInfo, labReleaseVersion } from './release-info.js';
import { openRegistry, registryStorageBytes, type LabRegistry, type OpenRegistryOptions } from './registry.js';

export interface LabImagesOptions extends OpenRegistryOptions {
  log?: (line: string) => void;
}

async function withRegistry<T>(opts: OpenRegistryOptions, fn: (r: LabRegistry) => Promise<T>): Promise<T> {
  const registry = await openRegistry(opts);
  try {
    return await fn(registry);
  } finally {
    await registry.stop();
  }
}

export interface SetupImagesResult {
  images: ReleaseImage[];
  /** Images this run built (the rest were in the registry already). */
  built: number;
  wallMs: number;
  registry: string;
  /** Bytes the managed registry stores after setup. */
  registryBytes?: number;
}

/** Builds and pushes the lab release of each kernel (default: every lab kernel) that the registry lacks. */
export async function setupLabImages(kernels: readonly LabKernel[] | undefined, opts: LabImagesOptions = {}): Promise<SetupImagesResult> {
  const t0 = performance.now();
  const ks = kernels ?? listKernels();
  if (ks.length === 0) throw new UserError('no lab kernel is installed, so there is no lab release to build', howToAddKernel());
  return withRegistry(opts, async (registry) => {
    const plans = await planLabReleases(ks);
    const images = await ensureImages(plans, { registry, log: opts.log });
    return {
      images,
      built: images.filter((i) => i.builtNow).length,
      wallMs: performance.now() - t0,
      registry: registry.prefix,
      registryBytes: registryStorageBytes(registry),
    };
  });
}

/** Every lab release image of the installed kernels, as the registry holds them now (digest undefined: not built). */
export async function listLabImages(opts: OpenRegistryOptions = {}): Promise<ReleaseImage[]> {
  const ks = listKernels();
  if (ks.length === 0) return [];
  return withRegistry(opts, async (registry) => lookupImages(await planLabReleases(ks), registry));
}

/** One kernel's lab release in the `oc adm release info -o json` shape. */
export async function labReleaseInfoFor(kver: string, opts: OpenRegistryOptions = {}): Promise<Record<string, unknown>> {
  const kernel = findKernel(kver);
  return withRegistry(opts, async (registry) => {
    const [plan] = await planLabReleases([kernel]);
    const images = await lookupImages([plan!], registry);
    const { os, driverToolkit, runtimeBase } = releaseImagesOf(plan!, images);
    const missing = [os, driverToolkit, runtimeBase].filter((i) => !i?.digest).map((i) => i?.ref);
    if (!os || !driverToolkit || !runtimeBase || missing.length) {
      throw new UserError(
        `the lab release of kernel ${kver} is not in the registry ${registry.prefix} (missing: ${missing.join(', ')})`,
        `build it with: kmodlab lab setup --kernels ${kver}${opts.registry ? ` --registry ${opts.registry}` : ''}`,
      );
    }
    return labReleaseInfo({ kver, os, driverToolkit, runtimeBase });
  });
}

/** A lab release a cluster could be moved to: what ClusterVersion lists and the upgrade moves. */
export interface LabReleaseOffer {
  version: string;
  kver: string;
  /** The release image (`oc adm release info`'s `image`): the node OS image, by digest. */
  image: string;
  /** Its driver-toolkit image, by digest. */
  driverToolkit: string;
}

/**
 * The lab releases the open registry holds in full (OS and driver-toolkit images built),
 * one per installed lab kernel — what `kmodlab lab release-info <kver>` would print.
 */
export async function labReleaseOffers(registry: LabRegistry, kernels: readonly LabKernel[] = listKernels()): Promise<LabReleaseOffer[]> {
  if (kernels.length === 0) return [];
  const plans = await planLabReleases(kernels);
  const images = await lookupImages(plans, registry);
  const out: LabReleaseOffer[] = [];
  for (const plan of plans) {
    const { os, driverToolkit } = releaseImagesOf(plan, images);
    if (os?.digestRef && driverToolkit?.digestRef) out.push({ version: labReleaseVersion(plan.kver), kver: plan.kver, image: os.digestRef, driverToolkit: driverToolkit.digestRef });
  }
  return out;
}
