/**
 * What a scenario needs: the target (only through the Target interface), a way to
 * render the method's artifacts for a release, and the recorder hook that stamps
 * every event with the method and scenario it belongs to.
 */
import type { ArtifactSet } from '../../artifacts/artifact-set.js';
import type { DriverSpec } from '../../driver/spec.js';
import type { Release } from '../../release/release.js';
import type { Target } from '../../targets/target.js';
import type { EventData, EventKind, RowId, ScenarioId } from '../events.js';

export interface ScenarioContext {
  target: Target;
  /** The method whose artifacts are realized, or the baseline (nothing rendered, nothing applied). */
  method: RowId;
  scenario: ScenarioId;
  driver: DriverSpec;
  /** The method's artifacts for a release (throws for the baseline: it has none). */
  render(release: Release, opts: { day1: boolean }): ArtifactSet;
  record<K extends EventKind>(kind: K, data: EventData<K>, node?: string): void;
  /** How long to wait for a driver to (un)load after an action (lab scale). */
  settleTimeoutMs: number;
  /** How long steady-state sampling lasts once the driver is in place. */
  steadyMs: number;
  progress(step: string): void;
}

export type ScenarioFn = (ctx: ScenarioContext) => Promise<void>;

/**
 * The row's variant has no form for this scenario (e.g. on-cluster layering and dtk
 * tracking have no install-time manifests): recorded as not run, with why, not as a failure.
 */
export class ScenarioNotApplicable extends Error {
  override readonly name = 'ScenarioNotApplicable';
}

/** Module names as the kernel reports them. */
export function driverModules(ctx: ScenarioContext): string[] {
  return ctx.driver.modules.map((m) => m.name.replace(/-/g, '_'));
}

/**
 * Samples a few times over `steadyMs`, so resident components have a steady-state figure.
 * The samples are due at fixed offsets from the start (steadyMs/3, 2·steadyMs/3, steadyMs):
 * the time an observation takes is not added to the window (sleeping steadyMs/3 after
 * each one made a 3 s window last 3.5–4 s on a loaded host). Module state is probed in
 * the last round only: the wait before this just saw the driver loaded, and a probe is a
 * pod per node (4–5 s each on the lab), which made the window three probes long.
 * The last round closes the scenario's resource window: a scenario quicker than the
 * target's minimum Prometheus window is still sampled once (it waits for the minimum).
 * There are no more rounds than whole resource windows fit in `steadyMs` (at least one):
 * an earlier round's sample would leave the last one a window shorter than the minimum,
 * and the scenario would wait for it (the lab's 3 s steady state against its 4 s window
 * waited 1–2 s in every scenario) — the points sampled are the same either way, as
 * Prometheus holds them, only queried in fewer windows.
 */
export async function sampleSteadyState(ctx: ScenarioContext, now: () => number = Date.now): Promise<void> {
  const window = ctx.target.resourceWindowMs;
  const rounds = window && window > 0 ? Math.max(1, Math.min(3, Math.floor(ctx.steadyMs / window))) : 3;
  const start = now();
  for (let i = 1; i <= rounds; i++) {
    const wait = start + (ctx.steadyMs * i) / rounds - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await ctx.target.observe({ modules: i === rounds, closing: i === rounds });
  }
}

/** Waits for the driver on every node; a timeout is recorded, not thrown. */
export async function waitForDriver(ctx: ScenarioContext, loaded: boolean, what: string): Promise<boolean> {
  if (ctx.target.observesModules === false) {
    // Dry-run / observe-only: no probe pods, so "not seen" is not "not loaded".
    ctx.progress(`module presence is not observed on ${ctx.target.label} in this mode: not waiting for the driver (${what})`);
    return true;
  }
  ctx.progress(`waiting for the driver to be ${loaded ? 'loaded' : 'unloaded'} on every node (${what})`);
  const r = await ctx.target.waitForModules(driverModules(ctx), { loaded, timeoutMs: ctx.settleTimeoutMs });
  if (!r.ok) {
    ctx.record('fault', {
      fault: loaded ? 'driver-not-loaded' : 'driver-not-unloaded',
      message: `${what}: the driver is ${loaded ? 'not loaded' : 'still loaded'} on ${r.pending.join(', ')} ${
        r.settled ? `and cannot change without another action (${r.settled.reason}), seen after ${Math.round(r.settled.afterMs / 1000)} s` : `after ${Math.round(ctx.settleTimeoutMs / 1000)} s`
      }${r.blockedBy?.length ? `; held up by: ${r.blockedBy.join('; ')}` : ''}`,
    });
  }
  return r.ok;
}

/** Apply the set, or — on an observe-only target — follow what someone else applies. */
export async function applyOrFollow(ctx: ScenarioContext, set: import('../../artifacts/artifact-set.js').ArtifactSet): Promise<void> {
  if (ctx.target.observeOnly && ctx.target.follow) {
    ctx.progress('observe-only: following the installation applied by someone else');
    await ctx.target.follow(set);
    return;
  }
  await ctx.target.apply(set);
}

/** Remove the set, or — observe-only — keep following while someone else removes it. */
export async function removeOrFollow(ctx: ScenarioContext, set: import('../../artifacts/artifact-set.js').ArtifactSet): Promise<void> {
  if (ctx.target.observeOnly && ctx.target.follow) {
    ctx.progress('observe-only: following the removal done by someone else');
    await ctx.target.follow(set);
    return;
  }
  await ctx.target.remove(set);
}

/**
 * The releases of a release change: where it starts and where it goes (the z-stream
 * upgrade or the realtime kernel). Shared by the method scenarios and the baseline.
 */
export function releaseChangeTargets(ctx: ScenarioContext, why: 'upgrade' | 'kernel-switch'): { from: Release; to: Release } {
  const releases = ctx.target.releases();
  const to = why === 'upgrade' ? releases.upgradeTo : releases.realtime;
  if (!to) throw new Error(`the target has no ${why === 'upgrade' ? 'release to upgrade to' : 'realtime kernel'}`);
  return { from: releases.from, to };
}
