/**
 * Image figures on the API path, from captured objects: the kubelet's Pulled Event (worded
 * as k8s.io/kubernetes pkg/kubelet/images/image_manager.go), the lab's build-host figures
 * annotation on Builds and MachineOSBuilds.
 */
import { describe, expect, it } from 'vitest';
import { buildEvents, clusterEventEvents, machineOSBuildEvents } from '../../src/targets/cluster/observers.js';
import type { WatchObject } from '../../src/targets/cluster/watch.js';
import { alreadyPresentMessage, goDuration, osImagePulledMessage, parseGoDuration, parseOsImagePulledMessage, parsePulledMessage, pulledMessage, PULLED_BYTES_ANNOTATION } from '../../src/targets/image-pulled-event.js';
import { NodeOsBlobs } from '../../src/targets/lab/control-plane/api-controllers/mco/os-pulls.js';
import { BUILD_HOST_FIGURES, buildHostFigures, failedBuildAnnotations, failedBuildHostFigures, readBuildHostFigures } from '../../src/targets/lab/images/build-host-figures.js';
import { ImageBuildError } from '../../src/targets/lab/images/buildah.js';

const o = (x: object) => x as unknown as WatchObject & never;

describe('the kubelet Pulled Event', () => {
  it('Go durations print as time.Duration %v does, and read back', () => {
    expect([0, 7, 150, 1000, 15_981, 62_500, 3_600_000, 3_723_004].map(goDuration)).toEqual(['0s', '7ms', '150ms', '1s', '15.981s', '1m2.5s', '1h0m0s', '1h2m3.004s']);
    for (const ms of [0, 7, 150, 15_981, 62_500, 3_723_004]) expect(parseGoDuration(goDuration(ms))).toBe(ms);
    expect(parseGoDuration('1.5µs')).toBeCloseTo(0.0015);
    expect(parseGoDuration('fast')).toBeUndefined();
  });

  it('reads the message a v1.30 kubelet recorded (captured from kubectl describe pod)', () => {
    const m = 'Successfully pulled image "g1g1/py-kube" in 15.981s (15.981s including waiting). Image size: 129338587 bytes.';
    expect(parsePulledMessage(m)).toEqual({ image: 'g1g1/py-kube', pullMs: 15_981, totalMs: 15_981, sizeBytes: 129_338_587 });
    expect(parsePulledMessage(pulledMessage('127.0.0.1:5000/ns/img@sha256:ab', 812.7, 1_503, 12_345))).toEqual({ image: '127.0.0.1:5000/ns/img@sha256:ab', pullMs: 812, totalMs: 1_503, sizeBytes: 12_345 });
    // Older kubelets (< 1.28) said no size; "already present" pulled nothing.
    expect(parsePulledMessage('Successfully pulled image "nginx" in 2.1s')).toBeUndefined();
    expect(parsePulledMessage(alreadyPresentMessage('nginx'))).toBeUndefined();
  });

  const event = (message: string, type = 'Normal') =>
    o({
      metadata: { name: 'simple-kmod-driver-container-x7k2p.17f0c', namespace: 'kmodlab-simple-kmod' },
      involvedObject: { kind: 'Pod', name: 'simple-kmod-driver-container-x7k2p', namespace: 'kmodlab-simple-kmod', fieldPath: 'spec.containers{c}' },
      type,
      reason: 'Pulled',
      message,
      source: { component: 'kubelet', host: 'worker-0' },
    });

  it('an actual pull → image-pull on its node; already present → nothing', () => {
    expect(clusterEventEvents('ADDED', event('Successfully pulled image "quay.io/x/y:1" in 150ms (2.3s including waiting). Image size: 5242880 bytes.'))).toEqual([
      ['image-pull', { image: 'quay.io/x/y:1', bytes: 5_242_880, pullMs: 150, pod: 'kmodlab-simple-kmod/simple-kmod-driver-container-x7k2p' }, 'worker-0'],
    ]);
    expect(clusterEventEvents('ADDED', event(alreadyPresentMessage('quay.io/x/y:1')))).toEqual([]);
    expect(clusterEventEvents('MODIFIED', event('Successfully pulled image "a" in 1s (1s including waiting). Image size: 1 bytes.'))).toEqual([]);
  });

  it("the lab kubelet's fetched bytes (annotation) are the figure, the image size kept beside it; a bad annotation falls back to the size", () => {
    const withBytes = (value: string) =>
      o({
        metadata: { name: 'simple-kmod-driver-container-x7k2p.17f0d', namespace: 'kmodlab-simple-kmod', annotations: { [PULLED_BYTES_ANNOTATION]: value } },
        involvedObject: { kind: 'Pod', name: 'simple-kmod-driver-container-x7k2p', namespace: 'kmodlab-simple-kmod', fieldPath: 'spec.containers{c}' },
        type: 'Normal',
        reason: 'Pulled',
        message: 'Successfully pulled image "quay.io/x/y:1" in 150ms (150ms including waiting). Image size: 5242880 bytes.',
        source: { component: 'kubelet', host: 'worker-0' },
      });
    expect(clusterEventEvents('ADDED', withBytes('1048576'))).toEqual([
      ['image-pull', { image: 'quay.io/x/y:1', bytes: 1_048_576, imageBytes: 5_242_880, pullMs: 150, pod: 'kmodlab-simple-kmod/simple-kmod-driver-container-x7k2p' }, 'worker-0'],
    ]);
    expect(clusterEventEvents('ADDED', withBytes('0'))[0]![1]).toMatchObject({ bytes: 0, imageBytes: 5_242_880 });
    expect(clusterEventEvents('ADDED', withBytes('lots'))[0]![1]).toMatchObject({ bytes: 5_242_880 });
  });
});

