/**
 * Reading a registry: kmodlab's own (loopback, plain HTTP) is read over its HTTP API, any
 * other through skopeo — and both read the same thing: the same manifest digest, size and
 * layers, the same config labels, "absent" for what the registry does not hold. A loopback
 * registry that answers otherwise (asking for credentials) is left to skopeo.
 *
 * Needs the lab release images in the lab registry (`kmodlab lab setup`, which CI runs);
 * without them the comparison is skipped, saying why.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { listLabImages } from '../../src/targets/lab/images/lab-release.js';
import { directReference, imageLabels, inspectManifest } from '../../src/targets/lab/images/registry-client.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import type { ReleaseImage } from '../../src/targets/lab/images/release-images.js';

describe('which references are read directly', () => {
  it.each([
    ['127.0.0.1:5000/kmodlab/node-os:6.1-abc', true, { base: 'http://127.0.0.1:5000/v2/kmodlab/node-os', name: 'kmodlab/node-os', reference: '6.1-abc' }],
    ['localhost:5000/a/b@sha256:0123', true, { base: 'http://localhost:5000/v2/a/b', name: 'a/b', reference: 'sha256:0123' }],
    ['127.0.0.1:5000/repo', true, { base: 'http://127.0.0.1:5000/v2/repo', name: 'repo', reference: 'latest' }],
    ['127.0.0.1:5000/kmodlab/node-os:6.1-abc', false, undefined],
    ['quay.io/acme/driver:1.0', true, undefined],
  ])('%s (insecure %s)', (ref, insecure, expected) => {
    expect(directReference(ref, insecure)).toEqual(expected);
  });
});

async function skipReason(): Promise<string> {
  if (!findTool('skopeo') || !findTool('docker-registry')) return 'skopeo or docker-registry not installed (scripts/lab-packages.sh)';
  const built = (await listLabImages()).filter((i) => i.digest);
  return built.some((i) => i.role === 'node-os') ? '' : 'no lab release image in the lab registry; run: kmodlab lab setup';
}

const why = await skipReason();

describe.skipIf(why !== '')(`the lab registry read directly and through skopeo${why ? ` [SKIPPED: ${why}]` : ''}`, () => {
  let registry: LabRegistry;
  let os: ReleaseImage;

  beforeAll(async () => {
    registry = await openRegistry();
    os = (await listLabImages()).find((i) => i.role === 'node-os' && i.digest)!;
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('gives the same manifest and labels both ways, by tag and by digest', async () => {
    for (const ref of [os.ref, os.digestRef!]) {
      const direct = await inspectManifest(ref, true, 'auto');
      const skopeo = await inspectManifest(ref, true, 'skopeo');
      expect(direct).toBeDefined();
      expect(direct).toEqual(skopeo);
      expect(direct!.digest).toBe(os.digest);
      const labels = await imageLabels(ref, true, 'auto');
      expect(labels).toEqual(await imageLabels(ref, true, 'skopeo'));
      expect(labels['ostree.linux']).toBe(os.kver);
    }
  });

  it('says absent, both ways, for a tag the registry does not hold', async () => {
    const missing = `${os.repository}:no-such-tag-${Date.now()}`;
    expect(await inspectManifest(missing, true, 'auto')).toBeUndefined();
    expect(await inspectManifest(missing, true, 'skopeo')).toBeUndefined();
  });

  it('leaves a loopback registry that asks for credentials to skopeo', async () => {
    let asked = 0;
    const server: Server = createServer((_req, res) => {
      asked++;
      res.writeHead(401, { 'Www-Authenticate': 'Basic realm="test"' }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const ref = `127.0.0.1:${(server.address() as AddressInfo).port}/kmodlab/node-os:x`;
      // skopeo's own error (it had no credentials either), not a silent "absent".
      await expect(inspectManifest(ref, true, 'auto')).rejects.toThrow(/skopeo inspect docker:\/\/127\.0\.0\.1:\d+\/kmodlab\/node-os:x failed/);
      // The direct read asked once; skopeo asked after it.
      expect(asked).toBeGreaterThan(1);
    } finally {
      server.close();
    }
  });
});
