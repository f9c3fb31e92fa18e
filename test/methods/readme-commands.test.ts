/**
 * What a newcomer pastes from the layering and dtk READMEs: the real driver source
 * directory (not `<driver source dir>`), commands that end (`oc wait`, not `-w`), and a
 * namespace per method (so `oc delete -f .` in dtk/ never deletes KMM's objects).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allObjects, ArtifactSetSchema, artifactText, findFile, type ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { UserError } from '../../src/errors.js';
import { dtkMethod } from '../../src/methods/dtk/index.js';
import { layeringMethod } from '../../src/methods/layering/index.js';
import { RenderOptionsSchema, type RenderOptionsInput } from '../../src/methods/method.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { ReleaseSchema } from '../../src/release/release.js';
import { testRelease } from '../support/releases.js';

const RELEASE = testRelease();

let driver: DriverSpec;
let sourceDir: string;
beforeAll(async () => {
  const loaded = await loadDriver('drivers/simple-kmod/driver.yaml');
  driver = loaded.spec;
  sourceDir = loaded.sourceDir!;
});

function render(method: typeof dtkMethod, options: RenderOptionsInput): ArtifactSet {
  return ArtifactSetSchema.parse(method.render(driver, RELEASE, RenderOptionsSchema.parse(options)));
}
const text = (set: ArtifactSet, p: string) => artifactText(findFile(set, p)!);

describe('README commands name the real driver source directory', () => {
  it('dtk: oc start-build --from-dir=<the directory kmodlab loaded>', () => {
    for (const variant of ['pinned', 'tracking']) {
      const md = text(render(dtkMethod, { sourceDir, variant }), 'README.md');
      expect(md).not.toContain('<driver source dir>');
      expect(md).toMatch(new RegExp(`oc start-build \\S+ -n \\S+ --from-dir=${sourceDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} --follow`));
    }
    const day1 = text(render(dtkMethod, { sourceDir, day1: true, registry: 'quay.io/acme' }), 'README.md');
    expect(day1).toContain(`-f Containerfile ${sourceDir}`);
  });

  it('layering: ./build.sh <dir>, podman build … <dir>, and build.sh defaults to it', () => {
    const set = render(layeringMethod, { sourceDir, registry: 'quay.io/acme' });
    const md = text(set, 'README.md');
    expect(md).not.toMatch(/<driver source dir/);
    expect(md).toContain(`AUTHFILE=pull-secret.json ./build.sh ${sourceDir}`);
    expect(md).toMatch(new RegExp(`-t \\S+ ${sourceDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n`));
    const script = text(set, 'build.sh');
    const contextLine = script.split('\n').find((l) => l.startsWith('context='))!;
    expect(execFileSync('bash', ['-c', `set --; ${contextLine}\nprintf %s "$context"`], { encoding: 'utf8' })).toBe(sourceDir);
    const r419 = ReleaseSchema.parse({ ...RELEASE, version: '4.19.3' });
    const onCluster = text(ArtifactSetSchema.parse(layeringMethod.render(driver, r419, RenderOptionsSchema.parse({ sourceDir, registry: 'quay.io/acme', variant: 'on-cluster' }))), 'README.md');
    expect(onCluster).toContain(`-t quay.io/acme/simple-kmod-source:1.0.0 ${sourceDir}`);
  });

  it('quotes a directory with spaces or quotes so the shell reads it back', () => {
    const odd = "/tmp/my drivers/it's here";
    const md = text(render(dtkMethod, { sourceDir: odd }), 'README.md');
    const cmd = md.split('\n').find((l) => l.startsWith('oc start-build'))!;
    const arg = execFileSync('bash', ['-c', `set -- ${cmd.replace(/^oc start-build \S+ -n \S+ /, '')}; printf %s "$1"`], { encoding: 'utf8' });
    expect(arg).toBe(`--from-dir=${odd}`);
    const script = text(render(layeringMethod, { sourceDir: '/tmp/a "b" $c`d`', registry: 'quay.io/acme' }), 'build.sh');
    const contextLine = script.split('\n').find((l) => l.startsWith('context='))!;
    expect(execFileSync('bash', ['-c', `set --; ${contextLine}\nprintf %s "$context"`], { encoding: 'utf8' })).toBe('/tmp/a "b" $c`d`');
  });

  it('library callers without a source directory get a shell variable, set with a comment at the top of the block', () => {
    const md = text(render(dtkMethod, {}), 'README.md');
    expect(md).toContain('--from-dir="$DRIVER_SRC"');
    expect(md).toMatch(/^DRIVER_SRC=\. +# the driver source directory/m);
  });
});

describe('README commands end by themselves (oc wait, not -w)', () => {
  for (const [what, options] of [
    ['off-cluster', { registry: 'quay.io/acme' }],
    ['on-cluster', { registry: 'quay.io/acme', variant: 'on-cluster' }],
  ] as const) {
    it(`layering ${what}`, () => {
      const r = what === 'on-cluster' ? ReleaseSchema.parse({ ...RELEASE, version: '4.19.3' }) : RELEASE;
      const md = artifactText(findFile(ArtifactSetSchema.parse(layeringMethod.render(driver, r, RenderOptionsSchema.parse(options))), 'README.md')!);
      const shellLines = [...md.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
      expect(shellLines.filter((l) => /\s(-w|--watch)(\s|$)/.test(l))).toEqual([]);
      expect(md).toContain('oc wait mcp/worker --for=condition=Updated --timeout=');
      if (what === 'on-cluster') expect(md).toContain('oc wait machineosbuild/$MOSB --for=condition=Succeeded');
    });
  }
});

describe('a namespace per method', () => {
  it('dtk and kmm never share a namespace by default, so deleting dtk/ leaves KMM alone', () => {
    const [dtk, kmm] = renderMethods(driver, RELEASE, 'dtk,kmm', { registry: 'quay.io/acme' });
    const namespacesOf = (set: ArtifactSet) => new Set(allObjects(set).map((o) => (o.kind === 'Namespace' ? o.metadata.name : o.metadata.namespace)).filter(Boolean));
    const dtkNs = namespacesOf(dtk!);
    expect(dtkNs).toEqual(new Set(['kmodlab-simple-kmod-dtk']));
    for (const ns of namespacesOf(kmm!)) expect(dtkNs.has(ns)).toBe(false);
    expect(text(dtk!, 'README.md')).toContain('oc delete -f .');
  });

  it('--namespace with both dtk and kmm is refused, naming the flag; with one method it is used', () => {
    for (const selection of ['all', 'dtk,kmm']) {
      expect(() => renderMethods(driver, RELEASE, selection, { namespace: 'drivers' })).toThrow(UserError);
      expect(() => renderMethods(driver, RELEASE, selection, { namespace: 'drivers' })).toThrow(/--namespace applies to one method/);
    }
    const [dtk] = renderMethods(driver, RELEASE, 'dtk', { namespace: 'drivers' });
    expect(allObjects(dtk!).find((o) => o.kind === 'Namespace')!.metadata.name).toBe('drivers');
    expect(renderMethods(driver, RELEASE, 'layering,dtk', { namespace: 'drivers' })).toHaveLength(2);
  });
});

it('the driver source directory is absolute, as loadDriver resolved it', () => {
  expect(path.isAbsolute(sourceDir)).toBe(true);
});
