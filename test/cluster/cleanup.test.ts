/**
 * B7: a scenario that fails halfway (an exception between apply() and remove()) must not
 * leave what kmodlab applied on the cluster: close() removes what kmodlab created.
 * Against the lab's real API server (foreground deletion, namespace controller).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { loadDriver } from '../../src/driver/load.js';
import { ReleaseSchema } from '../../src/release/release.js';
import { allObjects, type ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { labApiHarness, type LabApiHarness } from './lab-api-target.js';

const KVER = '5.14.0-284.52.1.el9_2.x86_64';
const DTK_IMAGE = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'3'.repeat(64)}`;
let set: ArtifactSet;

beforeAll(async () => {
  const driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
  set = renderMethods(driver, ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, driverToolkitImage: DTK_IMAGE, sources: {} }), 'dtk')[0]!;
});

describe('a failed scenario leaves nothing kmodlab created (lab API server)', () => {
  let h: LabApiHarness;
  afterEach(async () => {
    await h?.stop();
  });

  it('apply, then the scenario throws: close() removes every object kmodlab applied, and its own namespace', async () => {
    h = await labApiHarness();
    const t = await h.connect();
    await t.reset({ release: t.releases().from });
    const scenario = async () => {
      await t.apply(set);
      throw new Error('the scenario failed halfway');
    };
    await expect(scenario()).rejects.toThrow(/halfway/);
    const applied = allObjects(set, 'day2');
    expect(applied.length).toBeGreaterThan(3);
    expect(applied.every((o) => h.live(o) !== undefined)).toBe(true);
    await t.close();
    const left = applied.filter((o) => h.live(o) !== undefined).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(left).toEqual([]);
    expect(h.live({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kmodlab' } })).toBeUndefined();
  }, 60_000);

  it('an object that existed before kmodlab applied it is left in place', async () => {
    h = await labApiHarness();
    const ns = allObjects(set, 'day2').find((o) => o.kind === 'Namespace')!;
    // Someone else's namespace of the same name (no kmodlab labels).
    const r = await h.api.kubectl(['create', '-f', h.api.file('ns.json', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.metadata.name } }))]);
    expect(r.code, r.stderr).toBe(0);
    expect(h.live(ns)).toBeDefined();
    const t = await h.connect();
    await t.reset({ release: t.releases().from });
    await t.apply(set);
    await t.remove(set);
    await t.close();
    expect(h.live(ns)).toBeDefined();
    const others = allObjects(set, 'day2').filter((o) => o.kind !== 'Namespace');
    expect(others.filter((o) => h.live(o) !== undefined).map((o) => o.kind)).toEqual([]);
  }, 60_000);
});
