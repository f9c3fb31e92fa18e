/**
 * The verdict: which method to use under the user's constraints, ranked. Pure: a report
 * (figures measured in one run) and the methods' documented features in, a ranking out.
 * Every claim is backed either by a measured figure (its `<method>.<scenario>.<metric>`
 * path in report.json) or by a documented feature with its source; a constraint that
 * can be judged from a measurement is judged from it, the documentation is the fallback.
 *
 * Rules, in order: a method that misses a constraint ranks below one that meets it only
 * partly, which ranks below one that meets it; ties are broken by measured impact
 * (day-2 reboots, then whether the driver came back after the upgrade by itself, then
 * canary disruption over the scenarios, then day-2 time to driver, then resident
 * memory). Without constraints, measured impact alone decides. When the run has a
 * baseline, reboots and canary disruption are the attributable figures (with the method
 * − the baseline), so what the cluster does anyway is not held against a method.
 */
import '../methods/all.js';
import { getMethod } from '../methods/index.js';
import { featureFor, type FeatureKey, type FeatureLevel } from '../methods/method.js';
import type { MethodId } from '../artifacts/artifact-set.js';
import type { MethodRowId } from '../methods/rows.js';
import { formatBytes, formatMs } from './format.js';
import { resultOf, type Report } from './model.js';

export const CONSTRAINTS = {
  sno: 'single-node OpenShift: one node is the whole cluster',
  'no-reboot': 'the driver must not reboot nodes to be installed',
  'secure-boot': 'Secure Boot: modules must be signed',
  disconnected: 'disconnected (air-gapped) cluster',
  'day1-network-driver': 'a network driver needed from the first boot',
  'follow-upgrades': 'the driver must follow cluster upgrades without manual work',
  'no-privileged-pods': 'no privileged pods allowed on the nodes',
} as const;
export type ConstraintId = keyof typeof CONSTRAINTS;
export const CONSTRAINT_IDS = Object.keys(CONSTRAINTS) as ConstraintId[];

export type Evidence =
  | { kind: 'measured'; metric: string; value: number | boolean | string; text: string }
  | { kind: 'documented'; feature: FeatureKey; value: string; source: string };

export interface Assessment {
  constraint: ConstraintId;
  meets: FeatureLevel;
  why: string;
  evidence: Evidence[];
}

export interface RankedMethod {
  rank: number;
  /** The row (method variant, src/methods/rows.ts). */
  method: MethodRowId;
  variant: string;
  title: string;
  /** One line: why it sits here. */
  why: string;
  assessments: Assessment[];
  /** Measured impact the tie-break used (absent: not measured in this run). */
  impact: { basis: 'attributable' | 'measured'; day2Reboots?: number; upgradeAutomatic?: boolean; canaryDisruptionMs?: number; day2TimeToDriverMs?: number; memoryBytes?: number };
}

export interface Verdict {
  constraints: ConstraintId[];
  ranking: RankedMethod[];
  /** Constraints no method meets fully. */
  unmet: ConstraintId[];
}

type Level = FeatureLevel;

/** Reads `--constraints a,b`: unknown names are the caller's error to report. */
export function parseConstraints(list: string | undefined): { constraints: ConstraintId[]; unknown: string[] } {
  const items = (list ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    constraints: [...new Set(items.filter((i): i is ConstraintId => i in CONSTRAINTS))],
    unknown: items.filter((i) => !(i in CONSTRAINTS)),
  };
}

export function verdict(report: Report, constraints: readonly ConstraintId[]): Verdict {
  const rows = report.methods.map((m) => judge(report, m, constraints));
  rows.sort(compare);
  const ranking = rows.map((r, i) => ({ ...r, rank: i + 1 }));
  return {
    constraints: [...constraints],
    ranking,
    unmet: constraints.filter((c) => !ranking.some((r) => r.assessments.find((a) => a.constraint === c)?.meets === 'yes')),
  };
}

