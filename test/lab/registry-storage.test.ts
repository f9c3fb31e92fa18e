/**
 * Registry storage used beyond the release images, against kmodlab's own registry: two
 * images pushed with skopeo from hand-made OCI layouts — a "release" image and one built on
 * it (its layer plus one of its own) — and the figure is exactly what the second one adds,
 * as the registry's own storage shows it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/targets/lab/host/run.js';
import { openRegistry, storedBlobs } from '../../src/targets/lab/images/registry.js';
import { inspectManifest } from '../../src/targets/lab/images/registry-client.js';
import { registryManifests, registryStorageOf } from '../../src/targets/lab/images/registry-storage.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A gzipped tar layer holding `files`. */
async function layer(files: Record<string, string>): Promise<Buffer> {
  const dir = tempDir('layer');
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return (await run('sh', ['-c', `tar -C "${dir}" -cf - ${Object.keys(files).join(' ')} | gzip -n`])).stdout;
}

/** An OCI layout with one image made of `layers`; returns its directory. */
function layout(layers: Buffer[], label: string): string {
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

describe('registry storage used beyond the release images', () => {
  it('is the blobs the method image adds: its own layer and config, not the base layer it shares', async () => {
    const registry = await openRegistry({ dir: tempDir('registry') });
    try {
      const base = await layer({ 'os-release': 'base\n'.repeat(1000) });
      const driver = await layer({ 'driver.ko': 'module\n'.repeat(5000) });
      const push = async (dir: string, repo: string) => {
        await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${dir}:latest`, `docker://${registry.prefix}/${repo}:latest`]);
        const m = await inspectManifest(`${registry.prefix}/${repo}:latest`, true);
        return { ref: `${registry.prefix}/${repo}@${m!.digest}`, manifest: m! };
      };
      const release = await push(layout([base], 'release'), 'node-os');
      const before = new Set(storedBlobs(registry).map((b) => b.digest));
      const method = await push(layout([base, driver], 'layered'), 'simple-kmod-layered');
      const added = storedBlobs(registry).filter((b) => !before.has(b.digest) && b.digest !== method.manifest.digest);

      const s = await registryStorageOf([method.ref, method.ref], [release.ref], registryManifests(() => true));
      // What the registry stored for the method's image (its manifest aside): its layer and config.
      expect(added).toHaveLength(2);
      expect(s).toEqual({ bytes: added.reduce((n, b) => n + b.size, 0), blobs: 2, images: [method.ref] });
      expect(s.bytes).toBe(method.manifest.sizeBytes - release.manifest.layers[0]!.size);

      // Without release images, the whole image counts; an image the registry does not hold is left out.
      const whole = await registryStorageOf([method.ref, `${registry.prefix}/gone@sha256:${'1'.repeat(64)}`], [], registryManifests(() => true));
      expect(whole).toEqual({ bytes: method.manifest.sizeBytes, blobs: 3, images: [method.ref] });
      expect(readFileSync(join(registry.storageDir!, '..', 'config.yml'), 'utf8')).toContain('127.0.0.1:');
    } finally {
      await registry.stop();
    }
  }, 120_000);
});
