/**
 * The debian-lab render builds: `kmodlab render --release-info <(kmodlab lab release-info
 * <kernel>)` writes a DTK Containerfile FROM the lab's driver-toolkit and runtime-base
 * images, and a layering Containerfile FROM the lab's node-os and driver-toolkit images;
 * buildah builds each as written (no edits, no build args: the rendered files pin the
 * images by digest), leaving the modules for that kernel in the image.
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

function escape(s: string): string {
  return s.replace(/[.+]/g, '\\$&');
}

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
  let dir: string;
  let out: string;
  let ctx: string;

  beforeAll(async () => {
    // Held open for the builds: FROM pulls the release images from it by digest.
    registry = await openRegistry();
    dir = tempDir('os-family');
    out = join(dir, 'rendered');
    // The build context is the driver source, as the rendered READMEs say.
    ctx = join(dir, 'context');
    mkdirSync(ctx);
    cpSync(join(REPO, 'drivers', 'simple-kmod'), ctx, { recursive: true });
  }, 120_000);

  /** Builds `FROM <image>` + `lines` and returns the build log (the RUN output). */
  async function inspect(image: string, name: string, lines: string[]): Promise<string> {
    const check = join(dir, name);
    mkdirSync(check);
    writeFileSync(join(check, 'Containerfile'), [`FROM ${image}`, ...lines, ''].join('\n'));
    const log = join(check, 'build.log');
    await new Buildah().bud({ containerfile: join(check, 'Containerfile'), context: check, tag: `${image}-check`, logFile: log });
    await new Buildah().run(['rmi', `${image}-check`], { allowFailure: true });
    return readFileSync(log, 'utf8');
  }

  afterAll(async () => {
    await registry?.stop();
    removeTempDirs();
  });

  it("the DTK Containerfile rendered from the lab release builds FROM the lab's images and holds the kernel's modules", async () => {
    const infoFile = join(dir, 'lab-release.json');
    writeFileSync(infoFile, JSON.stringify(await labReleaseInfoFor(kernel.kver)));
    const { io, err } = captureIO();
    expect(await main(['node', 'kmodlab', 'render', '--release-info', infoFile, '--method', 'dtk,layering', '--output-dir', out], io), err.join('')).toBe(0);

    const containerfile = readFileSync(join(out, 'dtk', 'Containerfile'), 'utf8');
    const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { references: { spec: { tags: Array<{ name: string; from: { name: string } }> } } };
    const ref = (tag: string) => info.references.spec.tags.find((t) => t.name === tag)!.from.name;
    expect(containerfile).toContain(`ARG DTK=${ref('driver-toolkit')}\n`);
    expect(containerfile).toContain(`ARG KVER=${kernel.kver}\n`);
    expect(containerfile).toContain(`\nFROM ${ref('runtime-base')}\n`);
    expect(containerfile).not.toMatch(/microdnf|FILL_ME/);

    const buildah = new Buildah();
    const image = `localhost/kmodlab-test/os-family-dtk:${process.pid}`;
    const log = join(dir, 'build.log');
    const built = await buildah.bud({ containerfile: join(out, 'dtk', 'Containerfile'), context: ctx, tag: image, logFile: log, insecure: registry.insecure });
    expect(built.usage.exitCode).toBe(0);

    // What the DaemonSet's modprobe finds: the image's own kmod reads the modules the builder made for this kernel.
    const text = await inspect(image, 'dtk-check', [
      ...['simple-kmod', 'simple-procfs-kmod'].map((m) => `RUN echo "vermagic ${m}: $(modinfo -F vermagic /lib/modules/${kernel.kver}/extra/${m}.ko)"`),
      `RUN grep -q 'extra/simple-kmod.ko' /lib/modules/${kernel.kver}/modules.dep && echo "modules.dep lists simple-kmod"`,
    ]);
    for (const m of ['simple-kmod', 'simple-procfs-kmod']) expect(text).toMatch(new RegExp(`vermagic ${m}: ${escape(kernel.kver)} `));
    expect(text).toContain('modules.dep lists simple-kmod');
    await buildah.run(['rmi', image], { allowFailure: true });
  }, 900_000);

  it("the layering Containerfile rendered from the lab release builds FROM the lab's node-os and driver-toolkit: the OS image plus the modules, indexed", async () => {
    const containerfile = readFileSync(join(out, 'layering', 'Containerfile'), 'utf8');
    expect(containerfile).not.toMatch(/rpm -q|ostree container commit|FILL_ME/);
    const buildah = new Buildah();
    const image = `localhost/kmodlab-test/os-family-layered:${process.pid}`;
    const log = join(dir, 'layering-build.log');
    // The build args build.sh passes are the rendered defaults (RHCOS_IMAGE, DTK_IMAGE) here.
    await buildah.bud({ containerfile: join(out, 'layering', 'Containerfile'), context: ctx, tag: image, logFile: log, insecure: registry.insecure });
    // The os-kernel stage found the OS image's kernel by its vmlinuz.
    expect(readFileSync(log, 'utf8')).toContain(`kmodlab: base OS kernel ${kernel.kver}`);
    const text = await inspect(image, 'layering-check', [
      `RUN echo "vermagic: $(/sbin/modinfo -F vermagic /usr/lib/modules/${kernel.kver}/extra/simple-kmod.ko)"`,
      `RUN grep -q 'extra/simple-kmod.ko' /usr/lib/modules/${kernel.kver}/modules.dep && echo "modules.dep lists simple-kmod"`,
      'RUN echo "modules-load.d: $(cat /etc/modules-load.d/simple-kmod.conf | tr "\\n" " ")"',
    ]);
    expect(text).toMatch(new RegExp(`vermagic: ${escape(kernel.kver)} `));
    expect(text).toContain('modules.dep lists simple-kmod');
    expect(text).toContain('modules-load.d: simple_kmod simple_procfs_kmod');
    await buildah.run(['rmi', image], { allowFailure: true });
  }, 900_000);
});
