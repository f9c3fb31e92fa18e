/**
 * Attributable impact: what a method adds to what the cluster does anyway. An upgrade
 * or kernel switch reboots every node whatever the method; the baseline (the same
 * scenario with no driver method, see evaluation/scenarios/baseline.ts) measures that,
 * and attributable = with the method − baseline, per impact figure.
 *
 * Never clamped: a baseline that measured more than the method's run gives a negative
 * figure, shown as such with a note (run-to-run variation, or the method really
 * shortened something). Without a baseline figure, attributable is "not measured" and
 * says why.
 */
import { isMeasured, measured, notMeasured, type Measured, type Scalar } from './measured.js';

/** The figures a baseline is subtracted from (counts and durations a user's cluster feels). */
export const IMPACT_METRICS = ['reboots', 'downtimeTotalMs', 'downtimeLongestMs', 'canaryDisruptionMs', 'canaryFailedProbes', 'podRestarts'] as const;
export type ImpactMetric = (typeof IMPACT_METRICS)[number];

export const NO_BASELINE = 'no baseline in this run (evaluate ran with --no-baseline, or the run predates baselines)';

/**
 * with − baseline. `baseline` undefined: no baseline segment in the run (`why` says
 * so, default NO_BASELINE).
 */
export function attributable(withMethod: Measured<Scalar> | undefined, baseline: Measured<Scalar> | undefined, why = NO_BASELINE, unit: 'ms' | 'count' = 'count'): Measured<number> {
  if (!withMethod) return notMeasured('not derived for this scenario');
  if (!isMeasured(withMethod)) return notMeasured(`not measured with the method: ${withMethod.notMeasured}`);
  if (typeof withMethod.value !== 'number') return notMeasured('not a number');
  if (!baseline) return notMeasured(why);
  if (!isMeasured(baseline)) return notMeasured(`baseline not measured: ${baseline.notMeasured}`);
  if (typeof baseline.value !== 'number') return notMeasured('baseline figure is not a number');
  const diff = withMethod.value - baseline.value;
  return measured(
    diff,
    [...withMethod.from, ...baseline.from],
    diff < 0 ? `the baseline measured more (${say(baseline.value, unit)}) than the run with the method (${say(withMethod.value, unit)}): variation between runs, not a gain to count on` : undefined,
  );
}

/** Attributable figures of one (method, scenario), from its metrics and the baseline's (undefined: none in the run). */
export function attributableMetrics(
  withMethod: Record<string, Measured<Scalar>>,
  baseline: Record<string, Measured<Scalar>> | undefined,
  why?: string,
): Record<string, Measured<number>> {
  const out: Record<string, Measured<number>> = {};
  for (const id of IMPACT_METRICS) {
    if (!(id in withMethod)) continue;
    out[id] = attributable(withMethod[id], baseline ? (baseline[id] ?? notMeasured('not derived for the baseline')) : undefined, why, id.endsWith('Ms') ? 'ms' : 'count');
  }
  return out;
}

/** A figure in a note: durations in seconds (one decimal), counts as they are. */
function say(v: number, unit: 'ms' | 'count'): string {
  return unit === 'ms' ? `${(v / 1000).toFixed(1)} s` : String(v);
}
