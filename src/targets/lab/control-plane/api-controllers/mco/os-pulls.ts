/**
 * What a node's OS image pulls fetch: the node keeps the blobs of every OS image it pulled
 * (ostree keeps the booted and the previous deployment, and rpm-ostree fetches only the
 * layers its repository lacks), so a layered image built on the base image fetches its own
 * layers only. Each digest is pulled once per node; the daemon records the pull as a
 * `Pulled` Event on the Node (image-pulled-event.ts).
 */
import type { ManifestInfo } from '../../../images/registry-client.js';

export interface OsPull {
  /** Blobs (config + layers) the node did not hold. */
  pulledBytes: number;
  /** The image as the registry stores it. */
  sizeBytes: number;
}

export class NodeOsBlobs {
  private readonly held = new Set<string>();
  private readonly pulled = new Set<string>();

  /** The blobs of the image the node booted before any pull (what it was installed with). */
  hold(m: ManifestInfo): void {
    this.pulled.add(m.digest);
    for (const b of blobsOf(m)) this.held.add(b.digest);
  }

  /** A pull of `m`: what it fetched, or undefined when this node already pulled that digest. */
  pull(m: ManifestInfo): OsPull | undefined {
    if (this.pulled.has(m.digest)) return undefined;
    let pulledBytes = 0;
    for (const b of blobsOf(m)) {
      if (this.held.has(b.digest)) continue;
      this.held.add(b.digest);
      pulledBytes += b.size;
    }
    this.pulled.add(m.digest);
    return { pulledBytes, sizeBytes: m.sizeBytes };
  }
}

function blobsOf(m: ManifestInfo): Array<{ digest: string; size: number }> {
  const config = m.configDigest ? [{ digest: m.configDigest, size: Math.max(0, m.sizeBytes - m.layers.reduce((s, l) => s + l.size, 0)) }] : [];
  return [...config, ...m.layers];
}
