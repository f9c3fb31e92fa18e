/**
 * What the build host alone can tell about an in-cluster image build the lab ran (a DTK or
 * KMM Build, a MachineOSBuild): the buildah process tree's wall time, CPU and peak RSS
 * (`bud` and `push`, each under GNU time), the pushed image's size as the registry stores
 * it and its layer count, and the bytes the push added to the registry. The lab writes
 * them on the build object as the BUILD_HOST_FIGURES annotation, so they reach the run
 * record through the API like everything a cluster tells (the cluster target's build
 * events read them); a cluster's builds carry none, and its reports say "not measured".
 * A build that failed in `bud` carries its figures up to the failure, with no image and
 * nothing pushed.
 *
 * One place for the annotation's shape: the lab writes with `buildHostFigures`, the cluster
 * target reads with `readBuildHostFigures`.
 */
import { z } from 'zod';
import { readJsonAnnotation } from '../../json-annotation.js';
import type { CommandUsage } from '../driver-builds/measured-command.js';
import { ImageBuildError, type Buildah } from './buildah.js';
import { inspectManifest, type ManifestInfo } from './registry-client.js';
import { blobSnapshot, newBlobBytes, pushCompression, type LabRegistry } from './registry.js';

/** The annotation's key (JSON of BuildHostFigures). */
export const BUILD_HOST_FIGURES = 'kmodlab.io/build-host-figures';

export const BuildHostFiguresSchema = z.strictObject({
  /** Wall time of the buildah commands (build + push), not of the whole Build object. */
  buildahWallMs: z.number().nonnegative(),
  userCpuMs: z.number().nonnegative(),
  systemCpuMs: z.number().nonnegative(),
  /** Largest resident set of one process of the buildah trees. */
  peakRssBytes: z.number().nonnegative(),
  /** The pushed image as the registry stores it: config + layer blobs (compressed); absent when no image was pushed (a failed build). */
  imageBytes: z.number().nonnegative().optional(),
  layers: z.number().int().nonnegative().optional(),
  /** New blobs the push stored; absent for a registry kmodlab does not run (its storage cannot be read). */
  bytesPushed: z.number().nonnegative().optional(),
});
export type BuildHostFigures = z.infer<typeof BuildHostFiguresSchema>;

/** The figures of one build: its bud and push usages, the pushed manifest and what the push stored. */
export function buildHostFigures(usages: readonly CommandUsage[], manifest: ManifestInfo, bytesPushed: number | undefined): BuildHostFigures {
  const sum = (k: 'wallMs' | 'userCpuMs' | 'systemCpuMs') => usages.reduce((s, u) => s + u[k], 0);
  return {
    buildahWallMs: Math.round(sum('wallMs')),
    userCpuMs: sum('userCpuMs'),
    systemCpuMs: sum('systemCpuMs'),
    peakRssBytes: Math.max(0, ...usages.map((u) => u.peakRssBytes)),
    imageBytes: manifest.sizeBytes,
    layers: manifest.layers.length,
    ...(bytesPushed !== undefined ? { bytesPushed } : {}),
  };
}

/** The figures of a build that failed in `bud`: its usage up to the failure; no image, nothing pushed. */
export function failedBuildHostFigures(usage: CommandUsage): BuildHostFigures {
  return {
    buildahWallMs: Math.round(usage.wallMs),
    userCpuMs: usage.userCpuMs,
    systemCpuMs: usage.systemCpuMs,
    peakRssBytes: usage.peakRssBytes,
    bytesPushed: 0,
  };
}

/**
 * The annotation a build that failed gets: its figures up to the failure when the failure
 * is a `bud` that was measured (ImageBuildError with its usage), else none.
 */
export function failedBuildAnnotations(failure: unknown): Record<string, string> | undefined {
  return failure instanceof ImageBuildError && failure.usage ? { [BUILD_HOST_FIGURES]: JSON.stringify(failedBuildHostFigures(failure.usage)) } : undefined;
}

/** The annotation's figures, or undefined when absent or not of this shape (a cluster's objects: not measured). */
export function readBuildHostFigures(annotations: Record<string, string> | undefined): BuildHostFigures | undefined {
  return readJsonAnnotation(annotations, BUILD_HOST_FIGURES, BuildHostFiguresSchema);
}

/**
 * Pushes a built image and measures what only the build host knows: the push's usage, the
 * manifest the registry then holds, the bytes the push stored. Returns the digest pushed and
 * the figures of the build (`built`: the bud's usage).
 */
export async function pushMeasured(
  buildah: Buildah,
  local: string,
  dest: string,
  registry: LabRegistry,
  built: CommandUsage,
  logFile: string,
): Promise<{ digest: string; figures: BuildHostFigures | undefined }> {
  const before = blobSnapshot(registry);
  const pushed = await buildah.push(local, dest, { insecure: registry.insecure, logFile, compression: pushCompression(registry) });
  const repo = dest.replace(/:[^:/]+$/, '').replace(/@.*$/, '');
  // A look that fails loses only the figures, not the build.
  const manifest = await inspectManifest(`${repo}@${pushed.digest}`, registry.insecure).catch(() => undefined);
  if (!manifest) return { digest: pushed.digest, figures: undefined };
  const blobs = [manifest.configDigest, ...manifest.layers.map((l) => l.digest)];
  return { digest: pushed.digest, figures: buildHostFigures([built, pushed.usage], manifest, before ? newBlobBytes(registry, before, blobs) : undefined) };
}
