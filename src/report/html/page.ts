/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no network, no
 * external fonts) that a platform team can attach to a ticket and open anywhere.
 */
import { appliesTo, metricTitle, SCENARIO_METRICS } from '../../evaluation/metrics/catalog.js';
import type { RunRecord } from '../../evaluation/read-run.js';
import { footnoteMark, formatMeasured, formatSigned } from '../format.js';
import { BASELINE } from '../../evaluation/events.js';
import { collapse } from '../summary.js';
import { SCENARIO_TITLES } from '../markdown.js';
import { resultOf, type Report } from '../model.js';
import { cpuChart, memoryChart, timeToDriverChart } from './charts.js';
import { CSS } from './style.js';
import { colourOf, esc } from './svg.js';
import { methodSpan, timeline, timelineLegend } from './timeline.js';

/** Shown in a detail cell whose reason is the scenario's own (given in its Status row). */
export const NOT_MEASURED_AS_ABOVE = 'not measured (see status)';

const methodLabel = (id: string, title: string) => `<span class="method"><span class="dot" style="background:${colourOf(id)}"></span>${esc(title)}</span>`;

export function renderHtml(r: Report, run: RunRecord): string {
  const label = r.run.targetLabel;
  const statusClass = r.run.status === 'completed' ? 'ok' : r.run.status === 'interrupted' ? 'warn' : 'err';
  const head = `<header class="top"><div class="wrap">
<h1>${esc(r.run.driver.name)} ${esc(r.run.driver.version)} — how should it reach the nodes?</h1>
<div class="sub">kmodlab comparison of ${r.methods.map((m) => esc(m.title)).join(', ')} · run <code style="background:rgba(255,255,255,.12);color:#fff">${esc(r.run.runId)}</code> · started ${esc(r.run.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</div>
<div class="badges"><span class="badge">${esc(label)}</span><span class="badge">${r.run.nodes.length} node${r.run.nodes.length === 1 ? '' : 's'}</span><span class="badge">kernel ${esc(String(r.run.releases['from']))}</span><span class="badge ${statusClass}">${esc(r.run.status)}</span></div>
</div></header>`;

  const notices: string[] = [];
  if (r.run.status === 'interrupted') {
    notices.push(`<div class="notice"><strong>Run interrupted.</strong> The last event was recorded at ${esc(r.run.lastEventAt)}. Everything recorded until then is reported; the rest is marked <em>not measured</em>.</div>`);
  }

  const v = r.verdict;
  const verdict = `<section class="card" id="verdict"><h2>Verdict</h2><p class="lead">${
    v.constraints.length ? `For the constraints <strong>${esc(v.constraints.join(', '))}</strong>` : 'No constraints given (<code>kmodlab evaluate --constraints</code>): ranked on measured impact alone'
  }. Each answer is backed by a figure measured in this run or by the method’s documentation.</p>
<ol class="verdict">${v.ranking
    .map(
      (m) =>
        `<li data-verdict-method="${esc(m.method)}"><div>${methodLabel(m.method, `${m.title} (${m.variant})`)} — ${esc(m.why)}</div>${
          m.assessments.length
            ? `<ul>${m.assessments
                .map(
                  (a) =>
                    `<li class="meets-${a.meets}"><span class="pill ${a.meets === 'yes' ? 'completed' : a.meets === 'no' ? 'failed' : 'interrupted'}">${a.meets === 'yes' ? 'meets' : a.meets === 'partly' ? 'partly' : 'misses'}</span> <strong>${esc(a.constraint)}</strong>: ${esc(a.why)} ${a.evidence
                      .map((e) => (e.kind === 'measured' ? `<code title="measured in this run">${esc(e.metric)} = ${esc(e.text)}</code>` : `<a href="${esc(e.source)}" rel="noreferrer">${esc(e.feature)} ↗</a>`))
                      .join(' ')}</li>`,
                )
                .join('')}</ul>`
            : ''
        }</li>`,
    )
    .join('')}</ol>${v.unmet.length ? `<p class="notice">No method fully meets: <strong>${esc(v.unmet.join(', '))}</strong>.</p>` : ''}</section>`;

  const summary = `<section class="card" id="summary"><h2>Summary</h2><p class="lead">How each method did in each scenario of this run, one line per cell; the numbered notes below the table give the details.</p>
<table class="summary"><caption>${esc(r.summary.caption)}</caption><thead><tr>${r.summary.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>
${r.summary.rows
  .map((row) => {
    const title = r.methods.find((m) => m.id === row.method)?.title ?? row.method;
    return `<tr data-summary-method="${esc(row.method)}">${row.cells
      .map((c, i) => `<td${c.metrics.length ? ` title="${esc(`from ${c.metrics.join(', ')}`)}"` : ''}>${i === 0 ? methodLabel(row.method, title) : cellHtml(c)}</td>`)
      .join('')}</tr>`;
  })
  .join('\n')}
</tbody></table>
${r.summary.footnotes.length ? `<ol class="footnotes">${r.summary.footnotes.map((f, i) => `<li id="note-${i + 1}">${esc(f)}</li>`).join('')}</ol>` : ''}</section>`;

  const charts = `<section class="card" id="charts"><h2>At a glance</h2><p class="lead">Hover a bar for its exact figure. Hatched stubs were not measured; they say why.</p>
<div class="grid2"><figure><figcaption>Time to driver <span class="dur">(${esc(label)})</span></figcaption>${timeToDriverChart(r)}</figure>
<div class="stack"><figure><figcaption>Steady-state memory of resident components <span class="dur">(day 2, bytes)</span></figcaption>${memoryChart(r)}</figure>
<figure><figcaption>CPU of resident components <span class="dur">(day 2, share of one core)</span></figcaption>${cpuChart(r)}</figure></div></div></section>`;

  const span = Math.max(0, ...r.methods.map((m) => methodSpan(run, m.id)));
  const timelines = `<section class="card" id="timelines"><h2>Timelines</h2><p class="lead">What each method did to the node(s), scenario by scenario, as recorded.</p>${timelineLegend()}
${r.methods.map((m) => `<div class="tl"><h3>${methodLabel(m.id, m.title)}</h3>${timeline(run, m.id, label, span)}</div>`).join('\n')}</section>`;

  const details = `<section class="card" id="details"><h2>Results per scenario</h2><p class="lead">Every figure derived from events.jsonl; report.json lists the event lines behind each value.</p>
${r.scenarios.map((s) => scenarioTable(r, s)).join('\n')}</section>`;

  const features = `<section class="card" id="features"><h2>Features of the methods</h2><p class="lead">Documented behaviour with sources — not measured by this run.</p>
<table class="features"><thead><tr><th>Feature</th>${r.methods.map((m) => `<th>${methodLabel(m.id, m.title)}</th>`).join('')}</tr></thead><tbody>
${r.features
  .map(
    (f) =>
      `<tr><td><strong>${esc(f.title)}</strong></td>${r.methods
        .map((m) => {
          const v = f.values[m.id];
          return v ? `<td>${esc(v.value)} <a href="${esc(v.source)}" rel="noreferrer">source ↗</a></td>` : '<td class="nm">not documented</td>';
        })
        .join('')}</tr>`,
  )
  .join('\n')}</tbody></table></section>`;

  const how = `<section class="card" id="how"><h2>How measured</h2><ul class="notes">${r.howMeasured.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
<table class="how"><colgroup><col style="width:24%"><col style="width:16%"><col></colgroup><thead><tr><th>Metric</th><th>Unit</th><th>How</th></tr></thead><tbody>${r.howMeasured.metrics
    .map((m) => `<tr><td>${esc(m.title)}</td><td>${esc(m.unit === 'ms' ? `ms — ${label}` : m.unit)}</td><td>${esc(m.how)}</td></tr>`)
    .join('')}</tbody></table>
${r.run.warnings.length ? `<h3>Warnings while reading the run</h3><ul class="notes">${r.run.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}</section>`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="generator" content="${esc(r.generator)}">
<title>kmodlab report — ${esc(r.run.driver.name)} (${esc(r.run.runId)})</title>
<style>${CSS}</style></head>
<body>${head}<main><div class="wrap">${notices.join('')}${verdict}${summary}${charts}${timelines}${details}${features}${how}</div></main>
<footer>Generated by ${esc(r.generator)} at ${esc(r.generatedAt)} from <code>${esc(r.run.dir)}/events.jsonl</code> · machine-readable: report.json (schema: report.schema.json)</footer>
</body></html>
`;
}