describe("the machine-config daemon's OS-image Pulled Event on a Node", () => {
  const layered = '127.0.0.1:5000/kmodlab/simple-kmod-layered@sha256:9f1e';
  // As the lab's daemon records it (mco/daemon.ts): namespace default, the Node as involved object.
  const nodeEvent = (message: string, type = 'Normal') =>
    o({
      metadata: { name: 'node-0.18a2f', namespace: 'default' },
      involvedObject: { kind: 'Node', name: 'node-0', uid: 'node-0' },
      type,
      reason: 'Pulled',
      message,
      source: { component: 'machine-config-daemon', host: 'node-0' },
      reportingInstance: 'node-0',
    });

  it('wording round-trips: image, whose, pull time, bytes fetched, image size', () => {
    const m = osImagePulledMessage(layered, 4_250.9, 1_234_567, 312_000_000, 'osImageURL');
    expect(m).toBe(`Successfully pulled OS image "${layered}" (osImageURL) in 4.25s. Bytes pulled: 1234567. Image size: 312000000 bytes.`);
    expect(parseOsImagePulledMessage(m)).toEqual({ image: layered, source: 'osImageURL', pullMs: 4_250, pulledBytes: 1_234_567, sizeBytes: 312_000_000 });
    // Neither wording is taken for the other.
    expect(parseOsImagePulledMessage(pulledMessage('a', 1, 1, 1))).toBeUndefined();
    expect(parsePulledMessage(m)).toBeUndefined();
  });

  it('→ an image-pull on that node with the bytes it fetched, saying whose image it was', () => {
    expect(clusterEventEvents('ADDED', nodeEvent(osImagePulledMessage(layered, 4_000, 1_234_567, 312_000_000, 'osImageURL')))).toEqual([
      ['image-pull', { image: layered, bytes: 1_234_567, pullMs: 4_000, imageBytes: 312_000_000, osImage: 'osImageURL' }, 'node-0'],
    ]);
    expect(clusterEventEvents('ADDED', nodeEvent(osImagePulledMessage('reg/node-os@sha256:2', 9_000, 300_000_000, 300_000_000, 'release')))[0]![1]).toMatchObject({ osImage: 'release', bytes: 300_000_000 });
    // Seen again (a resync) or another Node Event: nothing.
    expect(clusterEventEvents('MODIFIED', nodeEvent(osImagePulledMessage(layered, 1, 1, 1, 'osImageURL')))).toEqual([]);
    expect(clusterEventEvents('ADDED', nodeEvent('Node node-0 status is now: NodeReady'))).toEqual([]);
  });

  it('a node fetches only the blobs it does not hold, each digest once', () => {
    const base = { digest: 'sha256:base', mediaType: '', sizeBytes: 310_001_000, configDigest: 'sha256:c0', layers: [{ digest: 'sha256:l1', size: 300_000_000 }, { digest: 'sha256:l2', size: 10_000_000 }] };
    const layeredImage = { digest: 'sha256:lay', mediaType: '', sizeBytes: 310_501_500, configDigest: 'sha256:c1', layers: [...base.layers, { digest: 'sha256:drv', size: 500_000 }] };
    const node = new NodeOsBlobs();
    node.hold(base);
    // The layered image's own layer and config (1 500 bytes) only.
    expect(node.pull(layeredImage)).toEqual({ pulledBytes: 501_500, sizeBytes: 310_501_500 });
    expect(node.pull(layeredImage)).toBeUndefined();
    expect(node.pull(base)).toBeUndefined();
    // A node that holds nothing yet fetches the whole image.
    expect(new NodeOsBlobs().pull(layeredImage)).toEqual({ pulledBytes: 310_501_500, sizeBytes: 310_501_500 });
  });
});

