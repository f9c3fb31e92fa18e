/**
 * The lab kubelet's image pulls against a real registry (docker-registry, skopeo) that is
 * stopped: an image the node holds under its reference is used without the registry
 * (IfNotPresent, the default for a tag other than `latest`), Always asks the registry and
 * fails, Never never pulls — as the kubelet's image manager decides (shouldPullImage).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { freePort } from '../../src/targets/lab/host/lab-service.js';
import { run } from '../../src/targets/lab/host/run.js';
import { setupLabImages } from '../../src/targets/lab/images/lab-release.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import { inspectManifest } from '../../src/targets/lab/images/registry-client.js';
import { ImagePullError, NodeImageStore, pullPolicyOf } from '../../src/targets/lab/kubelet/image-pull.js';
import { podEvents } from '../../src/targets/cluster/observers.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';

describe('pull policy defaults (the API server\'s SetDefaults_Container)', () => {
  it.each([
    ['r.example/a/b:1.2', undefined, 'IfNotPresent'],
    ['r.example/a/b', undefined, 'Always'],
    ['r.example/a/b:latest', undefined, 'Always'],
    ['127.0.0.1:5000/a/b', undefined, 'Always'],
    [`r.example/a/b@sha256:${'0'.repeat(64)}`, undefined, 'IfNotPresent'],
    ['r.example/a/b:1.2', 'Never', 'Never'],
    ['r.example/a/b:latest', 'IfNotPresent', 'IfNotPresent'],
  ])('%s (%s) → %s', (image, policy, want) => {
    expect(pullPolicyOf(image, policy)).toBe(want);
  });
});

describe('a reference into the integrated registry whose ImageStream tag does not exist', () => {
  it('fails as OpenShift\'s registry answers it (manifest unknown), which the cluster target takes for "not built yet"', async () => {
    const store = new NodeImageStore(mkdtempSync(path.join(tmpdir(), 'kmodlab-intreg-')), () => true);
    const ref = 'image-registry.openshift-image-registry.svc:5000/kmodlab-simple-kmod-dtk/simple-kmod-driver-container:6.1.0-56-amd64';
    const err = await store.pull(ref).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ImagePullError);
    expect((err as ImagePullError).reason).toBe('ErrImagePull');
    expect((err as ImagePullError).message).toMatch(/manifest unknown/);
    const pod = {
      metadata: { name: 'p', namespace: 'n' },
      spec: { containers: [{ name: 'c', image: ref }] },
      status: { containerStatuses: [{ name: 'c', image: ref, state: { waiting: { reason: 'ErrImagePull', message: (err as Error).message } } }] },
    };
    const emitted = podEvents('ADDED', pod as never, undefined);
    expect(emitted.filter(([kind]) => kind === 'fault')).toEqual([]);
    expect(emitted.some(([kind]) => kind === 'progress')).toBe(true);
  });
});

const lab = labAvailability();
const missing = ['skopeo', 'docker-registry', 'buildah'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0;
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: not installed: ${missing.join(', ')}]`;

describe.skipIf(!ok)(`a node's image store while its registry is stopped${ok ? '' : why}`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-pullpolicy-'));
  let registry: LabRegistry | undefined;
  let shared: LabRegistry;
  let ref: string;

  beforeAll(async () => {
    shared = await openRegistry();
    const release = await setupLabImages([primaryKernel(lab.kernels)]);
    const base = release.images.find((i) => i.role === 'runtime-base')!.digestRef!;
    mkdirSync(path.join(dir, 'registry'), { recursive: true });
    registry = await openRegistry({ dir: path.join(dir, 'registry'), port: await freePort() });
    ref = `${registry.prefix}/pull-policy:1`;
    await run(findTool('skopeo')!, ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${base}`, `docker://${ref}`], { timeoutMs: 300_000 });
  }, 600_000);
  afterAll(async () => {
    await registry?.stop();
    await shared?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('held under its tag: used without the registry (IfNotPresent); Always and an image not held fail with ErrImagePull; Never does not pull', async () => {
    const store = new NodeImageStore(path.join(dir, 'share'), () => true);
    const first = await store.pull(ref);
    expect(first.pulledBytes).toBeGreaterThan(0);
    // A pull (the kubelet's Pulled Event "… Image size: N bytes."): the image's size as the registry stores it.
    expect(first.pulled).toBe(true);
    expect(first.sizeBytes).toBe((await inspectManifest(ref, true))!.sizeBytes);
    await registry!.stop();
    const host = registry!.host;
    registry = undefined;

    const again = await store.pull(ref);
    // Held: "already present on machine", no pull.
    expect(again).toMatchObject({ digest: first.digest, pulledBytes: 0, pulled: false });
    const always = await store.pull(ref, 'Always').catch((e: unknown) => e);
    expect(always).toBeInstanceOf(ImagePullError);
    expect(always).toMatchObject({ reason: 'ErrImagePull' });
    expect((always as Error).message).toContain(host);
    const other = `${host}/kmodlab/pull-policy:2`;
    expect(await store.pull(other).catch((e: unknown) => e)).toMatchObject({ reason: 'ErrImagePull' });
    const never = await store.pull(other, 'Never').catch((e: unknown) => e);
    expect(never).toMatchObject({ reason: 'ErrImageNeverPull', message: `Container image "${other}" is not present with pull policy of Never` });
    // Never with the image held: used.
    expect(await store.pull(ref, 'Never')).toMatchObject({ digest: first.digest });
  }, 300_000);
});
