import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { kernelFamilyRegexp, parseKernelVersion } from '../src/release/kernel.js';
import { parseReleaseInfo } from '../src/release/release-info.js';
import { ReleaseSchema } from '../src/release/release.js';
import { resolveRelease } from '../src/release/resolve.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'release-info');
const fixture = (name: string) => path.join(FIXTURES, name);
const read = (name: string) => readFile(fixture(name), 'utf8');

const ART = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';
const RHCOS_4_12_22 = `${ART}@sha256:95d04bea30c295df64bbe8bd708552010b78bd21a22dc0f42df1e24d35e9d587`;
const DTK_4_12_22 = `${ART}@sha256:${'d7d70412'.repeat(8)}`;
const RHCOS_4_14_12 = `${ART}@sha256:${'c0de0414'.repeat(8)}`;
const DTK_4_14_12 = `${ART}@sha256:${'d7d70414'.repeat(8)}`;

async function userError(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

function syncUserError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

describe('parseReleaseInfo: 4.12 (rhel-coreos-8)', () => {
  it('reads the published release.txt (preamble + --pullspecs)', async () => {
    const r = parseReleaseInfo(await read('ocp-4.12.22-x86_64.release.txt'), 'release.txt');
    expect(r).toMatchObject({
      version: '4.12.22',
      rhcosVersion: '412.86.202306132230-0',
      rhcosImage: RHCOS_4_12_22,
      driverToolkitImage: DTK_4_12_22,
    });
    expect(r.kernelVersion).toBeUndefined();
    expect(r.rtKernelVersion).toBeUndefined();
    expect(r.sources).toMatchObject({
      version: 'release-info release.txt: Release Metadata Version',
      rhcosVersion: 'release-info release.txt: Component Versions machine-os',
      rhcosImage: 'release-info release.txt: Images rhel-coreos-8 (PULL SPEC)',
      driverToolkitImage: 'release-info release.txt: Images driver-toolkit (PULL SPEC)',
    });
    expect(ReleaseSchema.safeParse(r).success).toBe(true);
  });

  it('reads the plain form: digests of an official release are in ocp-v4.0-art-dev', async () => {
    const r = parseReleaseInfo(await read('ocp-4.12.22-x86_64.txt'), 'rel.txt');
    // The same pull spec `oc adm release info --image-for=rhel-coreos-8` printed for 4.12.22.
    expect(r.rhcosImage).toBe(RHCOS_4_12_22);
    expect(r.driverToolkitImage).toBe(DTK_4_12_22);
    expect(r.version).toBe('4.12.22');
    expect(r.rhcosVersion).toBe('412.86.202306132230-0');
    expect(r.sources?.rhcosImage).toMatch(/^release-info rel\.txt: Images rhel-coreos-8 digest, in quay\.io\/openshift-release-dev\/ocp-v4\.0-art-dev/);
  });

  it('plain form from a mirror: the repository is not in the text, so no pull specs', async () => {
    const text = (await read('ocp-4.12.22-x86_64.txt')).replace(
      /^Pull From: \S+$/m,
      'Pull From: registry.example.com:5000/ocp4/openshift4@sha256:ba7956f5c2aae61c8ff3ab1ab2ee7e625db9b1c8964a65339764db79c148e4e6',
    );
    const r = parseReleaseInfo(text, 'mirror.txt');
    expect(r.version).toBe('4.12.22');
    expect(r.rhcosVersion).toBe('412.86.202306132230-0');
    expect(r.rhcosImage).toBeUndefined();
    expect(r.driverToolkitImage).toBeUndefined();
    expect(r.sources).not.toHaveProperty('rhcosImage');
  });

  it('reads -o json, taking rhel-coreos-8 when there is no rhel-coreos tag', async () => {
    const r = parseReleaseInfo(await read('ocp-4.12.22-x86_64.json'), 'rel.json');
    expect(r).toMatchObject({
      version: '4.12.22',
      rhcosVersion: '412.86.202306132230-0',
      rhcosImage: RHCOS_4_12_22,
      driverToolkitImage: DTK_4_12_22,
      sources: {
        version: 'release-info rel.json: metadata.version',
        rhcosImage: 'release-info rel.json: references tag rhel-coreos-8',
        rhcosVersion: 'release-info rel.json: tag rhel-coreos-8 annotation io.openshift.build.versions machine-os',
        driverToolkitImage: 'release-info rel.json: references tag driver-toolkit',
      },
    });
    expect(r.kernelVersion).toBeUndefined();
  });

  it('reads the kernel from the rhel-coreos-8 image label ostree.linux (--include-images)', async () => {
    const r = parseReleaseInfo(await read('ocp-4.12.3-x86_64.include-images.json'), 'inc.json');
    expect(r.version).toBe('4.12.3');
    expect(r.rhcosVersion).toBe('412.86.202302091057-0');
    expect(r.kernelVersion).toBe('4.18.0-372.43.1.el8_6.x86_64');
    expect(r.sources?.kernelVersion).toBe('release-info inc.json: image rhel-coreos-8 label ostree.linux (--include-images)');
    expect(r.rhcosImage).toBe(`${ART}@sha256:${'c0de4123'.repeat(8)}`);
  });
});

describe('parseReleaseInfo: 4.14 (rhel-coreos)', () => {
  const expected = {
    version: '4.14.12',
    rhcosVersion: '414.92.202402051952-0',
    rhcosImage: RHCOS_4_14_12,
    driverToolkitImage: DTK_4_14_12,
  };
  it.each(['ocp-4.14.12-x86_64.txt', 'ocp-4.14.12-x86_64.pullspecs.txt', 'ocp-4.14.12-x86_64.json'])('%s', async (name) => {
    const r = parseReleaseInfo(await read(name), name);
    expect(r).toMatchObject(expected);
    expect(r.kernelVersion).toBeUndefined();
    expect(Object.keys(r.sources ?? {}).sort()).toEqual(['driverToolkitImage', 'rhcosImage', 'rhcosVersion', 'version']);
    for (const s of Object.values(r.sources ?? {})) expect(s.startsWith(`release-info ${name}: `)).toBe(true);
  });

  it('prefers rhel-coreos over machine-os-content and its -extensions', async () => {
    const r = parseReleaseInfo(await read('ocp-4.14.12-x86_64.json'), 'x.json');
    expect(r.sources?.rhcosImage).toBe('release-info x.json: references tag rhel-coreos');
  });

  it('accepts CRLF line endings and tab-separated columns', async () => {
    const text = (await read('ocp-4.14.12-x86_64.pullspecs.txt')).replace(/ {2,}(?=\S)/g, '\t').replace(/\n/g, '\r\n');
    expect(parseReleaseInfo(text, 'crlf.txt')).toMatchObject(expected);
  });

  it('takes a kernel from an io.openshift.build.versions kernel= / kernel-rt= annotation when one is there', async () => {
    const doc = JSON.parse(await read('ocp-4.14.12-x86_64.json'));
    const dtk = doc.references.spec.tags.find((t: { name: string }) => t.name === 'driver-toolkit');
    dtk.annotations['io.openshift.build.versions'] = 'kernel=5.14.0-284.52.1.el9_2.x86_64,kernel-rt=5.14.0-284.52.1.rt14.337.el9_2.x86_64';
    const r = parseReleaseInfo(JSON.stringify(doc), 'k.json');
    expect(r.kernelVersion).toBe('5.14.0-284.52.1.el9_2.x86_64');
    expect(r.rtKernelVersion).toBe('5.14.0-284.52.1.rt14.337.el9_2.x86_64');
    expect(r.sources?.kernelVersion).toBe('release-info k.json: tag driver-toolkit annotation io.openshift.build.versions kernel');
  });

  it('ignores a kernel-rt value that does not say it is realtime (oc drops "+rt" from semantic versions)', async () => {
    const doc = JSON.parse(await read('ocp-4.14.12-x86_64.json'));
    const dtk = doc.references.spec.tags.find((t: { name: string }) => t.name === 'driver-toolkit');
    dtk.annotations['io.openshift.build.versions'] = 'kernel-rt=5.14.0-427.13.1.el9_4.x86_64';
    expect(parseReleaseInfo(JSON.stringify(doc), 'k.json').rtKernelVersion).toBeUndefined();
  });
});

describe('parseReleaseInfo: input it does not understand', () => {
  const expected = /expected the output of `oc adm release info <release>`.*or `oc adm release info -o json <release>`/;
  it.each([
    ['an empty file', ''],
    ['garbage text', 'hello world\nthis is not a release\n'],
    ['a single pull spec (--image-for output)', `${DTK_4_14_12}\n`],
    ['broken JSON', '{"metadata": {"version": "4.14.12"'],
    ['JSON of something else', '{"kind": "ClusterVersion", "spec": {}}'],
    ['a JSON array', '[1, 2, 3]'],
  ])('%s', (_what, text) => {
    const e = syncUserError(() => parseReleaseInfo(text, 'bad.txt'));
    expect(e.message).toContain('bad.txt');
    expect(e.message).toMatch(expected);
  });

  it('a comparison of two releases', () => {
    const text = 'Name:      4.14.11  4.14.12\nCreated:   1d  2d\n\nImages Changed:\n  cli  sha256:aa  sha256:bb\n';
    expect(syncUserError(() => parseReleaseInfo(text, 'diff.txt')).message).toMatch(/comparison of two releases/);
  });
});

describe('resolveRelease', () => {
  it('without a file: flags only, each recorded as its source', async () => {
    const r = await resolveRelease({ ocpVersion: '4.14.12', kernel: '5.14.0-284.52.1.el9_2.x86_64' });
    expect(r).toEqual({
      version: '4.14.12',
      kernelVersion: '5.14.0-284.52.1.el9_2.x86_64',
      osFamily: 'rhcos',
      sources: { version: '--ocp-version', kernelVersion: '--kernel' },
    });
  });

  it('without anything: an empty release (all placeholders) of the default OS family, rhcos', async () => {
    expect(await resolveRelease({})).toEqual({ osFamily: 'rhcos', sources: {} });
  });

  it('an OpenShift release file is rhcos; --os-family overrides it', async () => {
    const file = fixture('ocp-4.14.12-x86_64.json');
    expect((await resolveRelease({ releaseInfoFile: file })).osFamily).toBe('rhcos');
    const r = await resolveRelease({ releaseInfoFile: file, osFamily: 'debian-lab' });
    expect(r.osFamily).toBe('debian-lab');
    expect(r.sources.osFamily).toBe('--os-family');
  });

  it('refuses an unknown --os-family, naming the flag and the families', async () => {
    const e = await userError(resolveRelease({ osFamily: 'rhel' }));
    expect(e.message).toBe('--os-family: expected one of rhcos, debian-lab (got "rhel")');
  });

  it('refuses an unknown OS family in the release info file, naming the file and the field', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kmodlab-release-'));
    const file = path.join(dir, 'release.json');
    const doc = JSON.parse(await read('ocp-4.14.12-x86_64.json')) as { references: { metadata: { annotations?: Record<string, string> } } };
    doc.references.metadata.annotations = { ...doc.references.metadata.annotations, 'io.kmodlab.os-family': 'fedora' };
    await writeFile(file, JSON.stringify(doc));
    const e = await userError(resolveRelease({ releaseInfoFile: file }));
    expect(e.message).toBe(`release info ${file}: osFamily: expected one of rhcos, debian-lab (got "fedora")`);
  });

  it('reads the file; kernel and image flags override it', async () => {
    const file = fixture('ocp-4.14.12-x86_64.json');
    const r = await resolveRelease({
      releaseInfoFile: file,
      kernel: '5.14.0-284.52.1.el9_2.x86_64',
      dtkImage: 'registry.example.com/mirror/driver-toolkit@sha256:' + 'ab'.repeat(32),
    });
    expect(r.version).toBe('4.14.12');
    expect(r.rhcosImage).toBe(RHCOS_4_14_12);
    expect(r.kernelVersion).toBe('5.14.0-284.52.1.el9_2.x86_64');
    expect(r.driverToolkitImage).toBe('registry.example.com/mirror/driver-toolkit@sha256:' + 'ab'.repeat(32));
    expect(r.sources).toMatchObject({
      version: `release-info ${file}: metadata.version`,
      rhcosImage: `release-info ${file}: references tag rhel-coreos`,
      kernelVersion: '--kernel',
      driverToolkitImage: '--dtk-image',
    });
  });

  it('--rhcos-image overrides the file', async () => {
    const r = await resolveRelease({ releaseInfoFile: fixture('ocp-4.12.22-x86_64.txt'), rhcosImage: 'quay.io/acme/rhcos:4.12' });
    expect(r.rhcosImage).toBe('quay.io/acme/rhcos:4.12');
    expect(r.sources.rhcosImage).toBe('--rhcos-image');
    expect(r.driverToolkitImage).toBe(DTK_4_12_22);
  });

  it('an --ocp-version that agrees with the file is fine', async () => {
    const file = fixture('ocp-4.14.12-x86_64.txt');
    const r = await resolveRelease({ releaseInfoFile: file, ocpVersion: '4.14.12' });
    expect(r.version).toBe('4.14.12');
    expect(r.sources.version).toBe(`release-info ${file}: Release Metadata Version`);
  });

  it('refuses an --ocp-version that conflicts with the file', async () => {
    const file = fixture('ocp-4.14.12-x86_64.json');
    const e = await userError(resolveRelease({ releaseInfoFile: file, ocpVersion: '4.14.3' }));
    expect(e.message).toBe(`--ocp-version 4.14.3 conflicts with release info ${file} (4.14.12): drop one`);
  });

  it('--ocp-version fills in a version the file lacks', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kmodlab-release-'));
    const file = path.join(dir, 'nightly.txt');
    // A payload without release metadata (oc prints the image stream name as Name).
    const text = (await read('ocp-4.14.12-x86_64.txt'))
      .replace(/^Name:( +)4\.14\.12$/m, 'Name:$1ci-build')
      .replace(/\nRelease Metadata:\n(?: {2}.*\n)+/, '\n');
    await writeFile(file, text);
    const r = await resolveRelease({ releaseInfoFile: file, ocpVersion: '4.14.12' });
    expect(r.version).toBe('4.14.12');
    expect(r.sources.version).toBe('--ocp-version');
    expect(r.rhcosVersion).toBe('414.92.202402051952-0');
  });

  it('a file that cannot be read names the file', async () => {
    const missing = path.join(FIXTURES, 'no-such-file.json');
    const e = await userError(resolveRelease({ releaseInfoFile: missing }));
    expect(e.message).toBe(`--release-info ${missing}: cannot read the file: no such file`);
    const dirErr = await userError(resolveRelease({ releaseInfoFile: FIXTURES }));
    expect(dirErr.message).toBe(`--release-info ${FIXTURES}: cannot read the file: it is a directory`);
  });

  it('a file with garbage is a UserError naming the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kmodlab-release-'));
    const file = path.join(dir, 'garbage.txt');
    await writeFile(file, 'Error from server (Forbidden): unauthorized\n');
    const e = await userError(resolveRelease({ releaseInfoFile: file }));
    expect(e.message).toContain(file);
    expect(e.message).toContain('expected the output of `oc adm release info <release>`');
  });

  it.each([
    [{ kernel: 'not a kernel' }, /^--kernel: expected a kernel version as `uname -r` prints it.*\(got "not a kernel"\)$/],
    [{ ocpVersion: '4.14' }, /^--ocp-version: expected an OpenShift version such as 4\.14\.12 \(got "4\.14"\)$/],
    [{ dtkImage: 'driver toolkit' }, /^--dtk-image: expected an image pull spec/],
    [{ rhcosImage: 'https://quay.io/x' }, /^--rhcos-image: expected an image pull spec/],
  ])('a bad flag value names the flag: %o', async (opts, message) => {
    const e = await userError(resolveRelease(opts));
    expect(e.message).toMatch(message);
  });

  it('a bad value from the file names the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kmodlab-release-'));
    const file = path.join(dir, 'odd.json');
    const doc = JSON.parse(await read('ocp-4.14.12-x86_64.json'));
    doc.references.spec.tags.find((t: { name: string }) => t.name === 'driver-toolkit').from.name = 'not a pull spec';
    await writeFile(file, JSON.stringify(doc));
    const e = await userError(resolveRelease({ releaseInfoFile: file }));
    expect(e.message).toMatch(new RegExp(`^release info ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: driverToolkitImage: expected an image pull spec`));
    // ...and a flag fixes it.
    const r = await resolveRelease({ releaseInfoFile: file, dtkImage: DTK_4_14_12 });
    expect(r.driverToolkitImage).toBe(DTK_4_14_12);
  });
});

