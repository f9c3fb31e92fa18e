/**
 * Registry storage used beyond the release images, against kmodlab's own registry: two
 * images pushed with skopeo from hand-made OCI layouts — a "release" image and one built on
 * it (its layer plus one of its own) — and the figure is exactly what the second one adds,
 * as the registry's own storage shows it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/targets/lab/host/run.js';
import { openRegistry, storedBlobs } from '../../src/targets/lab/images/registry.js';
import { inspectManifest } from '../../src/targets/lab/images/registry-client.js';
import { registryManifests, registryStorageOf } from '../../src/targets/lab/images/registry-storage.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { layer, layout } from './oci-layout.js';

afterAll(removeTempDirs);

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
