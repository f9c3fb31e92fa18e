/**
 * A node's image store: what the container runtime (CRI-O on OpenShift) keeps per node.
 * An image is pulled from the registry by digest into the node's own OCI layout with
 * skopeo (the user's registry credentials are skopeo's, never kmodlab's), so a blob the
 * node already holds is not fetched again — each digest once per node, as the runtime's
 * shared layer store does — and the bytes a pull adds to that store are counted per node.
 * The layers are then applied in order (OCI image-spec layer.md: whiteouts `.wh.<name>`
 * delete, `.wh..wh..opq` empties the directory of lower layers) into a root filesystem
 * under the node's 9p share, once per image digest, which the pod runtime copies from.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';
import { inspectManifest } from '../images/registry-client.js';

export interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
}

export interface PulledImage {
  /** What the pod asked for. */
  ref: string;
  /** `sha256:…` of the manifest in the registry. */
  digest: string;
  /** `<repository>@<digest>`: the container status's imageID. */
  imageID: string;
  /** Root filesystem relative to the node's share. */
  sharePath: string;
  config: ImageConfig;
  /** Bytes this pull added to the node's store (0 when every blob was there). */
  pulledBytes: number;
  /** The image's size as the registry stores it (config + layer blobs): what the kubelet's Pulled Event reports. */
  sizeBytes: number;
  /**
   * The registry was asked for the image (a pull, as the kubelet's image manager calls the
   * runtime's PullImage), not the node's copy used as the pull policy allows ("already present").
   */
  pulled: boolean;
}

/** OpenShift's integrated registry, as pods and builds name it. */
const INTEGRATED_REGISTRY = /^image-registry\.openshift-image-registry\.svc(:5000)?\//;

export class ImagePullError extends Error {
  override readonly name = 'ImagePullError';
  constructor(
    /** `ErrImagePull` as the kubelet reports a failed pull. */
    readonly reason: 'ErrImagePull' | 'InvalidImageName' | 'ErrImageNeverPull',
    message: string,
  ) {
    super(message);
  }
}

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/**
 * A container's pull policy as the API server defaults it when the spec has none
 * (k8s.io/kubernetes pkg/apis/core/v1/defaults.go SetDefaults_Container): `Always` for the
 * tag `latest` or no tag (and no digest), else `IfNotPresent`.
 */
export function pullPolicyOf(image: string, policy?: string): PullPolicy {
  if (policy === 'Always' || policy === 'IfNotPresent' || policy === 'Never') return policy;
  const { digest, tag } = parseImageRef(image);
  return !digest && (tag === undefined || tag === 'latest') ? 'Always' : 'IfNotPresent';
}

/** `repo[:tag]` or `repo@sha256:…` → repository and whether it names a digest. */
export function parseImageRef(ref: string): { repository: string; digest?: string; tag?: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repository: ref.slice(0, at), digest: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref, tag: 'latest' };
}

function dirSize(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) out.set(f, statSync(join(dir, f)).size);
  return out;
}

export class NodeImageStore {
  /** Digest → pulled image (this node's cache). */
  private readonly images = new Map<string, PulledImage>();
  private readonly inflight = new Map<string, Promise<PulledImage>>();
  /** Reference → digest of what it resolved to when this node pulled it (the runtime's image names). */
  private readonly names = new Map<string, string>();

  constructor(
    /** The node's 9p share on the host. */
    private readonly shareDir: string,
    private readonly insecure: (ref: string) => boolean,
  ) {}

  private get layout(): string {
    return join(this.shareDir, 'oci');
  }

