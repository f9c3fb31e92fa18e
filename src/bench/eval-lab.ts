/**
 * Bench figures of evaluations on the lab (`kmodlab lab up` + the cluster target, as
 * `kmodlab evaluate` runs them): a small set that takes minutes, and the full default
 * evaluation cold and warm.
 *
 * A run in which a scenario failed did not do all the work, so its time is not a figure
 * (and neither is a ratio with it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadedDriver } from '../driver/load.js';
import { SCENARIO_IDS, type ScenarioId } from '../evaluation/events.js';
import { Recorder } from '../evaluation/recorder.js';
import { runEvaluation, targetEmitter, type RecordingScope } from '../evaluation/run-evaluation.js';
import { METHOD_ROW_IDS, type MethodRowId } from '../methods/rows.js';
import type { LabReleaseKernels } from '../targets/lab/kernels/lab-releases.js';
import { LabApiTarget } from '../targets/lab/lab-api-target.js';
import { LAB_SETTLE_TIMEOUT_S } from '../targets/lab/settle-timeout.js';
import { figure, notAFigure, type Figure } from './figures.js';

export interface EvaluationSet {
  methods: MethodRowId[];
  scenarios: ScenarioId[];
  baseline: boolean;
}

/** Three rows × day2 and uninstall, one node, no baseline: minutes, not an hour. */
export const SMALL_SET: EvaluationSet = { methods: ['layering', 'dtk', 'kmm'], scenarios: ['day2', 'uninstall'], baseline: false };

/** What `kmodlab evaluate` runs with no arguments: 5 rows + the baseline × 5 scenarios. */
export const DEFAULT_SET: EvaluationSet = { methods: [...METHOD_ROW_IDS], scenarios: [...SCENARIO_IDS], baseline: true };

/** Wall time of one evaluation of `set`, or why it is not a figure. */
export async function timeEvaluation(label: string, set: EvaluationSet, driver: LoadedDriver, kernels: LabReleaseKernels): Promise<{ seconds?: number; why?: string }> {
  const runDir = mkdtempSync(path.join(os.tmpdir(), `kmodlab-bench-eval-${label.replace(/\W+/g, '-')}-`));
  const recorder = new Recorder(runDir);
  const scope: RecordingScope = {};
  const progress = (l: string) => process.stderr.write(`bench ${label}: ${l}\n`);
  const emit = targetEmitter(recorder, scope, 'lab', progress);
  const t0 = performance.now();
  let failed = 0;
  let target: LabApiTarget | undefined;
  try {
    // The same construction and timings as `kmodlab evaluate` (cli/cmds/evaluate.ts).
    target = await LabApiTarget.create({ runDir, driver, kernels, emit });
    const r = await runEvaluation(
      { runId: `bench-${label}`, target, recorder, driver: driver.spec, ...set, ...target.evaluationOptions(), settleTimeoutMs: LAB_SETTLE_TIMEOUT_S * 1000, steadyMs: 3_000, progress },
      scope,
    );
    failed = r.failed;
  } catch (e) {
    recorder.close();
    return { why: `the run stopped after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(e as Error).message.split('\n')[0]} (${path.join(runDir, 'events.jsonl')})` };
  }
  recorder.close();
  const seconds = (performance.now() - t0) / 1000;
  if (failed) return { why: `${failed} scenario(s) failed after ${seconds.toFixed(1)} s (${path.join(runDir, 'events.jsonl')})` };
  rmSync(runDir, { recursive: true, force: true });
  return { seconds };
}

/** Reports the wall time of `set` (or why it is not a figure); returns its seconds, undefined when the run did not do all its work. */
export async function benchEvaluation(report: (f: Figure) => void, name: string, set: EvaluationSet, driver: LoadedDriver, kernels: LabReleaseKernels, goal?: string): Promise<number | undefined> {
  const r = await timeEvaluation(name, set, driver, kernels);
  report(r.seconds !== undefined ? figure(name, 's', [r.seconds], goal) : notAFigure(name, 's', r.why!, goal));
  return r.seconds;
}

export const SMALL_SET_NAME = `evaluation of ${SMALL_SET.methods.join('+')} × ${SMALL_SET.scenarios.join(',')}, 1 node, no baseline`;
