/**
 * The layering method: what its artifacts MEAN — the kernel the Containerfile builds for
 * is read from the rhel-coreos image and checked against the driver-toolkit, the modules
 * load in the driver's order, the MachineConfig/MachineOSConfig are valid upstream
 * objects for the right pool and release, Day 1 differs from Day 2, placeholders come and
 * go with the facts, and build.sh really pins the pushed digest.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allObjects, artifactText, ArtifactSetSchema, findFile, writeArtifactSet, type ArtifactSet, type K8sObject } from '../../src/artifacts/artifact-set.js';
import { loadDriver, parseDriverSpec } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { UserError } from '../../src/errors.js';
import { ANNOTATION_INSTALL_PHASE, standardLabels } from '../../src/labels.js';
import { buildLines, loadOrder } from '../../src/methods/driver-build.js';
import { layeringMethod } from '../../src/methods/layering/index.js';
import { FEATURE_KEYS, RenderOptionsSchema, type RenderOptionsInput } from '../../src/methods/method.js';
import { PLACEHOLDERS } from '../../src/release/placeholders.js';
import { ReleaseSchema, type ReleaseInput } from '../../src/release/release.js';
import { resolveRelease } from '../../src/release/resolve.js';
import { parseYamlStream } from '../../src/yaml.js';
import { assertValidK8sObject } from '../support/upstream-schemas.js';

const ART = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';
const RHCOS = `${ART}@sha256:${'c0de0414'.repeat(8)}`;
const DTK = `${ART}@sha256:${'d7d70414'.repeat(8)}`;
const KVER = '5.14.0-284.52.1.el9_2.x86_64';

const R414: ReleaseInput = { version: '4.14.12', kernelVersion: KVER, sources: {} };
const R414_IMAGES: ReleaseInput = { ...R414, rhcosImage: RHCOS, driverToolkitImage: DTK };
const R419: ReleaseInput = { version: '4.19.3', kernelVersion: '5.14.0-570.19.1.el9_6.x86_64', rhcosImage: RHCOS, driverToolkitImage: DTK, sources: {} };

let ref: DriverSpec;
const gitDriver = parseDriverSpec(
  {
    name: 'git-kmod',
    version: '2.1.0',
    source: { git: { url: 'https://github.com/example/git-kmod.git', ref: 'v2.1.0' } },
    build: { commands: ['make -C /lib/modules/${KVER}/build M=${PWD} modules'], env: { EXTRA_CFLAGS: '-DGIT' } },
    modules: ['b-core', { name: 'a_extra', file: 'sub/a_extra.ko' }],
    inTreeModulesToRemove: ['old_inbox', 'b_core'],
    firmware: [{ source: 'fw/blob.bin', target: 'git-kmod/blob.bin' }],
  },
  'test git driver',
);

beforeAll(async () => {
  ref = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
});

function render(driver: DriverSpec, release: ReleaseInput, options: RenderOptionsInput = {}): ArtifactSet {
  return ArtifactSetSchema.parse(layeringMethod.render(driver, ReleaseSchema.parse(release), RenderOptionsSchema.parse(options)));
}

function text(set: ArtifactSet, p: string): string {
  const f = findFile(set, p);
  if (!f) throw new Error(`no file ${p} in ${set.files.map((x) => x.path).join(', ')}`);
  return artifactText(f);
}

function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

/** Containerfile instructions with line continuations joined, comments dropped. */
function instructions(containerfile: string): string[] {
  return containerfile
    .replace(/\\\n/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Instructions grouped by stage: [FROM line, ...body]. */
function stages(containerfile: string): string[][] {
  const out: string[][] = [];
  for (const i of instructions(containerfile)) {
    if (i.startsWith('FROM ')) out.push([i]);
    else if (out.length > 0) out[out.length - 1]!.push(i);
  }
  return out;
}

/** The module names a `printf '%s\n' a b > /etc/modules-load.d/x.conf` writes. */
function modulesLoadList(containerfile: string, driverName: string): string[] {
  const m = new RegExp(`printf '%s\\\\n' ([^>]+) > /etc/modules-load\\.d/${driverName}\\.conf`).exec(containerfile.replace(/\\\n/g, ''));
  if (!m) throw new Error('no modules-load.d entry');
  return m[1]!.trim().split(/\s+/);
}

function expectValidObjects(set: ArtifactSet, driver: DriverSpec): void {
  const objects = allObjects(set);
  expect(objects.length).toBeGreaterThan(0);
  for (const o of objects) {
    assertValidK8sObject(o);
    expect(o.metadata.labels).toMatchObject(standardLabels(driver.name, 'layering'));
    expect(o.metadata.labels?.['app.kubernetes.io/version']).toBe(driver.version);
  }
  // The YAML written is the objects (the MachineOSConfig carries a multi-line Containerfile).
  for (const f of set.files.filter((x) => x.objects)) {
    expect(parseYamlStream(artifactText(f))).toEqual(f.objects);
  }
}

function onlyObject(set: ArtifactSet): K8sObject {
  const objects = allObjects(set);
  expect(objects).toHaveLength(1);
  return objects[0]!;
}

describe('layering method', () => {
  it('declares its variants (off-cluster first) and one sourced fact per feature key', () => {
    expect(layeringMethod.id).toBe('layering');
    expect(layeringMethod.variants).toEqual(['off-cluster', 'on-cluster']);
    expect(layeringMethod.features.map((f) => f.key).sort()).toEqual(Object.keys(FEATURE_KEYS).sort());
    for (const f of layeringMethod.features) {
      expect(f.value.length).toBeGreaterThan(0);
      expect(f.source).toMatch(/^https:\/\/(github\.com\/openshift\/|docs\.openshift\.com\/|docs\.kernel\.org\/)/);
    }
    const fact = (k: string) => layeringMethod.features.find((f) => f.key === k)!.value;
    expect(fact('reboot-required')).toMatch(/^yes/);
    expect(fact('operator-required')).toMatch(/^no/);
    expect(fact('unload-on-removal')).toMatch(/reboot/);
  });

  it('rejects an unknown variant, naming the allowed ones', () => {
    const e = userError(() => render(ref, R414, { variant: 'in-cluster' }));
    expect(e.message).toContain('off-cluster');
    expect(e.message).toContain('on-cluster');
  });
});

describe('off-cluster, Day 2', () => {
  let set: ArtifactSet;
  beforeAll(() => {
    set = render(ref, R414_IMAGES, { registry: 'quay.io/acme' });
  });

  it('renders a Containerfile, build.sh, the pool MachineConfig and a README', () => {
    expect(set.method).toBe('layering');
    expect(set.variant).toBe('off-cluster');
    expect(set.day1).toBe(false);
    expect(set.files.map((f) => [f.path, f.phase])).toEqual([
      ['Containerfile', 'build'],
      ['build.sh', 'build'],
      ['00-machineconfig-worker.yaml', 'day2'],
      ['README.md', 'doc'],
    ]);
    expect(findFile(set, 'build.sh')?.executable).toBe(true);
  });

  it('has a schema-valid MachineConfig for the pool whose osImageURL is the image by digest', () => {
    expectValidObjects(set, ref);
    const mc = onlyObject(set);
    expect(mc.kind).toBe('MachineConfig');
    expect(mc.metadata.name).toBe('99-worker-kmodlab-simple-kmod-layered');
    expect(mc.metadata.labels?.['machineconfiguration.openshift.io/role']).toBe('worker');
    expect(mc.metadata.annotations?.[ANNOTATION_INSTALL_PHASE]).toBeUndefined();
    expect(mc.spec).toEqual({ osImageURL: `quay.io/acme/simple-kmod-rhcos@sha256:${PLACEHOLDERS.layeredImageDigest.token}` });
  });

  it('reads the kernel from the rhel-coreos image, not from the build host', () => {
    const cf = text(set, 'Containerfile');
    const st = stages(cf);
    expect(st.map((s) => s[0])).toEqual(['FROM ${RHCOS_IMAGE} AS os-kernel', 'FROM ${DTK_IMAGE} AS builder', 'FROM ${RHCOS_IMAGE}']);
    expect(cf).toContain(`ARG RHCOS_IMAGE=${RHCOS}`);
    expect(cf).toContain(`ARG DTK_IMAGE=${DTK}`);
    expect(instructions(cf).join('\n')).not.toContain('uname');
    const osKernel = st[0]!.join('\n');
    expect(osKernel).toContain(`rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\\n' kernel`);
    expect(osKernel).toContain('wc -l'); // exactly one kernel
    expect(osKernel).toContain('> /kernel-version');
    expect(osKernel).toContain(`"$KVER" != "${KVER}"`); // says so when the image is not the rendered release's
  });

  it('fails the build when the driver-toolkit does not have the OS kernel, before building', () => {
    const builder = stages(text(set, 'Containerfile'))[1]!;
    expect(builder[1]).toBe('COPY --from=os-kernel /kernel-version /kernel-version');
    expect(builder[2]).toMatch(/^RUN KVER="\$\(cat \/kernel-version\)";/);
    expect(builder[2]).toContain('[ ! -d "/lib/modules/$KVER/build" ]');
    expect(builder[2]).toContain('exit 1');
    expect(builder[2]).toContain('--image-for=driver-toolkit');
    // the driver's own build commands run with KVER read from that file
    const make = builder.find((l) => l.includes('make KVER=${KVER}'))!;
    expect(make).toMatch(/^RUN KVER="\$\(cat \/kernel-version\)" && export KVER && make KVER=\$\{KVER\}( |$)/);
    expect(builder).toContain('COPY . /build/src/');
  });

  it('installs the modules for systemd-modules-load in load order, with their parameters, and commits', () => {
    const cf = text(set, 'Containerfile');
    const final = stages(cf)[2]!;
    expect(final).toContain('COPY --from=builder /build/out/lib/modules/ /usr/lib/modules/');
    expect(final).toContain('COPY --from=builder /build/out/etc/modprobe.d/ /etc/modprobe.d/');
    expect(modulesLoadList(cf, 'simple-kmod')).toEqual(loadOrder(ref));
    expect(modulesLoadList(cf, 'simple-kmod')).toEqual(['simple_kmod', 'simple_procfs_kmod']);
    const run = final.at(-1)!;
    expect(run).toContain('depmod -a "$KVER"');
    expect(run).toContain('for m in simple_kmod simple_procfs_kmod; do modinfo -k "$KVER"');
    expect(run).toMatch(/ostree container commit$/);
    expect(cf).toContain("'options simple_kmod greeting=kmodlab'");
    expect(cf).not.toContain('blacklist');
  });

  it('has RUN instructions that are valid shell', () => {
    for (const i of instructions(text(set, 'Containerfile')).filter((l) => l.startsWith('RUN '))) {
      const r = spawnSync('sh', ['-n', '-c', i.slice(4)], { encoding: 'utf8' });
      expect(r.status, `${i}\n${r.stderr}`).toBe(0);
    }
    execFileSync('bash', ['-n', '-c', text(set, 'build.sh')]);
  });

  it('README walks through build, apply, watch, verify, update, upgrade and remove', () => {
    const md = text(set, 'README.md');
    for (const s of ['./build.sh', 'oc apply -f 00-machineconfig-worker.yaml', 'oc get mcp worker', 'rpm-ostree status', 'lsmod', 'oc delete machineconfig 99-worker-kmodlab-simple-kmod-layered']) {
      expect(md).toContain(s);
    }
    expect(md).toContain("grep -E '^(simple_kmod|simple_procfs_kmod) '");
    expect(md).toMatch(/base OS will not be upgraded/);
    expect(md).toContain('--image-for=rhel-coreos');
    expect(md).toContain('single-node OpenShift');
    expect(md).toContain(KVER);
    for (const f of set.files) expect(md).toContain(`\`${f.path}\``);
  });
});

describe('the OS image tag of the release (rhel-coreos-8 on 4.12)', () => {
  /** Every `--image-for=<tag>` in the files a user runs or reads. */
  function imageForTags(set: ArtifactSet): Set<string> {
    const tags = new Set<string>();
    for (const p of ['README.md', 'build.sh', 'Containerfile']) {
      for (const m of text(set, p).matchAll(/--image-for=([\w-]+)/g)) if (m[1] !== 'driver-toolkit') tags.add(`${p}:${m[1]}`);
    }
    return tags;
  }

  it('4.12 (release info with only rhel-coreos-8): every command asks for rhel-coreos-8', async () => {
    const release = await resolveRelease({ releaseInfoFile: 'test/fixtures/release-info/ocp-4.12.22-x86_64.txt' });
    expect(release.version).toBe('4.12.22');
    const set = render(ref, release, { registry: 'quay.io/acme' });
    const tags = imageForTags(set);
    expect([...tags].sort()).toEqual(['Containerfile:rhel-coreos-8', 'README.md:rhel-coreos-8', 'build.sh:rhel-coreos-8'].concat(['README.md:rhel-coreos']).sort());
    // the one plain rhel-coreos is the upgrade step, which falls back to rhel-coreos-8 for a 4.12 target
    expect(text(set, 'README.md')).toContain('--image-for=rhel-coreos 2>/dev/null || oc adm release info $NEW --image-for=rhel-coreos-8');
    expect(text(set, 'README.md')).not.toMatch(/image-for=rhel-coreos\) \\\n\s*--build-arg DTK/);
    const day1 = render(ref, release, { registry: 'quay.io/acme', day1: true });
    expect(text(day1, 'README.md')).toContain('RHCOS_IMAGE=$(oc adm release info $REL --image-for=rhel-coreos-8)');
  });

  it('4.12 by version only, and 4.14: the tag follows the version', () => {
    expect(imageForTags(render(ref, { version: '4.12.3', sources: {} }))).toEqual(
      new Set(['Containerfile:rhel-coreos-8', 'README.md:rhel-coreos-8', 'build.sh:rhel-coreos-8', 'README.md:rhel-coreos']),
    );
    expect(imageForTags(render(ref, R414_IMAGES))).toEqual(new Set(['Containerfile:rhel-coreos', 'README.md:rhel-coreos', 'build.sh:rhel-coreos']));
  });

  it('unknown version: rhel-coreos with the 4.12 name beside it', () => {
    const set = render(ref, { kernelVersion: KVER, sources: {} });
    expect(text(set, 'Containerfile')).toContain('--image-for=rhel-coreos      (rhel-coreos-8 on 4.12)');
    expect(text(set, 'build.sh')).toContain('--image-for=rhel-coreos (rhel-coreos-8 on 4.12)');
  });
});

describe('the Containerfile shell logic, run with fake rpm/depmod/modinfo/ostree', () => {
  /** Runs a RUN body under sh with absolute paths moved into a temp root and fake tools first in PATH. */
  function runStep(body: string, env: Record<string, string> = {}): { status: number | null; out: string; root: string } {
    const root = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-step-'));
    const bin = path.join(root, 'bin');
    mkdirSync(bin);
    const tool = (name: string, script: string) => {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${script}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    tool('rpm', 'printf "$FAKE_RPM_OUT"; exit ${FAKE_RPM_RC:-0}');
    tool('depmod', `echo "depmod $*" >> "${root}/calls"`);
    tool('modinfo', `echo "modinfo $*" >> "${root}/calls"; echo /fake/$6.ko`);
    tool('ostree', `echo "ostree $*" >> "${root}/calls"`);
    const moved = body
      .replaceAll('/usr/lib/modules/', `${root}/usr/lib/modules/`)
      .replaceAll('"/lib/modules/', `"${root}/lib/modules/`)
      .replaceAll('/usr/src/kernels', `${root}/usr/src/kernels`)
      .replaceAll('/kernel-version', `${root}/kernel-version`)
      .replaceAll('/etc/modules-load.d/', `${root}/etc/modules-load.d/`)
      .replaceAll('/etc/modprobe.d/', `${root}/etc/modprobe.d/`);
    mkdirSync(path.join(root, 'etc', 'modules-load.d'), { recursive: true });
    mkdirSync(path.join(root, 'etc', 'modprobe.d'), { recursive: true });
    const r = spawnSync('sh', ['-c', moved], { env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr, root };
  }
  const runs = (cf: string, stage: number) => stages(cf)[stage]!.filter((l) => l.startsWith('RUN ')).map((l) => l.slice(4));

  it('os-kernel: writes the one default kernel of the image, refuses none or several', () => {
    const body = runs(text(render(ref, R414_IMAGES, { registry: 'quay.io/acme' }), 'Containerfile'), 0)[0]!;
    const one = runStep(`mkdir -p /usr/lib/modules/${KVER} && touch /usr/lib/modules/${KVER}/vmlinuz && ${body}`, { FAKE_RPM_OUT: `${KVER}\\n` });
    expect(one.status, one.out).toBe(0);
    expect(readFileSync(path.join(one.root, 'kernel-version'), 'utf8')).toBe(`${KVER}\n`);
    expect(one.out).not.toContain('note: rendered for');
    const other = '5.14.0-284.60.1.el9_2.x86_64';
    const newer = runStep(`mkdir -p /usr/lib/modules/${other} && touch /usr/lib/modules/${other}/vmlinuz && ${body}`, { FAKE_RPM_OUT: `${other}\\n` });
    expect(newer.status).toBe(0);
    expect(newer.out).toContain(`note: rendered for kernel ${KVER}, the base OS image has ${other}`);
    const two = runStep(body, { FAKE_RPM_OUT: `${KVER}\\n${other}\\n` });
    expect(two.status).toBe(1);
    expect(two.out).toContain('several kernels');
    const none = runStep(body, { FAKE_RPM_OUT: 'package kernel is not installed\\n', FAKE_RPM_RC: '1' });
    expect(none.status).toBe(1);
    expect(none.out).toContain("no 'kernel' package");
    const noVmlinuz = runStep(body, { FAKE_RPM_OUT: `${KVER}\\n` });
    expect(noVmlinuz.status).toBe(1);
  });

  it('builder: stops when the driver-toolkit lacks the OS kernel, naming what it has', () => {
    const body = runs(text(render(ref, R414_IMAGES, { registry: 'quay.io/acme' }), 'Containerfile'), 1)[0]!;
    const setup = (dtkKernel: string) => `printf '%s\\n' ${KVER} > /kernel-version && mkdir -p "/lib/modules/${dtkKernel}/build" /usr/src/kernels/${dtkKernel} && `;
    expect(runStep(setup(KVER) + body).status).toBe(0);
    const bad = runStep(setup('5.14.0-427.13.1.el9_4.x86_64') + body);
    expect(bad.status).toBe(1);
    expect(bad.out).toContain(`no build tree for ${KVER}`);
    expect(bad.out).toContain('it has: 5.14.0-427.13.1.el9_4.x86_64');
  });

  it('final: depmod for the image kernel, every module resolvable, modules-load.d in load order, commit', () => {
    for (const driver of [ref, gitDriver]) {
      const body = runs(text(render(driver, R414_IMAGES, { registry: 'quay.io/acme' }), 'Containerfile'), 2).at(-1)!;
      const r = runStep(body, { FAKE_RPM_OUT: `${KVER}\\n` });
      expect(r.status, r.out).toBe(0);
      const calls = readFileSync(path.join(r.root, 'calls'), 'utf8').trim().split('\n');
      expect(calls[0]).toBe(`depmod -a ${KVER}`);
      expect(calls.slice(1, -1)).toEqual(loadOrder(driver).map((m) => `modinfo -k ${KVER} -F filename ${m}`));
      expect(calls.at(-1)).toBe('ostree container commit');
      expect(readFileSync(path.join(r.root, 'etc', 'modules-load.d', `${driver.name}.conf`), 'utf8')).toBe(loadOrder(driver).map((m) => `${m}\n`).join(''));
    }
  });
});

describe('build.sh', () => {
  function fakePodman(dir: string, digest: string): string {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    const script = [
      '#!/bin/sh',
      `echo "$*" >> "${path.join(dir, 'podman.log')}"`,
      'if [ "$1" = push ]; then',
      '  while [ $# -gt 0 ]; do if [ "$1" = --digestfile ]; then printf %s ' + digest + ' > "$2"; fi; shift; done',
      'fi',
    ].join('\n');
    writeFileSync(path.join(bin, 'podman'), script);
    chmodSync(path.join(bin, 'podman'), 0o755);
    return bin;
  }

  /** Writes the set, runs its build.sh with the fake podman; the podman log and where the set is. */
  async function runBuildSh(set: ArtifactSet, digest: string): Promise<{ dir: string; root: string; log: string[] }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-layering-'));
    const root = path.join(dir, 'layering');
    await writeArtifactSet(set, dir);
    const bin = fakePodman(dir, digest);
    execFileSync(path.join(root, 'build.sh'), ['/src/simple-kmod'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
    return { dir, root, log: readFileSync(path.join(dir, 'podman.log'), 'utf8').trim().split('\n') };
  }

  it.each([false, true])('builds with the release images, pushes, and pins the pushed digest (day1=%s)', async (day1) => {
    const set = render(ref, R414_IMAGES, { registry: 'quay.io/acme', day1 });
    const digest = `sha256:${'ab12'.repeat(16)}`;
    const { dir, root, log } = await runBuildSh(set, digest);
    expect(log[0]).toContain(`build -f ${root}/Containerfile -t quay.io/acme/simple-kmod-rhcos:1.0.0-4.14.12`);
    expect(log[0]).toContain(`--build-arg RHCOS_IMAGE=${RHCOS} --build-arg DTK_IMAGE=${DTK}`);
    expect(log[0]).toMatch(/ \/src\/simple-kmod$/);
    expect(log[1]).toBe(`push --digestfile ${root}/image-digest.txt quay.io/acme/simple-kmod-rhcos:1.0.0-4.14.12`);
    const mcFile = set.files.find((f) => f.objects)!.path;
    const [mc] = parseYamlStream(readFileSync(path.join(root, mcFile), 'utf8')) as K8sObject[];
    expect(mc!.spec).toEqual({ osImageURL: `quay.io/acme/simple-kmod-rhcos@${digest}` });
    assertValidK8sObject(mc);
    // A rebuild replaces the pinned digest again.
    const digest2 = `sha256:${'cd34'.repeat(16)}`;
    const again = path.join(dir, 'again');
    mkdirSync(again);
    const bin2 = fakePodman(again, digest2);
    execFileSync(path.join(root, 'build.sh'), ['/src/simple-kmod'], { env: { ...process.env, PATH: `${bin2}:${process.env.PATH}`, IMAGE: 'quay.io/acme/simple-kmod-rhcos:v2' } });
    const [mc2] = parseYamlStream(readFileSync(path.join(root, mcFile), 'utf8')) as K8sObject[];
    expect(mc2!.spec).toEqual({ osImageURL: `quay.io/acme/simple-kmod-rhcos@${digest2}` });
  });

  it.each([false, true])('with --layered-image: README and build.sh name the given image, no digest left to fill in (day1=%s)', async (day1) => {
    const given = `quay.io/acme/my-rhcos@sha256:${'9f'.repeat(32)}`;
    const set = render(ref, R414_IMAGES, { layeredImage: given, day1, ...(day1 ? { registry: 'quay.io/acme' } : {}) });
    const readme = text(set, 'README.md');
    expect(readme).not.toContain(PLACEHOLDERS.layeredImageDigest.token);
    expect(readme).toContain(given);
    expect(set.placeholders.map((p) => p.token)).not.toContain(PLACEHOLDERS.layeredImageDigest.token);
    // build.sh rebuilds into the given repository (no registry placeholder) and pins what it pushed
    const digest = `sha256:${'ab12'.repeat(16)}`;
    const { root, log } = await runBuildSh(set, digest);
    expect(log).toContain(`push --digestfile ${root}/image-digest.txt quay.io/acme/my-rhcos:1.0.0-4.14.12`);
    const mcFile = set.files.find((f) => f.objects?.some((o) => o.kind === 'MachineConfig'))!.path;
    const [mc] = parseYamlStream(readFileSync(path.join(root, mcFile), 'utf8')) as K8sObject[];
    expect(mc!.spec).toEqual({ osImageURL: `quay.io/acme/my-rhcos@${digest}` });
  });

  it('fails, instead of reporting success, when the MachineConfig has no osImageURL line to pin', async () => {
    const set = render(ref, R414_IMAGES, { registry: 'quay.io/acme' });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-layering-'));
    const root = path.join(dir, 'layering');
    await writeArtifactSet(set, dir);
    const mcFile = set.files.find((f) => f.objects?.some((o) => o.kind === 'MachineConfig'))!.path;
    writeFileSync(path.join(root, mcFile), readFileSync(path.join(root, mcFile), 'utf8').replace(/osImageURL:/, 'osImageUrl:'));
    const bin = fakePodman(dir, `sha256:${'ab12'.repeat(16)}`);
    const r = spawnSync(path.join(root, 'build.sh'), ['/src'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/has no osImageURL line to pin/);
  });

  it('refuses to build while an image is a placeholder', async () => {
    const set = render(ref, R414, {});
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-layering-'));
    await writeArtifactSet(set, dir);
    const bin = fakePodman(dir, 'sha256:00');
    const r = spawnSync(path.join(dir, 'layering', 'build.sh'), ['/src'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/IMAGE is a placeholder/);
  });
});

describe('placeholders', () => {
  function fillMeTokens(set: ArtifactSet): string[] {
    return [...new Set(set.files.flatMap((f) => artifactText(f).match(/FILL_ME_[A-Z_]+/g) ?? []))];
  }

  it('uses named placeholders for unknown images and registry, and lists each in the README', () => {
    const set = render(ref, R414, {});
    const tokens = set.placeholders.map((p) => p.token);
    expect(tokens).toEqual(
      expect.arrayContaining([PLACEHOLDERS.rhcosImage.token, PLACEHOLDERS.driverToolkitImage.token, PLACEHOLDERS.layeredImageDigest.token, 'FILL_ME_REGISTRY']),
    );
    const cf = text(set, 'Containerfile');
    expect(cf).toContain(`ARG RHCOS_IMAGE=${PLACEHOLDERS.rhcosImage.token}`);
    expect(cf).toContain(`ARG DTK_IMAGE=${PLACEHOLDERS.driverToolkitImage.token}`);
    expect(onlyObject(set).spec).toEqual({ osImageURL: `quay.io/FILL_ME_REGISTRY/simple-kmod-rhcos@sha256:${PLACEHOLDERS.layeredImageDigest.token}` });
    // every FILL_ME in the files belongs to a listed placeholder, and the README explains each
    for (const t of fillMeTokens(set)) expect(tokens.some((tok) => tok.includes(t)), t).toBe(true);
    const md = text(set, 'README.md');
    for (const p of set.placeholders) expect(md).toContain(p.token);
    expectValidObjects(set, ref);
  });

  it('drops the image and registry placeholders once the facts are known (the digest stays until pushed)', () => {
    const set = render(ref, R414_IMAGES, { registry: 'quay.io/acme' });
    expect(set.placeholders.map((p) => p.token)).toEqual([PLACEHOLDERS.layeredImageDigest.token]);
    expect(fillMeTokens(set)).toEqual([PLACEHOLDERS.layeredImageDigest.token]);
  });

  it('on-cluster: no digest placeholder (the MCO pins the digest it built)', () => {
    const set = render(ref, R419, { variant: 'on-cluster', registry: 'quay.io/acme' });
    expect(set.placeholders).toEqual([]);
    expect(fillMeTokens(set)).toEqual([]);
    const unknown = render(ref, { version: '4.19.3', sources: {} }, { variant: 'on-cluster' });
    expect(unknown.placeholders.map((p) => p.token).sort()).toEqual([PLACEHOLDERS.driverToolkitImage.token, 'FILL_ME_REGISTRY'].sort());
    expectValidObjects(unknown, ref);
  });
});

describe('off-cluster, Day 1', () => {
  it('puts the MachineConfig into the installer manifests, with the Day-2 name', () => {
    const day2 = render(ref, R414_IMAGES, { registry: 'quay.io/acme' });
    const set = render(ref, R414_IMAGES, { registry: 'quay.io/acme', day1: true });
    expect(set.day1).toBe(true);
    const mcFile = 'openshift/99_openshift-machineconfig_99-worker-kmodlab-simple-kmod.yaml';
    expect(set.files.map((f) => [f.path, f.phase])).toEqual([
      ['Containerfile', 'build'],
      ['build.sh', 'build'],
      [mcFile, 'day1'],
      ['README.md', 'doc'],
    ]);
    expect(set.files.some((f) => f.phase === 'day2')).toBe(false);
    expectValidObjects(set, ref);
    const mc = onlyObject(set);
    expect(mc.metadata.annotations).toEqual({ [ANNOTATION_INSTALL_PHASE]: 'day1' });
    expect(mc.metadata.name).toBe(onlyObject(day2).metadata.name);
    expect(mc.spec).toEqual(onlyObject(day2).spec);
    expect(text(set, 'Containerfile')).toBe(text(day2, 'Containerfile'));
    expect(text(set, 'build.sh')).toContain(`"$here/${mcFile}"`);
    const md = text(set, 'README.md');
    expect(md).toContain('openshift-install create manifests --dir "$INSTALL_DIR"');
    expect(md).toContain(`cp ${mcFile} "$INSTALL_DIR"/openshift/`);
    expect(md).toMatch(/reboots it \*\*once more\*\*/);
  });

  it('needs --registry: nodes pull the image while installing', () => {
    expect(userError(() => render(ref, R414_IMAGES, { day1: true })).message).toMatch(/^--day1 with layering needs --registry/);
  });

  it('targets the master pool (single-node OpenShift) when asked', () => {
    const set = render(ref, R414_IMAGES, { registry: 'quay.io/acme', day1: true, pool: 'master' });
    const mc = onlyObject(set);
    expect(mc.metadata.name).toBe('99-master-kmodlab-simple-kmod-layered');
    expect(mc.metadata.labels?.['machineconfiguration.openshift.io/role']).toBe('master');
    expect(findFile(set, 'openshift/99_openshift-machineconfig_99-master-kmodlab-simple-kmod.yaml')).toBeDefined();
    expect(text(set, 'README.md')).toContain('single-node OpenShift');
  });
});

describe('git-source driver with firmware and in-tree modules to replace', () => {
  it('clones in the builder, copies firmware, blacklists only the other in-tree modules, keeps load order', () => {
    const set = render(gitDriver, R414_IMAGES, { registry: 'quay.io/acme' });
    expectValidObjects(set, gitDriver);
    const cf = text(set, 'Containerfile');
    const [, builder, final] = stages(cf);
    expect(builder).toContain("RUN git clone -q --depth 1 --branch v2.1.0 https://github.com/example/git-kmod.git /build/src");
    expect(cf).not.toContain('COPY . ');
    expect(builder!.some((l) => l.includes("EXTRA_CFLAGS=-DGIT make -C /lib/modules/${KVER}/build"))).toBe(true);
    expect(final).toContain('COPY --from=builder /build/out/lib/firmware/ /usr/lib/firmware/');
    expect(modulesLoadList(cf, 'git-kmod')).toEqual(['b_core', 'a_extra']);
    expect(cf).toContain("printf 'blacklist %s\\n' old_inbox > /etc/modprobe.d/git-kmod-blacklist.conf");
    expect(text(set, 'build.sh')).toContain('context="${1:-$here}"');
    for (const i of instructions(cf).filter((l) => l.startsWith('RUN '))) {
      expect(spawnSync('sh', ['-n', '-c', i.slice(4)]).status, i).toBe(0);
    }
  });
});

describe('on-cluster', () => {
  it('renders a schema-valid MachineOSConfig named after its pool (4.19)', () => {
    const set = render(ref, R419, { variant: 'on-cluster', registry: 'quay.io/acme' });
    expect(set.variant).toBe('on-cluster');
    expect(set.files.map((f) => [f.path, f.phase])).toEqual([
      ['Containerfile.source', 'build'],
      ['00-machineosconfig-worker.yaml', 'day2'],
      ['README.md', 'doc'],
    ]);
    expectValidObjects(set, ref);
    const mosc = onlyObject(set);
    expect(mosc.apiVersion).toBe('machineconfiguration.openshift.io/v1');
    expect(mosc.kind).toBe('MachineOSConfig');
    const spec = mosc.spec as Record<string, any>;
    // CEL rule (not checked by the schema validator): name == spec.machineConfigPool.name
    expect(mosc.metadata.name).toBe('worker');
    expect(spec.machineConfigPool).toEqual({ name: 'worker' });
    expect(spec.imageBuilder).toEqual({ imageBuilderType: 'Job' });
    expect(spec.baseImagePullSecret).toEqual({ name: 'global-pull-secret-copy' });
    expect(spec.renderedImagePushSecret).toEqual({ name: 'kmodlab-simple-kmod-push' });
    // CEL rule of renderedImagePushSpec (host[:port][/namespace]/name:tag)
    expect(spec.renderedImagePushSpec).toBe('quay.io/acme/simple-kmod-rhcos:latest');
    expect(spec.renderedImagePushSpec).toMatch(/^([a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+(:[0-9]{2,5})?(\/[a-zA-Z0-9-_]{1,61})*\/[a-zA-Z0-9-_.]+:[a-zA-Z0-9._-]+$/);
    expect(spec.containerFile).toHaveLength(1);
    const content: string = spec.containerFile[0].content;
    expect(content.length).toBeLessThanOrEqual(4096);
    const st = stages(content);
    // the MCO provides `configs`; the last stage must be `FROM configs AS final`
    expect(st.map((s) => s[0])).toEqual(['FROM configs AS os-kernel', `FROM ${DTK} AS builder`, 'FROM configs AS final']);
    expect(content).toContain("rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\\n' kernel");
    expect(st[1]).toContain('COPY --from=quay.io/acme/simple-kmod-source:1.0.0 /src/ /build/src/');
    expect(st[1]!.join('\n')).toContain('[ ! -d "/lib/modules/$KVER/build" ]');
    expect(modulesLoadList(content, 'simple-kmod')).toEqual(loadOrder(ref));
    expect(st[2]!.at(-1)).toMatch(/ostree container commit$/);
    for (const i of instructions(content).filter((l) => l.startsWith('RUN '))) {
      expect(spawnSync('sh', ['-n', '-c', i.slice(4)]).status, i).toBe(0);
    }
    const md = text(set, 'README.md');
    for (const s of ['oc apply -f 00-machineosconfig-worker.yaml', 'oc get machineosbuilds', 'oc create secret docker-registry global-pull-secret-copy', 'oc create secret docker-registry kmodlab-simple-kmod-push', 'podman push quay.io/acme/simple-kmod-source:1.0.0', 'oc delete machineosconfig worker', 'lsmod']) {
      expect(md).toContain(s);
    }
    expect(md).toContain('generally available');
    expect(md).toMatch(/pinned to OpenShift 4\.19\.3/);
  });

  it('builds a git driver from git (no source image) and accepts the internal registry', () => {
    const set = render(gitDriver, R419, { variant: 'on-cluster', registry: 'image-registry.openshift-image-registry.svc:5000/openshift-machine-config-operator' });
    expect(findFile(set, 'Containerfile.source')).toBeUndefined();
    const spec = onlyObject(set).spec as Record<string, any>;
    expect(spec.containerFile[0].content).toContain('git clone');
    expect(spec.renderedImagePushSpec).toBe('image-registry.openshift-image-registry.svc:5000/openshift-machine-config-operator/git-kmod-rhcos:latest');
    expectValidObjects(set, gitDriver);
  });

  it('uses the master pool for single-node OpenShift', () => {
    const set = render(ref, R419, { variant: 'on-cluster', registry: 'quay.io/acme', pool: 'master' });
    const mosc = onlyObject(set);
    expect(mosc.metadata.name).toBe('master');
    expect((mosc.spec as Record<string, any>).machineConfigPool).toEqual({ name: 'master' });
    expect(text(set, 'README.md')).toContain('single-node OpenShift from 4.19');
  });

  it('says which releases support it', () => {
    expect(userError(() => render(ref, { sources: {} }, { variant: 'on-cluster' })).message).toContain('--ocp-version');
    for (const v of ['4.16.3', '4.17.10']) {
      const m = userError(() => render(ref, { version: v, sources: {} }, { variant: 'on-cluster' })).message;
      expect(m).toContain('v1alpha1');
      expect(m).toContain('4.19');
    }
    expect(userError(() => render(ref, R414, { variant: 'on-cluster' })).message).toMatch(/4\.19/);
    const tp = text(render(ref, { ...R419, version: '4.18.5' }, { variant: 'on-cluster', registry: 'quay.io/acme' }), 'README.md');
    expect(tp).toContain('TechPreviewNoUpgrade');
    const ga = text(render(ref, { ...R419, version: '4.18.21' }, { variant: 'on-cluster', registry: 'quay.io/acme' }), 'README.md');
    expect(ga).not.toContain('TechPreviewNoUpgrade');
  });

  it('has no Day-1 form, rejects push specs the MCO would reject, and Containerfiles over 4096 characters', () => {
    expect(userError(() => render(ref, R419, { variant: 'on-cluster', day1: true, registry: 'quay.io/acme' })).message).toContain('--variant off-cluster --day1');
    expect(userError(() => render(ref, R419, { variant: 'on-cluster', registry: 'localhost:5000/x' })).message).toContain('push spec localhost:5000/x/simple-kmod-rhcos:latest');
    const long = parseDriverSpec(
      { name: 'long-kmod', source: { path: '.' }, modules: ['long'], build: { commands: Array.from({ length: 40 }, (_, i) => `echo step-${i}-${'x'.repeat(80)}`) } },
      'long driver',
    );
    expect(userError(() => render(long, R419, { variant: 'on-cluster', registry: 'quay.io/acme' })).message).toMatch(/at most 4096/);
    expect(render(long, R419, { registry: 'quay.io/acme' }).variant).toBe('off-cluster');
  });
});

describe('shared buildLines keeps its default behaviour', () => {
  it('reads KVER from a file only when asked', () => {
    expect(buildLines(ref).join('\n')).not.toContain('/kernel-version');
    const run = (lines: string[]) => lines.find((l) => l.startsWith('RUN '))!.split('\n')[0];
    expect(run(buildLines(ref))).toBe('RUN make KVER=${KVER} \\');
    expect(run(buildLines(ref, { kverFile: '/kernel-version' }))).toBe('RUN KVER="$(cat /kernel-version)" && export KVER && make KVER=${KVER} \\');
  });

  it('builds and lays the output out in one RUN, back in the source directory, checks first when asked', () => {
    const lines = buildLines(ref, { before: ['test -d /x'] });
    expect(lines.filter((l) => l.startsWith('RUN '))).toHaveLength(1);
    const cmds = lines.find((l) => l.startsWith('RUN '))!.slice('RUN '.length).split(' \\\n && ');
    expect(cmds[0]).toBe('test -d /x');
    expect(cmds[1]).toBe('make KVER=${KVER}');
    expect(cmds[2]).toBe('cd /build/src');
    expect(cmds).toContain('cp simple-kmod.ko simple-procfs-kmod.ko /build/out/lib/modules/${KVER}/extra/');
    expect(cmds.at(-1)).toBe("printf '%s\\n' 'options simple_kmod greeting=kmodlab' > /build/out/etc/modprobe.d/simple-kmod.conf");
  });
});
