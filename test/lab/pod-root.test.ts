/**
 * The lab kubelet's container roots (NodeImageStore.preparePodRoot): every container gets
 * its own copy of the image's root filesystem — what it writes is seen neither by the
 * image nor by the next container of the same image — including when the copy was made
 * ahead of time for an image that keeps starting containers (probe pods).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeImageStore } from '../../src/targets/lab/kubelet/image-pull.js';

describe('lab kubelet: container roots', () => {
  const share = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-podroot-'));
  afterAll(() => rmSync(share, { recursive: true, force: true }));
  const image = path.join('images', 'abc', 'rootfs');
  mkdirSync(path.join(share, image, 'etc'), { recursive: true });
  writeFileSync(path.join(share, image, 'etc', 'motd'), 'image\n');
  const store = new NodeImageStore(share, () => true);

  it('a fresh copy of the image per container, also when made ahead', async () => {
    for (const uid of ['u1', 'u2', 'u3', 'u4']) {
      const rel = await store.preparePodRoot(image, uid);
      expect(rel).toBe(path.join('pods', uid, 'root'));
      const motd = path.join(share, rel, 'etc', 'motd');
      // What the previous container wrote is not here, and the image is untouched.
      expect(readFileSync(motd, 'utf8')).toBe('image\n');
      writeFileSync(motd, `written by ${uid}\n`);
      writeFileSync(path.join(share, rel, 'etc', 'new'), uid);
      expect(readFileSync(path.join(share, image, 'etc', 'motd'), 'utf8')).toBe('image\n');
      expect(existsSync(path.join(share, image, 'etc', 'new'))).toBe(false);
    }
    // The copies made ahead leave at most one spare for the image behind.
    const spares = readdirSync(path.join(share, 'pods')).filter((d) => d.startsWith('.spare-'));
    expect(spares.length).toBeLessThanOrEqual(1);
  });
});
