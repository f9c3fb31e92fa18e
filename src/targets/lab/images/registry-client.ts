/**
 * Reading a registry: does a reference exist, what digest does it resolve to, what do
 * its manifest and config say. Through skopeo, so a user's registry is read with the
 * user's own credentials exactly like kmodlab's loopback one.
 */
import { createHash } from 'node:crypto';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';

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

/** The manifest `ref` names, or undefined when the registry does not have it. */
export async function inspectManifest(ref: string, insecure: boolean): Promise<ManifestInfo | undefined> {
  const r = await run(requireTool('skopeo'), ['inspect', ...tlsArgs(insecure), '--raw', `docker://${ref}`], { allowFailure: true, timeoutMs: 60_000 });
  if (r.code !== 0) {
    // distribution answers MANIFEST_UNKNOWN / NAME_UNKNOWN for what it does not hold
    if (/manifest unknown|name unknown|not found|404/i.test(r.stderr)) return undefined;
    throw new Error(`skopeo inspect docker://${ref} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
  const raw = r.stdout;
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

/** Labels of the image config. */
export async function imageLabels(ref: string, insecure: boolean): Promise<Record<string, string>> {
  const r = await run(requireTool('skopeo'), ['inspect', ...tlsArgs(insecure), '--config', `docker://${ref}`], { timeoutMs: 60_000 });
  const cfg = JSON.parse(r.stdout.toString('utf8')) as { config?: { Labels?: Record<string, string> } };
  return cfg.config?.Labels ?? {};
}