describe('parseKernelVersion', () => {
  it.each([
    ['5.14.0-284.52.1.el9_2.x86_64', { base: '5.14.0', flavour: 'default', distro: 'rhel' }],
    ['5.14.0-284.52.1.rt14.337.el9_2.x86_64', { base: '5.14.0', flavour: 'realtime', distro: 'rhel' }],
    ['5.14.0-427.13.1.el9_4.x86_64', { base: '5.14.0', flavour: 'default', distro: 'rhel' }],
    ['5.14.0-427.13.1.el9_4.x86_64+rt', { base: '5.14.0', flavour: 'realtime', distro: 'rhel' }],
    ['5.14.0-427.13.1.el9_4.aarch64+64k', { base: '5.14.0', flavour: 'default', distro: 'rhel' }],
    ['4.18.0-372.43.1.el8_6.x86_64', { base: '4.18.0', flavour: 'default', distro: 'rhel' }],
    ['4.18.0-372.el8.x86_64', { base: '4.18.0', flavour: 'default', distro: 'rhel' }],
    ['5.14.0-252.el9.x86_64', { base: '5.14.0', flavour: 'default', distro: 'rhel' }],
    ['6.1.0-56-amd64', { base: '6.1.0', flavour: 'default', distro: 'debian' }],
    ['6.1.0-56-rt-amd64', { base: '6.1.0', flavour: 'realtime', distro: 'debian' }],
    ['6.1.0-56-cloud-amd64', { base: '6.1.0', flavour: 'default', distro: 'debian' }],
    ['6.12.57+deb12-amd64', { base: '6.12.57', flavour: 'default', distro: 'debian' }],
    ['6.12.57+deb13-rt-amd64', { base: '6.12.57', flavour: 'realtime', distro: 'debian' }],
    ['6.1.10-200.fc37.x86_64', { base: '6.1.10', flavour: 'default', distro: 'other' }],
  ])('%s', (full, want) => {
    expect(parseKernelVersion(full)).toEqual({ full, ...want });
  });
});

