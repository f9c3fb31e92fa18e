/**
 * The off-cluster build steps of the rendered READMEs, run for real in the lab
 * (src/targets/lab/images/off-cluster-build.ts): layering's build.sh with `podman` = buildah
 * into the lab registry (image there, modules in /usr/lib/modules/<kver>/extra, osImageURL
 * pinned by build.sh itself), its failures (a broken step, another kernel's driver-toolkit
 * tripping the Containerfile's own guard), KMM's source image, the cluster target's hook, and
 * `kmodlab lab build` bad input.
 *
 * Needs the lab release images in the lab registry (`kmodlab lab setup`, which CI runs);
 * without them the tests are skipped, saying why.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import { manualStepsOf } from '../../src/artifacts/manual-steps.js';
import { loadDriver } from '../../src/driver/load.js';
import { renderMethods } from '../../src/methods/render.js';
import { resolveRelease } from '../../src/release/resolve.js';
import { placeholdersIn } from '../../src/targets/cluster/placeholder-guard.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { labReleaseInfoFor, listLabImages } from '../../src/targets/lab/images/lab-release.js';
import { OffClusterBuildError, planOffClusterBuilds, runOffClusterBuild, runOffClusterBuilds } from '../../src/targets/lab/images/off-cluster-build.js';
import { labOffClusterBuild } from '../../src/targets/lab/images/off-cluster-hook.js';
import { inspectManifest } from '../../src/targets/lab/images/registry-client.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import { REPO, labAvailability, primaryKernel, removeTempDirs, tempDir } from './helpers.js';

function captureIO() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out, err };
}

async function skipReason(): Promise<string> {
  const lab = labAvailability();
  if (!lab.ok) return lab.reason;
  const tools = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
  if (tools.length) return `not installed: ${tools.join(', ')} (scripts/lab-packages.sh)`;
  const kver = primaryKernel(lab.kernels).kver;
  const images = await listLabImages();
  const missing = ['driver-toolkit', 'node-os', 'runtime-base'].filter((role) => !images.some((i) => i.role === role && (i.kver ?? kver) === kver && i.digest));
  return missing.length ? `the lab release images of ${kver} are not in the lab registry (missing: ${missing.join(', ')}); run: kmodlab lab setup --kernels ${kver}` : '';
}

/** Names of the files in the top layer of `ref` (skopeo copy to a dir: layout, then tar -t). */
function topLayerFiles(ref: string, dir: string, insecure: boolean): string[] {
  execFileSync('skopeo', ['copy', ...(insecure ? ['--src-tls-verify=false'] : []), `docker://${ref}`, `dir:${dir}`], { stdio: 'ignore' });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { layers: Array<{ digest: string }> };
  const top = manifest.layers[manifest.layers.length - 1]!.digest.replace(/^sha256:/, '');
  return execFileSync('tar', ['-tf', join(dir, top)], { maxBuffer: 64 << 20 }).toString('utf8').split('\n');
}

const why = await skipReason();

