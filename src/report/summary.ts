/**
 * The summary table (the comparison the project started from), filled from
 * measurements: one short line per cell (a figure, a count, yes/no); the details behind
 * a cell are footnotes. Each cell names the metrics it was composed from (listed in
 * report.json, so it can be audited); a figure that was not measured says so, and its
 * footnote says why. No cell is ever empty. Durations carry no target label: the
 * table's caption says once where they were measured.
 */
import type { MethodRowId } from '../methods/rows.js';
import type { ScenarioId } from '../evaluation/events.js';
import { formatBytes, formatMs, formatShare } from './format.js';
import type { ScenarioResult } from './model.js';
import { NO_OPERATOR } from '../evaluation/metrics/operator-install.js';
import { NO_BASELINE } from '../evaluation/metrics/attributable.js';

/** A cell while it is composed: footnote texts, numbered once for the whole table. */
export interface DraftCell {
  text: string;
  metrics: string[];
  notes: string[];
}
type M = ScenarioResult['metrics'][string];

export type SummaryColumnId = 'method' | 'resources' | ScenarioId | 'memory';

/** Column titles: the original comparison's wording where it had the column. */
export const SUMMARY_COLUMN_TITLES: Record<SummaryColumnId, string> = {
  method: 'Out-Of-Tree method',
  resources: 'Additional resource consumption',
  day1: 'Day1',
  day2: 'Day2',
  upgrade: 'Upgrade rollout',
  'kernel-switch': 'Kernel switch',
  uninstall: 'Uninstall',
  memory: 'Memory consumption',
};

/** The columns of a run: one per scenario that was actually planned, in run order. */
export function summaryColumns(scenarios: readonly ScenarioId[]): SummaryColumnId[] {
  return ['method', 'resources', ...scenarios, 'memory'];
}

/** Reads metrics of one (method, scenario) and remembers which were used. */
class Reader {
  readonly used: string[] = [];
  readonly notes: string[] = [];
  constructor(
    readonly method: MethodRowId,
    readonly results: ScenarioResult[],
  ) {}
  result(s: ScenarioId): ScenarioResult | undefined {
    return this.results.find((r) => r.method === this.method && r.scenario === s);
  }
  get(s: ScenarioId, metric: string): M | undefined {
    this.used.push(`${this.method}.${s}.${metric}`);
    return this.result(s)?.metrics[metric];
  }
  num(s: ScenarioId, metric: string): number | undefined {
    const m = this.get(s, metric);
    return m && 'value' in m && typeof m.value === 'number' ? m.value : undefined;
  }
  bool(s: ScenarioId, metric: string): boolean | undefined {
    const m = this.get(s, metric);
    return m && 'value' in m && typeof m.value === 'boolean' ? m.value : undefined;
  }
  reason(s: ScenarioId, metric: string): string {
    const r = this.result(s);
    if (!r) return 'scenario not planned in this run';
    if (r.status === 'not-run' || r.status === 'interrupted') return r.reason ?? r.status;
    const m = r.metrics[metric];
    return m && 'notMeasured' in m ? m.notMeasured : 'no value';
  }
  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }
  /**
   * An impact figure as "measured / attributable" ("2 reboots / +1"): undefined when not
   * measured. Attributable not measured shows "?" and its reason as a footnote.
   */
  impact(s: ScenarioId, metric: string, say: (n: number) => string, signed: (n: number) => string, label = metric): { measured: number; attributable?: number; text: string } | undefined {
    const m = this.num(s, metric);
    if (m === undefined) return undefined;
    const a = this.result(s)?.attributable?.[metric];
    if (!a) return { measured: m, text: say(m) };
    this.used.push(`${this.method}.${s}.attributable.${metric}`);
    if ('notMeasured' in a && a.notMeasured === NO_BASELINE) {
      // A run without any baseline: the figures as measured, and one footnote saying so.
      this.note(`Reboots, canary disruption and pod restarts are as measured: attributable figures not measured (${NO_BASELINE}).`);
      return { measured: m, text: say(m) };
    }
    this.note(ATTRIBUTABLE_NOTE);
    if ('notMeasured' in a) {
      this.note(`${this.method}, ${s}: attributable ${metric} not measured: ${a.notMeasured}`);
      return { measured: m, text: `${say(m)} / ?` };
    }
    const v = Number(a.value);
    if (v < 0) this.note(`${this.method}, ${s}: ${label} ${say(m)} / ${signed(v)}: ${a.note ?? 'the baseline measured more'}`);
    return { measured: m, attributable: v, text: `${say(m)} / ${signed(v)}` };
  }
  cell(text: string): DraftCell {
    return { text, metrics: [...new Set(this.used)], notes: this.notes };
  }
  /** "not measured", the reason as a footnote. */
  notMeasured(s: ScenarioId, metric: string): DraftCell {
    this.note(`${this.method}, ${s}: not measured: ${this.reason(s, metric)}${soFar(this, s)}`);
    return this.cell('not measured');
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** "+1", "0", "−2": a difference, signed so it reads as one. */
const signedCount = (n: number) => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : '0');
const signedMs = (n: number) => (n > 0 ? `+${formatMs(n)}` : n < 0 ? `−${formatMs(-n)}` : '0 s');

