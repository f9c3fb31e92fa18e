/**
 * The lab's image registry. An "image" is a directory on the host, under the share
 * every node mounts, laid out as the method's Containerfile lays out its image. A pod
 * "pulls" an image by copying it from the share into its root. References are the
 * ones the rendered manifests use (internal-registry ImageStreamTags or --registry
 * names), so an image that was never built is a real pull failure.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const INTERNAL_REGISTRY = 'image-registry.openshift-image-registry.svc:5000';

export interface LabImage {
  ref: string;
  /** Content digest of the tree (sha256 over paths and file contents). */
  digest: string;
  /** Host directory of the image tree. */
  dir: string;
  /** Path of `dir` relative to the share (what a node finds under its share mount). */
  sharePath: string;
  kver?: string;
  pushedAt: number;
}

/** Pull spec of an ImageStreamTag in the internal registry. */
export function imageStreamTagRef(namespace: string, tag: string): string {
  return `${INTERNAL_REGISTRY}/${namespace}/${tag.includes(':') ? tag : `${tag}:latest`}`;
}

/** `quay.io/acme/x:tag` or `…@sha256:…` → `quay.io/acme/x`. */
export function repositoryOf(ref: string): string {
  const noDigest = ref.split('@')[0]!;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

/**
 * A kernel version as an image tag, as KMM and its Day-1 script write it: characters
 * a tag may not hold (e.g. the `+` of `6.12.57+deb12-amd64`) become `_`.
 */
export function kernelTag(kver: string): string {
  return kver.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function treeDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(relative(dir, p)).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  walk(dir);
  return h.digest('hex');
}

export class ImageRegistry {
  private readonly images = new Map<string, LabImage>();
  private seq = 0;

  constructor(readonly shareDir: string) {
    mkdirSync(join(shareDir, 'images'), { recursive: true });
  }

  /** A fresh directory to build an image into (then `push` it). */
  newImageDir(hint: string): { dir: string; sharePath: string } {
    const sharePath = join('images', `${String(++this.seq).padStart(3, '0')}-${hint.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60)}`);
    const dir = join(this.shareDir, sharePath);
    mkdirSync(dir, { recursive: true });
    return { dir, sharePath };
  }

  push(ref: string, dir: string, sharePath: string, kver?: string): LabImage {
    statSync(dir);
    const image: LabImage = { ref, digest: `sha256:${treeDigest(dir)}`, dir, sharePath, kver, pushedAt: Date.now() };
    this.images.set(ref, image);
    return image;
  }

  /** The image a reference names; a `@sha256:` pin must match the stored digest. */
  pull(ref: string): LabImage | undefined {
    const at = ref.indexOf('@sha256:');
    if (at >= 0) {
      const digest = ref.slice(at + 1);
      return [...this.images.values()].find((i) => i.digest === digest);
    }
    return this.images.get(ref);
  }

  has(ref: string): boolean {
    return this.pull(ref) !== undefined;
  }
}
