/**
 * The seed's summary table, filled from measurements. Each cell is composed from named
 * metrics (listed with the cell in report.json, so it can be audited); a figure that
 * was not measured says so with its reason. No cell is ever empty.
 */
import type { MethodId } from '../artifacts/artifact-set.js';
import type { ScenarioId } from '../evaluation/events.js';
import { formatBytes, formatBytesExact, formatMs, formatShare } from './format.js';
import type { ScenarioResult } from './model.js';

type Cell = { text: string; metrics: string[] };
type M = ScenarioResult['metrics'][string];

/** Reads metrics of one (method, scenario) and remembers which were used. */
class Reader {
  readonly used: string[] = [];
  constructor(readonly method: MethodId, readonly results: ScenarioResult[]) {}
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
  cell(text: string): Cell {
    return { text, metrics: [...new Set(this.used)] };
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function summaryRow(method: MethodId, title: string, results: ScenarioResult[], targetLabel: string, nodeCount: number): Cell[] {
  const d = (ms: number) => `${formatMs(ms)} [${targetLabel}]`;
  return [
    { text: title, metrics: [] },
    resourcesCell(new Reader(method, results), d),
    day1Cell(new Reader(method, results), d, nodeCount),
    day2Cell(new Reader(method, results), d, nodeCount),
    upgradeCell(new Reader(method, results), d, nodeCount),
    memoryCell(new Reader(method, results), nodeCount),
  ];
}

const BUILD_ORDER: ScenarioId[] = ['day2', 'day1', 'upgrade', 'kernel-switch'];

/** What the method leaves running, and what its builds cost. */
function resourcesCell(r: Reader, d: (ms: number) => string): Cell {
  const parts: string[] = [];
  const day2 = r.result('day2');
  const mem = r.get('day2', 'memoryBytes');
  const cpu = r.num('day2', 'cpuShare');
  if (mem && 'value' in mem) {
    if (mem.value === 0) parts.push('no resident component');
    else {
      const comps = [...new Set((day2?.components ?? []).filter((c) => c.medianRssBytes !== undefined).map((c) => c.component))];
      parts.push(`resident: ${comps.join(', ') || 'components'}${cpu !== undefined ? ` (CPU ${formatShare(cpu)})` : ''}`);
    }
  } else parts.push(`resident components: not measured (${r.reason('day2', 'memoryBytes')})`);
  // Build cost from the first scenario whose build did real work (later ones may be cache hits).
  const s = BUILD_ORDER.find((sc) => r.num(sc, 'buildWallMs') !== undefined);
  if (s) {
    const wall = r.num(s, 'buildWallMs')!;
    const cpuMs = r.num(s, 'buildCpuMs');
    const rss = r.num(s, 'buildPeakRssBytes');
    const out = r.num(s, 'buildOutputBytes');
    const bits = [`${d(wall)} wall`];
    if (cpuMs !== undefined) bits.push(`${d(cpuMs)} CPU`);
    if (rss !== undefined) bits.push(`${formatBytes(rss)} peak RSS`);
    if (out !== undefined) bits.push(`${formatBytes(out)} output`);
    parts.push(`driver build (${s}): ${bits.join(', ')}`);
    const cached = r.num('day2', 'buildCachedCount');
    if (s !== 'day2' && cached !== undefined && cached > 0) parts.push('day2 build served from cache');
  } else parts.push(`driver build: not measured (${r.reason('day2', 'buildWallMs')})`);
  return r.cell(parts.join('; '));
}

function day1Cell(r: Reader, d: (ms: number) => string, n: number): Cell {
  const ok = r.bool('day1', 'success');
  const loaded = r.num('day1', 'nodesWithDriver');
  const first = r.bool('day1', 'loadedAtFirstBoot');
  const fromBoot = r.num('day1', 'timeFromFirstBootMs');
  const extra = r.num('day1', 'reboots');
  if (ok === undefined) return r.cell(`not measured (${r.reason('day1', 'success')})`);
  if (!ok) return r.cell(`not loaded${loaded !== undefined ? ` (${loaded}/${n} nodes)` : ''}: ${r.reason('day1', 'timeToDriverMs')}`);
  const when =
    first === true
      ? 'loaded at first boot'
      : first === false
        ? `loaded only after ${extra !== undefined ? plural(extra, 'extra reboot') : 'a reboot'}`
        : `loaded (first boot: not measured: ${r.reason('day1', 'loadedAtFirstBoot')})`;
  const after = fromBoot !== undefined ? `, ${d(fromBoot)} after first boot` : '';
  const reboots = first === true && extra !== undefined ? `, ${plural(extra, 'extra reboot')}` : '';
  return r.cell(`${when} on ${loaded ?? '?'}/${n} nodes${after}${reboots}`);
}

function day2Cell(r: Reader, d: (ms: number) => string, n: number): Cell {
  const ok = r.bool('day2', 'success');
  const loaded = r.num('day2', 'nodesWithDriver');
  if (ok === undefined) return r.cell(`not measured (${r.reason('day2', 'success')})`);
  if (!ok) return r.cell(`not loaded (${loaded ?? '?'}/${n} nodes): ${r.reason('day2', 'timeToDriverMs')}`);
  const t = r.num('day2', 'timeToDriverMs');
  const reboots = r.num('day2', 'reboots');
  const down = r.num('day2', 'downtimeTotalMs');
  const restarts = r.num('day2', 'podRestarts');
  const bits = [`loaded on ${loaded}/${n} nodes in ${t !== undefined ? d(t) : `? (${r.reason('day2', 'timeToDriverMs')})`}`];
  bits.push(reboots !== undefined ? `${plural(reboots, 'reboot')}${reboots > 0 && down ? ` (${d(down)} down)` : ''}` : `reboots not measured (${r.reason('day2', 'reboots')})`);
  if (restarts) bits.push(plural(restarts, 'pod restart'));
  return r.cell(bits.join(', '));
}

/** For a scenario cut short: the counts seen before the kill ("1 reboot so far"), to say what little is known. */
function soFar(r: Reader, s: ScenarioId): string {
  if (r.result(s)?.status !== 'interrupted') return '';
  const seen = (['reboots', 'podRestarts', 'manualSteps'] as const).flatMap((m) => {
    const v = r.get(s, m);
    const n = v && 'notMeasured' in v ? /\((\d+) so far\)$/.exec(v.notMeasured)?.[1] : undefined;
    return n ? [plural(Number(n), m === 'reboots' ? 'reboot' : m === 'podRestarts' ? 'pod restart' : 'manual step')] : [];
  });
  return seen.length ? `; seen before it: ${seen.join(', ')}` : '';
}

function upgradeCell(r: Reader, d: (ms: number) => string, n: number): Cell {
  const ok = r.bool('upgrade', 'success');
  if (ok === undefined) return r.cell(`not measured (${r.reason('upgrade', 'success')}${soFar(r, 'upgrade')})`);
  const manual = r.num('upgrade', 'manualSteps');
  const left = r.num('upgrade', 'nodesLeftOnOldRelease');
  const restarts = r.num('upgrade', 'podRestarts');
  const steps = r.result('upgrade')?.manualSteps ?? [];
  if (ok) {
    const t = r.num('upgrade', 'timeToDriverMs');
    const how = manual ? `restored after ${plural(manual, 'manual step')}` : 'restored automatically';
    return r.cell(`${how} in ${t !== undefined ? d(t) : `? (${r.reason('upgrade', 'timeToDriverMs')})`}`);
  }
  const why: string[] = [];
  if (manual) why.push(`${steps.some((s) => /rebuild/i.test(s.description)) ? 'manual rebuild' : 'manual action'} needed (${plural(manual, 'manual step')})`);
  if (left) why.push(`${left}/${n} ${left === 1 ? 'node' : 'nodes'} left on old release`);
  const withDriver = r.num('upgrade', 'nodesWithDriver');
  if (!left && withDriver !== undefined) why.push(`driver loaded on ${withDriver}/${n} nodes after the upgrade`);
  if (restarts) why.push(plural(restarts, 'pod restart'));
  if (why.length === 0) why.push(r.reason('upgrade', 'timeToDriverMs'));
  return r.cell(`not restored: ${why.join(', ')}`);
}

function memoryCell(r: Reader, n: number): Cell {
  for (const s of ['day2', 'day1', 'upgrade', 'kernel-switch'] as ScenarioId[]) {
    const m = r.get(s, 'memoryBytes');
    if (!m || !('value' in m) || typeof m.value !== 'number') continue;
    const where = `${s !== 'day2' ? `${s}, ` : ''}${n > 1 ? `sum over ${n} nodes, ` : ''}`;
    if (m.value === 0) return r.cell(`0 (no resident component${where ? `; ${where.replace(/, $/, '')}` : ''})`);
    return r.cell(`${formatBytesExact(m.value)} (${where}median, ${m.note ?? 'resident components'})`);
  }
  return r.cell(`not measured (${r.reason('day2', 'memoryBytes')})`);
}
