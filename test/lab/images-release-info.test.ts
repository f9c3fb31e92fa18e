/**
 * The lab release in `oc adm release info -o json` shape, read back by render's parser
 * (no tools needed: the images are described, not built; images.test.ts does it for real).
 */
import { describe, expect, it } from 'vitest';
import { parseReleaseInfo } from '../../src/release/release-info.js';
import { ReleaseSchema } from '../../src/release/release.js';
import { labReleaseInfo } from '../../src/targets/lab/images/release-info.js';
import type { ImageRole, ReleaseImage } from '../../src/targets/lab/images/release-images.js';

const prefix = '127.0.0.1:41234/kmodlab';
function image(role: ImageRole, tag: string, hex: string, kver?: string): ReleaseImage {
  const repository = `${prefix}/${role}`;
  const digest = `sha256:${hex.repeat(64)}`;
  return { role, kver, repository, tag, ref: `${repository}:${tag}`, digest, digestRef: `${repository}@${digest}`, builtNow: false };
}

describe.each(['6.1.0-56-amd64', '6.12.117+deb12-amd64', '6.1.0-56-rt-amd64'])('lab release of %s', (kver) => {
  const tagOf = kver.replace(/[^A-Za-z0-9._-]/g, '_');
  const os = image('node-os', `${tagOf}-0123456789abcdef`, 'a', kver);
  const dtk = image('driver-toolkit', `${tagOf}-fedcba9876543210`, 'b', kver);
  const base = image('runtime-base', '0011223344556677', 'c');

  it('is read by render --release-info: kernel, OS image and driver-toolkit by digest, machine-os, no version', () => {
    const parsed = parseReleaseInfo(JSON.stringify(labReleaseInfo({ kver, os, driverToolkit: dtk, runtimeBase: base })), 'lab.json');
    expect(parsed).toMatchObject({ kernelVersion: kver, rhcosImage: os.digestRef, driverToolkitImage: dtk.digestRef, rhcosVersion: os.tag });
    // What makes renderers write the lab's Debian family lines, and the base of driver containers.
    expect(parsed).toMatchObject({ osFamily: 'debian-lab', runtimeBaseImage: base.digestRef });
    expect(ReleaseSchema.parse(parsed).osFamily).toBe('debian-lab');
    expect(parsed.version).toBeUndefined();
    expect(parsed.sources?.kernelVersion).toMatch(/ostree\.linux/);
  });

  it('refuses to describe an image that is not in the registry', () => {
    expect(() => labReleaseInfo({ kver, os: { ...os, digest: undefined, digestRef: undefined }, driverToolkit: dtk, runtimeBase: base })).toThrow(/is not in the registry/);
  });
});
