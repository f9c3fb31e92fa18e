/**
 * Run record → report model. Everything in the report comes from events.jsonl (via the
 * metrics) or from the methods' documented feature facts; nothing is typed in here.
 */
import '../methods/all.js';
import { allMethods, getMethod } from '../methods/index.js';
import { FEATURE_KEYS, featureFor, type FeatureKey } from '../methods/method.js';
import { methodRow, type MethodRowId } from '../methods/rows.js';
import type { RunRecord } from '../evaluation/read-run.js';
import { deriveRun, type ScenarioMetrics } from '../evaluation/metrics/index.js';
import { SCENARIO_METRICS } from '../evaluation/metrics/catalog.js';
import { REPORT_SCHEMA_FILE, REPORT_SCHEMA_VERSION, ReportSchema, type Report, type ScenarioResult } from './model.js';
import { SUMMARY_COLUMN_TITLES, summaryColumns, summaryRow } from './summary.js';
import { parseConstraints, verdict } from './verdict.js';

const VERSION = '0.1.0';
const iso = (t: number) => new Date(t).toISOString();

export interface BuildOptions {
  /** Fixed "generated at" time (tests, reproducible output); default now. */
  now?: Date;
}

export function buildReport(run: RunRecord, options: BuildOptions = {}): Report {
  const start = run.start.data;
  const rows = start.methods.map((id) => measuredRow(run, id));
  const titles = new Map(rows.map((r) => [r.id, r.title] as const));
  const results = deriveRun(run).map(toResult);
  const label = start.targetLabel;
  const report: Report = {
    $schema: REPORT_SCHEMA_FILE,
    schemaVersion: REPORT_SCHEMA_VERSION,
    generator: `kmodlab ${VERSION}`,
    generatedAt: (options.now ?? new Date()).toISOString(),
    run: {
      runId: start.runId,
      dir: run.dir,
      target: start.target,
      targetLabel: label,
      status: run.interrupted ? 'interrupted' : run.end!.data.status,
      ...(run.end?.data.error ? { error: run.end.data.error } : {}),
      startedAt: iso(run.start.t),
      ...(run.end ? { endedAt: iso(run.end.t) } : {}),
      lastEventAt: iso(run.events.at(-1)!.t),
      nodes: start.nodes,
      driver: { name: start.driver.name, version: start.driver.version, modules: start.driver.modules },
      releases: { ...start.releases },
      ...(start.host ? { host: { ...start.host } } : {}),
      warnings: run.warnings,
    },
    methods: rows,
    verdict: { constraints: [], ranking: [], unmet: [] },
    scenarios: start.scenarios,
    summary: summary(run, results, titles),
    results,
    features: featureRows(rows),
    howMeasured: {
      metrics: SCENARIO_METRICS.map((m) => ({ id: m.id, title: m.title, unit: m.unit, how: m.how })),
      notes: howNotes(run),
    },
  };
  // The verdict reads the figures above: for the constraints given to evaluate (none: measured impact alone).
  report.verdict = verdict(report, parseConstraints(start.constraints?.join(',')).constraints);
  // The model is a contract for other tools: a report that breaks it is a bug here.
  return ReportSchema.parse(report);
}

/** The summary table: footnotes numbered once for the whole table (the same text, the same number). */
function summary(run: RunRecord, results: ScenarioResult[], titles: Map<string, string>): Report['summary'] {
  const start = run.start.data;
  const ids = summaryColumns(start.scenarios);
  const footnotes: string[] = [];
  const number = (text: string) => {
    const i = footnotes.indexOf(text);
    return i >= 0 ? i + 1 : footnotes.push(text);
  };
  const rows = start.methods.map((id) => ({
    method: id,
    cells: summaryRow(id, titles.get(id) ?? id, ids, results, start.nodes.length).map((c) => ({ text: c.text, metrics: c.metrics, notes: c.notes.map(number) })),
  }));
  const n = start.nodes.length;
  const where =
    start.target === 'lab'
      ? `Measured on ${start.targetLabel}, ${n} node${n === 1 ? '' : 's'}. Durations are lab-scale: compare the methods with each other, not with figures from a real cluster; counts (reboots, restarts, manual steps, yes/no) carry over.`
      : `Measured on ${start.targetLabel}, ${n} node${n === 1 ? '' : 's'}.`;
  return { caption: where, columnIds: ids, columns: ids.map((c) => SUMMARY_COLUMN_TITLES[c]), rows, footnotes };
}

type ReportRow = Report['methods'][number];

