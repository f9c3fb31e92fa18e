/**
 * The lab release for one kernel, built for real with buildah and pushed to kmodlab's
 * own registry: images resolve by digest and carry what the release says; the
 * driver-toolkit image really builds the reference driver and the runtime base really
 * runs kmod; an unchanged setup builds nothing; a failing step fails with its log;
 * `lab release-info` round-trips through render's parser and renders for the lab.
 *
 * Uses the lab cache (as `lab setup` does), so images built by CI's `lab setup` or an
 * earlier run are reused; a cold first run builds one kernel's release (minutes on 2
 * cores), later runs only ask the registry.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseReleaseInfo } from '../../src/release/release-info.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { Buildah, ImageBuildError } from '../../src/targets/lab/images/buildah.js';
import { labReleaseInfoFor, setupLabImages, type SetupImagesResult } from '../../src/targets/lab/images/lab-release.js';
import { imageLabels, inspectManifest } from '../../src/targets/lab/images/registry-client.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import type { ReleaseImage } from '../../src/targets/lab/images/release-images.js';
import { REPO, labAvailability, primaryKernel, removeTempDirs, tempDir } from './helpers.js';

const lab = labAvailability();
const tools = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
const ok = lab.ok && tools.length === 0;
const why = !lab.ok ? lab.reason : `not installed: ${tools.join(', ')} (scripts/lab-packages.sh)`;

function captureIO() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out, err };
}

describe.skipIf(!ok)(`lab release images${ok ? '' : ` [SKIPPED: ${why}]`}`, () => {
  const kernel = ok ? primaryKernel(lab.kernels) : undefined!;
  let registry: LabRegistry;
  let first: SetupImagesResult;
  const byRole = (r: SetupImagesResult, role: string) => r.images.find((i) => i.role === role && (i.kver === undefined || i.kver === kernel.kver))!;

  beforeAll(async () => {
    // Held open for the whole file: every command below finds it and shares it.
    registry = await openRegistry();
    first = await setupLabImages([kernel], { log: (l) => process.stderr.write(`${l}\n`) });
  }, 1_200_000);

  afterAll(async () => {
    await registry?.stop();
    removeTempDirs();
  });

  it('builds the OS image, driver-toolkit and runtime base of the kernel, each resolvable by digest', async () => {
    const expected: Array<[string, number]> = [
      ['runtime-base', 1],
      ['toolchain', 2],
      ['driver-toolkit', 3],
      ['node-os-userland', 1],
      ['node-os', 2],
    ];
    for (const [role, layers] of expected) {
      const img = byRole(first, role);
      expect(img, role).toBeDefined();
      expect(img.digestRef).toBe(`${img.repository}@${img.digest}`);
      const byDigest = await inspectManifest(img.digestRef!, registry.insecure);
      expect(byDigest?.digest).toBe(img.digest);
      expect(byDigest?.layers).toHaveLength(layers);
      expect(img.sizeBytes).toBeGreaterThan(0);
    }
    // Build figures come from the build that made each image (this run or an earlier one).
    for (const img of first.images) {
      expect(img.build?.usage.wallMs, img.role).toBeGreaterThan(0);
      expect(img.build?.usage.peakRssBytes, img.role).toBeGreaterThan(0);
    }
    const osLabels = await imageLabels(byRole(first, 'node-os').digestRef!, registry.insecure);
    expect(osLabels['ostree.linux']).toBe(kernel.kver);
    const dtkLabels = await imageLabels(byRole(first, 'driver-toolkit').digestRef!, registry.insecure);
    expect(dtkLabels['kernel-version']).toBe(kernel.kver);
  });

  it('a second setup builds nothing and finds the same digests', async () => {
    const second = await setupLabImages([kernel]);
    expect(second.built).toBe(0);
    expect(second.images.map((i) => i.digest)).toEqual(first.images.map((i) => i.digest));
  });

  it('the driver-toolkit builds the reference driver against its own build tree; the runtime base runs kmod on the result', async () => {
    const ctx = tempDir('dtk-build');
    cpSync(join(REPO, 'drivers', 'simple-kmod'), ctx, { recursive: true });
    const dtk: ReleaseImage = byRole(first, 'driver-toolkit');
    const base: ReleaseImage = byRole(first, 'runtime-base');
    writeFileSync(
      join(ctx, 'Containerfile'),
      [
        `FROM ${dtk.digestRef} AS builder`,
        'COPY . /src',
        // KERNEL_VERSION from the image's own release file, as driver containers read it
        `RUN KVER=$(sed -n 's/.*"KERNEL_VERSION": "\\(.*\\)".*/\\1/p' /etc/driver-toolkit-release.json) && make -C /src KVER=$KVER modules`,
        `FROM ${base.digestRef}`,
        'COPY --from=builder /src/simple-kmod.ko /opt/simple-kmod.ko',
        'RUN modinfo -F vermagic /opt/simple-kmod.ko',
        '',
      ].join('\n'),
    );
    const log = join(ctx, 'build.log');
    const built = await new Buildah().bud({ containerfile: join(ctx, 'Containerfile'), context: ctx, tag: 'localhost/kmodlab-test/dtk-smoke:latest', logFile: log, insecure: true });
    expect(built.usage.exitCode).toBe(0);
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(/simple-kmod\.ko/);
    // modinfo in the runtime base prints the vermagic the DTK's tree gave the module
    expect(text).toContain(`${kernel.kver} SMP`);
  }, 600_000);

  it('a parent missing from the local store (wiped, or another store) is pulled back from the registry by digest', async () => {
    const base = byRole(first, 'runtime-base');
    const root = tempDir('buildah-store');
    const store = new Buildah({ root: join(root, 'root'), runroot: join(root, 'run'), driver: 'vfs' });
    const local = `localhost/kmodlab/runtime-base:${base.tag}`;
    expect(await store.imageId(local)).toBeUndefined();
    await store.pullAs(base.digestRef!, local, registry.insecure);
    expect(await store.imageId(local)).toMatch(/^[0-9a-f]{64}$/);
  }, 300_000);

  it('a failing build step fails the build, with the step output in its log', async () => {
    const ctx = tempDir('failing-build');
    const marker = `kmodlab-step-output-${process.pid}`;
    writeFileSync(join(ctx, 'Containerfile'), `FROM ${byRole(first, 'runtime-base').digestRef}\nRUN echo ${marker} && exit 3\n`);
    const log = join(ctx, 'build.log');
    const err = await new Buildah()
      .bud({ containerfile: join(ctx, 'Containerfile'), context: ctx, tag: 'localhost/kmodlab-test/failing:latest', logFile: log, insecure: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageBuildError);
    expect((err as ImageBuildError).logFile).toBe(log);
    expect((err as Error).message).toContain(marker);
    expect(existsSync(log) && readFileSync(log, 'utf8')).toContain(marker);
  }, 300_000);

  it('lab release-info round-trips through render --release-info and renders for the lab', async () => {
    const info = await labReleaseInfoFor(kernel.kver);
    const parsed = parseReleaseInfo(JSON.stringify(info), 'lab.json');
    expect(parsed.kernelVersion).toBe(kernel.kver);
    expect(parsed.rhcosImage).toBe(byRole(first, 'node-os').digestRef);
    expect(parsed.driverToolkitImage).toBe(byRole(first, 'driver-toolkit').digestRef);
    expect(parsed.rhcosVersion).toBe(byRole(first, 'node-os').tag);
    expect(parsed.version).toBeUndefined(); // no OpenShift version is invented

    const file = join(tempDir('release-info'), 'lab.json');
    writeFileSync(file, JSON.stringify(info));
    const { io, out } = captureIO();
    expect(await main(['node', 'kmodlab', 'render', '--release-info', file, '--method', 'dtk', '-o', 'yaml'], io)).toBe(0);
    expect(out.join('')).toContain(byRole(first, 'driver-toolkit').digestRef!);
  });

  it('lab images lists the release with digests and sizes; release-info of an unknown kernel is a user error', async () => {
    const { io, out } = captureIO();
    expect(await main(['node', 'kmodlab', 'lab', 'images', '-o', 'json'], io)).toBe(0);
    const listed = JSON.parse(out.join('')) as ReleaseImage[];
    for (const img of first.images) expect(listed.find((l) => l.role === img.role && l.tag === img.tag)?.digest).toBe(img.digest);
    const bad = captureIO();
    expect(await main(['node', 'kmodlab', 'lab', 'release-info', '9.9.9-does-not-exist'], bad.io)).toBe(2);
    expect(bad.err.join('')).toMatch(/kernel 9\.9\.9-does-not-exist is not available/);
  });
});