  /**
   * A container's writable root: a copy of the image's unpacked root filesystem on the
   * node's share, made on the host (a copy through 9p inside a TCG guest took a minute),
   * fresh for every container start, as a runtime gives each container its own layer.
   * Returns its path relative to the share.
   *
   * Copying takes 1.5-2 s for the 35 MB runtime-base root on this loaded host, on the
   * path of every probe pod. So once an image has started two containers here (probe
   * pods, canaries: the images that keep starting), the next copy is made in the
   * background right after, and the next start renames that untouched copy into place.
   * Each container still gets its own copy of the image, made before it starts.
   */
  async preparePodRoot(sharePath: string, uid: string): Promise<string> {
    const rel = join('pods', uid, 'root');
    const dir = join(this.shareDir, rel);
    await run('rm', ['-rf', dir]);
    await run('mkdir', ['-p', join(this.shareDir, 'pods', uid)]);
    const spare = await this.spares.get(sharePath)?.catch(() => undefined);
    this.spares.delete(sharePath);
    if (spare) {
      renameSync(spare, dir);
      rmSync(dirname(spare), { recursive: true, force: true });
    } else await this.copyRoot(sharePath, dir);
    const uses = (this.rootUses.get(sharePath) ?? 0) + 1;
    this.rootUses.set(sharePath, uses);
    if (uses >= 2) {
      const next = join(this.shareDir, 'pods', `.spare-${++this.spareCount}`, 'root');
      const p = this.copyRoot(sharePath, next).then(() => next);
      p.catch(() => undefined);
      this.spares.set(sharePath, p);
    }
    return rel;
  }

  private async copyRoot(sharePath: string, dir: string): Promise<void> {
    await run('mkdir', ['-p', dirname(dir)]);
    await run('cp', ['-a', '--reflink=auto', join(this.shareDir, sharePath), dir]);
  }

  /** Image root (share path) → a copy made ahead for the next container of that image. */
  private readonly spares = new Map<string, Promise<string>>();
  private readonly rootUses = new Map<string, number>();
  private spareCount = 0;

  /**
   * Pull `ref` (resolving a tag to its digest first); one pull per digest at a time. As the
   * kubelet's image manager (pkg/kubelet/images/image_manager.go shouldPullImage): an image
   * the node holds under this reference is used without asking the registry unless the
   * policy is Always (so a registry outage does not stop pods whose image is there); Never
   * never pulls (ErrImageNeverPull).
   */
  async pull(ref: string, policy: PullPolicy = pullPolicyOf(ref)): Promise<PulledImage> {
    const { repository, digest: named } = parseImageRef(ref);
    if (!/^[a-z0-9]/.test(repository) || /\s/.test(ref)) throw new ImagePullError('InvalidImageName', `couldn't parse image name "${ref}"`);
    const heldDigest = named ?? this.names.get(ref);
    const held = heldDigest && this.images.get(heldDigest);
    if (held && policy !== 'Always') return { ...held, ref, pulledBytes: 0, pulled: false };
    if (!held && INTEGRATED_REGISTRY.test(ref)) {
      // The lab's integrated registry is its ImageStreams: the controllers hand pods the
      // digest of a tag that exists, so a reference into it that reaches the node names a tag
      // the stream does not have (yet: a DTK DaemonSet before its build) — what OpenShift's
      // registry answers for it (image-registry's pullthrough: manifest unknown).
      throw new ImagePullError('ErrImagePull', `failed to pull image "${ref}": reading manifest ${parseImageRef(ref).tag ?? 'latest'} in ${repository}: manifest unknown: manifest unknown`);
    }
    if (!held && policy === 'Never') throw new ImagePullError('ErrImageNeverPull', `Container image "${ref}" is not present with pull policy of Never`);
    // A digest this node already holds is not fetched again, whatever the policy.
    if (held && named) return { ...held, ref, pulledBytes: 0, pulled: true };
    const insecure = this.insecure(ref);
    const info = await inspectManifest(ref, insecure).catch((e: Error) => {
      throw new ImagePullError('ErrImagePull', `failed to pull image "${ref}": ${e.message}`);
    });
    if (!info) throw new ImagePullError('ErrImagePull', `failed to pull image "${ref}": manifest unknown: the registry does not hold it`);
    if (named && named !== info.digest) throw new ImagePullError('ErrImagePull', `failed to pull image "${ref}": the registry answered digest ${info.digest}`);
    const cached = this.images.get(info.digest);
    if (cached) {
      this.names.set(ref, info.digest);
      return { ...cached, ref, pulledBytes: 0, pulled: true };
    }
    let p = this.inflight.get(info.digest);
    if (!p) {
      p = this.fetch(`${repository}@${info.digest}`, info.digest, info.sizeBytes, insecure).finally(() => this.inflight.delete(info.digest));
      this.inflight.set(info.digest, p);
    }
    const img = await p;
    this.names.set(ref, info.digest);
    return { ...img, ref };
  }