function compare(a: Omit<RankedMethod, 'rank'>, b: Omit<RankedMethod, 'rank'>): number {
  const count = (r: typeof a, l: Level) => r.assessments.filter((x) => x.meets === l).length;
  return (
    count(a, 'no') - count(b, 'no') ||
    count(a, 'partly') - count(b, 'partly') ||
    cmp(a.impact.day2Reboots, b.impact.day2Reboots) ||
    cmp(a.impact.upgradeAutomatic === undefined ? undefined : a.impact.upgradeAutomatic ? 0 : 1, b.impact.upgradeAutomatic === undefined ? undefined : b.impact.upgradeAutomatic ? 0 : 1) ||
    cmp(a.impact.canaryDisruptionMs, b.impact.canaryDisruptionMs) ||
    cmp(a.impact.day2TimeToDriverMs, b.impact.day2TimeToDriverMs) ||
    cmp(a.impact.memoryBytes, b.impact.memoryBytes)
  );
}

/** Lower is better; not measured sorts last. */
function cmp(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a - b;
}

/** A measured figure of this run, or undefined. */
function figure(report: Report, method: string, scenario: string, metric: string): Evidence | undefined {
  const r = resultOf(report, method, scenario);
  const m = r?.metrics[metric];
  if (!m || !('value' in m)) return undefined;
  const v = m.value;
  const text = typeof v === 'number' ? (metric.endsWith('Ms') ? formatMs(v) : metric.endsWith('Bytes') ? formatBytes(v) : String(v)) : typeof v === 'boolean' ? (v ? 'yes' : 'no') : v;
  return { kind: 'measured', metric: `${method}.${scenario}.${metric}`, value: v, text };
}

/**
 * An impact figure (reboots, canary disruption…): attributable (with the method − the
 * baseline) when the run has that figure, else as measured.
 */
function impactFigure(report: Report, method: string, scenario: string, metric: string): Evidence | undefined {
  const r = resultOf(report, method, scenario);
  const a = r?.attributable?.[metric];
  const m = r?.metrics[metric];
  if (a && 'value' in a && typeof a.value === 'number' && m && 'value' in m) {
    const fmt = (v: number) => (metric.endsWith('Ms') ? formatMs(Math.abs(v)) : String(Math.abs(v)));
    const sign = a.value > 0 ? '+' : a.value < 0 ? '−' : '';
    return { kind: 'measured', metric: `${method}.${scenario}.attributable.${metric}`, value: a.value, text: `${sign}${fmt(a.value)} attributable (${fmt(Number(m.value))} measured − baseline)` };
  }
  return figure(report, method, scenario, metric);
}

