/**
 * The report model: what report.json holds and what the Markdown and HTML writers
 * render. Checked with zod when built and published as JSON Schema
 * (`kmodlab report --print-schema`, and report.schema.json next to every report.json),
 * so other tools can consume report.json without reading kmodlab's code.
 */
import { z } from 'zod';
import { METHOD_IDS } from '../artifacts/artifact-set.js';
import { ROW_IDS, SCENARIO_IDS } from '../evaluation/events.js';
import { METHOD_ROW_IDS } from '../methods/rows.js';
import { ModuleDependencySchema } from '../targets/lab/driver-builds/module-dependencies.js';

/** 2: summary columns follow the scenarios run, cells are short with footnotes; the verdict. */
export const REPORT_SCHEMA_VERSION = 2;
/** Written next to report.json; `$schema` refers to it relatively. */
export const REPORT_SCHEMA_FILE = 'report.schema.json';

const Scalar = z.union([z.number(), z.boolean(), z.string()]);

export const MeasuredSchema = z.union([
  z.strictObject({
    value: Scalar,
    /** events.jsonl line numbers the value was derived from. */
    from: z.array(z.int().positive()),
    note: z.string().optional(),
  }),
  z.strictObject({ notMeasured: z.string().min(1) }),
]);

const MetricsRecord = z.record(z.string(), MeasuredSchema);

export const ScenarioResultSchema = z.strictObject({
  /** A method, or `baseline`: the scenario run with no driver method (impact figures only). */
  method: z.enum(ROW_IDS),
  scenario: z.enum(SCENARIO_IDS),
  status: z.enum(['completed', 'failed', 'interrupted', 'not-run']),
  reason: z.string().optional(),
  startedAt: z.iso.datetime().optional(),
  endedAt: z.iso.datetime().optional(),
  /** When the apply / change / delete the figures are measured from happened. */
  triggeredAt: z.iso.datetime().optional(),
  metrics: MetricsRecord,
  /**
   * Methods only: impact figures (reboots, downtime, canary disruption, pod restarts)
   * less the baseline's, unclamped; "not measured" with why when there is no baseline figure.
   */
  attributable: MetricsRecord.optional(),
  /** Per node: the same figures before they are summed or maxed over nodes. */
  nodes: z.record(z.string(), MetricsRecord),
  builds: z.array(
    z.strictObject({
      line: z.int(),
      at: z.iso.datetime(),
      node: z.string().optional(),
      kver: z.string(),
      ok: z.boolean(),
      cached: z.boolean(),
      wallMs: z.number().optional(),
      cpuMs: z.number().optional(),
      peakRssBytes: z.number().optional(),
      outputBytes: z.number().optional(),
      /** Image builds (the off-cluster steps the lab performs): size as stored, layers, new blobs pushed. */
      imageBytes: z.number().optional(),
      layers: z.int().optional(),
      bytesPushed: z.number().optional(),
      error: z.string().optional(),
      /** Lab builds: each module's dependencies (`modinfo -F depends`) and their class. */
      dependencies: z.array(ModuleDependencySchema).optional(),
      /** Builds the lab performed off-cluster: `off-cluster <step>`. */
      by: z.string().optional(),
    }),
  ),
  components: z.array(
    z.strictObject({
      node: z.string(),
      component: z.string(),
      samples: z.int(),
      medianRssBytes: z.number().optional(),
      cpuShare: z.number().optional(),
    }),
  ),
  manualSteps: z.array(z.strictObject({ description: z.string(), line: z.int() })),
  faults: z.array(z.strictObject({ fault: z.string(), message: z.string(), line: z.int(), node: z.string().optional() })),
});
export type ScenarioResult = z.infer<typeof ScenarioResultSchema>;

const EvidenceSchema = z.union([
  z.strictObject({ kind: z.literal('measured'), metric: z.string(), value: Scalar, text: z.string() }),
  z.strictObject({ kind: z.literal('documented'), feature: z.string(), value: z.string(), source: z.string() }),
]);
const Level = z.enum(['yes', 'partly', 'no']);

export const VerdictSchema = z.strictObject({
  constraints: z.array(z.string()),
  ranking: z.array(
    z.strictObject({
      rank: z.int().positive(),
      method: z.enum(METHOD_ROW_IDS),
      variant: z.string(),
      title: z.string(),
      why: z.string(),
      assessments: z.array(z.strictObject({ constraint: z.string(), meets: Level, why: z.string(), evidence: z.array(EvidenceSchema) })),
      impact: z.strictObject({
        /** `attributable`: reboots and canary disruption are with the method − the baseline (the run had one). */
        basis: z.enum(['attributable', 'measured']),
        day2Reboots: z.number().optional(),
        upgradeAutomatic: z.boolean().optional(),
        canaryDisruptionMs: z.number().optional(),
        day2TimeToDriverMs: z.number().optional(),
        memoryBytes: z.number().optional(),
      }),
    }),
  ),
  unmet: z.array(z.string()),
});