/** The footnote behind every "measured / attributable" pair. */
export const ATTRIBUTABLE_NOTE =
  '"a / b": a as measured with the method; b attributable to it = a − the baseline, the same scenario run with no driver method (nothing applied; the install, release change or kernel switch still happens) in this run. Negative: the baseline measured more. "?": no baseline figure (see its note).';

/**
 * Impact bits of a cell, each "measured / attributable": reboots and pod restarts in the
 * cell (short), canary disruption and node downtime as a footnote.
 */
function impactBits(r: Reader, s: ScenarioId, bits: string[], opts: { reboots?: 'always' | 'when-any' | 'never' } = {}): void {
  const rb = r.impact(s, 'reboots', (n) => (n === 0 ? 'no reboot' : plural(n, 'reboot')), signedCount, 'reboots:');
  const when = opts.reboots ?? 'always';
  if (rb && when !== 'never' && (when === 'always' || rb.measured !== 0 || (rb.attributable ?? 0) !== 0)) bits.push(rb.text);
  const restarts = r.impact(s, 'podRestarts', (n) => plural(n, 'pod restart'), signedCount, 'pod restarts:');
  if (restarts && (restarts.measured !== 0 || (restarts.attributable ?? 0) !== 0)) bits.push(restarts.text);
  // Durations go to the footnotes (a negative one carries its explanation there).
  const canary = r.impact(s, 'canaryDisruptionMs', formatMs, signedMs, 'canary workload down');
  if (canary && canary.measured !== 0 && (canary.attributable ?? 0) >= 0) r.note(`${r.method}, ${s}: canary workload down ${canary.text}`);
  const down = r.impact(s, 'downtimeTotalMs', formatMs, signedMs, 'nodes down in total');
  if (down && down.measured !== 0 && (down.attributable ?? 0) >= 0) r.note(`${r.method}, ${s}: nodes down ${down.text} in total`);
}

export function summaryRow(method: MethodRowId, title: string, columns: readonly SummaryColumnId[], results: ScenarioResult[], nodeCount: number): DraftCell[] {
  return columns.map((c) => {
    const r = new Reader(method, results);
    switch (c) {
      case 'method':
        return { text: title, metrics: [], notes: [] };
      case 'resources':
        return resourcesCell(r);
      case 'day1':
        return day1Cell(r, nodeCount);
      case 'day2':
        return day2Cell(r, nodeCount);
      case 'upgrade':
      case 'kernel-switch':
        return changeCell(r, c, nodeCount);
      case 'uninstall':
        return uninstallCell(r, nodeCount);
      case 'memory':
        return memoryCell(r, nodeCount);
    }
  });
}

const BUILD_ORDER: ScenarioId[] = ['day2', 'day1', 'upgrade', 'kernel-switch'];
const RESIDENT_ORDER = BUILD_ORDER;

/** The longest a resources cell may be: one short line, the details are footnotes. */
export const RESOURCES_CELL_MAX = 48;

/**
 * What the method's delivery costs, in one short line — "build 41.0 s · 312 MB img ·
 * 310 MB/node" — and every detail behind it as footnotes: what it leaves running, the
 * build's CPU and peak RSS, the image's layers and bytes pushed, each node's pull, the
 * registry storage its images use. A figure that was not measured is a footnote saying
 * why, not a cell part.
 */