describe.skipIf(why !== '')(`off-cluster builds of the rendered files in the lab${why ? ` [SKIPPED: ${why}]` : ''}`, () => {
  const kernel = why === '' ? primaryKernel(labAvailability().kernels) : undefined!;
  let registry: LabRegistry;
  let dir: string;
  let out: string;
  let src: string;
  let infoFile: string;
  let renderedMachineConfig: string;

  beforeAll(async () => {
    registry = await openRegistry();
    dir = tempDir('off-cluster');
    out = join(dir, 'rendered');
    // A copy of the driver source: the tests may break it without touching the repository.
    src = join(dir, 'simple-kmod');
    cpSync(join(REPO, 'drivers', 'simple-kmod'), src, { recursive: true });
    infoFile = join(dir, 'lab-release.json');
    writeFileSync(infoFile, JSON.stringify(await labReleaseInfoFor(kernel.kver)));
    const { io, err } = captureIO();
    const code = await main(['node', 'kmodlab', 'render', '--release-info', infoFile, '--method', 'layering,kmm', '--pool', 'master', '--registry', '127.0.0.1:5000/acme', '--output-dir', out], io);
    expect(code, err.join('')).toBe(0);
    renderedMachineConfig = readFileSync(join(out, 'layering', '00-machineconfig-master.yaml'), 'utf8');
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
    removeTempDirs();
  });

  it('build.sh builds the rendered layering Containerfile into the lab registry and pins osImageURL; the modules are in the image', async () => {
    expect(renderedMachineConfig).toContain('FILL_ME_LAYERED_IMAGE_DIGEST');
    const [plan] = planOffClusterBuilds(join(out, 'layering'), registry, { sourceDir: src });
    // Not the rendered 127.0.0.1:5000/acme (nothing listens there): the lab registry.
    expect(plan!.image.startsWith(`${registry.prefix}/simple-kmod-rhcos:`)).toBe(true);
    const img = await runOffClusterBuild(plan!, { registry, noCache: true });
    expect(img.cached).toBe(false);
    expect(img.kver).toBe(kernel.kver);
    expect(img.digestRef).toMatch(new RegExp(`^${registry.prefix.replace(/[.]/g, '\\.')}/simple-kmod-rhcos@sha256:[0-9a-f]{64}$`));
    // build.sh's own sed pinned the MachineConfig to what the registry holds.
    const mc = readFileSync(join(out, 'layering', '00-machineconfig-master.yaml'), 'utf8');
    expect(mc).toContain(`osImageURL: ${img.digestRef}\n`);
    expect(mc).not.toContain('FILL_ME');
    const manifest = await inspectManifest(img.digestRef, registry.insecure);
    expect(manifest?.digest).toBe(img.digest);
    expect(img.layers).toBe(manifest!.layers.length);
    // Built on the release's OS image with its layers as they are (same digests), so a node
    // holding the base pulls only the layered image's own layers — whatever buildah's blob
    // cache knows of the registry's current port.
    const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { references: { spec: { tags: Array<{ name: string; from: { name: string } }> } } };
    const base = await inspectManifest(info.references.spec.tags.find((t) => t.name === 'rhel-coreos')!.from.name, registry.insecure);
    expect(base!.layers.length).toBeLessThan(manifest!.layers.length);
    expect(manifest!.layers.slice(0, base!.layers.length).map((l) => l.digest)).toEqual(base!.layers.map((l) => l.digest));
    // Measured from this run's process tree.
    expect(img.usage.wallMs).toBeGreaterThan(0);
    expect(img.usage.userCpuMs + img.usage.systemCpuMs).toBeGreaterThan(0);
    expect(img.usage.peakRssBytes).toBeGreaterThan(0);
    // The registry holds it; the lab's buildah store keeps no copy.
    expect(await new Buildah().imageId(img.image)).toBeUndefined();
    const files = topLayerFiles(img.digestRef, join(dir, 'layered-image'), registry.insecure);
    expect(files).toContain(`usr/lib/modules/${kernel.kver}/extra/simple-kmod.ko`);
    expect(files).toContain(`usr/lib/modules/${kernel.kver}/extra/simple-procfs-kmod.ko`);
  }, 900_000);

  it('a re-run with unchanged inputs builds nothing and build.sh still pins the same digest', async () => {
    writeFileSync(join(out, 'layering', '00-machineconfig-master.yaml'), renderedMachineConfig);
    const [plan] = planOffClusterBuilds(join(out, 'layering'), registry, { sourceDir: src });
    const first = readFileSync(join(out, 'layering', 'image-digest.txt'), 'utf8').trim();
    const img = await runOffClusterBuild(plan!, { registry });
    expect(img.cached).toBe(true);
    expect(img.digest).toBe(first);
    expect(readFileSync(join(out, 'layering', '00-machineconfig-master.yaml'), 'utf8')).toContain(`osImageURL: ${img.digestRef}\n`);
  }, 300_000);

  it("a driver-toolkit of another kernel trips the layering Containerfile's own guard", async (ctx) => {
    const other = (await listLabImages()).find((i) => i.role === 'driver-toolkit' && i.kver && i.kver !== kernel.kver && i.digestRef);
    if (!other) return ctx.skip(`needs a second lab kernel's driver-toolkit in the registry (kmodlab lab setup)`);
    const env = { ...process.env, DTK_IMAGE: other.digestRef! };
    const [plan] = planOffClusterBuilds(join(out, 'layering'), registry, { sourceDir: src, env });
    const e = await runOffClusterBuild(plan!, { registry, env }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OffClusterBuildError);
    expect((e as Error).message).toContain(`kmodlab: this driver-toolkit image has no build tree for ${kernel.kver}`);
    expect((e as OffClusterBuildError).usage.exitCode).not.toBe(0);
  }, 900_000);

  it('a broken Containerfile step fails the build with its log', async () => {
    const broken = join(dir, 'broken');
    cpSync(join(out, 'layering'), broken, { recursive: true });
    const cf = readFileSync(join(broken, 'Containerfile'), 'utf8');
    expect(cf).toContain('cp simple-kmod.ko');
    // A wrong path in a build step, as a person's typo would be.
    writeFileSync(join(broken, 'Containerfile'), cf.replace('cp simple-kmod.ko', 'cp simple-kmod-typo.ko'));
    // Through the CLI: exit 1 (the build failed, not kmodlab), the failing step's log tail on stderr.
    const { io, out: stdout, err } = captureIO();
    expect(await main(['node', 'kmodlab', 'lab', 'build', broken, '--source', src], io)).toBe(1);
    const stderr = err.join('');
    expect(stderr).toContain(`error: layered-os-image: Containerfile in ${broken} failed (exit `);
    expect(stderr).toMatch(/cannot stat '?simple-kmod-typo\.ko'?: No such file/);
    expect(stderr).not.toContain('internal error');
    expect(stdout.join('')).toBe('');
  }, 900_000);

  it("KMM's source image builds from Containerfile.source and holds the driver source", async () => {
    const [img] = await runOffClusterBuilds(join(out, 'kmm'), { registry, sourceDir: src, noCache: true });
    expect(img!.step).toBe('source-image');
    expect(img!.renderedImage).toBe('127.0.0.1:5000/acme/simple-kmod-source:1.0.0');
    expect(img!.image).toBe(`${registry.prefix}/simple-kmod-source:1.0.0`);
    const files = topLayerFiles(img!.digestRef, join(dir, 'source-image'), registry.insecure);
    expect(files).toContain('src/Makefile');
    expect(files).toContain('src/simple-kmod.c');
  }, 300_000);

  it('kmodlab lab build <out>/kmm -o json prints the pinned reference on stdout, progress on stderr', async () => {
    const { io, out: stdout, err } = captureIO();
    expect(await main(['node', 'kmodlab', 'lab', 'build', join(out, 'kmm'), '--source', src, '-o', 'json'], io), err.join('')).toBe(0);
    const images = JSON.parse(stdout.join('')) as Array<{ step: string; digestRef: string }>;
    expect(images.map((i) => i.step)).toEqual(['source-image']);
    expect(await inspectManifest(images[0]!.digestRef, registry.insecure)).toBeDefined();
    expect(err.join('')).toContain('lab build: source-image: ');
  }, 300_000);

  it("the cluster target's hook: a layering set with FILL_ME_LAYERED_IMAGE_DIGEST comes back pinned, with a build event and the step performed", async () => {
    const driver = await loadDriver(join(REPO, 'drivers', 'simple-kmod', 'driver.yaml'));
    const release = await resolveRelease({ releaseInfoFile: infoFile });
    const [set] = renderMethods(driver.spec, release, 'layering', { pool: 'master', registry: '127.0.0.1:5000/acme', sourceDir: src });
    expect(placeholdersIn(set!).map((h) => h.token)).toContain('FILL_ME_LAYERED_IMAGE_DIGEST');
    const events: Array<[string, Record<string, unknown>]> = [];
    const done = await labOffClusterBuild(set!, (k, d) => void events.push([k, d]), { registry, sourceDir: src });
    expect(placeholdersIn(done.set)).toEqual([]);
    const mc = allObjects(done.set, 'day2').find((o) => o.kind === 'MachineConfig') as unknown as { spec: { osImageURL: string } };
    expect(mc.spec.osImageURL).toBe(done.images[0]!.digestRef);
    expect(done.performed).toEqual(['./build.sh']);
    const build = events.find(([k]) => k === 'build')![1];
    expect(build).toMatchObject({ ok: true, kver: kernel.kver, image: done.images[0]!.digestRef, layers: done.images[0]!.layers, imageBytes: done.images[0]!.sizeBytes });
  }, 900_000);

  it("the cluster target's hook on a KMM set: the source image step is performed (the set is unchanged: nothing to pin)", async () => {
    const driver = await loadDriver(join(REPO, 'drivers', 'simple-kmod', 'driver.yaml'));
    const release = await resolveRelease({ releaseInfoFile: infoFile });
    const [set] = renderMethods(driver.spec, release, 'kmm', { pool: 'master', registry: registry.prefix, sourceDir: src });
    // As the cluster target names the step (its driverSourceDir may be relative).
    const rel = relative(process.cwd(), src);
    const expected = manualStepsOf(set!, 'day2', rel).map((s) => s.command);
    expect(expected).toEqual([expect.stringMatching(/^podman build -f Containerfile\.source /)]);
    const events: Array<[string, Record<string, unknown>]> = [];
    const done = await labOffClusterBuild(set!, (k, d) => void events.push([k, d]), { registry, sourceDir: rel });
    expect(done.performed).toEqual(expected);
    // Rendered for the lab registry: pushed where the Module's Dockerfile copies from.
    expect(done.images.map((i) => i.image)).toEqual([`${registry.prefix}/simple-kmod-source:1.0.0`]);
    expect(done.set).toEqual(set);
    expect(events.filter(([k]) => k === 'build').map(([, d]) => d['kver'])).toEqual(['any']);
  }, 300_000);
});