const figures = buildHostFigures(
  [
    { exitCode: 0, wallMs: 20_000.4, userCpuMs: 9_000, systemCpuMs: 3_000, peakRssBytes: 200_000_000 },
    { exitCode: 0, wallMs: 1_500, userCpuMs: 400, systemCpuMs: 100, peakRssBytes: 60_000_000 },
  ],
  { digest: 'sha256:m', mediaType: '', sizeBytes: 12_000_000, layers: [{ digest: 'sha256:a', size: 11_000_000 }, { digest: 'sha256:b', size: 999_000 }], configDigest: 'sha256:c' },
  1_000_000,
);

describe('build-host figures annotation', () => {
  it('bud + push: wall and CPU summed, RSS the peak, image from the manifest', () => {
    expect(figures).toEqual({ buildahWallMs: 21_500, userCpuMs: 9_400, systemCpuMs: 3_100, peakRssBytes: 200_000_000, imageBytes: 12_000_000, layers: 2, bytesPushed: 1_000_000 });
    expect(readBuildHostFigures({ [BUILD_HOST_FIGURES]: JSON.stringify(figures) })).toEqual(figures);
    expect(readBuildHostFigures({ [BUILD_HOST_FIGURES]: '{"imageBytes":1}' })).toBeUndefined();
    expect(readBuildHostFigures({ [BUILD_HOST_FIGURES]: 'not json' })).toBeUndefined();
    expect(readBuildHostFigures(undefined)).toBeUndefined();
  });

  it("a Build's figures reach its build event; a cluster's Build has wall time only", () => {
    const b = (phase: string, annotations?: Record<string, string>) =>
      o({
        metadata: { name: 'simple-kmod-build-1', namespace: 'kmodlab-simple-kmod', ...(annotations ? { annotations } : {}) },
        status: {
          phase,
          startTimestamp: '2026-12-01T09:00:00Z',
          completionTimestamp: '2026-12-01T09:00:30Z',
          outputDockerImageReference: 'image-registry.openshift-image-registry.svc:5000/kmodlab-simple-kmod/simple-kmod:5.14.0',
          output: { to: { imageDigest: 'sha256:d1' } },
        },
      });
    expect(buildEvents('MODIFIED', b('Complete', { [BUILD_HOST_FIGURES]: JSON.stringify(figures) }), b('Running'))[0]![1]).toMatchObject({
      ok: true,
      wallMs: 30_000,
      image: 'image-registry.openshift-image-registry.svc:5000/kmodlab-simple-kmod/simple-kmod@sha256:d1',
      ...figures,
    });
    const plain = buildEvents('MODIFIED', b('Complete'), b('Running'))[0]![1];
    expect(plain).toMatchObject({ wallMs: 30_000 });
    expect(plain).not.toHaveProperty('imageBytes');
    expect(plain).not.toHaveProperty('userCpuMs');
  });

  it('a failed Build carries its figures up to the failure: CPU and RSS, nothing pushed, no image', () => {
    const usage = { exitCode: 125, wallMs: 412.6, userCpuMs: 120, systemCpuMs: 80, peakRssBytes: 30_000_000 };
    const failed = failedBuildHostFigures(usage);
    expect(failed).toEqual({ buildahWallMs: 413, userCpuMs: 120, systemCpuMs: 80, peakRssBytes: 30_000_000, bytesPushed: 0 });
    expect(readBuildHostFigures({ [BUILD_HOST_FIGURES]: JSON.stringify(failed) })).toEqual(failed);
    // Only a measured bud failure has figures: a failure before buildah ran has none.
    expect(failedBuildAnnotations(new ImageBuildError('t', '/nonexistent/build.log', 125, usage))).toEqual({ [BUILD_HOST_FIGURES]: JSON.stringify(failed) });
    expect(failedBuildAnnotations(new Error('no Dockerfile in the build context'))).toBeUndefined();
    const metadata = { name: 'simple-kmod-driver-build-1', namespace: 'kmodlab-simple-kmod', annotations: { [BUILD_HOST_FIGURES]: JSON.stringify(failed) } };
    const b = o({
      metadata,
      // Whole-second timestamps (0 s apart); `duration` (ns) has the build's own time.
      status: { phase: 'Failed', reason: 'DockerBuildFailed', startTimestamp: '2026-12-01T09:00:00Z', completionTimestamp: '2026-12-01T09:00:00Z', duration: 612_000_000 },
    });
    const e = buildEvents('MODIFIED', b, o({ metadata, status: { phase: 'Running' } }))[0]![1];
    expect(e).toMatchObject({ ok: false, error: 'Failed: DockerBuildFailed', wallMs: 612, userCpuMs: 120, bytesPushed: 0 });
    expect(e).not.toHaveProperty('imageBytes');
  });
});

