/**
 * Registry storage a method's images use: the unique blobs (config + compressed layers) of
 * the images its builds pushed that no release image holds — a layered OS image stores its
 * own layers, not the node-os image's it was built on. Read through the registry (skopeo),
 * so it works for kmodlab's own registry and for one the user names alike.
 */
import { inspectManifest, type ManifestInfo } from './registry-client.js';

export interface RegistryStorage {
  /** Stored bytes of the blobs counted. */
  bytes: number;
  blobs: number;
  /** The images read (digest references). */
  images: string[];
}

function blobsOf(m: ManifestInfo): Map<string, number> {
  const layers = m.layers.reduce((s, l) => s + l.size, 0);
  const out = new Map(m.layers.map((l) => [l.digest, l.size] as const));
  if (m.configDigest) out.set(m.configDigest, Math.max(0, m.sizeBytes - layers));
  return out;
}

/** Reads manifests; `undefined` for an image the registry no longer holds. */
export type ReadManifest = (ref: string) => Promise<ManifestInfo | undefined>;

export function registryManifests(insecure: (ref: string) => boolean): ReadManifest {
  return (ref) => inspectManifest(ref, insecure(ref));
}

/** The storage `images` use beyond the blobs of `releaseImages`. An image that is gone is left out (said by its absence from `images`). */
export async function registryStorageOf(images: readonly string[], releaseImages: readonly string[], read: ReadManifest): Promise<RegistryStorage> {
  const release = new Set<string>();
  for (const ref of new Set(releaseImages)) {
    const m = await read(ref);
    if (m) for (const d of blobsOf(m).keys()) release.add(d);
  }
  const mine = new Map<string, number>();
  const read_: string[] = [];
  for (const ref of new Set(images)) {
    const m = await read(ref);
    if (!m) continue;
    read_.push(ref);
    for (const [d, size] of blobsOf(m)) if (!release.has(d)) mine.set(d, size);
  }
  return { bytes: [...mine.values()].reduce((s, v) => s + v, 0), blobs: mine.size, images: read_ };
}