function resourcesCell(r: Reader): DraftCell {
  const parts: string[] = [];
  residentNote(r);
  const worked = buildPart(r, parts);
  imageParts(r, worked, parts);
  registryStorageNote(r);
  return r.cell(fitted(parts));
}

/** The parts joined, as many as fit: a part that does not fit is left to its footnote. */
function fitted(parts: readonly string[]): string {
  let text = '';
  for (const p of parts) {
    const next = text ? `${text} · ${p}` : p;
    if (next.length > RESOURCES_CELL_MAX) break;
    text = next;
  }
  return text || parts[0]!.slice(0, RESOURCES_CELL_MAX);
}

/** What the method leaves running (the memory column has its size): a footnote. */
function residentNote(r: Reader): void {
  // Day 2 shows what a method leaves running; a run without day 2 takes the first scenario that measured it.
  const planned = RESIDENT_ORDER.filter((sc) => r.result(sc));
  const hasMemory = (sc: ScenarioId) => {
    const m = r.result(sc)?.metrics['memoryBytes'];
    return m !== undefined && 'value' in m;
  };
  const rs = planned.find(hasMemory) ?? planned[0] ?? 'day2';
  const mem = r.get(rs, 'memoryBytes');
  const cpu = r.num(rs, 'cpuShare');
  if (mem && 'value' in mem) {
    if (mem.value === 0) r.note(`${r.method}: resident (${rs}): none`);
    else {
      const comps = [...new Set((r.result(rs)?.components ?? []).filter((c) => c.medianRssBytes !== undefined).map((c) => c.component))];
      r.note(`${r.method}: resident (${rs}): ${comps.join(', ') || 'resident pods'}${cpu !== undefined ? `, ${formatShare(cpu).replace(' of a core', ' CPU')}` : ''}`);
    }
  } else {
    r.note(`${r.method}: resident components not measured: ${r.reason(rs, 'memoryBytes')}`);
  }
}

/** "build 41.0 s" / "build failed after 2.3 s", the build's other figures as a footnote; returns the scenario whose build did work. */
function buildPart(r: Reader, parts: string[]): ScenarioId | undefined {
  // Build cost from the first scenario whose build did real work (later ones may be cache hits).
  const s = BUILD_ORDER.find((sc) => (r.result(sc)?.builds ?? []).some((b) => !b.cached));
  const builds = s ? (r.result(s)?.builds ?? []) : [];
  // A failed build followed by one that worked (a Build retriggered: dtk tracking's first
  // build before its ImageStream resolves) is a footnote; the cell shows the one that worked.
  const failed = builds.some((b) => b.ok) ? undefined : builds.find((b) => !b.ok);
  // Or one that worked followed by one that failed (on-cluster layering's rebuild on an upgrade).
  const retried = builds.find((b) => !b.ok && b !== failed);
  const order = retried && builds.slice(builds.indexOf(retried)).some((b) => b.ok) ? 'before one succeeded' : '(an earlier one succeeded)';
  if (retried) r.note(`${r.method}: a driver build${retried.kver ? ` for ${retried.kver}` : ''} (${s}) failed${retried.wallMs !== undefined ? ` after ${formatMs(retried.wallMs)}` : ''} ${order}: ${retried.error ?? 'no error recorded'}`);
  if (failed) {
    // A failed build still cost its time: show how long it ran before failing.
    parts.push(failed.wallMs !== undefined ? `build failed after ${formatMs(failed.wallMs)}` : 'build failed');
    // A MachineOSBuild names no kernel (its base image does): then the note names none.
    r.note(`${r.method}: driver build${failed.kver ? ` for ${failed.kver}` : ''} (${s}) failed${failed.wallMs === undefined ? ' before it ran' : ''}: ${failed.error ?? 'no error recorded'}`);
  } else if (s && r.num(s, 'buildWallMs') !== undefined) {
    const wall = r.num(s, 'buildWallMs')!;
    const cpuMs = r.num(s, 'buildCpuMs');
    const rss = r.num(s, 'buildPeakRssBytes');
    const out = r.num(s, 'buildOutputBytes');
    const bits = [`${formatMs(wall)} wall`];
    if (cpuMs !== undefined) bits.push(`${formatMs(cpuMs)} CPU`);
    if (rss !== undefined) bits.push(`${formatBytes(rss)} peak RSS`);
    if (out !== undefined) bits.push(`${formatBytes(out)} output`);
    const cached = r.num('day2', 'buildCachedCount');
    r.note(`${r.method}: driver build (${s}): ${bits.join(', ')}${s !== 'day2' && cached ? '; the day-2 build was served from cache' : ''}`);
    parts.push(`build ${formatMs(wall)}`);
  } else {
    r.note(`${r.method}: driver build not measured: ${r.reason(s ?? BUILD_ORDER.find((sc) => r.result(sc)) ?? 'day2', 'buildWallMs')}`);
    parts.push('build not measured');
  }
  return s;
}

