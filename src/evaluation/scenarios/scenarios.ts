/**
 * The five scenarios of the architecture doc. Each starts from a clean node state on
 * the starting release and acts only through the Target interface, so the cluster
 * target plugs into the same code. Scenarios record; they never compute figures.
 */
import type { ScenarioId } from '../events.js';
import { ReleaseChangeHeld } from '../../targets/target.js';
import { applyOrFollow, removeOrFollow, sampleSteadyState, waitForDriver, type ScenarioContext, type ScenarioFn, releaseChangeTargets } from './context.js';

/** Nodes' first boot with the method's Day-1 artifacts present from the start. */
const day1: ScenarioFn = async (ctx) => {
  const { from } = ctx.target.releases();
  const set = ctx.render(from, { day1: true });
  ctx.progress('installing: nodes boot with the Day-1 manifests');
  await ctx.target.reset({ release: from, day1: set, row: ctx.method });
  // What the method keeps for after the install (e.g. the KMM Module) is applied then.
  if (set.files.some((f) => f.phase === 'day2' && f.objects?.length)) {
    ctx.progress('post-install: applying the Day-2 part of the Day-1 artifacts');
    await applyOrFollow(ctx, set);
  }
  if (await waitForDriver(ctx, true, 'after install')) await sampleSteadyState(ctx);
};

/** Artifacts applied to a running cluster. */
const day2: ScenarioFn = async (ctx) => {
  const { from } = ctx.target.releases();
  await ctx.target.reset({ release: from, row: ctx.method });
  await ctx.target.observe();
  ctx.progress('applying the Day-2 artifacts');
  await applyOrFollow(ctx, ctx.render(from, { day1: false }));
  if (await waitForDriver(ctx, true, 'after apply')) await sampleSteadyState(ctx);
};

function releaseChange(why: 'upgrade' | 'kernel-switch'): ScenarioFn {
  return async (ctx) => {
    const { from, to } = releaseChangeTargets(ctx, why);
    await ctx.target.reset({ release: from, row: ctx.method });
    await applyOrFollow(ctx, ctx.render(from, { day1: false }));
    if (!(await waitForDriver(ctx, true, 'before the release change'))) throw new Error('the driver did not load before the release change');
    ctx.progress(`${why}: ${from.kernelVersion} → ${to.kernelVersion}`);
    ctx.record('progress', { step: `${why} start`, from: from.kernelVersion, to: to.kernelVersion });
    const kernelsBefore = ctx.target.nodeKernels?.();
    try {
      await ctx.target.changeRelease(to, why);
    } catch (e) {
      if (!(e instanceof ReleaseChangeHeld)) throw e;
      // The method holds the release change (the target recorded the manual step that
      // unblocks it): the driver is not restored, which is this scenario's finding.
      ctx.progress(`${why} held by the method: ${e.message.split('\n')[0]}`);
      ctx.record('progress', { step: `${why} held`, reason: e.message });
      await ctx.target.observe({ modules: false, closing: true });
      return;
    }
    ctx.record('progress', { step: `${why} rollout done` });
    const restored = await waitForDriver(ctx, true, `after the ${why}`);
    if (restored) await sampleSteadyState(ctx);
    const behind = nodesKeptOnTheirKernel(kernelsBefore, ctx.target.nodeKernels?.(), to);
    if (!restored)
      ctx.record('manual-step', {
        description: `the driver is not back after the ${why}: render the method's artifacts for ${to.kernelVersion} (new driver-toolkit and kernel) and apply them again`,
        automatic: false,
      });
    else if (behind.length > 0)
      ctx.record('manual-step', {
        description: `the driver is loaded, but ${behind.join(', ')} did not move to ${to.kernelVersion ?? 'the realtime kernel'} with the ${why} (the method's OS image keeps its own kernel): render the method's artifacts for ${to.kernelVersion ?? 'the realtime kernel'}, rebuild the image and roll it out again`,
        automatic: false,
      });
  };
}

/**
 * Targeted nodes whose kernel did not change with the release change although the release
 * brings another (a layered OS image pins the kernel it was built on, so the MCO keeps it
 * through an upgrade or a kernel switch). Compared with each node's own kernel before the
 * change, so a release that names its kernel differently from the node is no false alarm.
 */
function nodesKeptOnTheirKernel(before: Map<string, string> | undefined, after: Map<string, string> | undefined, to: { kernelVersion?: string }): string[] {
  if (!before || !after) return [];
  return [...after].filter(([node, k]) => k !== '' && k === before.get(node) && k !== to.kernelVersion).map(([node, k]) => `${node} (still on ${k})`);
}

/** Artifacts removed: is the module unloaded, does it take reboots, is anything left? */
const uninstall: ScenarioFn = async (ctx) => {
  const { from } = ctx.target.releases();
  const set = ctx.render(from, { day1: false });
  await ctx.target.reset({ release: from, row: ctx.method });
  await applyOrFollow(ctx, set);
  if (!(await waitForDriver(ctx, true, 'before removal'))) throw new Error('the driver did not load before removal');
  ctx.progress('removing the artifacts');
  await removeOrFollow(ctx, set);
  await waitForDriver(ctx, false, 'after removal');
  // The wait just probed every node for the module: sample resources only.
  await ctx.target.observe({ modules: false, closing: true });
  const left = await ctx.target.leftovers?.();
  if (left) ctx.record('progress', { step: 'leftovers after removal', leftovers: left });
};

export const SCENARIOS: Record<ScenarioId, ScenarioFn> = {
  day1,
  day2,
  upgrade: releaseChange('upgrade'),
  'kernel-switch': releaseChange('kernel-switch'),
  uninstall,
};

export type { ScenarioContext };
