/**
 * In-tree dependencies with DTK driver containers: the DaemonSet mounts the node's module
 * tree read-only, the image links `/lib/modules/<kernel>/kernel` into it and carries a
 * module index made in the builder against the driver-toolkit's in-tree modules. Checked
 * structurally and, with real kbuild and kmod, by building a module that needs the
 * in-tree `crc7` and asking `modprobe --show-depends` in the image layout.
 * Layering needs nothing extra: depmod runs in the OS image, which has the full tree.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allObjects, ArtifactSetSchema, artifactText, findFile, type ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { BUILD_OUT } from '../../src/methods/driver-build.js';
import { dtkMethod } from '../../src/methods/dtk/index.js';
import { layeringMethod } from '../../src/methods/layering/index.js';
import { RenderOptionsSchema, type RenderOptionsInput } from '../../src/methods/method.js';
import { assertValidK8sObject } from '../support/upstream-schemas.js';
import { testRelease } from '../support/releases.js';

const RELEASE = testRelease();

let driver: DriverSpec;
beforeAll(async () => {
  driver = (await loadDriver('test/fixtures/drivers/needs-crc7/driver.yaml')).spec;
});

function render(method: typeof dtkMethod, options: RenderOptionsInput = {}): ArtifactSet {
  return ArtifactSetSchema.parse(method.render(driver, RELEASE, RenderOptionsSchema.parse(options)));
}
function stages(cf: string): string[][] {
  const out: string[][] = [];
  for (const i of cf.replace(/\\\n/g, '').split('\n').filter((l) => l.trim() && !l.startsWith('#'))) {
    if (i.startsWith('FROM ')) out.push([i]);
    else out.at(-1)?.push(i);
  }
  return out;
}
const dockerfileOf = (set: ArtifactSet) => (allObjects(set).find((o) => o.kind === 'BuildConfig' && (o as any).spec.source.dockerfile.includes('AS builder')) as any).spec.source.dockerfile as string;

describe('dtk: the pod sees the node\'s module tree', () => {
  for (const variant of ['pinned', 'tracking']) {
    it(`${variant}: index in the builder, link in the final stage, read-only hostPath mount`, () => {
      const set = render(dtkMethod, { variant });
      const [builder, final] = stages(dockerfileOf(set));
      const index = builder!.find((l) => l.includes('depmod'))!;
      expect(index).toContain(`cp /lib/modules/$KVER/modules.* ${BUILD_OUT}/lib/modules/$KVER/`);
      expect(final!.join('\n')).not.toContain('depmod');
      expect(final!.at(-1)).toMatch(/ln -sfn \/host\/usr\/lib\/modules\/\$k\/kernel \/lib\/modules\/\$k\/kernel/);
      const ds = allObjects(set).find((o) => o.kind === 'DaemonSet')! as any;
      assertValidK8sObject(ds);
      expect(ds.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'host-modules', mountPath: '/host/usr/lib/modules', readOnly: true });
      expect(ds.spec.template.spec.volumes).toContainEqual({ name: 'host-modules', hostPath: { path: '/usr/lib/modules', type: 'Directory' } });
      expect(artifactText(findFile(set, 'README.md')!)).toContain('In-tree dependencies');
    });
  }

  it('layering: depmod runs in the OS image after the modules are copied in', () => {
    const final = stages(artifactText(findFile(render(layeringMethod, { registry: 'quay.io/acme' }), 'Containerfile')!)).at(-1)!;
    const copy = final.findIndex((l) => l.startsWith('COPY --from=builder /build/out/lib/modules/ /usr/lib/modules/'));
    const depmod = final.findIndex((l) => l.includes('depmod -a "$KVER"'));
    expect(copy).toBeGreaterThan(0);
    expect(depmod).toBeGreaterThan(copy);
  });
});

/** A kernel with a kbuild tree and the in-tree crc7 module. */
function hostKernel(): string | undefined {
  if (!existsSync('/lib/modules')) return undefined;
  return readdirSync('/lib/modules').find((k) => existsSync(`/lib/modules/${k}/build/Makefile`) && spawnSync('sh', ['-c', `find /lib/modules/${k}/kernel/lib -name 'crc7.ko*' | grep -q .`]).status === 0);
}
const K = hostKernel();

