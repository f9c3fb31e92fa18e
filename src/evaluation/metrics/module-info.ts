/**
 * What the kernel says about the loaded module: core size (/sys/module/<m>/coresize),
 * the taint it added (O = out-of-tree, E = unsigned…) and whether it is signed.
 * Taken from the last module-state of each module that reported the field while loaded.
 */
import { unavailable, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import type { RecordedEvent } from '../read-run.js';
import { moduleKey } from './measured.js';

function lastWith(ctx: ScenarioContext, module: string, field: string): RecordedEvent | undefined {
  return ctx.seg.events.filter((e) => e.kind === 'module-state' && moduleKey(e.data['module']) === moduleKey(module) && e.data['loaded'] === true && e.data[field] !== undefined).at(-1);
}

function perModule<T>(ctx: ScenarioContext, field: string, combine: (values: unknown[]) => T): Measured<T> {
  const reason = unavailable(ctx);
  if (reason) return notMeasured(reason);
  const events = ctx.modules.map((m) => [m, lastWith(ctx, m, field)] as const);
  const missing = events.find(([, e]) => !e);
  if (missing) return notMeasured(`no loaded module-state of ${missing[0]} reported ${field}`);
  return measured(combine(events.map(([, e]) => e!.data[field])), events.map(([, e]) => e!.line));
}

/** Sum of the modules' core sizes, in bytes. */
export function moduleCoreSize(ctx: ScenarioContext): Measured<number> {
  return perModule(ctx, 'coresizeBytes', (v) => v.reduce((a: number, b) => a + Number(b), 0));
}

/** Taint flags added by the modules (union in the kernel's order, e.g. "OE"; "" when none). */
export function moduleTaint(ctx: ScenarioContext): Measured<string> {
  return perModule(ctx, 'taint', (v) => [...new Set(v.map(String).join('').split(''))].join(''));
}

/** Every module signed? */
export function moduleSigned(ctx: ScenarioContext): Measured<boolean> {
  return perModule(ctx, 'signed', (v) => v.every((x) => x === true));
}
