/**
 * The two comparison charts, hand-made SVG: time to driver per scenario and method,
 * and steady-state memory per method. Every bar carries `data-metric` and `data-value`
 * (the exact report.json value) so the browser test can check the page against the
 * JSON; a figure that was not measured is drawn as a hatched stub that says why.
 */
import type { ScenarioId } from '../../evaluation/events.js';
import { formatBytes, formatMs, formatShare, formatTick } from '../format.js';
import { resultOf, type Report } from '../model.js';
import { attrs, colourOf, el, esc, r1, title } from './svg.js';

type M = Report['results'][number]['metrics'][string];

const W = 560;
const LEFT = 112;
const RIGHT = 88;

function metricAttrs(path: string, m: M | undefined): Record<string, string> {
  return m && 'value' in m ? { 'data-metric': path, 'data-value': JSON.stringify(m.value) } : { 'data-metric': path, 'data-not-measured': m ? m.notMeasured : 'not derived' };
}

/** A "nice" axis maximum and step (1, 2, 5 × 10^n). */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (max <= 0) return { max: 1, step: 1 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  return { max: Math.ceil(max / step) * step, step };
}

function bar(x0: number, y: number, w: number, h: number, colour: string, label: string, tip: string, a: Record<string, string>, inside = false): string {
  const bw = Math.max(w, 1.5);
  // Long bars carry their label inside (white), so it never runs off the chart.
  const text = inside
    ? `<text class="bar-label inside" x="${r1(x0 + bw - 6)}" y="${r1(y + h / 2 + 4)}" text-anchor="end">${esc(label)}</text>`
    : `<text class="bar-label" x="${r1(x0 + bw + 6)}" y="${r1(y + h / 2 + 4)}">${esc(label)}</text>`;
  return `<g class="bar"${attrs(a)}>${title(tip)}<rect x="${r1(x0)}" y="${r1(y)}" width="${r1(bw)}" height="${h}" rx="2" fill="${colour}"/>${text}</g>`;
}

function stub(x0: number, y: number, h: number, reason: string, a: Record<string, string>): string {
  const short = reason.length > 64 ? `${reason.slice(0, 62)}…` : reason;
  return (
    `<g class="bar not-measured"${attrs(a)}>${title(`not measured: ${reason}`)}` +
    `<rect x="${r1(x0)}" y="${r1(y)}" width="14" height="${h}" rx="2" fill="url(#hatch)"/>` +
    `<text class="nm-label" x="${r1(x0 + 20)}" y="${r1(y + h / 2 + 4)}">not measured: ${esc(short)}</text></g>`
  );
}

const HATCH = `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eef0f3"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b8bfcb" stroke-width="2"/></pattern></defs>`;

function axis(x0: number, x1: number, y: number, top: number, max: number, step: number, fmt: (v: number) => string): string {
  let s = '';
  for (let v = 0; v <= max + 1e-9; v += step) {
    const x = x0 + ((x1 - x0) * v) / max;
    s += `<line class="grid" x1="${r1(x)}" y1="${top}" x2="${r1(x)}" y2="${y}"/>`;
    s += `<text class="tick" x="${r1(x)}" y="${y + 14}" text-anchor="middle">${esc(fmt(v))}</text>`;
  }
  return s;
}

