/** report.md: the summary first (what the seed had), then the details behind it. */
import { appliesTo, metricTitle, SCENARIO_METRICS } from '../evaluation/metrics/catalog.js';
import type { ScenarioId } from '../evaluation/events.js';
import { cellWithMarks, footnoteMark, formatMeasured, formatMs, formatSigned } from './format.js';
import { BASELINE } from '../evaluation/events.js';
import { collapse } from './summary.js';
import { resultOf, type Report } from './model.js';

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells: string[]) => `| ${cells.map(esc).join(' | ')} |`;
const table = (head: string[], rows: string[][]) => [row(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(row)].join('\n');

export const SCENARIO_TITLES: Record<ScenarioId, string> = {
  day1: 'Day 1 (first boot with the artifacts in place)',
  day2: 'Day 2 (applied to running nodes)',
  upgrade: 'Upgrade (z-stream kernel change)',
  'kernel-switch': 'Kernel switch (default ↔ realtime)',
  uninstall: 'Uninstall (artifacts removed)',
};

/** A build line's word on its modules' dependencies (the rows go to a table below the list). */
function dependencyNote(deps: readonly { kind: string }[] | undefined): string {
  if (deps === undefined) return '';
  if (deps.length === 0) return ', no module dependencies';
  const inTree = deps.filter((d) => d.kind === 'in-tree').length;
  return `, ${deps.length} module dependenc${deps.length === 1 ? 'y' : 'ies'} (${inTree} in-tree; table below)`;
}

export function renderMarkdown(r: Report): string {
  const out: string[] = [];
  const label = r.run.targetLabel;
  out.push(`# kmodlab report: ${r.run.driver.name} ${r.run.driver.version}`, '');
  out.push(
    `Run \`${r.run.runId}\` on **${label}**, ${r.run.nodes.length} node(s), started ${r.run.startedAt} — **${r.run.status}**${r.run.error ? `: ${r.run.error}` : ''}.`,
  );
  if (r.run.status === 'interrupted') {
    out.push('', `> **Run interrupted** (last event ${r.run.lastEventAt}): what was recorded is reported; everything after it is marked "not measured".`);
  }
  out.push('', '## Verdict', '', verdictMarkdown(r), '');
  out.push('## Summary', '', summaryMarkdown(r), '');

  out.push('## Results per scenario', '', `Durations measured on ${label}.`, '');
  for (const s of r.scenarios) {
    out.push(`### ${SCENARIO_TITLES[s]}`, '');
    // The baseline column: what the same scenario measured with no driver method.
    const baseline = resultOf(r, BASELINE, s) ? [{ id: BASELINE as string, title: 'baseline (no method)', variant: '' }] : [];
    const methods = [...r.methods, ...baseline];
    const status = methods.map((m) => {
      const res = resultOf(r, m.id, s);
      return res ? `${res.status}${res.reason ? ` (${res.reason})` : ''}` : 'not planned';
    });
    const rows = [['Status', ...status]];
    for (const m of SCENARIO_METRICS.filter((x) => appliesTo(x, s))) {
      const title = metricTitle(m, s);
      rows.push([title, ...methods.map((me) => (me.id === BASELINE && !(m.id in (resultOf(r, me.id, s)?.metrics ?? {})) ? '—' : formatMeasured(m.unit, resultOf(r, me.id, s)?.metrics[m.id])))]);
      const attr = r.methods.map((me) => resultOf(r, me.id, s)?.attributable?.[m.id]);
      if (baseline.length && attr.some((a) => a !== undefined)) rows.push([`${title}, attributable (− baseline)`, ...attr.map((a) => formatSigned(m.unit, a)), ...baseline.map(() => '—')]);
    }
    out.push(table(['Metric', ...methods.map((m) => m.id)], rows), '');
    const extras: string[] = [];
    const depRows: string[][] = [];
    for (const me of methods) {
      const res = resultOf(r, me.id, s);
      if (!res) continue;
      // The same fault or step seen many times (e.g. every probe) is one line with a count.
      extras.push(...collapse(res.manualSteps.map((st) => `${me.id}: manual step: ${st.description}`)));
      extras.push(...collapse(res.faults.map((f) => `${me.id}: fault \`${f.fault}\`${f.node ? ` on ${f.node}` : ''}: ${f.message}`)));
      for (const b of res.builds) {
        const time = b.wallMs !== undefined ? (b.ok ? `, ${formatMs(b.wallMs)} wall` : ` after ${formatMs(b.wallMs)}`) : '';
        extras.push(`${me.id}: build for ${b.kver}: ${b.ok ? 'ok' : 'failed'}${b.cached ? ', cache hit' : ''}${time}${!b.ok && b.error ? ` (${b.error})` : ''}${dependencyNote(b.dependencies)}`);
        for (const d of b.dependencies ?? []) depRows.push([me.id, b.kver, d.module, d.name, d.kind]);
      }
    }
    if (extras.length) out.push(...extras.map((e) => `- ${e}`), '');
    if (depRows.length) {
      out.push('Module dependencies of the builds (`modinfo -F depends`; in-tree ones must be on the node and load first):', '', table(['Method', 'Kernel', 'Module', 'Needs', 'Class'], depRows), '');
    }
  }

  out.push('## Features of the methods', '', 'Documented behaviour, with sources (not measured by this run).', '');
  out.push(
    table(
      ['Feature', ...r.methods.map((m) => m.title)],
      r.features.map((f) => [f.title, ...r.methods.map((m) => (f.values[m.id] ? `${f.values[m.id]!.value} ([source](${f.values[m.id]!.source}))` : 'not documented'))]),
    ),
    '',
  );

  out.push('## How measured', '', ...r.howMeasured.notes.map((n) => `- ${n}`), '');
  out.push(table(['Metric', 'Unit', 'How'], r.howMeasured.metrics.map((m) => [m.title, m.unit, m.how])), '');
  if (r.run.warnings.length) out.push('### Warnings while reading the run', '', ...r.run.warnings.map((w) => `- ${w}`), '');
  out.push(`_Generated by ${r.generator} at ${r.generatedAt} from \`${r.run.dir}/events.jsonl\`._`, '');
  return out.join('\n');
}

/** The summary: caption, table (cells with footnote marks), footnotes. */
export function summaryMarkdown(r: Report): string {
  const notes = r.summary.footnotes.map((f, i) => `${footnoteMark(i + 1)} ${f}`);
  return [`_${r.summary.caption}_`, '', table([...r.summary.columns], r.summary.rows.map((x) => x.cells.map(cellWithMarks))), '', ...notes.map((n) => `${n}  `)].join('\n').trimEnd();
}

/** The verdict: the numbered ranking, each constraint's answer with what backs it. */
export function verdictMarkdown(r: Report): string {
  const v = r.verdict;
  const out = [v.constraints.length ? `For the constraints **${v.constraints.join(', ')}**:` : 'No constraints were given to `kmodlab evaluate --constraints`: ranked on measured impact alone.', ''];
  for (const m of v.ranking) {
    out.push(`${m.rank}. **${m.method}** (${m.variant}) — ${m.why}`);
    for (const a of m.assessments) {
      const backing = a.evidence.map((e) => (e.kind === 'measured' ? `\`${e.metric}\` = ${e.text}` : `[${e.feature}](${e.source})`)).join(', ');
      out.push(`   - ${a.meets === 'yes' ? 'meets' : a.meets === 'partly' ? 'partly' : 'misses'} ${a.constraint}: ${a.why}${backing ? ` (${backing})` : ''}`);
    }
  }
  if (v.unmet.length) out.push('', `No method fully meets: **${v.unmet.join(', ')}**.`);
  return out.join('\n');
}