/**
 * The image the method ships and what the nodes pull: "312 MB img · 310 MB/node" in the
 * cell; layers, bytes pushed and each node's pull in footnotes. Each from the first
 * scenario that measured it (a cache hit's image was read from the registry too).
 * Also after a failed build: a later one (a retriggered Build) may have pushed the image the nodes run.
 */
function imageParts(r: Reader, worked: ScenarioId | undefined, parts: string[]): void {
  const planned = BUILD_ORDER.filter((sc) => r.result(sc));
  const has = (sc: ScenarioId, metric: string) => {
    const m = r.result(sc)?.metrics[metric];
    return m !== undefined && 'value' in m;
  };
  const s = planned.find((sc) => has(sc, 'buildImageBytes')) ?? worked ?? planned.find((sc) => (r.result(sc)?.builds ?? []).length > 0) ?? planned[0] ?? 'day2';
  const bytes = r.num(s, 'buildImageBytes');
  const layers = r.num(s, 'buildImageLayers');
  if (bytes !== undefined && layers !== undefined) {
    parts.push(`${formatBytes(bytes)} img`);
    const pushed = r.num(s, 'buildBytesPushed');
    const more = r.get(s, 'buildImageBytes');
    const of = more && 'note' in more && more.note ? ` (${more.note})` : '';
    r.note(`${r.method}: image (${s}): ${formatBytes(bytes)} as the registry stores it, ${plural(layers, 'layer')}${of}; ${pushed !== undefined ? `${formatBytes(pushed)} pushed` : `bytes pushed not measured: ${r.reason(s, 'buildBytesPushed')}`}`);
  } else {
    r.note(`${r.method}: image not measured: ${r.reason(s, 'buildImageBytes')}`);
  }
  const ps = planned.find((sc) => has(sc, 'imagePulledBytesPerNode'));
  if (ps) {
    const pulled = r.num(ps, 'imagePulledBytesPerNode')!;
    const perNode = Object.entries(r.result(ps)?.nodes ?? {}).flatMap(([n, m]) => {
      const v = m['imagePulledBytes'];
      return v && 'value' in v && typeof v.value === 'number' ? [`${n} ${formatBytes(v.value)}`] : [];
    });
    const even = new Set(perNode.map((x) => x.slice(x.indexOf(' ')))).size <= 1;
    parts.push(`${even ? '' : '≤'}${formatBytes(pulled)}/node`);
    const how = r.get(ps, 'imagePulledBytesPerNode');
    // The metric's note ends with what the bytes are (pullBasis); its per-node part is already listed here.
    const basis = how && 'note' in how && how.note ? how.note.split('; ').at(-1) : undefined;
    r.note(`${r.method}: image bytes pulled per node (${ps}): ${perNode.join(', ') || formatBytes(pulled)}${basis ? `; ${basis}` : ''}`);
  } else {
    r.note(`${r.method}: image bytes pulled not measured: ${r.reason(s, 'imagePulledBytesPerNode')}`);
  }
}