describe.skipIf(K === undefined)(`with real kbuild and kmod${K ? ` (${K})` : ': skipped, needs a kernel build tree and its crc7 module'}`, () => {
  it('modprobe in the image layout resolves the in-tree crc7 through the node tree; without the link it cannot', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-intree-'));
    const src = path.join(tmp, 'src');
    cpSync('test/fixtures/drivers/needs-crc7', src, { recursive: true });
    execFileSync('make', ['-C', `/lib/modules/${K}/build`, `M=${src}`, 'modules'], { stdio: 'ignore' });
    const set = render(dtkMethod);
    const [builder, final] = stages(dockerfileOf(set));
    // Builder: the driver-toolkit stand-in is a root whose kernel tree is this kernel's (read through a link).
    const dtk = path.join(tmp, 'dtk');
    mkdirSync(path.join(dtk, 'lib', 'modules', K!), { recursive: true });
    symlinkSync(`/lib/modules/${K}/kernel`, path.join(dtk, 'lib', 'modules', K!, 'kernel'));
    // …with the kernel's own module index, as a driver-toolkit image ships it (the index step reads the dependencies there).
    for (const f of readdirSync(`/lib/modules/${K}`).filter((f) => f.startsWith('modules.'))) cpSync(`/lib/modules/${K}/${f}`, path.join(dtk, 'lib', 'modules', K!, f));
    const out = path.join(tmp, 'out');
    mkdirSync(path.join(out, 'lib', 'modules', K!, 'extra'), { recursive: true });
    cpSync(path.join(src, 'needs-crc7.ko'), path.join(out, 'lib', 'modules', K!, 'extra', 'needs-crc7.ko'));
    // The rendered index step, with its absolute paths moved into the temp roots (depmod -b: same index, other root).
    const index = builder!.find((l) => l.includes('depmod'))!.replace(/^RUN /, '');
    const moved = index
      .replaceAll(BUILD_OUT, out)
      .replaceAll(' /lib/modules/', ` ${dtk}/lib/modules/`)
      .replace('modprobe -S "$KVER"', `modprobe -d ${dtk} -S "$KVER"`)
      .replace('depmod "$KVER"', `depmod -b ${dtk} "$KVER"`);
    execFileSync('sh', ['-c', moved], { env: { ...process.env, KVER: K! } });
    // Final image: the build output plus the rendered link, pointing at the "node" tree (this host's).
    const image = path.join(tmp, 'image');
    cpSync(path.join(out, 'lib'), path.join(image, 'lib'), { recursive: true });
    const run = final!.at(-1)!;
    const link = run.slice(run.indexOf('for k in ')).replaceAll('/host/usr/lib/modules', '/lib/modules').replace(/ \/lib\/modules\/\$k\/kernel; done$/, ` ${image}/lib/modules/$k/kernel; done`);
    // Only the driver's modules and their in-tree dependencies are indexed, not the whole tree.
    const dep = readFileSync(path.join(out, 'lib', 'modules', K!, 'modules.dep'), 'utf8').trim().split('\n');
    expect(dep.map((l) => l.split(':')[0]).sort()).toEqual(expect.arrayContaining(['extra/needs-crc7.ko', expect.stringMatching(/^kernel\/lib\/crc7\.ko/)]));
    expect(dep.length).toBeLessThan(5);
    const show = () => spawnSync('modprobe', ['-d', image, '-S', K!, '--show-depends', 'needs_crc7'], { encoding: 'utf8' });
    const before = show();
    expect(before.stdout + before.stderr, 'without the link the index names a module the image does not have').not.toMatch(/insmod \S*\/lib\/modules\/\S+\/kernel\/lib\/crc7\.ko\S*\s*\n/);
    execFileSync('sh', ['-c', link], { env: { ...process.env, KVER: K! } });
    const after = show();
    expect(after.status, after.stderr).toBe(0);
    const lines = after.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^insmod \S+\/kernel\/lib\/crc7\.ko/);
    expect(lines.at(-1)).toMatch(/^insmod \S+\/extra\/needs-crc7\.ko/);
  });
});