/** The documented fact of the variant the row measured (the same text as its features column). */
function documented(method: MethodId, variant: string, key: FeatureKey): { level?: Level; evidence: Evidence } | undefined {
  const f = featureFor(getMethod(method), variant, key);
  if (!f) return undefined;
  return { level: f.level, evidence: { kind: 'documented', feature: key, value: f.value, source: f.source } };
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

function judge(report: Report, row: Report['methods'][number], constraints: readonly ConstraintId[]): Omit<RankedMethod, 'rank'> {
  const { id: method, variant, title } = row;
  const num = (s: string, m: string) => {
    const e = figure(report, method, s, m);
    return e && typeof e.value === 'number' ? e.value : undefined;
  };
  const bool = (s: string, m: string) => {
    const e = figure(report, method, s, m);
    return e && typeof e.value === 'boolean' ? e.value : undefined;
  };
  const upgradeOk = bool('upgrade', 'success');
  const upgradeManual = num('upgrade', 'manualSteps');
  const memory = num('day2', 'memoryBytes');
  const impactNum = (s: string, m: string) => {
    const e = impactFigure(report, row.id, s, m);
    return e && typeof e.value === 'number' ? e.value : undefined;
  };
  const rebootsEv = impactFigure(report, row.id, 'day2', 'reboots');
  const day2Reboots = rebootsEv && typeof rebootsEv.value === 'number' ? rebootsEv.value : undefined;
  const day2TimeToDriverMs = num('day2', 'timeToDriverMs');
  const canary = report.scenarios.map((s) => impactNum(s, 'canaryDisruptionMs')).filter((x): x is number => x !== undefined);
  const impact: RankedMethod['impact'] = {
    basis: rebootsEv?.kind === 'measured' && rebootsEv.metric.includes('.attributable.') ? 'attributable' : 'measured',
    ...(day2Reboots !== undefined ? { day2Reboots } : {}),
    ...(upgradeOk !== undefined ? { upgradeAutomatic: upgradeOk && !upgradeManual } : {}),
    ...(canary.length ? { canaryDisruptionMs: canary.reduce((a, b) => a + b, 0) } : {}),
    ...(day2TimeToDriverMs !== undefined ? { day2TimeToDriverMs } : {}),
    ...(memory !== undefined ? { memoryBytes: memory } : {}),
  };
  const assessments = constraints.map((c) => assess(report, row, c));
  return { method, variant, title, why: whyLine(assessments, impact), assessments, impact };
}

function assess(report: Report, row: Report['methods'][number], c: ConstraintId): Assessment {
  const ev = (s: string, m: string) => figure(report, row.id, s, m);
  const doc = (k: FeatureKey) => documented(row.method, row.variant, k);
  const fromDoc = (k: FeatureKey, invert = false, say?: (l: Level) => string): Assessment => {
    const d = doc(k);
    if (!d || !d.level) return { constraint: c, meets: 'partly', why: 'not documented: check it yourself', evidence: d ? [d.evidence] : [] };
    const level: Level = invert ? (d.level === 'yes' ? 'no' : d.level === 'no' ? 'yes' : 'partly') : d.level;
    return { constraint: c, meets: level, why: say ? say(level) : d.evidence.kind === 'documented' ? d.evidence.value : '', evidence: [d.evidence] };
  };
  switch (c) {
    case 'no-reboot': {
      const r = impactFigure(report, row.id, 'day2', 'reboots');
      if (r && r.kind === 'measured' && typeof r.value === 'number') {
        const how = r.metric.includes('.attributable.') ? 'measured, less the baseline' : 'measured';
        return { constraint: c, meets: r.value <= 0 ? 'yes' : 'no', why: r.value <= 0 ? `no reboot added to install on running nodes (${how})` : `${plural(r.value, 'reboot')} to install on running nodes (${how})`, evidence: [r] };
      }
      return fromDoc('reboot-required', true, (l) => (l === 'yes' ? 'installs without a reboot (documented; not measured in this run)' : 'needs a reboot to install (documented; not measured in this run)'));
    }
    case 'sno': {
      const d = doc('single-node');
      const r = impactFigure(report, row.id, 'day2', 'reboots');
      const down = ev('day2', 'downtimeTotalMs');
      if (d?.level === 'no') return { constraint: c, meets: 'no', why: d.evidence.kind === 'documented' ? d.evidence.value : '', evidence: [d.evidence] };
      if (r && typeof r.value === 'number' && r.value > 0) {
        // On one node a reboot is a cluster outage: the API and every workload go down with it.
        return { constraint: c, meets: 'partly', why: `runs on SNO, but each install reboots the only node: the whole cluster is down${down?.kind === 'measured' ? ` (${down.text} measured)` : ''}`, evidence: [r, ...(down ? [down] : []), ...(d ? [d.evidence] : [])] };
      }
      if (d) return { constraint: c, meets: d.level ?? 'partly', why: `runs on SNO${r ? ' without rebooting the node (measured)' : ''}`, evidence: [...(r ? [r] : []), d.evidence] };
      return { constraint: c, meets: 'partly', why: 'not documented: check it yourself', evidence: [] };
    }
    case 'secure-boot': {
      const signed = ev('day2', 'moduleSigned');
      if (signed?.value === true) return { constraint: c, meets: 'yes', why: 'modules were signed in this run (measured)', evidence: [signed] };
      return fromDoc('module-signing', false, (l) => (l === 'yes' ? 'signs modules itself (documented)' : l === 'partly' ? 'signing is yours to add (documented)' : 'cannot sign modules (documented)'));
    }
    case 'disconnected':
      return fromDoc('disconnected', false, (l) => (l === 'yes' ? 'works with mirrored images (documented)' : 'needs more than mirrored images (documented)'));
    case 'day1-network-driver': {
      const ok = ev('day1', 'success');
      const first = ev('day1', 'loadedAtFirstBoot');
      const d = doc('day1-support');
      const evidence = [ok, first, d?.evidence].filter((e): e is Evidence => e !== undefined);
      if (ok?.value === false) return { constraint: c, meets: 'no', why: 'the Day-1 install did not load the driver (measured)', evidence };
      // A network driver is needed before the node can pull anything: only a driver in the
      // OS image or loaded before the network starts qualifies; the documentation says which.
      const level = d?.level ?? 'partly';
      const why =
        level === 'yes' ? 'in place before the network starts (documented)' : level === 'partly' ? `at install time with limits: ${d?.evidence.kind === 'documented' ? d.evidence.value : ''}` : 'only once the cluster runs pods, after the network is up (documented)';
      return { constraint: c, meets: first?.value === false && level === 'yes' ? 'partly' : level, why, evidence };
    }
    case 'follow-upgrades': {
      const ok = ev('upgrade', 'success');
      const manual = ev('upgrade', 'manualSteps');
      if (ok && typeof ok.value === 'boolean') {
        const m = manual && typeof manual.value === 'number' ? manual.value : 0;
        const evidence = [ok, ...(manual ? [manual] : [])];
        if (ok.value && m === 0) return { constraint: c, meets: 'yes', why: 'restored by itself after the upgrade (measured)', evidence };
        if (ok.value) return { constraint: c, meets: 'partly', why: `restored after the upgrade with ${plural(m, 'manual step')} (measured)`, evidence };
        return { constraint: c, meets: 'no', why: `not restored after the upgrade${m ? `; ${plural(m, 'manual step')} needed` : ''} (measured)`, evidence };
      }
      return fromDoc('follows-kernel-upgrades');
    }
    case 'no-privileged-pods':
      return fromDoc('privileged-workload', true, (l) => (l === 'yes' ? 'no privileged pod (documented)' : 'runs privileged pods on the nodes (documented)'));
  }
}

function whyLine(assessments: Assessment[], impact: RankedMethod['impact']): string {
  const parts: string[] = [];
  const by = (l: Level) => assessments.filter((a) => a.meets === l).map((a) => a.constraint);
  if (assessments.length) {
    if (by('yes').length) parts.push(`meets ${by('yes').join(', ')}`);
    if (by('partly').length) parts.push(`partly ${by('partly').join(', ')}`);
    if (by('no').length) parts.push(`misses ${by('no').join(', ')}`);
  }
  const measured: string[] = [];
  const added = impact.basis === 'attributable' ? ' added' : '';
  if (impact.day2Reboots !== undefined) measured.push(impact.day2Reboots <= 0 ? `no reboot${added} on install` : `${plural(impact.day2Reboots, 'reboot')}${added} on install`);
  if (impact.upgradeAutomatic !== undefined) measured.push(impact.upgradeAutomatic ? 'back by itself after the upgrade' : 'not back by itself after the upgrade');
  const c = impact.canaryDisruptionMs;
  if (c !== undefined && c !== 0) measured.push(c > 0 ? `canary down ${formatMs(c)}${added}` : `canary down ${formatMs(-c)} less than the baseline`);
  if (impact.day2TimeToDriverMs !== undefined) measured.push(`driver in ${formatMs(impact.day2TimeToDriverMs)}`);
  if (impact.memoryBytes !== undefined) measured.push(impact.memoryBytes === 0 ? 'nothing resident' : `${formatBytes(impact.memoryBytes)} resident`);
  if (measured.length) parts.push(`${impact.basis === 'attributable' ? 'measured, less the baseline' : 'measured'}: ${measured.join(', ')}`);
  return parts.join('; ') || 'nothing measured in this run';
}

/** The verdict as text: the numbered ranking, each claim with its backing. */
export function renderVerdictText(v: Verdict, opts: { details?: boolean } = {}): string {
  const out: string[] = [];
  out.push(v.constraints.length ? `For: ${v.constraints.join(', ')}` : 'No constraints given: ranked on measured impact alone.');
  for (const r of v.ranking) {
    out.push(`${r.rank}. ${r.method} (${r.variant}) — ${r.why}`);
    if (opts.details === false) continue;
    for (const a of r.assessments) {
      const backing = a.evidence.map((e) => (e.kind === 'measured' ? `${e.metric} = ${e.text}` : `${e.feature}: ${e.source}`)).join('; ');
      out.push(`   ${a.meets === 'yes' ? '✓' : a.meets === 'partly' ? '~' : '✗'} ${a.constraint}: ${a.why}${backing ? ` [${backing}]` : ''}`);
    }
  }
  if (v.unmet.length) out.push(`No method fully meets: ${v.unmet.join(', ')}.`);
  return `${out.join('\n')}\n`;
}