/** The registry storage the method's images use beyond the release's: a footnote (the last scenario that measured it, when the row's images are all there). */
function registryStorageNote(r: Reader): void {
  const planned = SCENARIO_ORDER.filter((sc) => r.result(sc));
  const s = [...planned].reverse().find((sc) => {
    const m = r.result(sc)?.metrics['registryStorageBytes'];
    return m !== undefined && 'value' in m;
  });
  if (s) {
    const m = r.get(s, 'registryStorageBytes');
    const v = r.num(s, 'registryStorageBytes')!;
    r.note(`${r.method}: registry storage used (after ${s}): ${formatBytes(v)} of blobs beyond the release images${m && 'note' in m && m.note ? ` (${m.note})` : ''}`);
  } else {
    const at = planned[0] ?? 'day2';
    r.note(`${r.method}: registry storage used not measured: ${r.reason(at, 'registryStorageBytes')}`);
  }
}

const SCENARIO_ORDER: ScenarioId[] = ['day1', 'day2', 'upgrade', 'kernel-switch', 'uninstall'];

function day1Cell(r: Reader, n: number): DraftCell {
  const ok = r.bool('day1', 'success');
  const loaded = r.num('day1', 'nodesWithDriver');
  const first = r.bool('day1', 'loadedAtFirstBoot');
  const fromBoot = r.num('day1', 'timeFromFirstBootMs');
  if (ok === undefined) return r.notMeasured('day1', 'success');
  if (!ok) {
    r.note(`${r.method}, day1: loaded on ${loaded ?? '?'}/${n} nodes: ${r.reason('day1', 'timeToDriverMs')}`);
    return r.cell('no');
  }
  // Day 1 counts the reboots after the first boot: "+1 reboot" (/ attributable, when there is a baseline).
  const extra = r.impact('day1', 'reboots', (k) => `+${plural(k, 'reboot')}`, signedCount);
  const when = first === true ? 'first boot' : extra ? extra.text : 'after a reboot';
  if (fromBoot !== undefined) r.note(`${r.method}, day1: ${formatMs(fromBoot)} from first boot to loaded`);
  const bits = [`yes, ${when}${fromBoot !== undefined ? `, ${formatMs(fromBoot)}` : ''}`];
  impactBits(r, 'day1', bits, { reboots: 'never' });
  manualBits(r, 'day1', bits);
  return r.cell(bits.join(', '));
}

function day2Cell(r: Reader, n: number): DraftCell {
  const ok = r.bool('day2', 'success');
  const loaded = r.num('day2', 'nodesWithDriver');
  if (ok === undefined) return r.notMeasured('day2', 'success');
  if (!ok) {
    r.note(`${r.method}, day2: loaded on ${loaded ?? '?'}/${n} nodes: ${r.reason('day2', 'timeToDriverMs')}`);
    return r.cell('no');
  }
  const t = r.num('day2', 'timeToDriverMs');
  const bits = ['yes'];
  if (t !== undefined) bits.push(formatMs(t));
  impactBits(r, 'day2', bits);
  manualBits(r, 'day2', bits);
  // Say whether time to driver includes installing an operator, or why that was not measured.
  const op = r.get('day2', 'operatorInstallMs');
  if (op && 'value' in op && typeof op.value === 'number') r.note(`${r.method}, day2: time to driver includes the operator install, ${formatMs(op.value)}`);
  else if (op && 'notMeasured' in op && op.notMeasured !== NO_OPERATOR) r.note(`${r.method}, day2: operator install not measured: ${op.notMeasured}`);
  return r.cell(bits.join(', '));
}

/** The README's steps besides `oc apply` (the lab performs them, a person would have to): counted, listed in a footnote. */
function manualBits(r: Reader, s: ScenarioId, bits: string[]): void {
  const n = r.num(s, 'manualSteps');
  if (!n) return;
  bits.push(plural(n, 'manual step'));
  for (const st of collapse((r.result(s)?.manualSteps ?? []).map((x) => x.description))) r.note(`${r.method}, ${s}: manual step: ${st}`);
}

/** For a scenario cut short: the counts seen before the kill ("1 reboot so far"), to say what little is known. */
function soFar(r: Reader, s: ScenarioId): string {
  if (r.result(s)?.status !== 'interrupted') return '';
  const seen = (['reboots', 'podRestarts', 'manualSteps'] as const).flatMap((m) => {
    const v = r.get(s, m);
    const k = v && 'notMeasured' in v ? /\((\d+) so far\)$/.exec(v.notMeasured)?.[1] : undefined;
    return k ? [plural(Number(k), m === 'reboots' ? 'reboot' : m === 'podRestarts' ? 'pod restart' : 'manual step')] : [];
  });
  return seen.length ? `; seen before it: ${seen.join(', ')}` : '';
}

