/**
 * After an upgrade or a kernel switch, a node whose kernel did not move although the driver
 * is loaded (a layered OS image pins its kernel) is a step a person must take: rebuild the
 * image for the new release. The scenario records it as a manual step, as it records the
 * one for a driver that did not come back.
 */
import { describe, expect, it } from 'vitest';
import { SCENARIOS, type ScenarioContext } from '../../src/evaluation/scenarios/scenarios.js';
import { ReleaseChangeHeld, type Target } from '../../src/targets/target.js';

function run(kernels: { before: string; after: string }, loadedAfter: boolean, held?: Error) {
  const recorded: { kind: string; data: Record<string, unknown> }[] = [];
  let changed = false;
  let waitsAfterChange = 0;
  const target = {
    observesModules: true,
    releases: () => ({ from: { kernelVersion: '6.1.0-56-amd64', sources: {} }, upgradeTo: { kernelVersion: '6.1.0-57-amd64', sources: {} } }),
    reset: async () => undefined,
    apply: async () => undefined,
    observe: async () => undefined,
    changeRelease: async () => {
      if (held) throw held;
      changed = true;
    },
    waitForModules: async () => {
      if (changed) waitsAfterChange++;
      return changed && !loadedAfter ? { ok: false, pending: ['n1'] } : { ok: true, pending: [] };
    },
    nodeKernels: () => new Map([['n1', changed ? kernels.after : kernels.before]]),
  } as unknown as Target;
  const ctx = {
    target,
    method: 'layering',
    scenario: 'upgrade',
    driver: { modules: [{ name: 'simple-kmod' }] },
    render: () => ({ files: [] }),
    record: (kind: string, data: Record<string, unknown>) => recorded.push({ kind, data }),
    settleTimeoutMs: 1_000,
    steadyMs: 0,
    progress: () => undefined,
  } as unknown as ScenarioContext;
  return {
    done: SCENARIOS.upgrade(ctx),
    steps: () => recorded.filter((r) => r.kind === 'manual-step').map((r) => String(r.data['description'])),
    progress: () => recorded.filter((r) => r.kind === 'progress').map((r) => r.data),
    waitsAfterChange: () => waitsAfterChange,
  };
}

describe('a release change that leaves a node on its kernel', () => {
  it('driver loaded, node still on the old kernel: a manual step to rebuild for the new release', async () => {
    const r = run({ before: '6.1.0-56-amd64', after: '6.1.0-56-amd64' }, true);
    await r.done;
    expect(r.steps()).toEqual([expect.stringMatching(/^the driver is loaded, but n1 \(still on 6\.1\.0-56-amd64\) did not move to 6\.1\.0-57-amd64 with the upgrade .*rebuild the image and roll it out again$/)]);
  });
  it('node on the new kernel with the driver: no manual step', async () => {
    const r = run({ before: '6.1.0-56-amd64', after: '6.1.0-57-amd64' }, true);
    await r.done;
    expect(r.steps()).toEqual([]);
  });
  it('driver not back: the one manual step says so (not both)', async () => {
    const r = run({ before: '6.1.0-56-amd64', after: '6.1.0-57-amd64' }, false);
    await r.done;
    expect(r.steps()).toEqual([expect.stringMatching(/^the driver is not back after the upgrade/)]);
  });
  it('a release change the method holds up (its image build failed): the scenario ends with that finding, not as a failure, and adds no second manual step', async () => {
    const r = run({ before: '6.1.0-56-amd64', after: '6.1.0-56-amd64' }, true, new ReleaseChangeHeld('the upgrade to 4.14.13 cannot complete: MachineOSBuild master-1 Failed'));
    await r.done;
    // The target recorded the step that unblocks it; the scenario records why it stopped.
    expect(r.steps()).toEqual([]);
    expect(r.progress()).toContainEqual({ step: 'upgrade held', reason: 'the upgrade to 4.14.13 cannot complete: MachineOSBuild master-1 Failed' });
    expect(r.waitsAfterChange()).toBe(0);
  });
  it('any other error of the release change still fails the scenario', async () => {
    const r = run({ before: '6.1.0-56-amd64', after: '6.1.0-56-amd64' }, true, new Error('the upgrade did not complete within 240 min'));
    await expect(r.done).rejects.toThrow(/did not complete/);
  });
});
