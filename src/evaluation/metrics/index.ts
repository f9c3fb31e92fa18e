/**
 * Metric derivation: a run record in, per (method, scenario) figures out. Pure: the
 * same events.jsonl always gives the same numbers.
 */
import { BASELINE, type RowId, type ScenarioId } from '../events.js';
import { attributableMetrics, IMPACT_METRICS } from './attributable.js';
import type { RunRecord } from '../read-run.js';
import { buildCount, buildFigure, buildItems, builtImage, type BuildItem } from './builds.js';
import { imagePulledBytesPerNode, nodeImagePulledBytes } from './image-pulls.js';
import { downtimeLongest, downtimeTotal, nodeDowntime, nodeReboots, reboots } from './boots.js';
import { canaryDisruption, canaryFailedProbes, nodeCanaryDisruption } from './canary.js';
import { appliesTo, NODE_METRICS, SCENARIO_METRICS } from './catalog.js';
import { needsEnd, scenarioContext, type ScenarioContext } from './context.js';
import {
  allLoadedAtFirstBoot,
  loadedAtFirstBoot,
  nodesWithDriver,
  nodeSuccess,
  nodeTimeFromFirstBoot,
  nodeTimeToDriver,
  success,
  timeFromFirstBoot,
  timeToDriver,
} from './loading.js';
import { manualStepList, manualSteps } from './manual-steps.js';
import { leftovers } from './leftovers.js';
import { operatorInstall } from './operator-install.js';
import { isMeasured, measured, notMeasured, type Measured, type Scalar } from './measured.js';
import { moduleCoreSize, moduleSigned, moduleTaint } from './module-info.js';
import { podRestarts } from './pods.js';
import { registryStorage } from './registry-storage.js';
import { nodesLeftOnOldRelease } from './releases.js';
import { componentUsage, cpuShare, memoryBytes, nodeCpuShare, nodeMemory, type ComponentUsage } from './resources.js';
import type { SegmentStatus } from './segments.js';

export interface ScenarioMetrics {
  method: RowId;
  scenario: ScenarioId;
  status: SegmentStatus;
  reason?: string;
  /** Host-clock times (ms since epoch) of the scenario's start/end and its trigger. */
  startT?: number;
  endT?: number;
  triggerT?: number;
  metrics: Record<string, Measured<Scalar>>;
  /** Impact figures less the baseline's (methods only; see attributable.ts). */
  attributable?: Record<string, Measured<number>>;
  nodes: Record<string, Record<string, Measured<Scalar>>>;
  builds: BuildItem[];
  components: ComponentUsage[];
  manualSteps: { description: string; line: number }[];
  faults: { fault: string; message: string; line: number; node?: string }[];
}

type Deriver = (ctx: ScenarioContext) => Measured<Scalar>;
type NodeDeriver = (ctx: ScenarioContext, node: string) => Measured<Scalar>;

const DERIVE: Record<string, Deriver> = {
  success,
  nodesWithDriver,
  timeToDriverMs: timeToDriver,
  operatorInstallMs: operatorInstall,
  loadedAtFirstBoot: allLoadedAtFirstBoot,
  timeFromFirstBootMs: timeFromFirstBoot,
  reboots,
  downtimeTotalMs: downtimeTotal,
  downtimeLongestMs: downtimeLongest,
  canaryDisruptionMs: canaryDisruption,
  canaryFailedProbes,
  podRestarts,
  buildCount: (c) => buildCount(c),
  buildCachedCount: (c) => buildCount(c, 'cached'),
  buildWallMs: (c) => buildFigure(c, 'wallMs'),
  buildCpuMs: (c) => buildFigure(c, 'cpuMs'),
  buildPeakRssBytes: (c) => buildFigure(c, 'peakRssBytes'),
  buildOutputBytes: (c) => buildFigure(c, 'outputBytes'),
  buildImageBytes: (c) => builtImage(c, 'imageBytes'),
  buildImageLayers: (c) => builtImage(c, 'layers'),
  buildBytesPushed: (c) => buildFigure(c, 'bytesPushed'),
  imagePulledBytesPerNode,
  registryStorageBytes: registryStorage,
  memoryBytes,
  cpuShare,
  moduleCoreSizeBytes: moduleCoreSize,
  moduleTaint,
  moduleSigned,
  manualSteps,
  nodesLeftOnOldRelease,
  leftovers,
};