/**
 * A row as it was measured: the method and variant of the artifacts its scenarios
 * rendered (`render` events), else of its scenario-start, else the row's own (runs
 * recorded before rows were variants carry neither: their rows are the default
 * variants). A row whose scenarios rendered different variants is a broken run, not a
 * row to show.
 */
export function measuredRow(run: RunRecord, id: MethodRowId): ReportRow {
  const row = methodRow(id);
  const mine = run.events.filter((e) => e.method === id);
  const rendered = new Set(mine.filter((e) => e.kind === 'render').map((e) => `${String(e.data['method'])}/${String(e.data['variant'])}`));
  if (rendered.size > 1) throw new Error(`${run.dir}: row ${id} was measured with several variants (${[...rendered].join(', ')}); a row is one variant`);
  const [method, variant] = rendered.size === 1 ? [...rendered][0]!.split('/') : [row.method, mine.find((e) => e.kind === 'scenario-start' && typeof e.data['variant'] === 'string')?.data['variant'] ?? row.variant];
  const m = allMethods().find((x) => x.id === method);
  if (!m) throw new Error(`${run.dir}: row ${id} rendered unknown method ${method}`);
  const v = String(variant);
  return { id, method: m.id, title: m.variants.length > 1 ? `${m.title} (${v})` : m.title, variant: v };
}

function toResult(s: ScenarioMetrics): ScenarioResult {
  return {
    method: s.method,
    scenario: s.scenario,
    status: s.status,
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.startT !== undefined ? { startedAt: iso(s.startT) } : {}),
    ...(s.endT !== undefined ? { endedAt: iso(s.endT) } : {}),
    ...(s.triggerT !== undefined ? { triggeredAt: iso(s.triggerT) } : {}),
    metrics: s.metrics,
    ...(s.attributable ? { attributable: s.attributable } : {}),
    nodes: s.nodes,
    builds: s.builds.map(({ t, ...b }) => ({ ...b, at: iso(t) })),
    components: s.components.map(({ lines: _lines, ...c }) => c),
    manualSteps: s.manualSteps,
    faults: s.faults,
  };
}

/** The features table: a column per row, each with the documented facts of the variant the row was measured with. */
function featureRows(rows: readonly ReportRow[]): Report['features'] {
  return (Object.keys(FEATURE_KEYS) as FeatureKey[]).map((key) => ({
    key,
    title: FEATURE_KEYS[key],
    values: Object.fromEntries(
      rows.flatMap((r) => {
        const f = featureFor(getMethod(r.method), r.variant, key);
        return f ? [[r.id, { value: f.value, source: f.source, variant: r.variant }]] : [];
      }),
    ),
  }));
}

function howNotes(run: RunRecord): string[] {
  const s = run.start.data;
  const notes = [
    `Target: ${s.targetLabel}. ${
      s.target === 'lab'
        ? 'Durations are lab-scale (QEMU without KVM, emulated control plane): compare them between methods, never with cluster figures. Counts (reboots, restarts, manual steps, success) carry over to clusters.'
        : 'Durations were measured on a real cluster.'
    }`,
    `Nodes: ${s.nodes.length} (${s.nodes.join(', ')}).`,
    `Kernels: from ${s.releases.from}${s.releases.upgradeTo ? `; upgrade to ${s.releases.upgradeTo}` : ''}${s.releases.switchTo ? `; kernel switch to ${s.releases.switchTo}` : ''}.`,
    `Driver: ${s.driver.name} ${s.driver.version} (modules ${s.driver.modules.join(', ')}).`,
  ];
  if (s.host) {
    const h = s.host as Record<string, unknown>;
    const extra = Object.entries(h)
      .filter(([k]) => k !== 'cpus' && k !== 'memoryBytes')
      .map(([k, v]) => `${k} ${String(v)}`);
    notes.push(`Host: ${h['cpus']} CPUs, ${(Number(h['memoryBytes']) / 2 ** 30).toFixed(1)} GiB memory${extra.length ? `, ${extra.join(', ')}` : ''}.`);
  }
  notes.push(
    'Every figure is derived from events.jsonl in the run directory; report.json lists the event lines behind each value. A figure without a recorded sample is shown as "not measured" with the reason.',
    'Memory is the median RSS of each resident component once the driver was in place (steady state), summed per node and over nodes; 0 is only reported when the node was sampled and no pod of the method was left running.',
  );
  if (run.interrupted) notes.push(`The run was interrupted: its last event was recorded at ${iso(run.events.at(-1)!.t)}; scenarios after that are not measured.`);
  return notes;
}
