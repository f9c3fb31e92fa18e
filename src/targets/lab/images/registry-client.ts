/**
 * Reading a registry: does a reference exist, what digest does it resolve to, what do
 * its manifest and config say. Through skopeo, so a user's registry is read with the
 * user's own credentials exactly like kmodlab's loopback one — except that a loopback
 * registry served without TLS (kmodlab's own) is read over its HTTP API directly: the lab
 * reads manifests on the way to every node boot and after every scenario, and each skopeo
 * process (a Go binary's start) cost 60–150 ms on a loaded 2-core host. An answer other
 * than the manifest or "not found" there (a registry asking for credentials, a manifest
 * list) goes through skopeo as before.
 */
import { createHash } from 'node:crypto';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';
import { isLoopback } from './registry.js';

export interface ManifestInfo {
  /** `sha256:…` of the manifest bytes (what a registry calls the image digest). */
  digest: string;
  mediaType: string;
  /** Compressed size as stored: config + every layer blob. */
  sizeBytes: number;
  layers: Array<{ digest: string; size: number }>;
  configDigest: string;
}

function tlsArgs(insecure: boolean): string[] {
  return insecure ? ['--tls-verify=false'] : [];
}

/** How a registry is read: `auto` = directly over HTTP where that is possible (see above), else skopeo. */
export type RegistryReader = 'auto' | 'skopeo';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const SINGLE_IMAGE = new Set(MANIFEST_TYPES.slice(0, 2));

/** `host/name:tag` or `host/name@sha256:…` of a plain-HTTP loopback registry, split for its API; else undefined. */
export function directReference(ref: string, insecure: boolean): { base: string; name: string; reference: string } | undefined {
  if (!insecure) return undefined;
  const slash = ref.indexOf('/');
  if (slash < 0) return undefined;
  const host = ref.slice(0, slash);
  if (!isLoopback(host)) return undefined;
  const rest = ref.slice(slash + 1);
  const at = rest.indexOf('@');
  const colon = rest.lastIndexOf(':');
  const [name, reference] = at >= 0 ? [rest.slice(0, at), rest.slice(at + 1)] : colon > rest.lastIndexOf('/') ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, 'latest'];
  return name && reference ? { base: `http://${host}/v2/${name}`, name, reference } : undefined;
}

/** GET from the registry API: the body, 'absent' on 404, undefined for anything else (skopeo's turn). */
async function directGet(url: string, accept?: string): Promise<Buffer | 'absent' | undefined> {
  try {
    const res = await fetch(url, { headers: accept ? { Accept: accept } : {}, signal: AbortSignal.timeout(30_000) });
    if (res.status === 404) return 'absent';
    if (res.status !== 200) return undefined;
    return Buffer.from(await res.arrayBuffer());
  } catch {
    return undefined;
  }
}

function manifestInfo(raw: Buffer): ManifestInfo {
  const m = JSON.parse(raw.toString('utf8')) as {
    mediaType?: string;
    config?: { digest: string; size: number };
    layers?: Array<{ digest: string; size: number }>;
  };
  const layers = (m.layers ?? []).map((l) => ({ digest: l.digest, size: l.size }));
  return {
    digest: `sha256:${createHash('sha256').update(raw).digest('hex')}`,
    mediaType: m.mediaType ?? '',
    sizeBytes: (m.config?.size ?? 0) + layers.reduce((s, l) => s + l.size, 0),
    layers,
    configDigest: m.config?.digest ?? '',
  };
}

/** The manifest `ref` names, or undefined when the registry does not have it. */
export async function inspectManifest(ref: string, insecure: boolean, reader: RegistryReader = 'auto'): Promise<ManifestInfo | undefined> {
  const direct = reader === 'auto' ? directReference(ref, insecure) : undefined;
  if (direct) {
    const raw = await directGet(`${direct.base}/manifests/${direct.reference}`, MANIFEST_TYPES.join(', '));
    if (raw === 'absent') return undefined;
    if (raw) return manifestInfo(raw);
  }
  const r = await run(requireTool('skopeo'), ['inspect', ...tlsArgs(insecure), '--raw', `docker://${ref}`], { allowFailure: true, timeoutMs: 60_000 });
  if (r.code !== 0) {
    // distribution answers MANIFEST_UNKNOWN / NAME_UNKNOWN for what it does not hold
    if (/manifest unknown|name unknown|not found|404/i.test(r.stderr)) return undefined;
    throw new Error(`skopeo inspect docker://${ref} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
  return manifestInfo(r.stdout);
}

/** Labels of the image config. */
export async function imageLabels(ref: string, insecure: boolean, reader: RegistryReader = 'auto'): Promise<Record<string, string>> {
  const direct = reader === 'auto' ? directReference(ref, insecure) : undefined;
  if (direct) {
    const raw = await directGet(`${direct.base}/manifests/${direct.reference}`, MANIFEST_TYPES.join(', '));
    const m = raw && raw !== 'absent' ? manifestInfo(raw) : undefined;
    // A manifest list is resolved to this platform's image by skopeo, as a pull would.
    if (m && SINGLE_IMAGE.has(m.mediaType) && m.configDigest) {
      const cfg = await directGet(`${direct.base}/blobs/${m.configDigest}`);
      if (cfg && cfg !== 'absent') return (JSON.parse(cfg.toString('utf8')) as { config?: { Labels?: Record<string, string> } }).config?.Labels ?? {};
    }
  }
  const r = await run(requireTool('skopeo'), ['inspect', ...tlsArgs(insecure), '--config', `docker://${ref}`], { timeoutMs: 60_000 });
  const cfg = JSON.parse(r.stdout.toString('utf8')) as { config?: { Labels?: Record<string, string> } };
  return cfg.config?.Labels ?? {};
}
