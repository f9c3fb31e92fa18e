/**
 * Runs every (method, scenario) pair on a target, recording as it goes. A failing
 * scenario is recorded and the run goes on; a killed run keeps every line written so
 * far (no run-end → the report says "interrupted").
 */
import os from 'node:os';
import { methodRow, type MethodRowId } from '../methods/rows.js';
import type { DriverSpec } from '../driver/spec.js';
import { renderMethods } from '../methods/render.js';
import type { RenderOptionsInput } from '../methods/method.js';
import type { Target } from '../targets/target.js';
import type { Release } from '../release/release.js';
import { UserError } from '../errors.js';
import { BASELINE, type EventKind, type RowId, type ScenarioId } from './events.js';
import type { Recorder } from './recorder.js';
import { SCENARIOS } from './scenarios/scenarios.js';
import { BASELINE_SCENARIOS } from './scenarios/baseline.js';
import { markPlaceholders } from '../release/placeholders.js';
import { ScenarioNotApplicable, type ScenarioContext } from './scenarios/context.js';

export interface EvaluationOptions {
  runId: string;
  target: Target;
  recorder: Recorder;
  driver: DriverSpec;
  /** Rows to evaluate: method variants (src/methods/rows.ts). */
  methods: MethodRowId[];
  scenarios: ScenarioId[];
  /**
   * Run each scenario once with no driver method first (default true), so the report
   * can tell what a method adds from what the cluster does anyway.
   */
  baseline?: boolean;
  /** The user's constraints, recorded for the report's verdict. */
  constraints?: string[];
  /** Render options the target needs (pool; a registry for Day 1). */
  render: RenderOptionsInput;
  /** Day-1 renders need a registry reachable at install time. */
  day1Registry: string;
  settleTimeoutMs?: number;
  steadyMs?: number;
  /** Progress lines for people (stderr). */
  progress?: (line: string) => void;
}

/** Current method/scenario, stamped on every event a target emits. */
export interface RecordingScope {
  method?: RowId;
  scenario?: ScenarioId;
}

export function targetEmitter(recorder: Recorder, scope: RecordingScope, source: 'lab' | 'cluster', progress?: (line: string) => void) {
  return (kind: EventKind, data: Record<string, unknown>, node?: string) => {
    recorder.record(kind, data as never, { source, method: scope.method, scenario: scope.scenario, node });
    if (kind === 'progress' && progress) progress(`${node ? `${node}: ` : ''}${markPlaceholders(String(data.step))}`);
  };
}

/**
 * The order a row's scenarios run in: the release changes last. An upgrade or a kernel
 * switch moves the nodes to another kernel, and every scenario starts on the starting
 * release: after one, the lab starts fresh nodes (a cluster cannot go back at all), while
 * day2 → uninstall → upgrade each start where the one before left the nodes. The report's
 * columns keep the scenarios' own order.
 */
const RUN_ORDER: readonly ScenarioId[] = ['day1', 'day2', 'uninstall', 'upgrade', 'kernel-switch'];
export function runOrder(scenarios: readonly ScenarioId[]): ScenarioId[] {
  return [...scenarios].sort((a, b) => RUN_ORDER.indexOf(a) - RUN_ORDER.indexOf(b));
}

