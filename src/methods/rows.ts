/**
 * The rows of an evaluation: one per method variant, each with a stable id. The default
 * variant's row is named after the method (`layering`, `dtk`, `kmm`: the ids runs
 * recorded before variants were rows), every other variant `<method>-<variant>`. This
 * one id is what `evaluate --methods` takes, what events.jsonl records as `method`, and
 * what the report, its features table and the verdict key their rows by; the delivery
 * method and variant a row renders are looked up here and nowhere else.
 *
 * Plain data (no import of the method folders), so the event schema can use it; a test
 * checks it against every registered method's `variants`.
 */
import type { MethodId } from '../artifacts/artifact-set.js';

export const METHOD_ROW_IDS = ['layering', 'layering-on-cluster', 'dtk', 'dtk-tracking', 'kmm'] as const;
export type MethodRowId = (typeof METHOD_ROW_IDS)[number];

export interface MethodRow {
  id: MethodRowId;
  method: MethodId;
  variant: string;
  /**
   * The variant's API depends on the OpenShift version (on-cluster layering: which
   * MachineOSConfig API exists), so a release that names none cannot render it.
   */
  needsOpenShiftVersion?: boolean;
}

const ROWS: Record<MethodRowId, Omit<MethodRow, 'id'>> = {
  layering: { method: 'layering', variant: 'off-cluster' },
  'layering-on-cluster': { method: 'layering', variant: 'on-cluster', needsOpenShiftVersion: true },
  dtk: { method: 'dtk', variant: 'pinned' },
  'dtk-tracking': { method: 'dtk', variant: 'tracking' },
  kmm: { method: 'kmm', variant: 'in-cluster-build' },
};

export function isMethodRowId(id: string): id is MethodRowId {
  return (METHOD_ROW_IDS as readonly string[]).includes(id);
}

/** The method and variant a row evaluates. */
export function methodRow(id: MethodRowId): MethodRow {
  return { id, ...ROWS[id] };
}

/** The row of a method's variant (undefined when the method has no such variant). */
export function rowIdOf(method: MethodId, variant: string): MethodRowId | undefined {
  return METHOD_ROW_IDS.find((id) => ROWS[id].method === method && ROWS[id].variant === variant);
}
