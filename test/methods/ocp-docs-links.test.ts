/**
 * The layering and dtk READMEs link the OpenShift documentation of the rendered release's
 * version (issue: links were pinned to one version whatever the release).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactSetSchema, artifactText, findFile } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { dtkMethod } from '../../src/methods/dtk/index.js';
import { layeringMethod } from '../../src/methods/layering/index.js';
import { RenderOptionsSchema, type RenderOptionsInput } from '../../src/methods/method.js';
import { ocpDocs } from '../../src/methods/ocp-docs.js';
import { ReleaseSchema, type Release } from '../../src/release/release.js';

const KVER = '5.14.0-284.52.1.el9_2.x86_64';
const ART = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';
const release = (version: string | undefined): Release =>
  ReleaseSchema.parse({ version, kernelVersion: KVER, driverToolkitImage: `${ART}@sha256:${'d'.repeat(64)}`, rhcosImage: `${ART}@sha256:${'c'.repeat(64)}`, sources: {} });

let driver: DriverSpec;
beforeAll(async () => {
  driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
});

function readmeOf(method: typeof dtkMethod, r: Release, options: RenderOptionsInput = {}): string {
  const set = ArtifactSetSchema.parse(method.render(driver, r, RenderOptionsSchema.parse(options)));
  return artifactText(findFile(set, 'README.md')!);
}

/** The version segment of every OpenShift documentation link. */
function docVersions(md: string): string[] {
  return [...md.matchAll(/https:\/\/docs\.(?:openshift\.com\/container-platform|redhat\.com\/en\/documentation\/openshift_container_platform)\/([^/]+)\//g)].map((m) => m[1]!);
}

describe('OpenShift documentation links follow the rendered release', () => {
  const cases: [string, typeof dtkMethod, RenderOptionsInput][] = [
    ['layering off-cluster', layeringMethod, { registry: 'quay.io/acme' }],
    ['layering off-cluster Day 1', layeringMethod, { registry: 'quay.io/acme', day1: true }],
    ['dtk pinned', dtkMethod, {}],
    ['dtk Day 1', dtkMethod, { registry: 'quay.io/acme', day1: true }],
  ];
  for (const [what, method, options] of cases) {
    it(`${what}: 4.12 and 4.16 releases link their own docs`, () => {
      for (const [version, minor] of [['4.12.22', '4.12'], ['4.16.3', '4.16']] as const) {
        const versions = docVersions(readmeOf(method, release(version), options));
        expect(versions.length, `${what} ${version} has OpenShift doc links`).toBeGreaterThan(0);
        expect(new Set(versions)).toEqual(new Set([minor]));
      }
    });
  }

  it('layering on-cluster (4.19) links the 4.19 docs', () => {
    const md = readmeOf(layeringMethod, release('4.19.3'), { registry: 'quay.io/acme', variant: 'on-cluster' });
    expect(new Set(docVersions(md))).toEqual(new Set(['4.19']));
  });

  it('an unknown version links latest; the layering chapter is where that version keeps it', () => {
    expect(new Set(docVersions(readmeOf(dtkMethod, release(undefined))))).toEqual(new Set(['latest']));
    expect(ocpDocs(release('4.12.22')).coreosLayering).toContain('/4.12/post_installation_configuration/coreos-layering.html');
    expect(ocpDocs(release('4.17.1')).coreosLayering).toContain('/4.17/machine_configuration/mco-coreos-layering.html');
  });
});
