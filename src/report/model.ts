/**
 * The report model: what report.json holds and what the Markdown and HTML writers
 * render. Checked with zod when built and published as JSON Schema
 * (`kmodlab report --print-schema`, and report.schema.json next to every report.json),
 * so other tools can consume report.json without reading kmodlab's code.
 */
import { z } from 'zod';
import { METHOD_IDS } from '../artifacts/artifact-set.js';
import { SCENARIO_IDS } from '../evaluation/events.js';
import { ModuleDependencySchema } from '../targets/lab/driver-builds/module-dependencies.js';

export const REPORT_SCHEMA_VERSION = 1;
/** Written next to report.json; `$schema` refers to it relatively. */
export const REPORT_SCHEMA_FILE = 'report.schema.json';

/** The seed's summary columns, exactly. */
export const SUMMARY_COLUMNS = [
  'Out-Of-Tree method',
  'Additional resource consumption',
  'Day1',
  'Day2',
  'Upgrade rollout',
  'Memory consumption [B]',
] as const;

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
  method: z.enum(METHOD_IDS),
  scenario: z.enum(SCENARIO_IDS),
  status: z.enum(['completed', 'failed', 'interrupted', 'not-run']),
  reason: z.string().optional(),
  startedAt: z.iso.datetime().optional(),
  endedAt: z.iso.datetime().optional(),
  /** When the apply / change / delete the figures are measured from happened. */
  triggeredAt: z.iso.datetime().optional(),
  metrics: MetricsRecord,
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
      error: z.string().optional(),
      /** Lab builds: each module's dependencies (`modinfo -F depends`) and their class. */
      dependencies: z.array(ModuleDependencySchema).optional(),
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

export const SummaryCellSchema = z.strictObject({
  text: z.string().min(1),
  /** `<method>.<scenario>.<metric>` paths the text was composed from. */
  metrics: z.array(z.string()),
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
  methods: z.array(z.strictObject({ id: z.enum(METHOD_IDS), title: z.string() })),
  scenarios: z.array(z.enum(SCENARIO_IDS)),
  summary: z.strictObject({
    columns: z.tuple(SUMMARY_COLUMNS.map((c) => z.literal(c)) as unknown as [z.ZodLiteral<string>]),
    rows: z.array(z.strictObject({ method: z.enum(METHOD_IDS), cells: z.array(SummaryCellSchema).length(SUMMARY_COLUMNS.length) })),
  }),
  results: z.array(ScenarioResultSchema),
  features: z.array(
    z.strictObject({
      key: z.string(),
      title: z.string(),
      values: z.record(z.string(), z.strictObject({ value: z.string(), source: z.string() })),
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

/** A metric by its `<method>.<scenario>.<metric>` path. */
export function metricAt(report: Report, metricPath: string): z.infer<typeof MeasuredSchema> | undefined {
  const [method, scenario, metric] = metricPath.split('.');
  return resultOf(report, method ?? '', scenario ?? '')?.metrics[metric ?? ''];
}
