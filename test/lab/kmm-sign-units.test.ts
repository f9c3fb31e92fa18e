/**
 * The pure parts of the lab's KMM sign step: the sign config of a kernel (container and
 * mapping merged, kernel variables filled with the normalized version), the Secret
 * checks (which Secret, which data key; never the data) and the sign Dockerfile.
 */
import { describe, expect, it } from 'vitest';
import { secretsProblem, signBuildVolumes, signDockerfile, signFor } from '../../src/targets/lab/control-plane/api-controllers/kmm-sign.js';

describe('KMM sign (pure parts)', () => {
  it('merges the container sign with the mapping sign: the mapping overrides image and Secrets, files are appended', () => {
    const container = { keySecret: { name: 'k' }, certSecret: { name: 'c' }, filesToSign: ['/opt/lib/modules/${KERNEL_FULL_VERSION}/extra/a.ko'] };
    const mapping = { keySecret: { name: 'k2' }, unsignedImage: 'r/u:${KERNEL_FULL_VERSION}', filesToSign: ['/opt/b.ko'] };
    expect(signFor(container, mapping, '6.1.0-57-amd64')).toEqual({
      keySecret: { name: 'k2' },
      certSecret: { name: 'c' },
      unsignedImage: 'r/u:6.1.0-57-amd64',
      filesToSign: ['/opt/lib/modules/6.1.0-57-amd64/extra/a.ko', '/opt/b.ko'],
    });
    expect(signFor(undefined, undefined, '6.1.0-57-amd64')).toBeUndefined();
    // KMM fills the normalized version (+ → _) into sign fields.
    expect(signFor(undefined, { filesToSign: ['/opt/lib/modules/${KERNEL_FULL_VERSION}/x.ko'] }, '6.12.0+rt')?.filesToSign).toEqual(['/opt/lib/modules/6.12.0_rt/x.ko']);
  });

  it('names the missing Secret or data key, as KMM does, and never the data', () => {
    const sign = { keySecret: { name: 'k' }, certSecret: { name: 'c' } };
    const key = { data: { key: Buffer.from('PRIVATE-KEY-BYTES').toString('base64') } };
    const cert = { data: { cert: Buffer.from('CERT').toString('base64') } };
    expect(secretsProblem('ns', sign, key, cert)).toBeUndefined();
    expect(secretsProblem('ns', sign, undefined, cert)).toBe('failed to get private secret k for signing: failed to get Secret ns/k: secrets "k" not found');
    expect(secretsProblem('ns', sign, key, undefined)).toMatch(/public secret c .*secrets "c" not found/);
    const wrongKey = { data: { 'tls.key': key.data.key } };
    const p = secretsProblem('ns', sign, wrongKey, cert);
    expect(p).toBe('failed to get private secret k for signing: invalid Secret ns/k format, key key is missing');
    expect(p).not.toContain(key.data.key);
  });

  it('the sign Dockerfile signs each filesToSign path in a copy of dirName and copies it back over the unsigned image', () => {
    const df = signDockerfile({ unsignedImage: 'r/m@sha256:aa', signImage: 'r/dtk@sha256:bb', kver: '6.1.0-57-amd64', dirName: '/opt', filesToSign: ['/opt/lib/modules/*/extra/a.ko'] });
    const from = df.split('\n').filter((l) => l.startsWith('FROM'));
    expect(from).toEqual(['FROM r/m@sha256:aa AS source', 'FROM r/dtk@sha256:bb AS signimage', 'FROM source']);
    expect(df).toContain('COPY --from=source /opt /opt/opt');
    expect(df).toContain('for file in /opt/opt/lib/modules/*/extra/a.ko');
    expect(df).toContain('/lib/modules/6.1.0-57-amd64/build/scripts/sign-file sha256 /run/secrets/key/key /run/secrets/cert/cert "${file}"');
    expect(df.trim().split('\n').pop()).toBe('COPY --from=signimage /opt/opt /opt');
    expect(df).not.toMatch(/ARG|--build-arg/);
  });

  it('mounts the two Secrets as build volumes at /run/secrets/key and /run/secrets/cert', () => {
    expect(signBuildVolumes({ keySecret: { name: 'k' }, certSecret: { name: 'c' } })).toEqual([
      { name: 'key', source: { type: 'Secret', secret: { secretName: 'k', optional: false } }, mounts: [{ destinationPath: '/run/secrets/key' }] },
      { name: 'cert', source: { type: 'Secret', secret: { secretName: 'c', optional: false } }, mounts: [{ destinationPath: '/run/secrets/cert' }] },
    ]);
  });
});