describe('MachineOSBuilds', () => {
  const cond = (state: string, message = '') =>
    ['Prepared', 'Building', 'Succeeded', 'Interrupted', 'Failed'].map((type) => ({ type, status: type === state ? 'True' : 'False', reason: type === state ? state : 'NotSet', message: type === state ? message : '' }));
  const mosb = (state: string, extra: object = {}, annotations?: Record<string, string>) =>
    o({
      apiVersion: 'machineconfiguration.openshift.io/v1',
      kind: 'MachineOSBuild',
      metadata: { name: 'worker-3f2a', ...(annotations ? { annotations } : {}) },
      spec: { machineOSConfig: { name: 'worker' }, renderedImagePushSpec: 'image-registry.openshift-image-registry.svc:5000/openshift-machine-config-operator/os-image:latest' },
      status: { buildStart: '2026-12-01T09:00:00Z', conditions: cond(state), ...extra },
    });

  it('Succeeded → one build event with its wall time, image and figures; none while building or twice', () => {
    const done = mosb('Succeeded', { buildEnd: '2026-12-01T09:02:00Z', digestedImagePushSpec: 'reg/os-image@sha256:d' }, { [BUILD_HOST_FIGURES]: JSON.stringify(figures) });
    expect(machineOSBuildEvents('MODIFIED', mosb('Building'), mosb('Prepared'))).toEqual([]);
    expect(machineOSBuildEvents('MODIFIED', done, mosb('Building'))).toEqual([
      ['build', { kver: '', ok: true, cached: false, build: 'MachineOSBuild/worker-3f2a', machineOSConfig: 'worker', wallMs: 120_000, image: 'reg/os-image@sha256:d', ...figures }],
    ]);
    expect(machineOSBuildEvents('MODIFIED', done, done)).toEqual([]);
  });

  it('Failed → a failed build with the condition message', () => {
    const failed = o({ ...(mosb('Failed') as object), status: { buildStart: '2026-12-01T09:00:00Z', buildEnd: '2026-12-01T09:00:10Z', conditions: cond('Failed', 'building failed\nlast lines') } });
    expect(machineOSBuildEvents('MODIFIED', failed, mosb('Building'))[0]![1]).toMatchObject({ ok: false, wallMs: 10_000, error: expect.stringMatching(/^Failed: building failed/) });
  });
});
