/**
 * The node OS family changes only its own lines: every method rendered for the same
 * driver and the same release facts, once as rhcos and once as debian-lab, differs in
 * exactly the lines that hold a value of the family table (src/methods/os-family.ts) —
 * in every file written (Containerfiles, build scripts, manifests with inline Dockerfiles);
 * READMEs are the same for both.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactSetSchema, artifactText, type ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { loadDriver, parseDriverSpec } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { finalBaseImage } from '../../src/methods/dtk/containerfile.js';
import '../../src/methods/all.js';
import { getMethod } from '../../src/methods/index.js';
import { KMOD_BASE_IMAGE } from '../../src/methods/kmm/containerfile.js';
import { RenderOptionsSchema, type RenderOptionsInput } from '../../src/methods/method.js';
import { OS_FAMILY_TABLE } from '../../src/methods/os-family.js';
import { PLACEHOLDERS } from '../../src/release/placeholders.js';
import { ReleaseSchema, type OsFamilyId, type ReleaseInput } from '../../src/release/release.js';

const KVER = '5.14.0-284.52.1.el9_2.x86_64';
const ART = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';
const RUNTIME_BASE = `127.0.0.1:5000/kmodlab/runtime-base@sha256:${'e'.repeat(64)}`;
const FACTS: ReleaseInput = {
  version: '4.14.12',
  kernelVersion: KVER,
  driverToolkitImage: `${ART}@sha256:${'d'.repeat(64)}`,
  rhcosImage: `${ART}@sha256:${'c'.repeat(64)}`,
  runtimeBaseImage: RUNTIME_BASE,
  sources: {},
};

/** Each family's own text: the table's values and the base of driver containers' final stage. */
const FRAGMENTS: Record<OsFamilyId, string[]> = {
  rhcos: [...tableValues('rhcos'), `FROM ${finalBaseImage(KVER)}`, `FROM ${KMOD_BASE_IMAGE}`],
  'debian-lab': [...tableValues('debian-lab'), `FROM ${RUNTIME_BASE}`],
};

function tableValues(id: OsFamilyId): string[] {
  const { id: _id, ...lines } = OS_FAMILY_TABLE[id];
  return Object.values(lines).filter((v) => v !== ''); // an empty entry adds no text
}

/** Indices of the lines of `a` and of `b` that a longest common subsequence leaves out. */
function differingLines(a: string[], b: string[]): { a: Set<number>; b: Set<number> } {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out = { a: new Set<number>(), b: new Set<number>() };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.a.add(i++);
    else out.b.add(j++);
  }
  while (i < n) out.a.add(i++);
  while (j < m) out.b.add(j++);
  return out;
}

function familyLines(lines: string[], id: OsFamilyId): Set<number> {
  return new Set(lines.flatMap((l, i) => (FRAGMENTS[id].some((f) => l.includes(f)) ? [i] : [])));
}

function render(method: string, driver: DriverSpec, osFamily: OsFamilyId, options: RenderOptionsInput): ArtifactSet {
  // On-cluster layering needs OpenShift 4.19; the other facts stay the same.
  const version = options.variant === 'on-cluster' ? '4.19.3' : FACTS.version;
  return ArtifactSetSchema.parse(getMethod(method).render(driver, ReleaseSchema.parse({ ...FACTS, version, osFamily }), RenderOptionsSchema.parse(options)));
}

let reference: DriverSpec;
const gitDriver = parseDriverSpec(
  {
    name: 'acme-nic',
    version: '2.3.1',
    source: { git: { url: 'https://github.com/acme/acme-nic.git', ref: 'v2.3.1' } },
    modules: ['acme-core', 'acme-nic'],
    inTreeModulesToRemove: ['acme_old'],
  },
  'test git driver',
);

beforeAll(async () => {
  reference = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
});

const CASES: Array<[string, RenderOptionsInput]> = [
  ['layering', { variant: 'off-cluster' }],
  ['layering', { variant: 'on-cluster', registry: 'quay.io/acme' }],
  ['dtk', { variant: 'pinned' }],
  ['dtk', { variant: 'tracking' }],
  ['dtk', { variant: 'pinned', day1: true, registry: 'quay.io/acme' }],
  ['kmm', {}],
  ['kmm', { day1: true, registry: 'quay.io/acme' }],
];

describe.each(CASES)('%s %j: rhcos vs debian-lab', (method, options) => {
  it.each([['simple-kmod (path source)'], ['acme-nic (git source)']])('%s: the renders differ in exactly the family table lines', (which) => {
    const driver = which.startsWith('simple') ? reference : gitDriver;
    const rhcos = render(method, driver, 'rhcos', options);
    const lab = render(method, driver, 'debian-lab', options);
    expect(lab.files.map((f) => f.path)).toEqual(rhcos.files.map((f) => f.path));
    let familyFiles = 0;
    for (const [k, f] of rhcos.files.entries()) {
      const a = artifactText(f).split('\n');
      const b = artifactText(lab.files[k]!).split('\n');
      const diff = differingLines(a, b);
      const where = `${method} ${f.path}`;
      if (f.path.endsWith('README.md')) {
        // READMEs describe the rhcos build in words for every family (see README "kmodlab render").
        expect(diff, where).toEqual({ a: new Set(), b: new Set() });
        continue;
      }
      // Sorted index lists, so a failure shows which lines are off.
      expect([...diff.a].map((i) => a[i]), where).toEqual([...familyLines(a, 'rhcos')].map((i) => a[i]));
      expect([...diff.b].map((i) => b[i]), where).toEqual([...familyLines(b, 'debian-lab')].map((i) => b[i]));
      if (diff.a.size > 0) familyFiles++;
    }
    // Every method has at least one file with family lines: the test cannot pass by rendering nothing different.
    expect(familyFiles).toBeGreaterThan(0);
  });
});

describe('the family lines', () => {
  it('rhcos: rpm, microdnf, ostree; debian-lab: none of them', () => {
    const r = render('layering', reference, 'rhcos', { variant: 'off-cluster' });
    const l = render('layering', reference, 'debian-lab', { variant: 'off-cluster' });
    const text = (s: ArtifactSet, p: string) => artifactText(s.files.find((f) => f.path === p)!);
    expect(text(r, 'Containerfile')).toContain('rpm -q');
    expect(text(r, 'Containerfile')).toMatch(/\n {4}ostree container commit\n/);
    expect(text(l, 'Containerfile')).not.toMatch(/rpm |ostree container/);
    for (const m of ['dtk', 'kmm']) {
      const opts = m === 'kmm' ? { day1: true, registry: 'quay.io/acme' } : {};
      expect(text(render(m, reference, 'rhcos', opts), 'Containerfile')).toContain('microdnf install -y kmod');
      const lab = text(render(m, reference, 'debian-lab', opts), 'Containerfile');
      expect(lab).not.toMatch(/microdnf|dnf |yum /);
      expect(lab).toContain(`FROM ${RUNTIME_BASE}\n`);
    }
  });

  it('debian-lab without a runtime-base image: a placeholder saying where the lab release names it', () => {
    const set = ArtifactSetSchema.parse(
      getMethod('dtk').render(reference, ReleaseSchema.parse({ ...FACTS, runtimeBaseImage: undefined, osFamily: 'debian-lab' }), RenderOptionsSchema.parse({})),
    );
    expect(artifactText(set.files.find((f) => f.path === 'Containerfile')!)).toContain(`FROM ${PLACEHOLDERS.runtimeBaseImage.token}\n`);
    expect(set.placeholders.map((p) => p.token)).toContain(PLACEHOLDERS.runtimeBaseImage.token);
  });
});
