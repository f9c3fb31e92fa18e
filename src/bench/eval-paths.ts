/**
 * Bench figures: one evaluation set run through the lab's API (`--target lab-api`: `lab
 * up` + the cluster target) and on the old lab-only path (`--target lab`, LabTarget),
 * in the same bench run, and their ratio (issue 9: the API path ≤ 1.1 × the old one).
 *
 * The set is small enough for minutes: three rows (layering, dtk, kmm) × day2 and
 * uninstall, one node, no baseline — the settle and steady-state times `kmodlab evaluate`
 * uses for each target. A run in which a scenario failed did not do all the work, so its
 * time is not a figure (and neither is a ratio with it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadedDriver } from '../driver/load.js';
import type { ScenarioId } from '../evaluation/events.js';
import { Recorder } from '../evaluation/recorder.js';
import { runEvaluation, targetEmitter, type RecordingScope } from '../evaluation/run-evaluation.js';
import type { MethodRowId } from '../methods/rows.js';
import type { LabReleaseKernels } from '../targets/lab/kernels/lab-releases.js';
import { LabApiTarget } from '../targets/lab/lab-api-target.js';
import { LabTarget } from '../targets/lab/lab-target.js';
import { LAB_REGISTRY } from '../targets/lab/release.js';
import { figure, notAFigure, type Figure } from './figures.js';

export const EVAL_PATHS_SET: { methods: MethodRowId[]; scenarios: ScenarioId[] } = { methods: ['layering', 'dtk', 'kmm'], scenarios: ['day2', 'uninstall'] };

const SET_NAME = `${EVAL_PATHS_SET.methods.join('+')} × ${EVAL_PATHS_SET.scenarios.join(',')}, 1 node, no baseline`;

/** Wall time of the set on one path, or why it is not a figure. */
async function timeSet(which: 'lab-api' | 'lab', driver: LoadedDriver, kernels: LabReleaseKernels): Promise<{ seconds?: number; why?: string }> {
  const runDir = mkdtempSync(path.join(os.tmpdir(), `kmodlab-bench-paths-${which}-`));
  const recorder = new Recorder(runDir);
  const scope: RecordingScope = {};
  const emit = targetEmitter(recorder, scope, 'lab', (l) => process.stderr.write(`bench ${which}: ${l}\n`));
  const t0 = performance.now();
  let failed = 0;
  try {
    // The same construction and timings as `kmodlab evaluate --target <which>` (cli/cmds/evaluate.ts).
    const api = which === 'lab-api' ? await LabApiTarget.create({ runDir, driver, kernels, emit }) : undefined;
    const target = api ?? new LabTarget({ runDir, driver, kernels, emit });
    const r = await runEvaluation(
      {
        runId: `bench-paths-${which}`,
        target,
        recorder,
        driver: driver.spec,
        ...EVAL_PATHS_SET,
        baseline: false,
        render: { pool: target.pool(), ...(api ? { registry: api.imageRegistry() } : {}) },
        day1Registry: `${LAB_REGISTRY}/kmodlab`,
        settleTimeoutMs: (which === 'lab-api' ? 300 : 30) * 1000,
        steadyMs: 3_000,
        progress: (l) => process.stderr.write(`bench ${which}: ${l}\n`),
      },
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

/** Reports the set's time on each path and the ratio; returns false when a run did not do all its work. */
export async function benchEvalPaths(report: (f: Figure) => void, driver: LoadedDriver, kernels: LabReleaseKernels): Promise<boolean> {
  const api = await timeSet('lab-api', driver, kernels);
  const old = await timeSet('lab', driver, kernels);
  const apiName = `evaluation of ${SET_NAME} through the lab API`;
  const oldName = `evaluation of ${SET_NAME} on the old lab path`;
  report(api.seconds !== undefined ? figure(apiName, 's', [api.seconds]) : notAFigure(apiName, 's', api.why!));
  report(old.seconds !== undefined ? figure(oldName, 's', [old.seconds]) : notAFigure(oldName, 's', old.why!));
  const ratioName = 'evaluation through the lab API ÷ old lab path (same set, same bench run)';
  if (api.seconds !== undefined && old.seconds !== undefined) report(figure(ratioName, '×', [api.seconds / old.seconds], '≤ 1.1'));
  else report(notAFigure(ratioName, '×', 'one of the two runs did not do all its work (see above)', '≤ 1.1'));
  return api.seconds !== undefined && old.seconds !== undefined;
}
