/**
 * The lab machine-config daemon's reading of KMM's Day-1 loader (mco/day1-loader.ts),
 * on the MachineConfig the kmm method renders with --day1 and on the pool's rendered
 * config that merges it: the image `<repo>:<uname -r>`, the node-local store the script
 * names, and the load hook running the script's own modprobe lines from that store.
 * No lab: the run on a node is in evaluate-lab-api-kmm-day1.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { allObjects, ArtifactSetSchema, type ArtifactSet, type K8sObject } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import '../../src/methods/all.js';
import { kmmMethod } from '../../src/methods/kmm/index.js';
import { RenderOptionsSchema } from '../../src/methods/method.js';
import { kernelTag, loaderImage, loadersOf, loadHook } from '../../src/targets/lab/control-plane/api-controllers/mco/day1-loader.js';
import { defaultPool, renderPool, templateConfig, type MachineConfig } from '../../src/targets/lab/control-plane/api-controllers/mco/render.js';
import { testRelease } from '../support/releases.js';

let driver: DriverSpec;
let set: ArtifactSet;
let mc: MachineConfig;
beforeAll(async () => {
  driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
  set = ArtifactSetSchema.parse(kmmMethod.render(driver, testRelease('4.14.12'), RenderOptionsSchema.parse({ day1: true, registry: 'quay.io/acme', pool: 'master' })));
  mc = allObjects(set).find((o: K8sObject) => o.kind === 'MachineConfig') as unknown as MachineConfig;
});

describe('Day-1 loader of a kmm --day1 MachineConfig', () => {
  it('is found in the MachineConfig and in the rendered config of the pool that selects it', () => {
    const [loader, ...more] = loadersOf(mc.spec);
    expect(more).toEqual([]);
    expect(loader!.loadUnit).toMatch(/-load\.service$/);
    expect(loader!.pullUnit).toMatch(/-pull\.service$/);
    expect(loader!.imageRepo).toMatch(/^quay\.io\/acme\/simple-kmod-kmm-/);
    expect(loader!.imageStore).toBe('/var/lib/kmodlab/simple-kmod');
    // One modprobe per module, in the image's /opt, with its parameters.
    expect(loader!.modprobeLines.length).toBeGreaterThan(0);
    for (const l of loader!.modprobeLines) expect(l).toMatch(/^modprobe -v -d \/opt \S+/);
    const rendered = renderPool({ ...defaultPool('master'), metadata: { name: 'master', uid: 'u' } }, [templateConfig('master', 'v'), mc], { osImage: 'registry/os@sha256:0', releaseVersion: '4.14.12', controllerVersion: 'v' });
    expect(loadersOf(rendered.config.spec)).toEqual([loader]);
  });

  it('names the image by the kernel as the script tags it; the hook loads from the node-local copy', () => {
    const [loader] = loadersOf(mc.spec);
    expect(kernelTag('5.14.0-427.13.1.el9_4.x86_64+rt')).toBe('5.14.0-427.13.1.el9_4.x86_64_rt');
    expect(loaderImage(loader!, '6.1.0-25-amd64')).toBe(`${loader!.imageRepo}:6.1.0-25-amd64`);
    const hook = loadHook(loader!, 'img', '6.1.0-25-amd64');
    expect(hook).toContain('/sbin/modprobe -v -d /var/lib/kmodlab/simple-kmod/6.1.0-25-amd64 ');
    expect(hook).not.toContain(' -d /opt ');
    expect(hook).toContain(`${loader!.loadUnit}: loaded from img`);
  });

  it('unloads the in-tree modules the script names before loading, as its load() does', () => {
    const withInTree = ArtifactSetSchema.parse(kmmMethod.render({ ...driver, inTreeModulesToRemove: ['simple-kmod-old'] }, testRelease('4.14.12'), RenderOptionsSchema.parse({ day1: true, registry: 'quay.io/acme', pool: 'master' })));
    const [loader] = loadersOf((allObjects(withInTree).find((o: K8sObject) => o.kind === 'MachineConfig') as unknown as MachineConfig).spec);
    expect(loader!.unload).toEqual([{ loadedAs: 'simple_kmod_old', module: 'simple-kmod-old' }]);
    const hook = loadHook(loader!, 'img', '6.1.0-25-amd64');
    const unload = hook.indexOf("if grep -q '^simple_kmod_old ' /proc/modules; then");
    expect(unload).toBeGreaterThan(-1);
    expect(hook).toContain('/sbin/modprobe -v -r simple-kmod-old; fi');
    expect(unload).toBeLessThan(hook.indexOf('/sbin/modprobe -v -d '));
    expect(loadersOf(mc.spec)[0]!.unload).toEqual([]);
  });

  it('finds nothing in a config without the loader script and units', () => {
    expect(loadersOf(templateConfig('worker', 'v').spec)).toEqual([]);
    const units = { ...mc.spec!, config: { ...mc.spec!.config!, systemd: { units: [] } } };
    expect(loadersOf(units)).toEqual([]);
  });
});
