/**
 * The run record: every event and sample is one JSON line in `<run>/events.jsonl`,
 * appended as it happens. Metrics and reports are derived only from this file, so a
 * report can be regenerated and audited, and a run killed halfway keeps what it saw.
 *
 * Common fields: `t` (ms since the Unix epoch, host clock), `source` (who observed it),
 * `kind`, and where it applies `method`, `scenario`, `node`. `data` depends on `kind`
 * (see EVENT_DATA below); readers must ignore kinds they do not know.
 */
import { z } from 'zod';
import { METHOD_IDS } from '../artifacts/artifact-set.js';
import { METHOD_ROW_IDS, type MethodRowId } from '../methods/rows.js';
import { ModuleDependencySchema } from '../targets/lab/driver-builds/module-dependencies.js';

export const SCENARIO_IDS = ['day1', 'day2', 'upgrade', 'kernel-switch', 'uninstall'] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

/**
 * The baseline: each scenario run with no driver method (nothing applied; the release
 * change, reboot or kernel switch still happens). Its events carry `method: "baseline"`,
 * so what the cluster does anyway can be subtracted from what a method measured.
 */
export const BASELINE = 'baseline' as const;
/** What a segment of a run belongs to: a delivery method or the baseline. */
export const ROW_IDS = [...METHOD_ROW_IDS, BASELINE] as const;
export type RowId = MethodRowId | typeof BASELINE;

export const EventSource = z.enum(['kmodlab', 'lab', 'cluster', 'prometheus']);