export const SummaryCellSchema = z.strictObject({
  text: z.string().min(1),
  /** `<method>.<scenario>.<metric>` paths the text was composed from. */
  metrics: z.array(z.string()),
  /** Footnote numbers (1-based, into summary.footnotes) with the details behind the cell. */
  notes: z.array(z.int().positive()),
});

export const ReportSchema = z.strictObject({
  $schema: z.string(),
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  generator: z.string(),
  generatedAt: z.iso.datetime(),
  run: z.strictObject({
    runId: z.string(),
    dir: z.string(),
    target: z.enum(['lab', 'cluster']),
    /** Shown next to every duration: lab durations are lab-scale, not cluster figures. */
    targetLabel: z.string(),
    status: z.enum(['completed', 'failed', 'interrupted']),
    error: z.string().optional(),
    startedAt: z.iso.datetime(),
    endedAt: z.iso.datetime().optional(),
    lastEventAt: z.iso.datetime(),
    nodes: z.array(z.string()),
    driver: z.strictObject({ name: z.string(), version: z.string(), modules: z.array(z.string()) }),
    releases: z.record(z.string(), z.unknown()),
    host: z.record(z.string(), z.unknown()).optional(),
    /** Lines of events.jsonl that could not be used. */
    warnings: z.array(z.string()),
  }),
  /**
   * The rows: `id` a method variant, `method` its delivery method, `variant` the variant
   * the run measured (recorded with its renders; the features column and the figures refer to it).
   */
  methods: z.array(z.strictObject({ id: z.enum(METHOD_ROW_IDS), method: z.enum(METHOD_IDS), title: z.string(), variant: z.string() })),
  /** Which method to use, for the constraints given to evaluate (none: measured impact alone). */
  verdict: VerdictSchema,
  scenarios: z.array(z.enum(SCENARIO_IDS)),
  summary: z
    .strictObject({
      /** Where the figures were measured, said once (durations in the cells carry no label). */
      caption: z.string().min(1),
      /** Column ids: method, resources, one per scenario run, memory. */
      columnIds: z.array(z.string()).min(3),
      columns: z.array(z.string().min(1)).min(3),
      rows: z.array(z.strictObject({ method: z.enum(METHOD_ROW_IDS), cells: z.array(SummaryCellSchema) })),
      footnotes: z.array(z.string().min(1)),
    })
    .refine((s) => s.columns.length === s.columnIds.length && s.rows.every((r) => r.cells.length === s.columns.length), { message: 'every summary row has one cell per column' })
    .refine((s) => s.rows.every((r) => r.cells.every((c) => c.notes.every((n) => n <= s.footnotes.length))), { message: 'footnote numbers refer to summary.footnotes' }),
  results: z.array(ScenarioResultSchema),
  features: z.array(
    z.strictObject({
      key: z.string(),
      title: z.string(),
      /** By row id; `variant`: the variant the value describes, always the one the row was measured with. */
      values: z.record(z.string(), z.strictObject({ value: z.string(), source: z.string(), variant: z.string() })),
    }),
  ),
  howMeasured: z.strictObject({
    metrics: z.array(z.strictObject({ id: z.string(), title: z.string(), unit: z.string(), how: z.string() })),
    notes: z.array(z.string()),
  }),
});
export type Report = z.infer<typeof ReportSchema>;

/** JSON Schema (draft 2020-12) of report.json. */
export function reportJsonSchema(): Record<string, unknown> {
  return {
    ...(z.toJSONSchema(ReportSchema, { target: 'draft-2020-12' }) as Record<string, unknown>),
    title: 'kmodlab report',
    description: `report.json written by \`kmodlab report\` (schemaVersion ${REPORT_SCHEMA_VERSION})`,
  };
}

/** Finds a scenario's result. */
export function resultOf(report: Report, method: string, scenario: string): ScenarioResult | undefined {
  return report.results.find((r) => r.method === method && r.scenario === scenario);
}

/** A metric by its `<method>.<scenario>.<metric>` path (`<method>.<scenario>.attributable.<metric>`: less the baseline). */
export function metricAt(report: Report, metricPath: string): z.infer<typeof MeasuredSchema> | undefined {
  const [method, scenario, metric, sub] = metricPath.split('.');
  const r = resultOf(report, method ?? '', scenario ?? '');
  if (metric === 'attributable' && sub !== undefined) return r?.attributable?.[sub];
  return r?.metrics[metric ?? ''];
}