  private async fetch(byDigest: string, digest: string, sizeBytes: number, insecure: boolean): Promise<PulledImage> {
    const skopeo = requireTool('skopeo');
    const blobs = join(this.layout, 'blobs', 'sha256');
    const before = dirSize(blobs);
    const hex = digest.replace(/^sha256:/, '');
    mkdirSync(this.layout, { recursive: true });
    const r = await run(skopeo, ['copy', '--quiet', ...(insecure ? ['--src-tls-verify=false'] : []), `docker://${byDigest}`, `oci:${this.layout}:${hex}`], {
      allowFailure: true,
      timeoutMs: 600_000,
    });
    if (r.code !== 0) throw new ImagePullError('ErrImagePull', `failed to pull image "${byDigest}": ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
    let pulledBytes = 0;
    for (const [f, size] of dirSize(blobs)) if (!before.has(f)) pulledBytes += size;

    // The manifest skopeo stored under this tag in the layout's index.
    const index = JSON.parse(readFileSync(join(this.layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
    const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === hex);
    if (!entry) throw new ImagePullError('ErrImagePull', `pulled ${byDigest} but the node's store has no manifest for it`);
    const blob = (d: string) => join(blobs, d.replace(/^sha256:/, ''));
    const manifest = JSON.parse(readFileSync(blob(entry.digest), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
    const config = (JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')) as { config?: ImageConfig }).config ?? {};

    const sharePath = join('images', hex, 'rootfs');
    const rootfs = join(this.shareDir, sharePath);
    if (!existsSync(join(this.shareDir, 'images', hex, 'ready'))) {
      const tmp = `${rootfs}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      for (const l of manifest.layers) await applyLayer(tmp, blob(l.digest));
      rmSync(rootfs, { recursive: true, force: true });
      renameSync(tmp, rootfs);
      await run('touch', [join(this.shareDir, 'images', hex, 'ready')]);
    }
    const img: PulledImage = { ref: byDigest, digest, imageID: byDigest, sharePath, config, pulledBytes, sizeBytes, pulled: true };
    this.images.set(digest, img);
    return img;
  }
}

/** Apply one (compressed or not) tar layer onto `root`, honouring OCI whiteouts. */
async function applyLayer(root: string, layer: string): Promise<void> {
  const list = (await run('tar', ['-taf', layer], { timeoutMs: 300_000 })).stdout.toString('utf8').split('\n').filter(Boolean);
  const whiteouts: string[] = [];
  for (const entry of list) {
    const path = entry.replace(/^\.\//, '').replace(/\/$/, '');
    const base = path.split('/').pop()!;
    if (!base.startsWith('.wh.')) continue;
    whiteouts.push(entry);
    const dir = path.slice(0, path.length - base.length);
    if (base === '.wh..wh..opq') {
      const d = join(root, dir);
      if (existsSync(d)) for (const f of readdirSync(d)) rmSync(join(d, f), { recursive: true, force: true });
    } else {
      rmSync(join(root, dir, base.slice(4)), { recursive: true, force: true });
    }
  }
  await run('tar', ['-xaf', layer, '-C', root, '--same-owner', '--numeric-owner', ...whiteouts.map((w) => `--exclude=${w}`)], { timeoutMs: 300_000 });
}