const NODE_DERIVE: Record<string, NodeDeriver> = {
  success: nodeSuccess,
  kver: (ctx, n) => {
    const reason = needsEnd(ctx);
    if (reason) return notMeasured(reason);
    const b = ctx.tracks.get(n)!.lastBoot;
    return b ? measured(b.kver, [b.line]) : notMeasured(`${n} never reported up`);
  },
  timeToDriverMs: nodeTimeToDriver,
  loadedAtFirstBoot,
  timeFromFirstBootMs: nodeTimeFromFirstBoot,
  reboots: nodeReboots,
  downtimeTotalMs: (c, n) => pick(nodeDowntime(c, n), (d) => d.totalMs),
  downtimeLongestMs: (c, n) => pick(nodeDowntime(c, n), (d) => d.longestMs),
  canaryDisruptionMs: nodeCanaryDisruption,
  imagePulledBytes: nodeImagePulledBytes,
  memoryBytes: nodeMemory,
  cpuShare: nodeCpuShare,
};

function pick<T, U>(m: Measured<T>, f: (v: T) => U): Measured<U> {
  return isMeasured(m) ? { ...m, value: f(m.value) } : m;
}

export function deriveScenario(run: RunRecord, method: RowId, scenario: ScenarioId): ScenarioMetrics {
  const ctx = scenarioContext(run, method, scenario);
  // The baseline has no driver: only the impact figures (and the kernel nodes end on) mean anything.
  const wanted = (id: string) => method !== BASELINE || (IMPACT_METRICS as readonly string[]).includes(id) || id === 'kver' || id === 'nodesLeftOnOldRelease';
  const metrics: Record<string, Measured<Scalar>> = {};
  for (const m of SCENARIO_METRICS) if (appliesTo(m, scenario) && wanted(m.id)) metrics[m.id] = DERIVE[m.id]!(ctx);
  const nodes: Record<string, Record<string, Measured<Scalar>>> = {};
  for (const n of ctx.nodes) {
    nodes[n] = {};
    for (const m of NODE_METRICS) if (appliesTo(m, scenario) && wanted(m.id)) nodes[n][m.id] = NODE_DERIVE[m.id]!(ctx, n);
  }
  const out: ScenarioMetrics = {
    method,
    scenario,
    status: ctx.seg.status,
    metrics,
    nodes,
    builds: buildItems(ctx),
    components: componentUsage(ctx),
    manualSteps: manualStepList(ctx),
    faults: ctx.seg.events
      .filter((e) => e.kind === 'fault')
      .map((e) => ({ fault: String(e.data['fault']), message: String(e.data['message']), line: e.line, ...(e.node ? { node: e.node } : {}) })),
  };
  if (ctx.seg.reason) out.reason = ctx.seg.reason;
  if (ctx.seg.start) out.startT = ctx.seg.start.t;
  if (ctx.seg.status !== 'not-run') out.endT = ctx.seg.endT;
  if (ctx.trigger) out.triggerT = ctx.trigger.t;
  return out;
}

/** Every (method, scenario) the run planned, in run-start order; the baseline's first when it was planned. */
export function deriveRun(run: RunRecord): ScenarioMetrics[] {
  const { methods, scenarios } = run.start.data;
  const baseline = hasBaseline(run) ? scenarios.map((s) => deriveScenario(run, BASELINE, s)) : [];
  const rows = methods.flatMap((m) => scenarios.map((s) => deriveScenario(run, m, s)));
  for (const r of rows) r.attributable = attributableMetrics(r.metrics, baseline.find((b) => b.scenario === r.scenario)?.metrics);
  return [...baseline, ...rows];
}

/** The run planned a baseline (run-start says so, or one was recorded). */
export function hasBaseline(run: RunRecord): boolean {
  return run.start.data.baseline === true || run.events.some((e) => e.kind === 'scenario-start' && e.method === BASELINE);
}

export type { Measured, Scalar } from './measured.js';
