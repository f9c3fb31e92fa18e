/**
 * Nodes left on the old release after an upgrade or kernel switch: the kernel of each
 * node's last boot compared with the kernel the change should bring (from run-start
 * releases), or — when that mapping is unknown — with the node's kernel before the change.
 * Layering shows here: the MCO keeps the layered image, so the node never moves.
 */
import { changesKernel, needsEnd, needsTrigger, type ScenarioContext } from './context.js';
import { onNewKernel } from './loading.js';
import { measured, notMeasured, type Measured } from './measured.js';

export function nodesLeftBehind(ctx: ScenarioContext): { node: string; kver: string; line: number }[] {
  return ctx.nodes.flatMap((n) => {
    const b = ctx.tracks.get(n)!.lastBoot;
    return b && !onNewKernel(ctx, n, b.kver) ? [{ node: n, kver: b.kver, line: b.line }] : [];
  });
}

export function nodesLeftOnOldRelease(ctx: ScenarioContext): Measured<number> {
  if (!changesKernel(ctx.seg.scenario)) return notMeasured('only for upgrade and kernel switch');
  const reason = needsTrigger(ctx) ?? needsEnd(ctx);
  if (reason) return notMeasured(reason);
  const unknown = ctx.nodes.find((n) => !ctx.tracks.get(n)!.lastBoot);
  if (unknown) return notMeasured(`${unknown} never reported up`);
  const left = nodesLeftBehind(ctx);
  const from = ctx.nodes.map((n) => ctx.tracks.get(n)!.lastBoot!.line);
  return measured(left.length, from, left.length > 0 ? left.map((l) => `${l.node} on ${l.kver}`).join(', ') : undefined);
}
