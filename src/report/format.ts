/**
 * How figures are written for people: one place, so Markdown, HTML and the summary
 * agree (and the browser test can compare the page with report.json).
 */
import type { MetricUnit } from '../evaluation/metrics/catalog.js';
import type { z } from 'zod';
import type { MeasuredSchema } from './model.js';

type Measured = z.infer<typeof MeasuredSchema>;

export function formatMs(ms: number): string {
  if (ms === 0) return '0 s';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const min = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${min} min ${s} s`;
}

/** Human-readable size (decimal units, as `ls -h --si`). */
export function formatBytes(b: number): string {
  if (b < 1000) return `${Math.round(b)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = b;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function formatShare(s: number): string {
  const pct = s * 100;
  return `${pct < 0.01 && pct > 0 ? pct.toPrecision(1) : pct.toFixed(2)} % of a core`;
}

export function formatScalar(unit: MetricUnit, v: number | boolean | string): string {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') return v === '' ? '(none)' : v;
  switch (unit) {
    case 'ms':
      return formatMs(v);
    case 'bytes':
      // One unit style everywhere (the exact byte count is in report.json).
      return formatBytes(v);
    case 'share':
      return formatShare(v);
    default:
      return String(v);
  }
}

/** A metric as a table cell: the value, or "not measured (reason)". */
export function formatMeasured(unit: MetricUnit, m: Measured | undefined): string {
  if (m === undefined) return 'not measured (not derived for this scenario)';
  if ('notMeasured' in m) return `not measured (${m.notMeasured})`;
  // A zero that rests on an observed absence says which one.
  if (m.value === 0 && m.note === 'no resident component') return `${formatScalar(unit, m.value)} (${m.note})`;
  return formatScalar(unit, m.value);
}

/** A difference (attributable = with the method − baseline): "+1", "−2.0 s", "0"; never clamped. */
export function formatSigned(unit: MetricUnit, m: Measured | undefined): string {
  if (m === undefined) return '—';
  if ('notMeasured' in m) return `not measured (${m.notMeasured})`;
  if (typeof m.value !== 'number') return formatScalar(unit, m.value);
  const abs = formatScalar(unit, Math.abs(m.value));
  return m.value > 0 ? `+${abs}` : m.value < 0 ? `−${abs}` : abs;
}

/** Axis tick: whole seconds read best on a time axis ("0 s", "20 s", "80 s"). */
export function formatTick(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

const SUPERSCRIPT = '⁰¹²³⁴⁵⁶⁷⁸⁹';
/** Footnote marker as superscript digits ("¹²"), readable in a terminal and in Markdown alike. */
export function footnoteMark(n: number): string {
  return [...String(n)].map((d) => SUPERSCRIPT[Number(d)]).join('');
}

/** A summary cell as text: its line, then its footnote marks. */
export function cellWithMarks(c: { text: string; notes: readonly number[] }): string {
  return c.notes.length ? `${c.text} ${c.notes.map(footnoteMark).join(',')}` : c.text;
}
