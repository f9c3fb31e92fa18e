/**
 * B7: a scenario that fails halfway (an exception between apply() and remove()) must not
 * leave what kmodlab applied on the cluster: close() removes what kmodlab created.
 * Against the lab's real API server (foreground deletion, namespace controller).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allObjects, type ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { labApiHarness, referenceDtkSet, type LabApiHarness } from './lab-api-target.js';

let set: ArtifactSet;

beforeAll(async () => {
  set = await referenceDtkSet();
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

  it('close({ discarding: true }) — the cluster is thrown away next — stops watching and deletes nothing', async () => {
    h = await labApiHarness();
    const t = await h.connect();
    await t.reset({ release: t.releases().from });
    await t.apply(set);
    const applied = allObjects(set, 'day2');
    await t.close({ discarding: true });
    expect(applied.filter((o) => h.live(o) === undefined).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    expect(h.live({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kmodlab' } })).toBeDefined();
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
