/**
 * The summary as `kmodlab evaluate` prints it when done: one block per method, one
 * short line per column, wrapped to the terminal's width (a wide Markdown table
 * does not fit one). The full tables are in report.md / report.html.
 */
import { cellWithMarks, footnoteMark } from './format.js';
import type { Report } from './model.js';

/**
 * `head` (kept whole, e.g. a padded label) then `body` wrapped at spaces to `width`;
 * continuation lines are indented to where the body starts.
 */
export function wrap(head: string, body: string, width: number): string[] {
  const indent = ' '.repeat(head.length);
  const lines: string[] = [];
  let line = head;
  for (const word of body.split(' ').filter(Boolean)) {
    const fresh = line === head || line === indent;
    if (!fresh && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line = fresh ? line + word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

export function renderSummaryText(r: Report, width = 80): string {
  const w = Math.max(40, width);
  const titles = r.summary.columns.slice(1);
  const pad = Math.max(...titles.map((t) => t.length)) + 2;
  const out: string[] = [...wrap('', r.summary.caption, w), ''];
  for (const row of r.summary.rows) {
    out.push(`${row.cells[0]!.text} (${row.method})`);
    row.cells.slice(1).forEach((c, i) => out.push(...wrap(`  ${titles[i]!.padEnd(pad)}`, cellWithMarks(c), w)));
    out.push('');
  }
  r.summary.footnotes.forEach((f, i) => out.push(...wrap(`${footnoteMark(i + 1)} `.padEnd(4), f, w)));
  return `${out.join('\n').trimEnd()}\n`;
}