describe('kernelFamilyRegexp', () => {
  it.each([
    [
      '5.14.0-284.52.1.el9_2.x86_64',
      [
        '5.14.0-284.52.1.el9_2.x86_64',
        '5.14.0-284.55.1.el9_2.x86_64',
        '5.14.0-284.52.1.rt14.337.el9_2.x86_64',
        '5.14.0-284.55.1.rt14.340.el9_2.x86_64',
      ],
      ['4.18.0-372.el8.x86_64', '5.14.0-284.52.1.el9_2.aarch64', '5.14.0-284.52.1.el8_6.x86_64', '5.15.0-284.52.1.el9_2.x86_64', '5.14.0-284.52.1.el9_2.x86_64.debug'],
    ],
    [
      '5.14.0-284.52.1.rt14.337.el9_2.x86_64',
      ['5.14.0-284.52.1.el9_2.x86_64', '5.14.0-284.55.1.rt14.340.el9_2.x86_64'],
      ['4.18.0-372.43.1.rt7.200.el8_6.x86_64'],
    ],
    [
      '5.14.0-427.13.1.el9_4.x86_64',
      ['5.14.0-427.13.1.el9_4.x86_64', '5.14.0-427.22.1.el9_4.x86_64', '5.14.0-427.13.1.el9_4.x86_64+rt', '5.14.0-427.22.1.el9_4.x86_64+rt'],
      ['5.14.0-427.13.1.el9_4.x86_64+64k', '5.14.0-427.13.1.el9_4.x86_64+debug', '4.18.0-372.el8.x86_64'],
    ],
    [
      '5.14.0-427.13.1.el9_4.x86_64+rt',
      ['5.14.0-427.13.1.el9_4.x86_64', '5.14.0-427.22.1.el9_4.x86_64+rt'],
      ['5.14.0-427.13.1.el9_4.aarch64+rt'],
    ],
    [
      '5.14.0-427.13.1.el9_4.aarch64+64k',
      ['5.14.0-427.13.1.el9_4.aarch64+64k', '5.14.0-427.22.1.el9_4.aarch64', '5.14.0-427.22.1.el9_4.aarch64+64k'],
      ['5.14.0-427.13.1.el9_4.x86_64'],
    ],
    [
      '4.18.0-372.43.1.el8_6.x86_64',
      ['4.18.0-372.46.1.el8_6.x86_64', '4.18.0-372.43.1.rt7.200.el8_6.x86_64'],
      ['5.14.0-284.52.1.el9_2.x86_64', '4.18.0-372.43.1.el9_2.x86_64'],
    ],
    [
      '6.1.0-56-amd64',
      ['6.1.0-56-amd64', '6.1.0-54-amd64', '6.1.0-56-rt-amd64', '6.1.0-57-rt-amd64'],
      ['6.12.57+deb12-amd64', '6.1.0-56-arm64', '6.1.0-56-cloud-amd64', '6.10.0-56-amd64'],
    ],
    [
      '6.1.0-56-rt-amd64',
      ['6.1.0-56-amd64', '6.1.0-58-rt-amd64'],
      ['6.12.57+deb12-rt-amd64'],
    ],
    [
      '6.12.57+deb12-amd64',
      ['6.12.57+deb12-amd64', '6.12.58+deb12-amd64', '6.12.57+deb12-rt-amd64'],
      ['6.1.0-56-amd64', '6.12.57+deb13-amd64', '6.13.1+deb12-amd64', '6.12.57+deb12-arm64'],
    ],
  ])('%s', (kver, matches, rejects) => {
    const re = new RegExp(kernelFamilyRegexp(kver));
    for (const k of matches) expect(re.test(k), `${k} should match ${re}`).toBe(true);
    for (const k of rejects) expect(re.test(k), `${k} should not match ${re}`).toBe(false);
  });

  it('produces anchored regexps KMM can use as-is', () => {
    for (const k of ['5.14.0-284.52.1.el9_2.x86_64', '6.1.0-56-amd64', '6.12.57+deb12-amd64', '6.8.0-45-generic']) {
      const re = kernelFamilyRegexp(k);
      expect(re.startsWith('^') && re.endsWith('$')).toBe(true);
      expect(new RegExp(re).test(k)).toBe(true);
    }
  });
});
