/**
 * Is the driver where it should be, and how long did it take? Read only from the
 * module-state events (what the node's kernel reports in /sys/module), never from
 * the status of Kubernetes objects.
 */
import { changesKernel, kverAtTrigger, needsEnd, needsTrigger, type ScenarioContext } from './context.js';
import { isMeasured, measured, moduleKey, notMeasured, type Measured } from './measured.js';
import type { Boot, LoadedMoment, NodeTrack } from './node-track.js';

/** Does this boot count as "on the new kernel" for upgrade/kernel-switch? */
export function onNewKernel(ctx: ScenarioContext, node: string, kver: string): boolean {
  if (ctx.targetKver) return kver === ctx.targetKver;
  const before = kverAtTrigger(ctx, node);
  return before !== undefined && kver !== before;
}

/** Per node: every module's last state in the node's last boot, or why it is unknown. */
export function finalDriverState(ctx: ScenarioContext, node: string): Measured<boolean> {
  const reason = needsEnd(ctx);
  if (reason) return notMeasured(reason);
  const t = ctx.tracks.get(node)!;
  const missing = ctx.modules.filter((m) => !t.finalState.has(moduleKey(m)));
  if (missing.length > 0) return notMeasured(`no module-state for ${missing.join(', ')} recorded on ${node} since its last boot`);
  const states = ctx.modules.map((m) => t.finalState.get(moduleKey(m))!);
  return measured(states.every((s) => s.loaded), states.map((s) => s.line));
}

/**
 * Per node success: day1/day2 — driver loaded at the end; upgrade/kernel-switch —
 * loaded on the new kernel; uninstall — every module unloaded.
 */
export function nodeSuccess(ctx: ScenarioContext, node: string): Measured<boolean> {
  const reason = needsTrigger(ctx) ?? needsEnd(ctx);
  if (reason) return notMeasured(reason);
  const loaded = finalDriverState(ctx, node);
  if (!isMeasured(loaded)) {
    // A reported unload of only some modules is still a definite "not all loaded".
    return loaded;
  }
  const t = ctx.tracks.get(node)!;
  if (ctx.seg.scenario === 'uninstall') {
    const states = ctx.modules.map((m) => t.finalState.get(moduleKey(m))!);
    return measured(states.every((s) => !s.loaded), loaded.from);
  }
  if (changesKernel(ctx.seg.scenario)) {
    const boot = t.lastBoot;
    if (!boot) return notMeasured(`no boot of ${node} recorded`);
    return measured(loaded.value && onNewKernel(ctx, node, boot.kver), [...loaded.from, boot.line]);
  }
  return loaded;
}

/** All nodes succeeded? One measured failure decides; otherwise any unknown node leaves it unknown. */
export function success(ctx: ScenarioContext): Measured<boolean> {
  const per = ctx.nodes.map((n) => nodeSuccess(ctx, n));
  const failed = per.find((m) => isMeasured(m) && !m.value);
  if (failed && isMeasured(failed)) return measured(false, failed.from);
  const unknown = per.find((m) => !isMeasured(m));
  if (unknown) return unknown;
  return measured(true, per.flatMap((m) => (isMeasured(m) ? m.from : [])));
}

/** How many nodes have every module loaded at the end (any kernel). */
export function nodesWithDriver(ctx: ScenarioContext): Measured<number> {
  const per = ctx.nodes.map((n) => finalDriverState(ctx, n));
  const unknown = per.find((m) => !isMeasured(m));
  if (unknown && !isMeasured(unknown)) return unknown;
  return measured(per.filter((m) => isMeasured(m) && m.value).length, per.flatMap((m) => (isMeasured(m) ? m.from : [])));
}

/** The first moment after the trigger that the driver was in place on this node. */
export function firstGoodMoment(ctx: ScenarioContext, node: string): LoadedMoment | undefined {
  const t = ctx.tracks.get(node)!;
  const moments = ctx.seg.scenario === 'uninstall' ? t.unloadedMoments : t.loadedMoments;
  return moments.find(
    (m) => m.index > ctx.triggerIndex && (!changesKernel(ctx.seg.scenario) || (m.boot !== undefined && onNewKernel(ctx, node, m.boot.kver))),
  );
}

/**
 * Per node: time from the trigger (apply, upgrade, delete) to the driver loaded —
 * restored on the new kernel for upgrade/kernel-switch, unloaded for uninstall.
 */