export function timeToDriverChart(r: Report): string {
  const scenarios = r.scenarios;
  const methods = r.methods;
  const barH = 13;
  const gap = 3;
  const groupH = methods.length * (barH + gap) + 14;
  const top = 8;
  const h = top + scenarios.length * groupH + 34;
  const values = r.results.flatMap((x) => {
    const m = x.metrics['timeToDriverMs'];
    return m && 'value' in m && typeof m.value === 'number' ? [m.value] : [];
  });
  const { max, step } = niceScale(Math.max(1000, ...values));
  const x1 = W - RIGHT;
  let body = axis(LEFT, x1, h - 30, top, max, step, formatTick);
  scenarios.forEach((s: ScenarioId, i) => {
    const gy = top + i * groupH;
    body += `<text class="group-label" x="${LEFT - 10}" y="${gy + (groupH - 14) / 2 + 4}" text-anchor="end">${esc(s)}</text>`;
    methods.forEach((me, j) => {
      const y = gy + j * (barH + gap);
      const m = resultOf(r, me.id, s)?.metrics['timeToDriverMs'];
      const a = metricAttrs(`${me.id}.${s}.timeToDriverMs`, m);
      if (m && 'value' in m && typeof m.value === 'number') {
        body += bar(LEFT, y, ((x1 - LEFT) * m.value) / max, barH, colourOf(me.id), formatMs(m.value), `${me.title} · ${s}: ${formatMs(m.value)} [${r.run.targetLabel}]`, a);
      } else body += stub(LEFT, y, barH, m && 'notMeasured' in m ? m.notMeasured : 'not derived', a);
    });
  });
  body += `<text class="axis-title" x="${r1((LEFT + x1) / 2)}" y="${h - 3}" text-anchor="middle">${esc(`time from apply (upgrade: change, uninstall: delete) to driver in place — ${r.run.targetLabel}`)}</text>`;
  return svg('chart-time', 'Time to driver per scenario and method', h, HATCH + body);
}

/** One bar per method for one day-2 figure (memory, CPU share). */
function perMethodChart(r: Report, metric: string, unitFmt: (v: number) => string, minMax: number, caption: string, hatchId: string, tip: (v: number) => string): string {
  const barH = 20;
  const gap = 12;
  const top = 10;
  const h = top + r.methods.length * (barH + gap) + 34;
  const values = r.methods.flatMap((me) => {
    const m = resultOf(r, me.id, 'day2')?.metrics[metric];
    return m && 'value' in m && typeof m.value === 'number' ? [m.value] : [];
  });
  const { max, step } = niceScale(Math.max(minMax, ...values), 4);
  const x1 = W - RIGHT;
  let body = axis(LEFT, x1, h - 30, top, max, step, unitFmt);
  r.methods.forEach((me, i) => {
    const y = top + i * (barH + gap);
    const m = resultOf(r, me.id, 'day2')?.metrics[metric];
    body += `<text class="group-label" x="${LEFT - 10}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(me.id)}</text>`;
    const a = metricAttrs(`${me.id}.day2.${metric}`, m);
    if (m && 'value' in m && typeof m.value === 'number') {
      const w = ((x1 - LEFT) * m.value) / max;
      const label = m.value === 0 && m.note === 'no resident component' ? '0 — no resident component' : `${unitFmt(m.value)}${m.note ? ` · ${m.note}` : ''}`;
      body += bar(LEFT, y, w, barH, colourOf(me.id), label, `${me.title}: ${tip(m.value)}`, a, w > (x1 - LEFT) * 0.6);
    } else body += stub(LEFT, y, barH, m && 'notMeasured' in m ? m.notMeasured : 'not derived', a);
  });
  body += `<text class="axis-title" x="${r1((LEFT + x1) / 2)}" y="${h - 3}" text-anchor="middle">${esc(caption)}</text>`;
  return svg(`chart-${metric}`, caption, h, HATCH.replace('id="hatch"', `id="${hatchId}"`) + body.replace(/url\(#hatch\)/g, `url(#${hatchId})`));
}

export function memoryChart(r: Report): string {
  return perMethodChart(r, 'memoryBytes', formatBytes, 1_000_000, 'median RSS of resident components after a day-2 apply (sum over nodes)', 'hatch-mem', (v) => `median RSS ${formatBytes(v)}`);
}

export function cpuChart(r: Report): string {
  const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
  return perMethodChart(r, 'cpuShare', pct, 0.001, 'CPU of resident components after a day-2 apply, % of one core', 'hatch-cpu', (v) => formatShare(v));
}

function svg(cls: string, label: string, h: number, body: string): string {
  return el('svg', { class: `chart ${cls}`, viewBox: `0 0 ${W} ${h}`, role: 'img', 'aria-label': label, xmlns: 'http://www.w3.org/2000/svg' }, body);
}
