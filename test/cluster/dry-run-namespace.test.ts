/**
 * B6: `--dry-run=server` for a set that creates its own namespace. A real API server
 * (NamespaceLifecycle admission) answers 404 for any object inside a namespace that does
 * not exist — and a dry-run-created namespace never exists. Against the lab's real API server.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allObjects, type ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { labApiHarness, referenceDtkSet, type LabApiHarness } from './lab-api-target.js';

let set: ArtifactSet;

beforeAll(async () => {
  set = await referenceDtkSet();
});

describe('--dry-run=server with a namespace the set itself creates (lab API server)', () => {
  let h: LabApiHarness;
  afterEach(async () => {
    await h?.stop();
  });

  it('the objects inside it are validated in an existing namespace, nothing is stored, the run says so', async () => {
    h = await labApiHarness();
    const t = await h.connect({ dryRun: 'server' });
    await t.reset({ release: t.releases().from });
    await t.apply(set);
    const objects = allObjects(set, 'day2');
    const ns = objects.find((o) => o.kind === 'Namespace')!.metadata.name;
    expect(objects.filter((o) => h.live(o) !== undefined)).toEqual([]);
    const apply = h.events.find((e) => e.kind === 'apply')!;
    expect(apply.data['objects']).toHaveLength(objects.length);
    expect(apply.data).toMatchObject({ dryRun: 'server', validatedIn: { [ns]: 'default' } });
    expect(h.events.some((e) => e.kind === 'progress' && String(e.data['step']).includes(`namespace ${ns} does not exist`))).toBe(true);
    await t.remove(set);
    await t.close();
  }, 60_000);

  it('an invalid object inside the would-be namespace is still refused by the server', async () => {
    h = await labApiHarness();
    const t = await h.connect({ dryRun: 'server' });
    const broken: ArtifactSet = structuredClone(set);
    const ds = broken.files.flatMap((f) => f.objects ?? []).find((o) => o.kind === 'DaemonSet')!;
    // The lab checks the top-level fields of built-in kinds (strict field validation).
    (ds as Record<string, unknown>)['notAField'] = true;
    await expect(t.apply(broken)).rejects.toThrow(/notAField/);
    await t.close();
  }, 60_000);
});