export function nodeTimeToDriver(ctx: ScenarioContext, node: string): Measured<number> {
  const reason = needsTrigger(ctx);
  if (reason) return notMeasured(reason);
  const m = firstGoodMoment(ctx, node);
  if (m) return measured(m.t - ctx.trigger!.t, [ctx.trigger!.line, ...m.lines]);
  if (ctx.seg.status === 'interrupted') return notMeasured(`${ctx.seg.reason} (driver not yet in place on ${node})`);
  const what =
    ctx.seg.scenario === 'uninstall'
      ? 'driver not unloaded'
      : changesKernel(ctx.seg.scenario)
        ? 'driver not restored on the new kernel'
        : 'driver not loaded';
  const failed = ctx.seg.status === 'failed' ? `${ctx.seg.reason}; ` : '';
  return notMeasured(`${failed}${what} on ${node} by scenario end`);
}

/** Time until the driver was in place on every node (the slowest node). */
export function timeToDriver(ctx: ScenarioContext): Measured<number> {
  const per = ctx.nodes.map((n) => nodeTimeToDriver(ctx, n));
  const missing = per.find((m) => !isMeasured(m));
  if (missing) return missing;
  const values = per.filter(isMeasured);
  const slowest = values.reduce((a, b) => (b.value > a.value ? b : a));
  return measured(slowest.value, slowest.from);
}

/**
 * Day 1: the node's first boot with the install-time artifacts in place. Either the
 * artifacts were applied while the node was off (its next boot), or — as the lab does
 * it — the node booted in this scenario and the installer manifests were applied
 * before anything else happened (that boot).
 */
export function firstBoot(ctx: ScenarioContext, t: NodeTrack): Boot | undefined {
  const bootBefore = t.boots.filter((b) => b.index < ctx.triggerIndex).at(-1);
  const downSince = bootBefore && t.downs.some((d) => {
    const i = ctx.seg.events.indexOf(d);
    return i > bootBefore.index && i < ctx.triggerIndex;
  });
  if (bootBefore && !downSince) return bootBefore;
  return t.boots.find((b) => b.index > ctx.triggerIndex);
}

/** Day 1: was the driver loaded during the node's first boot (no extra reboot)? */
export function loadedAtFirstBoot(ctx: ScenarioContext, node: string): Measured<boolean> {
  const reason = needsTrigger(ctx);
  if (reason) return notMeasured(reason);
  const t = ctx.tracks.get(node)!;
  const first = firstBoot(ctx, t);
  if (!first) return notMeasured(ctx.seg.status === 'interrupted' ? `${ctx.seg.reason} (before ${node} booted)` : `no boot of ${node} recorded after the day-1 apply`);
  const m = firstGoodMoment(ctx, node);
  if (m && m.boot === first) return measured(true, m.lines);
  // Undecided while the node is still in its first boot of an interrupted run.
  const laterBoot = t.boots.find((b) => b.index > first.index);
  if (!laterBoot && ctx.seg.status === 'interrupted') return notMeasured(`${ctx.seg.reason} (during ${node}'s first boot)`);
  return measured(false, [first.line, ...(laterBoot ? [laterBoot.line] : []), ...(m ? m.lines : [])]);
}

/** Day 1: time from the node's first boot (agent answering) to the driver loaded. */
export function nodeTimeFromFirstBoot(ctx: ScenarioContext, node: string): Measured<number> {
  const reason = needsTrigger(ctx);
  if (reason) return notMeasured(reason);
  const t = ctx.tracks.get(node)!;
  const first = firstBoot(ctx, t);
  const m = firstGoodMoment(ctx, node);
  if (!first || !m) return notMeasured(ctx.seg.status === 'interrupted' ? `${ctx.seg.reason} (driver not yet loaded on ${node})` : `driver not loaded on ${node} by scenario end`);
  return measured(m.t - first.t, [first.line, ...m.lines]);
}

export function timeFromFirstBoot(ctx: ScenarioContext): Measured<number> {
  const per = ctx.nodes.map((n) => nodeTimeFromFirstBoot(ctx, n));
  const missing = per.find((m) => !isMeasured(m));
  if (missing) return missing;
  const slowest = per.filter(isMeasured).reduce((a, b) => (b.value > a.value ? b : a));
  return measured(slowest.value, slowest.from);
}

export function allLoadedAtFirstBoot(ctx: ScenarioContext): Measured<boolean> {
  const per = ctx.nodes.map((n) => loadedAtFirstBoot(ctx, n));
  const no = per.find((m) => isMeasured(m) && !m.value);
  if (no) return no;
  const missing = per.find((m) => !isMeasured(m));
  if (missing) return missing;
  return measured(true, per.flatMap((m) => (isMeasured(m) ? m.from : [])));
}
