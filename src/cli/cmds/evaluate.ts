/**
 * `kmodlab evaluate`: every method through every scenario on a target (the lab by
 * default), recorded to <run>/events.jsonl as it happens, then reported.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { hiddenAlias, mergeAlias } from '../flag-aliases.js';
import { METHOD_ROW_IDS, methodRow, type MethodRowId } from '../../methods/rows.js';
import { loadDriver, type LoadedDriver } from '../../driver/load.js';
import type { RenderOptionsInput } from '../../methods/method.js';
import type { Target, TargetEmit } from '../../targets/target.js';
import { REFERENCE_DRIVER_FILE } from '../../driver/reference.js';
import { ExitCode, ExitStatus, UserError } from '../../errors.js';
import { SCENARIO_IDS, type ScenarioId } from '../../evaluation/events.js';
import { EVENTS_FILE, Recorder } from '../../evaluation/recorder.js';
import { runEvaluation, targetEmitter, type RecordingScope } from '../../evaluation/run-evaluation.js';
import { chooseLabKernels, type LabReleaseKernels } from '../../targets/lab/kernels/lab-releases.js';
import { listKernels } from '../../targets/lab/kernels/catalog.js';
import { LAB_SETTLE_TIMEOUT_S } from '../../targets/lab/settle-timeout.js';
import { renderMethods } from '../../methods/render.js';
import { poolFlag } from '../../methods/custom-pool.js';
import { writeArtifactSet } from '../../artifacts/artifact-set.js';
import type { CliIO } from '../output.js';
import { writeRunReports } from './report.js';
import { reportOnInterrupt } from '../interrupt.js';
import { CONSTRAINT_IDS, type ConstraintId } from '../../report/verdict.js';

interface EvaluateFlags {
  target: string;
  driver: string;
  methods: string;
  /** Hidden alias of --methods (render's spelling). */
  method?: string;
  scenarios: string;
  /** False with --no-baseline (commander's default: true). */
  baseline?: boolean;
  nodes: string;
  out?: string;
  kernel?: string;
  upgradeKernel?: string;
  rtKernel?: string;
  memory: string;
  settleTimeout?: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  prometheusUrl?: string;
  observeOnly?: boolean;
  dryRun?: string;
  upgradeTo?: string;
  yesUpgradeMyCluster?: boolean;
  day1InstallDir?: string;
  pool?: string;
  layeredImage?: string;
  steady?: string;
  registry?: string;
  overwrite?: boolean;
  constraints?: string;
}

function parseList<T extends string>(value: string, allowed: readonly T[], flag: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) {
    if (!(allowed as readonly string[]).includes(i)) throw new UserError(`${flag}: unknown value "${i}": expected a comma-separated list of ${allowed.join(', ')}`);
  }
  if (items.length === 0) throw new UserError(`${flag}: expected at least one of ${allowed.join(', ')}`);
  return items as T[];
}

function positiveInt(value: string, flag: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UserError(`${flag}: expected a whole number from 1 to ${max}, got "${value}"`);
  return n;
}

