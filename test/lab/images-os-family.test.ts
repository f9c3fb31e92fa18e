/**
 * The debian-lab render builds: `kmodlab render --release-info <(kmodlab lab release-info
 * <kernel>)` writes a DTK Containerfile FROM the lab's driver-toolkit and runtime-base
 * images, and buildah builds it as written (no edits, no build args: the rendered file
 * pins both images by digest and the kernel), leaving the modules for that kernel in
 * the image.
 *
 * Needs the lab release images of one kernel in the lab registry (`kmodlab lab setup`,
 * which CI runs); without them the test is skipped, saying why. It does not build them:
 * that is images.test.ts's job.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { labReleaseInfoFor, listLabImages } from '../../src/targets/lab/images/lab-release.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import { REPO, labAvailability, primaryKernel, removeTempDirs, tempDir } from './helpers.js';

function captureIO() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out, err };
}

/** Why the test cannot run here, or '' when it can. */
async function skipReason(): Promise<string> {
  const lab = labAvailability();
  if (!lab.ok) return lab.reason;
  const tools = ['buildah', 'docker-registry'].filter((t) => !findTool(t));
  if (tools.length) return `not installed: ${tools.join(', ')} (scripts/lab-packages.sh)`;
  const kver = primaryKernel(lab.kernels).kver;
  const images = await listLabImages();
  const missing = ['driver-toolkit', 'runtime-base'].filter((role) => !images.some((i) => i.role === role && (i.kver ?? kver) === kver && i.digest));
  return missing.length ? `the lab release images of ${kver} are not in the lab registry (missing: ${missing.join(', ')}); run: kmodlab lab setup --kernels ${kver}` : '';
}

const why = await skipReason();

describe.skipIf(why !== '')(`debian-lab render built with buildah${why ? ` [SKIPPED: ${why}]` : ''}`, () => {
  const kernel = why === '' ? primaryKernel(labAvailability().kernels) : undefined!;
  let registry: LabRegistry;

  beforeAll(async () => {
    // Held open for the build: FROM pulls the release images from it by digest.
    registry = await openRegistry();
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    removeTempDirs();
  });

  it("the DTK Containerfile rendered from the lab release builds FROM the lab's images and holds the kernel's modules", async () => {
    const dir = tempDir('os-family');
    const infoFile = join(dir, 'lab-release.json');
    writeFileSync(infoFile, JSON.stringify(await labReleaseInfoFor(kernel.kver)));
    const out = join(dir, 'rendered');
    const { io, err } = captureIO();
    expect(await main(['node', 'kmodlab', 'render', '--release-info', infoFile, '--method', 'dtk', '--output-dir', out], io), err.join('')).toBe(0);

    const containerfile = readFileSync(join(out, 'dtk', 'Containerfile'), 'utf8');
    const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { references: { spec: { tags: Array<{ name: string; from: { name: string } }> } } };
    const ref = (tag: string) => info.references.spec.tags.find((t) => t.name === tag)!.from.name;
    expect(containerfile).toContain(`ARG DTK=${ref('driver-toolkit')}\n`);
    expect(containerfile).toContain(`ARG KVER=${kernel.kver}\n`);
    expect(containerfile).toContain(`\nFROM ${ref('runtime-base')}\n`);
    expect(containerfile).not.toMatch(/microdnf|FILL_ME/);

    // The build context is the driver source, as the rendered README says.
    const ctx = join(dir, 'context');
    mkdirSync(ctx);
    cpSync(join(REPO, 'drivers', 'simple-kmod'), ctx, { recursive: true });
    const buildah = new Buildah();
    const image = `localhost/kmodlab-test/os-family-dtk:${process.pid}`;
    const log = join(dir, 'build.log');
    const built = await buildah.bud({ containerfile: join(out, 'dtk', 'Containerfile'), context: ctx, tag: image, logFile: log, insecure: registry.insecure });
    expect(built.usage.exitCode).toBe(0);

    // What the DaemonSet's modprobe finds: the image's own kmod reads the modules the builder made for this kernel.
    const check = join(dir, 'check');
    mkdirSync(check);
    writeFileSync(
      join(check, 'Containerfile'),
      [
        `FROM ${image}`,
        ...['simple-kmod', 'simple-procfs-kmod'].map((m) => `RUN echo "vermagic ${m}: $(modinfo -F vermagic /lib/modules/${kernel.kver}/extra/${m}.ko)"`),
        `RUN grep -q 'extra/simple-kmod.ko' /lib/modules/${kernel.kver}/modules.dep && echo "modules.dep lists simple-kmod"`,
        '',
      ].join('\n'),
    );
    const checkLog = join(check, 'build.log');
    await buildah.bud({ containerfile: join(check, 'Containerfile'), context: check, tag: `${image}-check`, logFile: checkLog });
    const text = readFileSync(checkLog, 'utf8');
    for (const m of ['simple-kmod', 'simple-procfs-kmod']) expect(text).toMatch(new RegExp(`vermagic ${m}: ${kernel.kver.replace(/[.+]/g, '\\$&')} `));
    expect(text).toContain('modules.dep lists simple-kmod');
    await buildah.run(['rmi', `${image}-check`, image], { allowFailure: true });
  }, 900_000);
});
