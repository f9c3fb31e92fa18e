/** Hand-made OCI image layouts (no base image, no network) for pushing known blobs to a test registry with skopeo. */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/targets/lab/host/run.js';
import { tempDir } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A gzipped tar layer holding `files`. */
export async function layer(files: Record<string, string>): Promise<Buffer> {
  const dir = tempDir('layer');
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return (await run('sh', ['-c', `tar -C "${dir}" -cf - ${Object.keys(files).join(' ')} | gzip -n`])).stdout;
}

/** An OCI layout with one image made of `layers`; returns its directory. */
export function layout(layers: Buffer[], label: string): string {
  const dir = tempDir('oci');
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const h = sha(b);
    writeFileSync(join(blobs, h), b);
    return { digest: `sha256:${h}`, size: b.length };
  };
  const diffIds = layers.map(() => `sha256:${'0'.repeat(64)}`);
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { test: label } }, rootfs: { type: 'layers', diff_ids: diffIds } })));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(l) })),
    }),
  );
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));
  return dir;
}