describe('kmodlab lab build: bad input', () => {
  it('a dtk (tracking) directory, whose BuildConfig packs the source itself, has nothing to build off-cluster: exit 2 naming it', async () => {
    const d = tempDir('lab-build-dtk');
    const { io, err } = captureIO();
    const render = ['node', 'kmodlab', 'render', '--method', 'dtk', '--variant', 'tracking', '--ocp-version', '4.14.12', '--kernel', '5.14.0-284.52.1.el9_2.x86_64', '--output-dir', join(d, 'out')];
    expect(await main(render, io), err.join('')).toBe(0);
    // It has a Containerfile.source, but no README step that asks a person to push it.
    expect(readFileSync(join(d, 'out', 'dtk', 'Containerfile.source'), 'utf8')).toContain('COPY');
    expect(await main(['node', 'kmodlab', 'lab', 'build', join(d, 'out', 'dtk')], io)).toBe(2);
    expect(err.join('')).toContain(`${join(d, 'out', 'dtk')}: nothing to build off-cluster`);
    removeTempDirs();
  });

  it('a missing method output directory exits 2 naming it', async () => {
    const { io, err } = captureIO();
    expect(await main(['node', 'kmodlab', 'lab', 'build', '/nonexistent/kmodlab-out/layering'], io)).toBe(2);
    expect(err.join('')).toContain('/nonexistent/kmodlab-out/layering: no such directory');
  });

  it('a missing --source exits 2 naming the flag', async () => {
    const d = tempDir('lab-build-flags');
    mkdirSync(join(d, 'layering'));
    const { io, err } = captureIO();
    expect(await main(['node', 'kmodlab', 'lab', 'build', join(d, 'layering'), '--source', '/nonexistent/src'], io)).toBe(2);
    expect(err.join('')).toContain('--source /nonexistent/src: no such directory');
    removeTempDirs();
  });
});
