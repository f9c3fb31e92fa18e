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
import { run } from '../targets/lab/host/run.js';
import { requireTool } from '../targets/lab/host/tools.js';
import { forgetOffClusterBuilds } from '../targets/lab/images/off-cluster-build.js';
import { LAB_REPOSITORY_PATH, openRegistry, registryAnswers, registryDir } from '../targets/lab/images/registry.js';
import { IMAGE_ROLES } from '../targets/lab/images/release-images.js';
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

/**
 * Deletes from kmodlab's own registry every image that is not a lab release image (driver
 * images, layered OS images, driver sources an earlier run pushed), so KMM's pull check
 * finds no image and builds, as on a cluster that never had it. A registry the user named
 * is never touched (undefined). The release images stay: they are the lab, not the run's work.
 */
async function deleteBuiltImages(): Promise<number | undefined> {
  const registry = await openRegistry();
  let deleted: number | undefined;
  try {
    deleted = registry.managed ? await deleteNonReleaseImages(registry.host) : undefined;
  } finally {
    await registry.stop();
  }
  // Their layers go too (distribution's garbage-collect, run only while no registry serves
  // the storage): a cold run pushes every blob again instead of finding it stored.
  if (deleted && !(await registryAnswers(registry.host))) {
    await run(requireTool('docker-registry'), ['garbage-collect', '--delete-untagged', path.join(registryDir(), 'config.yml')], { timeoutMs: 300_000 });
  }
  return deleted;
}

/** Deletes every tagged image of the registry at `host` outside the lab release's repositories; returns how many. */
async function deleteNonReleaseImages(host: string): Promise<number> {
  const base = `http://${host}/v2`;
  const json = async <T>(url: string): Promise<T> => {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    return (await r.json()) as T;
  };
  const release = new Set(IMAGE_ROLES.map((role) => `${LAB_REPOSITORY_PATH}/${role}`));
  const { repositories } = await json<{ repositories?: string[] }>(`${base}/_catalog?n=1000`);
  let deleted = 0;
  for (const repo of (repositories ?? []).filter((r) => r.startsWith(`${LAB_REPOSITORY_PATH}/`) && !release.has(r))) {
    const { tags } = await json<{ tags?: string[] | null }>(`${base}/${repo}/tags/list`).catch(() => ({ tags: [] }));
    for (const tag of tags ?? []) {
      // Deleting a manifest untags every tag on it: a tag already gone is no error.
      const r = await run(requireTool('skopeo'), ['delete', '--tls-verify=false', `docker://${host}/${repo}:${tag}`], { allowFailure: true, timeoutMs: 60_000 });
      if (r.code === 0) deleted++;
    }
  }
  return deleted;
}

/**
 * Wall time of one evaluation of `set`, or why it is not a figure. `cold`: kmodlab's
 * off-cluster build records are forgotten and the images earlier runs built are deleted
 * first, so every build does its work the first time the run needs it (in-cluster builds
 * never reuse layers); later scenarios of the same run reuse what it built, as a person's
 * re-apply would.
 */
export async function timeEvaluation(label: string, set: EvaluationSet, driver: LoadedDriver, kernels: LabReleaseKernels, opts: { cold?: boolean } = {}): Promise<{ seconds?: number; why?: string }> {
  if (opts.cold) {
    const forgotten = forgetOffClusterBuilds();
    const deleted = await deleteBuiltImages();
    if (deleted === undefined) return { why: 'the lab registry is one you named: kmodlab does not delete its images, so the run would not be cold' };
    process.stderr.write(`bench ${label}: forgot ${forgotten} off-cluster build record(s); deleted ${deleted} built image(s) from the lab registry\n`);
  }
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
export async function benchEvaluation(report: (f: Figure) => void, name: string, set: EvaluationSet, driver: LoadedDriver, kernels: LabReleaseKernels, goal?: string, opts: { cold?: boolean } = {}): Promise<number | undefined> {
  const r = await timeEvaluation(name, set, driver, kernels, opts);
  report(r.seconds !== undefined ? figure(name, 's', [r.seconds], goal) : notAFigure(name, 's', r.why!, goal));
  return r.seconds;
}

export const SMALL_SET_NAME = `evaluation of ${SMALL_SET.methods.join('+')} × ${SMALL_SET.scenarios.join(',')}, 1 node, no baseline`;