/** Payload schemas per event kind. */
export const EVENT_DATA = {
  /** First line of a run. `targetLabel` is shown next to every duration (e.g. "lab (QEMU TCG)"). */
  'run-start': z.looseObject({
    runId: z.string(),
    target: z.enum(['lab', 'cluster']),
    targetLabel: z.string(),
    /** Rows evaluated: one per method variant (src/methods/rows.ts); runs before variants were rows have the method ids, which are the default variants' rows. */
    methods: z.array(z.enum(METHOD_ROW_IDS)),
    scenarios: z.array(z.enum(SCENARIO_IDS)),
    /** A baseline segment (method "baseline") is planned for every scenario. */
    baseline: z.boolean().optional(),
    nodes: z.array(z.string()),
    driver: z.object({ name: z.string(), version: z.string(), modules: z.array(z.string()) }),
    /** Release (kernel) names used: `from` is the starting release, `upgradeTo`/`switchTo` the others. */
    releases: z.looseObject({ from: z.string(), upgradeTo: z.string().optional(), switchTo: z.string().optional() }),
    host: z.looseObject({ cpus: z.number(), memoryBytes: z.number() }).optional(),
    /** The user's constraints for the verdict (`evaluate --constraints`). */
    constraints: z.array(z.string()).optional(),
  }),
  'run-end': z.looseObject({ status: z.enum(['completed', 'failed']), error: z.string().optional() }),
  /** `variant`: the variant of the row's method this scenario renders. */
  'scenario-start': z.looseObject({ variant: z.string().optional() }),
  /** Artifacts rendered for the scenario: which method and variant the figures that follow were measured with. */
  render: z.looseObject({ method: z.enum(METHOD_IDS), variant: z.string(), day1: z.boolean(), release: z.string().optional() }),
  'scenario-end': z.looseObject({ ok: z.boolean(), error: z.string().optional() }),
  /** Artifacts applied (or removed) to the target; `objects` are `Kind/name`. */
  apply: z.looseObject({ objects: z.array(z.string()), phase: z.enum(['day1', 'day2']).optional() }),
  delete: z.looseObject({ objects: z.array(z.string()) }),
  /** A node (re)booted and its agent answered: `bootId` changes on every boot. */
  /** `kver`: the kernel the node reports (`uname -r`); `intendedKver`: the one the target meant to boot (lab). */
  'node-up': z.looseObject({ bootId: z.string(), kver: z.string(), intendedKver: z.string().optional(), osImage: z.string().optional(), bootMs: z.number().optional() }),
  /** A node went away: planned reboot, crash, poweroff. */
  'node-down': z.looseObject({ reason: z.enum(['reboot', 'crash', 'poweroff', 'hang']), detail: z.string().optional() }),
  /** Cordon/drain of a node before a disruptive change. */
  'node-drain': z.looseObject({ phase: z.enum(['start', 'end']) }),
  /** What the node's kernel says about one of the driver's modules (read from /sys/module). */
  'module-state': z.looseObject({
    module: z.string(),
    loaded: z.boolean(),
    coresizeBytes: z.number().optional(),
    taint: z.string().optional(),
    signed: z.boolean().optional(),
    initstate: z.string().optional(),
  }),
  /** A resident component's pod (driver container, KMM worker…) started, restarted or stopped. */
  'pod-start': z.looseObject({ pod: z.string(), component: z.string() }),
  'pod-restart': z.looseObject({ pod: z.string(), component: z.string(), restartCount: z.number(), reason: z.string() }),
  'pod-stop': z.looseObject({ pod: z.string(), component: z.string(), reason: z.string().optional() }),
  /** A driver build (in-cluster or lab). `cached` builds did no work (registry hit). */
  build: z.looseObject({
    kver: z.string(),
    ok: z.boolean(),
    cached: z.boolean(),
    wallMs: z.number().optional(),
    userCpuMs: z.number().optional(),
    systemCpuMs: z.number().optional(),
    peakRssBytes: z.number().optional(),
    outputBytes: z.number().optional(),
    error: z.string().optional(),
    logFile: z.string().optional(),
    /** Lab: each built module's dependencies (`modinfo -F depends`), classified as `kmodlab check` does. */
    dependencies: z.array(ModuleDependencySchema).optional(),
    /** Image builds: the pushed image's size as stored (config + layers), its layer count and the new blobs the push stored. */
    imageBytes: z.number().optional(),
    layers: z.number().optional(),
    bytesPushed: z.number().optional(),
  }),
  /**
   * A node pulled an image (the kubelet's Pulled Event after an actual pull, not "already
   * present"): `bytes` is the image size the runtime reported, `pod` the pod it was for.
   */
  /**
   * An OS image the node pulled (the lab's machine-config daemon): `osImage` says whose —
   * `osImageURL` a MachineConfig's (the method's), `release` the release's own — `bytes` the
   * blobs the node did not hold, `imageBytes` the whole image.
   */
  'image-pull': z.looseObject({
    image: z.string(),
    bytes: z.number().nonnegative(),
    pullMs: z.number().optional(),
    pod: z.string().optional(),
    osImage: z.enum(['osImageURL', 'release']).optional(),
    imageBytes: z.number().optional(),
  }),
  /**
   * What the row's images take in the registry after a scenario (lab): the unique blobs
   * (config + layers) of `images` — the images the row's builds pushed so far — that no
   * release image holds, `bytes` their stored (compressed) size.
   */
  'registry-storage': z.looseObject({ bytes: z.number().nonnegative(), blobs: z.number().int().nonnegative(), images: z.array(z.string()), error: z.string().optional() }),
  /** Memory of one resident component on a node (sum over its processes). */
  // rssBytes: a process's resident set (lab host figures); workingSetBytes: a container's
  // working set (cAdvisor, what kubectl top shows); usageBytes: memory usage including
  // page cache (cAdvisor). Different metrics: at least one, never one for another.
  'sample-memory': z
    .looseObject({ component: z.string(), pod: z.string().optional(), rssBytes: z.number().optional(), workingSetBytes: z.number().optional(), usageBytes: z.number().optional() })
    .refine((d) => d.rssBytes !== undefined || d.workingSetBytes !== undefined || d.usageBytes !== undefined, { message: 'one of rssBytes, workingSetBytes, usageBytes' }),
  /** CPU used by one resident component over `windowMs`. */
  'sample-cpu': z.looseObject({ component: z.string(), pod: z.string().optional(), cpuMs: z.number(), windowMs: z.number() }),
  /** Node memory from /proc/meminfo. */
  'sample-node-memory': z.looseObject({ totalBytes: z.number(), availableBytes: z.number() }),
  /**
   * The canary workload on a node, as seen from outside it. `via: "probe"` (and records
   * without `via`, from before availability was told apart): one raw probe sample — an
   * HTTP GET of the node's canary pod (cluster: through the API server's pod proxy) at
   * a fixed interval; every failed probe and every change is recorded, a success at most
   * every few seconds. `at` is when the probe started, `probeMs` how long it took, `error`
   * why it failed (`pod` names the pod probed; none when no canary pod was on the node,
   * which is a failed probe too). `via: "availability"`: the canary Deployment's
   * availability changed — context only, never a disruption figure.
   * `snapshot`: a state re-read at an observation, not a probe or a change.
   */
  canary: z.looseObject({
    up: z.boolean(),
    via: z.enum(['probe', 'availability']).optional(),
    at: z.number().optional(),
    probeMs: z.number().optional(),
    error: z.string().optional(),
    pod: z.string().optional(),
    snapshot: z.boolean().optional(),
  }),
  /** A step a person would have to do (e.g. rebuild the layered image after an upgrade). */
  'manual-step': z.looseObject({ description: z.string() }),
  /** A fault observed and recorded (build failure, refused module, node crash…). */
  fault: z.looseObject({ fault: z.string(), message: z.string(), logFile: z.string().optional() }),
  /** Free-form progress note (what is running), for the timeline. */
  progress: z.looseObject({ step: z.string() }),
} as const;

export type EventKind = keyof typeof EVENT_DATA;
export type EventData<K extends EventKind> = z.infer<(typeof EVENT_DATA)[K]>;

export const EventEnvelopeSchema = z.looseObject({
  t: z.number(),
  source: EventSource,
  kind: z.string(),
  /** The row (method variant, src/methods/rows.ts) the event belongs to. */
  method: z.enum(ROW_IDS).optional(),
  scenario: z.enum(SCENARIO_IDS).optional(),
  node: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});
export type RunEvent = z.infer<typeof EventEnvelopeSchema>;

/** Checks an event's payload against its kind's schema (unknown kinds pass: forward compatible). */
export function checkEventData(e: RunEvent): string | undefined {
  const schema = (EVENT_DATA as Record<string, z.ZodType>)[e.kind];
  if (!schema) return undefined;
  const r = schema.safeParse(e.data);
  return r.success ? undefined : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}