export async function runEvaluation(opts: EvaluationOptions, scope: RecordingScope): Promise<{ failed: number }> {
  const { target, recorder } = opts;
  const releases = target.releases();
  const baseline = opts.baseline !== false;
  recorder.record('run-start', {
    runId: opts.runId,
    target: target.kind,
    targetLabel: target.label,
    methods: opts.methods,
    scenarios: opts.scenarios,
    ...(baseline ? { baseline: true } : {}),
    nodes: target.nodes(),
    driver: { name: opts.driver.name, version: opts.driver.version, modules: opts.driver.modules.map((m) => m.name.replace(/-/g, '_')) },
    releases: { from: releases.from.kernelVersion ?? 'unknown', upgradeTo: releases.upgradeTo?.kernelVersion, switchTo: releases.realtime?.kernelVersion },
    host: { cpus: os.cpus().length, memoryBytes: os.totalmem() },
    ...(opts.constraints?.length ? { constraints: opts.constraints } : {}),
  });
  let failed = 0;
  // The baseline runs first: an interrupted run then still has it for what it measured.
  const rows: RowId[] = [...(baseline ? [BASELINE] : []), ...opts.methods];
  const clock = new StepClock(rows.flatMap((method) => runOrder(opts.scenarios).map((scenario) => ({ scenario, baseline: method === BASELINE }))));
  for (const method of rows) {
    const row = method === BASELINE ? undefined : methodRow(method);
    for (const scenario of runOrder(opts.scenarios)) {
      scope.method = method;
      scope.scenario = scenario;
      clock.next();
      const say = (step: string) => opts.progress?.(`[${clock.prefix()}] ${method}/${scenario}: ${markPlaceholders(step)}`);
      const ctx: ScenarioContext = {
        target,
        method,
        scenario,
        driver: opts.driver,
        render: (given, { day1 }) => {
          if (!row) throw new Error('the baseline renders nothing');
          const release = renderedRelease(given, row.needsOpenShiftVersion ? target.openshiftVersion : undefined);
          let set;
          try {
            // The target's registry (the lab's) is for the rows whose README pushes images off-cluster;
            // dtk tracking builds and pushes inside the cluster and refuses a --registry.
            const registry = day1 ? opts.day1Registry : row.method === 'dtk' && row.variant === 'tracking' ? undefined : opts.render.registry;
            set = renderMethods(opts.driver, release, row.method, { ...opts.render, variant: row.variant, day1, registry })[0]!;
          } catch (e) {
            // The renderer refuses what the variant cannot do here, saying why (no install-time
            // form, no MachineOSConfig on this OpenShift version): the scenario is not run, not failed.
            if (e instanceof UserError) throw new ScenarioNotApplicable(`${day1 ? 'no Day-1 form' : `not available for ${release.version ? `OpenShift ${release.version}` : 'this release'}`}: ${e.message.split('\n')[0]}`);
            throw e;
          }
          // What the figures that follow were measured with: the report's features column for this row reads it.
          const about = [release.kernelVersion, release.version && (given.version ? `OpenShift ${release.version}` : `rendered as OpenShift ${release.version}, the semantics ${target.label} follows`)].filter(Boolean).join(', ');
          recorder.record('render', { method: set.method, variant: set.variant ?? row.variant, day1, ...(about ? { release: about } : {}) }, { method, scenario });
          return set;
        },
        record: (kind, data, node) => recorder.record(kind, data, { method, scenario, node }),
        settleTimeoutMs: opts.settleTimeoutMs ?? 60_000,
        steadyMs: opts.steadyMs ?? 3_000,
        progress: (step) => {
          recorder.record('progress', { step }, { method, scenario });
          say(step);
        },
      };
      recorder.record('scenario-start', row ? { variant: row.variant } : {}, { method, scenario });
      const support = target.scenarioSupport?.()[scenario];
      if (support && !support.supported) {
        recorder.record('scenario-end', { ok: false, skipped: true, error: `not run on ${target.label}: ${support.reason ?? 'not supported'}` }, { method, scenario });
        say(`skipped: ${support.reason ?? 'not supported'}`);
        clock.skip();
        continue;
      }
      say('start');
      // Read in the scenario's segment, whether it succeeded or failed (a failed build may have pushed).
      const atEnd = () => target.afterScenario?.().catch((e: Error) => say(`after the scenario: ${e.message.split('\n')[0]}`));
      try {
        await (method === BASELINE ? BASELINE_SCENARIOS : SCENARIOS)[scenario](ctx);
        await atEnd();
        recorder.record('scenario-end', { ok: true }, { method, scenario });
        say('done');
      } catch (e) {
        if (e instanceof ScenarioNotApplicable) {
          recorder.record('scenario-end', { ok: false, skipped: true, error: e.message }, { method, scenario });
          say(`not run: ${e.message}`);
          clock.skip();
          continue;
        }
        failed++;
        const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
        await atEnd();
        recorder.record('scenario-end', { ok: false, error: message }, { method, scenario });
        say(`FAILED: ${message}`);
      }
    }
  }
  scope.method = undefined;
  scope.scenario = undefined;
  await target.close();
  recorder.record('run-end', { status: 'completed' });
  return { failed };
}

/** A release without an OpenShift version gets the one the target follows, said in its sources. */
function renderedRelease(release: Release, version: string | undefined): Release {
  if (release.version || !version) return release;
  return { ...release, version, sources: { ...release.sources, version: `the OpenShift version whose semantics the target emulates (${version})` } };
}

const mmss = (ms: number) => {
  const s = Math.round(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

/** One step of the run as the clock estimates it: a scenario, of the baseline or of a method row. */
export interface ClockStep {
  scenario: string;
  baseline: boolean;
}

/**
 * "02:13 3/15 ~4 min left": elapsed time, the step counter, and the time left estimated
 * from the steps done so far (none before the first step has finished). A step not done is
 * estimated by the finished ones most like it: the same scenario of a method row (or of the
 * baseline), else any of a method row (or of the baseline), else any — a baseline segment
 * applies and builds nothing, and an upgrade reboots where an uninstall may not, so one
 * average over all of them said "~3 min left" a quarter of an hour early.
 */
export class StepClock {
  private step = 0;
  private stepStarted = 0;
  private readonly started: number;
  /** Durations of the finished steps, by index. */
  private readonly took: (number | undefined)[] = [];
  constructor(
    readonly steps: readonly ClockStep[],
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }
  get total(): number {
    return this.steps.length;
  }
  next(): void {
    const now = this.now();
    if (this.step > 0 && !this.skipped) this.took[this.step - 1] = now - this.stepStarted;
    this.skipped = false;
    this.step++;
    this.stepStarted = now;
  }
  /** The current step was not run (not applicable, not supported): its time says nothing of the others. */
  skip(): void {
    this.skipped = true;
  }
  private skipped = false;
  /** What a step not done yet is expected to take (undefined: nothing finished). */
  private expected(s: ClockStep): number | undefined {
    const finished = this.took.flatMap((ms, i) => (ms === undefined ? [] : [{ ms, step: this.steps[i]! }]));
    const mean = (xs: { ms: number }[]) => (xs.length ? xs.reduce((a, x) => a + x.ms, 0) / xs.length : undefined);
    const kin = finished.filter((f) => f.step.baseline === s.baseline);
    return mean(kin.filter((f) => f.step.scenario === s.scenario)) ?? mean(kin) ?? mean(finished);
  }
  prefix(): string {
    const now = this.now();
    const spent = now - this.started;
    let left: number | undefined;
    if (this.took.some((ms) => ms !== undefined)) {
      // The current step and those after it, less what the current one has used.
      left = this.steps.slice(this.step - 1).reduce((a, s) => a + this.expected(s)!, 0);
      left = Math.max(0, left - (now - this.stepStarted));
    }
    const est = left === undefined ? '' : ` ~${left < 60_000 ? '<1' : Math.round(left / 60_000)} min left`;
    return `${mmss(spent)} ${this.step}/${this.total}${est}`;
  }
}