export function registerEvaluateCommand(program: Command, io: CliIO): void {
  program
    .command('evaluate')
    .description('Run each delivery method through each scenario on a target (default: the lab) and report measured figures.')
    .option('--target <target>', 'lab (`kmodlab lab up`: QEMU nodes on real kernels behind a Kubernetes API, evaluated by the same code as a cluster) | cluster', 'lab')
    .option('--driver <file>', 'driver spec (YAML)', REFERENCE_DRIVER_FILE)
    .option('--methods <list>', `comma-separated rows, one per method variant: ${METHOD_ROW_IDS.join(',')} (--method works too)`, METHOD_ROW_IDS.join(','))
    .addOption(hiddenAlias('--method <list>', 'alias of --methods'))
    .option('--scenarios <list>', `comma-separated: ${SCENARIO_IDS.join(',')}`, SCENARIO_IDS.join(','))
    .option('--no-baseline', 'skip the baseline (each scenario run once with no driver method); the report then cannot say what a method adds to reboots, downtime, canary disruption and pod restarts')
    .option('--nodes <n>', 'lab nodes (1 = single-node OpenShift)', '1')
    .option('--constraints <list>', `the report opens with the verdict for these: ${CONSTRAINT_IDS.join(',')} (default: none, rank on measured impact)`)
    .option('--out <dir>', 'run directory (default runs/<timestamp>); it holds one run')
    .option('--overwrite', 'replace the run already in --out')
    .option('--kernel <kver>', 'lab: starting release kernel (default: chosen from the installed kernels)')
    .option('--upgrade-kernel <kver>', 'lab: kernel of the release to upgrade to')
    .option('--rt-kernel <kver>', 'lab: realtime kernel for the kernel switch')
    .option('--memory <MiB>', 'lab: memory per node', '256')
    .option('--settle-timeout <seconds>', `how long to wait for the driver after each action (default: lab ${LAB_SETTLE_TIMEOUT_S}, cluster 900)`)
    .option('--steady <seconds>', 'steady-state sampling once the driver is in place (default: lab 3, cluster 300)')
    .option('--kubeconfig <file>', 'cluster: kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'cluster: kubeconfig context')
    .option('--namespace <ns>', "cluster: kmodlab's own namespace for probe pods and the canary (default kmodlab)")
    .option('--prometheus-url <url>', 'cluster: Prometheus/Thanos querier (default: the openshift-monitoring thanos-querier route)')
    .option('--observe-only', 'cluster: read verbs only; measure an installation someone else applies')
    .option('--dry-run <mode>', 'cluster: "server" sends every write with dryRun=All (nothing is changed)')
    .option('--upgrade-to <version>', 'cluster: run the upgrade scenario to this OpenShift version (also needs --yes-upgrade-my-cluster)')
    .option('--yes-upgrade-my-cluster', 'cluster: confirm that the upgrade scenario may upgrade the cluster')
    .option('--day1-install-dir <dir>', 'cluster: write the Day-1 manifests here (Day 1 needs install time)')
    .option('--pool <pool>', 'cluster: MachineConfigPool / node role the driver goes to (default: the pool that holds the nodes: worker, or master on single-node OpenShift); a pool with 0 machines is refused')
    .option('--layered-image <pullspec>', 'cluster: layering: the layered OS image you built and pushed, by digest (<repository>@sha256:<digest>); without it the layering MachineConfig is not applied')
    .option('--registry <prefix>', 'cluster: repository prefix for Day-1 images (with --day1-install-dir)')
    .action(async (flags: EvaluateFlags, cmd: Command) => {
      mergeAlias(cmd, flags, 'methods', 'method', '--methods', '--method');
      const code = await runEvaluate(flags, io);
      if (code !== ExitCode.ok) throw new ExitStatus(code);
    });
}

const CLUSTER_ONLY = ['kubeconfig', 'context', 'namespace', 'prometheusUrl', 'observeOnly', 'dryRun', 'upgradeTo', 'yesUpgradeMyCluster', 'day1InstallDir', 'pool', 'registry', 'layeredImage'] as const;
const LAB_ONLY = ['kernel', 'upgradeKernel', 'rtKernel'] as const;

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export async function runEvaluate(flags: EvaluateFlags, io: CliIO): Promise<number> {
  // `lab-api` named the lab brought up with `kmodlab lab up` while the lab also had an
  // orchestration of its own; it is the only lab now, and the old name still works.
  if (flags.target === 'lab-api') flags.target = 'lab';
  if (flags.target !== 'lab' && flags.target !== 'cluster') {
    throw new UserError(`--target ${flags.target}: expected lab or cluster`);
  }
  const misplaced = (flags.target === 'cluster' ? LAB_ONLY : CLUSTER_ONLY).filter((k) => flags[k] !== undefined);
  if (misplaced.length) {
    // Where the first misplaced flag does apply (all of them share it: they are of one kind).
    const where = (CLUSTER_ONLY as readonly string[]).includes(misplaced[0]!) ? 'cluster' : 'lab';
    throw new UserError(`${misplaced.map(flagName).join(', ')} ${misplaced.length > 1 ? 'apply' : 'applies'} to --target ${where}, not --target ${flags.target}`);
  }
  if (flags.dryRun !== undefined && flags.dryRun !== 'server') throw new UserError(`--dry-run ${flags.dryRun}: only --dry-run=server is supported (the API server validates and applies nothing)`);
  if (flags.dryRun && flags.observeOnly) throw new UserError('--dry-run=server and --observe-only conflict: dry-run sends writes (not persisted), observe-only sends none; pick one');
  if (flags.upgradeTo && !flags.yesUpgradeMyCluster) throw new UserError('--upgrade-to upgrades a real cluster: add --yes-upgrade-my-cluster to confirm');
  const methods = parseList<MethodRowId>(flags.methods, METHOD_ROW_IDS, '--methods');
  const scenarios = parseList<ScenarioId>(flags.scenarios, SCENARIO_IDS, '--scenarios');
  const constraints = flags.constraints === undefined ? [] : parseList<ConstraintId>(flags.constraints, CONSTRAINT_IDS, '--constraints');
  const lab = flags.target !== 'cluster';
  // Durations differ by orders of magnitude: a lab node reboots in seconds, a cluster node in minutes.
  const settle = positiveInt(flags.settleTimeout ?? String(lab ? LAB_SETTLE_TIMEOUT_S : 900), '--settle-timeout', 24 * 3600);
  const steady = positiveInt(flags.steady ?? (lab ? '3' : '300'), '--steady', 24 * 3600);
  const driver = await loadDriver(flags.driver);
  // Everything the user gave is checked before the run directory is created.
  const labSetup = lab ? checkLabFlags(flags, scenarios) : undefined;
  if (!lab) checkClusterFlags(flags);
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = path.resolve(flags.out ?? path.join('runs', runId));
  claimRunDir(runDir, Boolean(flags.overwrite));
  const recorder = new Recorder(runDir);
  const scope: RecordingScope = {};
  const progress = (line: string) => io.stderr(`${line}\n`);
  const emitProgress = (l: string) => progress(`        ${l}`);
  const prepared = labSetup
    ? await prepareLab(labSetup, driver, runDir, targetEmitter(recorder, scope, 'lab', emitProgress))
    : await prepareCluster(flags, driver, targetEmitter(recorder, scope, 'cluster', emitProgress), methods, io);
  io.stderr(`kmodlab evaluate: ${[...(flags.baseline !== false ? ['baseline'] : []), ...methods].join(', ')} × ${scenarios.join(', ')} on ${prepared.target.label}${prepared.about}\nrecording to ${recorder.file}\n`);
  const stopHandlers = reportOnInterrupt({ runDir, recorder, io });
  const { failed } = await runEvaluation(
    { runId, target: prepared.target, recorder, driver: driver.spec, methods, scenarios, baseline: flags.baseline !== false, constraints, render: prepared.render, day1Registry: prepared.day1Registry, settleTimeoutMs: settle * 1000, steadyMs: steady * 1000, progress },
    scope,
  );
  stopHandlers();
  recorder.close();
  io.stdout(await writeRunReports(runDir));
  io.stderr(`reports: ${path.join(runDir, 'report.md')}, report.json, report.html${failed ? `\n${failed} scenario(s) failed: see the report (exit ${ExitCode.scenarioFailed})` : ''}\n`);
  return failed ? ExitCode.scenarioFailed : ExitCode.ok;
}

/**
 * A run directory holds one run: events.jsonl is appended to, and a second run in it
 * would leave `report` showing only the first. An existing run is replaced only with
 * --overwrite; a non-empty directory that is not a run is never emptied.
 */
function claimRunDir(runDir: string, overwrite: boolean): void {
  if (!existsSync(runDir)) return;
  if (!statSync(runDir).isDirectory()) throw new UserError(`--out ${runDir}: exists and is not a directory`);
  const entries = readdirSync(runDir);
  if (entries.length === 0) return;
  if (!entries.includes(EVENTS_FILE)) {
    throw new UserError(`--out ${runDir}: directory is not empty and holds no run (no ${EVENTS_FILE}): choose a new or empty directory`);
  }
  if (!overwrite) {
    throw new UserError(`--out ${runDir}: already holds a run (${EVENTS_FILE}); a run directory holds one run`, 'choose another --out (default runs/<timestamp>), or add --overwrite to replace that run');
  }
  for (const e of entries) rmSync(path.join(runDir, e), { recursive: true, force: true });
}

interface PreparedTarget {
  target: Target;
  render: RenderOptionsInput;
  day1Registry: string;
  /** Appended to the start line: nodes, kernels, modes. */
  about: string;
}

interface LabFlagsChecked {
  nodes: number;
  memoryMB: number;
  kernels: LabReleaseKernels;
}

/** Lab flags and the kernels they name, checked before anything is created. */
function checkLabFlags(flags: EvaluateFlags, scenarios: ScenarioId[]): LabFlagsChecked {
  const nodes = positiveInt(flags.nodes, '--nodes', 8);
  const memoryMB = positiveInt(flags.memory, '--memory', 4096);
  const kernels = chooseLabKernels(listKernels(), { from: flags.kernel, upgradeTo: flags.upgradeKernel, realtime: flags.rtKernel });
  if (scenarios.includes('upgrade') && !kernels.upgradeTo) {
    throw new UserError(`--scenarios upgrade needs a second kernel of the ${kernels.from.series} series newer than ${kernels.from.kver}`, 'install one (kmodlab lab setup) or pass --upgrade-kernel, or leave upgrade out of --scenarios');
  }
  if (scenarios.includes('kernel-switch') && !kernels.realtime) {
    throw new UserError(`--scenarios kernel-switch needs a realtime kernel (e.g. ${kernels.from.kver.replace(/-amd64$/, '-rt-amd64')})`, 'install one (kmodlab lab setup) or pass --rt-kernel, or leave kernel-switch out of --scenarios');
  }
  return { nodes, memoryMB, kernels };
}

/**
 * The lab: `kmodlab lab up` (or the lab already up) with the cluster target pointed at it
 * (lab-api-target.ts) — the code a user's cluster gets, plus what only the lab can do.
 */
async function prepareLab(checked: LabFlagsChecked, driver: LoadedDriver, runDir: string, emit: TargetEmit): Promise<PreparedTarget> {
  const { nodes, memoryMB, kernels } = checked;
  // Loaded here, not at start-up: the targets bring client-node (~1 s to load), which
  // render, report and --help never need.
  const { LabApiTarget } = await import('../../targets/lab/lab-api-target.js');
  const target = await LabApiTarget.create({ runDir, driver, nodes, memoryMB, kernels, emit });
  return {
    target,
    ...target.evaluationOptions(),
    about: `, ${nodes} node(s); kernels ${kernels.from.kver}${kernels.upgradeTo ? ` → ${kernels.upgradeTo.kver}` : ''}${kernels.realtime ? `, realtime ${kernels.realtime.kver}` : ''}`,
  };
}

/** Cluster flags that need no connection, checked before anything is created. */
function checkClusterFlags(flags: EvaluateFlags): void {
  poolFlag(flags.pool);
  if (flags.day1InstallDir && !flags.registry) throw new UserError('--day1-install-dir needs --registry <repo prefix>: Day-1 images must be pullable at install time');
}

/** The same scenarios on a real cluster, through the cluster target. */
async function prepareCluster(flags: EvaluateFlags, driver: LoadedDriver, emit: TargetEmit, methods: MethodRowId[], io: CliIO): Promise<PreparedTarget> {
  // No --pool: the target picks the pool that holds the nodes (master on single-node OpenShift).
  const asked = flags.pool === undefined ? undefined : poolFlag(flags.pool);
  const { ClusterTarget } = await import('../../targets/cluster/cluster-target.js');
  const target = await ClusterTarget.connect({
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    namespace: flags.namespace ?? 'kmodlab',
    prometheusUrl: flags.prometheusUrl,
    observeOnly: flags.observeOnly,
    dryRun: flags.dryRun === 'server' ? 'server' : undefined,
    upgradeTo: flags.upgradeTo,
    confirmUpgrade: flags.yesUpgradeMyCluster,
    pool: asked,
    driverSourceDir: driver.sourceDir,
    day1InstallDir: flags.day1InstallDir ? path.resolve(flags.day1InstallDir) : undefined,
    emit,
  });
  const pool = target.pool();
  if (flags.day1InstallDir) {
    // Day 1 needs install time: write each method's installer manifests for the user.
    // Variants without an install-time form (on-cluster layering, dtk tracking) have none to write.
    for (const { method, variant } of methods.map(methodRow)) {
      let set;
      try {
        set = renderMethods(driver.spec, target.releases().from, method, { day1: true, pool, registry: flags.registry, variant })[0]!;
      } catch (e) {
        if (e instanceof UserError) {
          io.stderr(`day1: no installer manifests for ${method} ${variant}: ${e.message.split('\n')[0]}\n`);
          continue;
        }
        throw e;
      }
      const files = await writeArtifactSet(set, path.resolve(flags.day1InstallDir));
      io.stderr(`day1: wrote ${files.length} ${set.method} file(s) to ${path.resolve(flags.day1InstallDir, set.method)}\n`);
    }
  }
  return {
    target,
    render: { pool, ...(flags.layeredImage ? { layeredImage: flags.layeredImage } : {}) },
    // Only used if the target runs day1, which a running cluster does not.
    day1Registry: flags.registry ?? 'registry.invalid/day1-needs-install-time',
    about: `${flags.dryRun ? ' (dry-run=server)' : ''}${flags.observeOnly ? ' (observe-only)' : ''}`,
  };
}