/** Upgrade and kernel switch: was the driver restored on the new kernel, and by whom. */
function changeCell(r: Reader, s: 'upgrade' | 'kernel-switch', n: number): DraftCell {
  const ok = r.bool(s, 'success');
  if (ok === undefined) return r.notMeasured(s, 'success');
  const manual = r.num(s, 'manualSteps');
  const left = r.num(s, 'nodesLeftOnOldRelease');
  const restarts = r.num(s, 'podRestarts');
  const steps = r.result(s)?.manualSteps ?? [];
  for (const st of collapse(steps.map((x) => x.description))) r.note(`${r.method}, ${s}: manual step: ${st}`);
  const impact: string[] = [];
  impactBits(r, s, impact);
  if (ok) {
    const t = r.num(s, 'timeToDriverMs');
    return r.cell([`yes, ${manual ? `after ${plural(manual, 'manual step')}` : 'automatic'}${t !== undefined ? `, ${formatMs(t)}` : ''}`, ...impact].join(', '));
  }
  const why: string[] = [];
  if (left) why.push(`${left}/${n} ${left === 1 ? 'node' : 'nodes'} left on the old kernel`);
  const withDriver = r.num(s, 'nodesWithDriver');
  if (!left && withDriver !== undefined) why.push(`driver loaded on ${withDriver}/${n} nodes after the change`);
  if (restarts) why.push(plural(restarts, 'pod restart'));
  if (why.length === 0) why.push(r.reason(s, 'timeToDriverMs'));
  r.note(`${r.method}, ${s}: not restored: ${why.join(', ')}`);
  return r.cell([`no${manual ? `, ${plural(manual, 'manual step')}` : ''}`, ...impact].join(', '));
}

function uninstallCell(r: Reader, n: number): DraftCell {
  const ok = r.bool('uninstall', 'success');
  if (ok === undefined) return r.notMeasured('uninstall', 'success');
  const t = r.num('uninstall', 'timeToDriverMs');
  const left = r.num('uninstall', 'leftovers');
  const bits = [ok ? 'yes' : 'no'];
  if (!ok) r.note(`${r.method}, uninstall: driver still loaded on ${r.num('uninstall', 'nodesWithDriver') ?? '?'}/${n} nodes`);
  if (t !== undefined && ok) bits.push(formatMs(t));
  impactBits(r, 'uninstall', bits, { reboots: 'when-any' });
  if (left !== undefined) bits.push(left === 0 ? 'nothing left' : `${left} left`);
  const leftNote = r.result('uninstall')?.metrics['leftovers'];
  if (left && leftNote && 'note' in leftNote && leftNote.note) r.note(`${r.method}, uninstall: left on the nodes: ${leftNote.note}`);
  return r.cell(bits.join(', '));
}

function memoryCell(r: Reader, n: number): DraftCell {
  for (const s of ['day2', 'day1', 'upgrade', 'kernel-switch'] as ScenarioId[]) {
    const m = r.get(s, 'memoryBytes');
    if (!m || !('value' in m) || typeof m.value !== 'number') continue;
    const where = [s !== 'day2' ? `measured in ${s}` : '', n > 1 ? `sum over ${n} nodes` : ''].filter(Boolean).join(', ');
    if (where) r.note(`${r.method}, memory: ${where}`);
    if (m.value === 0) return r.cell('0 (none resident)');
    r.note(`${r.method}, memory: median RSS of ${m.note ?? 'the resident components'} in steady state`);
    return r.cell(formatBytes(m.value));
  }
  // Say why for a scenario that ran (a kernel-switch-only run has no day2 to blame).
  return r.notMeasured(BUILD_ORDER.find((s) => r.result(s)) ?? 'day2', 'memoryBytes');
}

/** Identical lines collapse into one with a count ("… (×20)"), in first-seen order. */
export function collapse(lines: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts].map(([l, k]) => (k > 1 ? `${l} (×${k})` : l));
}