/** A summary cell: its line ("not measured" greyed out), then links to its footnotes. */
function cellHtml(c: Report['summary']['rows'][number]['cells'][number]): string {
  const text = c.text === 'not measured' ? `<span class="nm">${esc(c.text)}</span>` : esc(c.text);
  const marks = c.notes.map((n) => `<a class="fn" href="#note-${n}">${footnoteMark(n)}</a>`).join('<span class="fn">,</span>');
  return marks ? `${text} <sup>${marks}</sup>` : text;
}

function scenarioTable(r: Report, s: Report['scenarios'][number]): string {
  const label = r.run.targetLabel;
  // The baseline column: the same scenario with no driver method (impact figures only).
  const cols_ = [...r.methods.map((m) => ({ id: m.id as string, title: m.id as string })), ...(resultOf(r, BASELINE, s) ? [{ id: BASELINE as string, title: 'baseline (no method)' }] : [])];
  const head = `<tr><th>Metric</th>${cols_.map((m) => `<th>${methodLabel(m.id, m.title)}</th>`).join('')}</tr>`;
  const status = `<tr><td>Status</td>${cols_
    .map((m) => {
      const res = resultOf(r, m.id, s);
      return `<td><span class="pill ${esc(res?.status ?? 'not-run')}">${esc(res?.status ?? 'not planned')}</span>${res?.reason ? ` <span class="small">${esc(res.reason)}</span>` : ''}</td>`;
    })
    .join('')}</tr>`;
  const rows = SCENARIO_METRICS.filter((m) => appliesTo(m, s)).flatMap((info) => {
    const t = metricTitle(info, s);
    const cells = cols_.map((me) => {
      if (me.id === BASELINE && !(info.id in (resultOf(r, me.id, s)?.metrics ?? {}))) return '<td class="nm">—</td>';
      const m = resultOf(r, me.id, s)?.metrics[info.id];
      const text = formatMeasured(info.unit, m);
      const path = `${me.id}.${s}.${info.id}`;
      if (!m || 'notMeasured' in m) {
        const why = m ? m.notMeasured : 'not derived';
        // When the Status row already says why (scenario not run or cut short), do not repeat it in every row.
        const shown = why === resultOf(r, me.id, s)?.reason ? NOT_MEASURED_AS_ABOVE : text;
        return `<td class="nm" data-metric="${esc(path)}" data-not-measured="${esc(why)}" title="${esc(why)}">${esc(shown)}</td>`;
      }
      const cls = typeof m.value === 'boolean' && info.id === 'success' ? (m.value ? 'yes' : 'no') : '';
      const tip = `lines ${m.from.slice(0, 12).join(', ')}${m.from.length > 12 ? '…' : ''}${m.note ? ` — ${m.note}` : ''}`;
      return `<td class="${cls}" data-metric="${esc(path)}" data-value="${esc(JSON.stringify(m.value))}" title="${esc(tip)}">${esc(text)}</td>`;
    });
    const row = `<tr><td>${esc(t)}${info.unit === 'ms' ? ` <span class="dur">${esc(label)}</span>` : ''}</td>${cells.join('')}</tr>`;
    // Attributable rows only where the run has the baseline to subtract (else the summary's footnote says why not).
    const attr = cols_.map((me) => resultOf(r, me.id, s)?.attributable?.[info.id]);
    if (!resultOf(r, BASELINE, s) || !attr.some((a) => a !== undefined)) return [row];
    const acells = attr.map((a, i) => {
      const path = `${cols_[i]!.id}.${s}.attributable.${info.id}`;
      if (!a) return '<td class="nm">—</td>';
      if ('notMeasured' in a) return `<td class="nm" data-metric="${esc(path)}" data-not-measured="${esc(a.notMeasured)}" title="${esc(a.notMeasured)}">${esc(formatSigned(info.unit, a))}</td>`;
      return `<td data-metric="${esc(path)}" data-value="${esc(JSON.stringify(a.value))}" title="${esc(`with the method − baseline; lines ${a.from.slice(0, 12).join(', ')}${a.note ? ` — ${a.note}` : ''}`)}">${esc(formatSigned(info.unit, a))}</td>`;
    });
    return [row, `<tr class="attr"><td>${esc(t)}, attributable <span class="small">(− baseline)</span></td>${acells.join('')}</tr>`];
  });
  const extras = cols_.flatMap((me) => {
    const res = resultOf(r, me.id, s);
    if (!res) return [];
    // The same fault or step seen many times is one line with a count.
    return [
      ...collapse(res.manualSteps.map((x) => `manual step: ${x.description}`)).map((x) => `<li><strong>${esc(me.id)}</strong> — ${esc(x)}</li>`),
      ...collapse(res.faults.map((f) => `\u0000${f.fault}\u0000${f.node ? ` on ${f.node}` : ''}: ${f.message}`)).map(
        (x) => `<li><strong>${esc(me.id)}</strong> — fault ${esc(x).replace(/\u0000(.*?)\u0000/, '<code>$1</code>')}</li>`,
      ),
      // Module dependencies (modinfo -F depends) of the builds, one short note per build that has any.
      ...res.builds
        .filter((b) => b.dependencies?.length)
        .map((b) => `<li><strong>${esc(me.id)}</strong> — build for ${esc(b.kver)}: ${b.dependencies!.map((d) => `<code>${esc(d.module)}</code> needs <code>${esc(d.name)}</code> (${esc(d.kind)})`).join(', ')}</li>`),
    ];
  });
  const cols = `<colgroup><col class="c-metric">${cols_.map(() => '<col>').join('')}</colgroup>`;
  return `<details open><summary><h3>${esc(SCENARIO_TITLES[s])}</h3></summary><table class="scenario">${cols}<thead>${head}</thead><tbody>${status}${rows.join('')}</tbody></table>${extras.length ? `<ul class="notes">${extras.join('')}</ul>` : ''}</details>`;
}
